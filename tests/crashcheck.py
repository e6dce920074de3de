#!/usr/bin/env python3
"""Crash-consistency check for vlsink-collect, after SQLite's crash tests.

Runs the collector once under tests/shim/crashsim.so, feeding it records in
separate batches, and replays the shim's log of every write, ftruncate,
fsync/fdatasync, rename and unlink in the output's directory on a model
disk.  At every cut point (after each logged call) it builds the disks a
power cut could leave: synced data and names kept; unsynced writes,
truncations and names dropped, kept in order up to any point, or the last
kept write torn in half.  A failed fdatasync is modelled as Linux does it:
the unsynced pages of that file are gone, although the page cache still
shows them and the next fdatasync returns 0.

Each such disk is copied into a fresh directory and a collector is started
on it, as after a reboot, with one more record.  Then every record the
first collector had counted as durable at the cut must be in the file
exactly once, nothing may be doubled or out of order, and every line must
be a whole record: torn bytes the restarted collector did not repair fail.

Counted as durable: the records of every read whose next read had begun
(the collector reads again only after the batch is synced and counted),
and at the end the number in its summary.

usage: crashcheck.py COLLECTOR SHIM WORKDIR [--eio-at N]
Prints "cut points: N, disks: M" and exits 1 on the first violation.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib

BATCHES = 6
PER_BATCH = 4


def records():
    out = []
    for b in range(BATCHES):
        batch = []
        for i in range(PER_BATCH):
            n = b * PER_BATCH + i
            batch.append(json.dumps({"seq": n, "pad": "x" * (20 + 37 * n % 90)}, separators=(",", ":")) + "\n")
        out.append(batch)
    return out


def run_first(collector, shim, work, eio_at):
    d = os.path.join(work, "disk")
    os.makedirs(d)
    log = os.path.join(work, "log")
    out = os.path.join(d, "positions.jsonl")
    env = dict(os.environ, CRASH_DIR=d, CRASH_LOG=log, LD_PRELOAD=shim)
    if eio_at:
        env.update(CRASH_EIO_PATH=out, CRASH_EIO_AT=str(eio_at))
    p = subprocess.Popen([collector, "--output=" + out], stdin=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    for batch in records():
        p.stdin.write("".join(batch).encode())
        p.stdin.flush()
        time.sleep(0.15)
    p.stdin.close()
    if p.wait(timeout=60) != 0:
        sys.exit("first collector failed")
    return d, out, log


def parse(log):
    ops = []
    with open(log) as f:
        for line in f:
            w = line.rstrip("\n").split(" ")
            ops.append(w)
    return ops


class Disk:
    """What the page cache shows (vol) and what is on disk (dur), per inode;
    names likewise; the calls not yet synced."""

    def __init__(self):
        self.vol, self.dur, self.pending = {}, {}, {}
        self.ns_vol, self.ns_dur, self.ns_pending = {}, {}, []
        self.next = 0


def apply_op(data, op):
    data = bytearray(data)
    if op[0] == "t":
        del data[op[1]:]
        data.extend(b"\0" * (op[1] - len(data)))
    else:
        off, b = op[1], op[2]
        if len(data) < off:
            data.extend(b"\0" * (off - len(data)))
        data[off:off + len(b)] = b
    return bytes(data)


def ns_apply(ns, op):
    ns = dict(ns)
    if op[0] == "create":
        ns[op[1]] = op[2]
    elif op[0] == "rename":
        if op[1] in ns:
            ns[op[2]] = ns.pop(op[1])
    elif op[0] == "unlink":
        ns.pop(op[1], None)
    return ns


def step(disk, w, dirpath):
    kind = w[0]
    if kind == "open" and w[1] != dirpath:
        name = w[1]
        if name not in disk.ns_vol:
            if "c" not in w[2]:
                return
            ino = disk.next
            disk.next += 1
            disk.vol[ino], disk.dur[ino], disk.pending[ino] = b"", b"", []
            disk.ns_vol[name] = ino
            disk.ns_pending.append(("create", name, ino))
        if "t" in w[2]:
            ino = disk.ns_vol[name]
            disk.vol[ino] = apply_op(disk.vol[ino], ("t", 0))
            disk.pending[ino].append(("t", 0))
    elif kind in ("write", "truncate"):
        ino = disk.ns_vol[w[1]]
        op = ("w", int(w[2]), bytes.fromhex(w[3])) if kind == "write" else ("t", int(w[2]))
        disk.vol[ino] = apply_op(disk.vol[ino], op)
        disk.pending[ino].append(op)
    elif kind == "sync":
        if w[1] == dirpath:
            if w[2] == "ok":
                disk.ns_dur, disk.ns_pending = dict(disk.ns_vol), []
            return
        ino = disk.ns_vol[w[1]]
        if w[2] == "ok":
            for op in disk.pending[ino]:
                disk.dur[ino] = apply_op(disk.dur[ino], op)
        # A failed sync: the pages are marked clean, never written.
        disk.pending[ino] = []
    elif kind == "rename":
        disk.ns_vol = ns_apply(disk.ns_vol, ("rename", w[1], w[2]))
        disk.ns_pending.append(("rename", w[1], w[2]))
    elif kind == "unlink":
        disk.ns_vol = ns_apply(disk.ns_vol, ("unlink", w[1]))
        disk.ns_pending.append(("unlink", w[1]))


def data_variants(disk, ino):
    """Synced data plus any prefix of the unsynced calls, the last one torn
    in half or whole."""
    out = set()
    data = disk.dur[ino]
    out.add(data)
    for op in disk.pending[ino]:
        if op[0] == "w" and len(op[2]) > 1:
            out.add(apply_op(data, ("w", op[1], op[2][:len(op[2]) // 2])))
        data = apply_op(data, op)
        out.add(data)
    return out


def identity(path):
    st = os.stat(path)
    w, human = subprocess.check_output(["stat", "-c", "%W\n%w", path], text=True).split("\n")[:2]
    frac = re.search(r"\.(\d+)", human)
    born = "%s.%09d" % (w, int(frac.group(1)) if frac and int(w) > 0 else 0) if int(w) > 0 else "0.000000000"
    return "dev=%d ino=%d born=%s" % (st.st_dev, st.st_ino, born)


def patch_state(state, ident):
    """The copy of the output is another inode: the state's identity is made
    its, in every slot whose CRC held (a torn slot stays torn)."""
    out = bytearray(state)
    for at in range(0, len(state) - len(state) % 512, 512):
        slot = bytes(state[at:at + 512]).rstrip(b"\0")
        m = re.fullmatch(rb"(.*) crc=([0-9a-f]{8})\n", slot, re.S)
        if not m or zlib.crc32(m.group(1)) != int(m.group(2), 16):
            continue
        body = re.sub(rb"dev=\d+ ino=\d+ born=[\d.]+", ident.encode(), m.group(1))
        new = body + b" crc=%08x\n" % zlib.crc32(body)
        out[at:at + 512] = new.ljust(512, b"\0")
    return bytes(out)


def check(collector, work, name, out_bytes, state_bytes, counted, recs, where):
    d = os.path.join(work, "cut")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    out = os.path.join(d, name)
    if out_bytes is not None:
        with open(out, "wb") as f:
            f.write(out_bytes)
        if state_bytes is not None:
            with open(out + ".state", "wb") as f:
                f.write(patch_state(state_bytes, identity(out)))
    after = '{"after":"restart"}\n'
    p = subprocess.run([collector, "--output=" + out], input=after.encode(), capture_output=True)
    if p.returncode != 0:
        return "restarted collector exited %d: %s" % (p.returncode, p.stderr.decode())
    with open(out, "rb") as f:
        got = f.read().decode(errors="replace")
    lines = got.split("\n")
    if lines[-1] != "":
        return "file does not end in LF"
    index = {r: i for i, r in enumerate(recs)}
    seen, last = set(), -1
    for line in lines[:-2]:
        if line + "\n" not in index:
            return "not a whole record: %r" % line[:80]
        i = index[line + "\n"]
        if i in seen:
            return "record %d twice" % i
        if i < last:
            return "record %d out of order" % i
        seen.add(i)
        last = i
    if lines[-2] + "\n" != after:
        return "the restarted collector's record is not last: %r" % lines[-2][:80]
    missing = [i for i in range(counted) if i not in seen]
    if missing:
        return "records counted as durable and lost: %s" % missing
    return None


def main():
    collector, shim, work = sys.argv[1:4]
    eio_at = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--eio-at" else 0
    recs = [r for batch in records() for r in batch]
    dirpath, out, log = run_first(collector, shim, work, eio_at)
    name = os.path.basename(out)
    ops = parse(log)
    with open(out, "rb") as f:
        if f.read() != "".join(recs).encode():
            sys.exit("the first collector's file is not every record once, in order")

    disk = Disk()
    done_reads = started_bytes = 0
    input_bytes = b""
    counted = 0
    cuts = disks = 0
    eio_seen = False
    for k in range(len(ops) + 1):
        # The cut falls after ops[:k]; what had been counted by then.
        cuts += 1
        images = set()
        for j in range(len(disk.ns_pending) + 1):
            ns = disk.ns_dur
            for op in disk.ns_pending[:j]:
                ns = ns_apply(ns, op)
            oino = ns.get(os.path.join(dirpath, name))
            sino = ns.get(os.path.join(dirpath, name + ".state"))
            outs = data_variants(disk, oino) if oino is not None else {None}
            states = data_variants(disk, sino) if sino is not None else {None}
            for o in outs:
                for s in states:
                    images.add((o, s if o is not None else None))
        for o, s in sorted(images, key=lambda x: (x[0] or b"", x[1] or b"")):
            disks += 1
            where = "cut %d (after %s)" % (k, " ".join(ops[k - 1][:3]) if k else "nothing")
            err = check(collector, work, name, o, s, counted, recs, where)
            if err:
                print("FAIL at %s, %d record(s) counted: %s" % (where, counted, err))
                print("  output: %r" % (o[-200:] if o else o))
                sys.exit(1)
        if k == len(ops):
            break
        w = ops[k]
        if w[0] == "read-start":
            started_bytes = done_reads
        elif w[0] == "read":
            if int(w[1]) > 0:
                input_bytes += bytes.fromhex(w[2])
                done_reads = len(input_bytes)
        elif w[0] == "stderr":
            m = re.search(r"summary: (\d+) record", bytes.fromhex(w[1]).decode(errors="replace"))
            if m:
                counted = max(counted, int(m.group(1)))
        elif w[0] == "sync" and w[2] == "EIO":
            eio_seen = True
        step(disk, w, dirpath)
        if w[0] == "read-start":
            counted = max(counted, input_bytes[:started_bytes].count(b"\n"))
    if eio_at and not eio_seen:
        sys.exit("the EIO was never injected")
    print("cut points: %d, disks: %d, records: %d, counted at the end: %d" % (cuts, disks, len(recs), counted))


if __name__ == "__main__":
    main()
