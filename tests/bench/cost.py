#!/usr/bin/env python3
"""cost.py - what one connection costs vlsink: start-up and steady state.
NOT a test: it prints figures side by side and exits 0.

Usage: tests/bench/cost.py [options] BUILD[=LABEL] [BUILD[=LABEL]...]

  start-up  RUNS connections one after the other, each a TCP connection on
            loopback that sends one fix and closes; per connection the CPU
            time of vlsink and its worker (getrusage of the reaped child,
            which includes the worker it reaped) and the wall time from
            spawn to exit; medians.
  steady    CONNS connections at once, each sending one fix (RMC + GGA)
            every 1/HZ s for FIXES fixes; the CPU time of every vlsink
            process (reader and worker, /proc/PID/schedstat) over that
            span, divided by the fixes sent: microseconds per fix.

Builds run interleaved, so that the machine's load falls on each alike.
A BUILD of /bin/cat is the floor of the steady state: a process woken once
per fix that reads it and writes it to /dev/null (it gets no options).
The journal sink needs a journal socket: run as root, the script enters a
private mount namespace with a tmpfs on /run and a datagram receiver at
/run/systemd/journal/socket (the host's journal is never touched).
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time


def nmea(s):
    c = 0
    for ch in s:
        c ^= ord(ch)
    return "$%s*%02X\r\n" % (s, c)


def fix(i):
    t = "%02d%02d%02d.00" % (12, (i // 60) % 60, i % 60)
    return (nmea("GPRMC,%s,A,4807.038,N,01131.000,E,022.4,084.4,251126,003.1,W" % t) +
            nmea("GPGGA,%s,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,," % t)).encode()


def sink_args(sink, fifo):
    if sink == "fifo":
        return ["--sink=fifo:" + fifo]
    return ["--sink=" + sink]


def listener():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1024)
    return ls


def connect(ls):
    cl = socket.create_connection(ls.getsockname())
    conn, _ = ls.accept()
    return cl, conn


def spawn(binary, args, conn):
    # cat, the floor: one wake, one read and one write per fix, no options.
    if os.path.basename(binary) == "cat":
        args = []
    return subprocess.Popen([binary] + args, stdin=conn, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, close_fds=True)


def startup_once(binary, args, ls):
    cl, conn = connect(ls)
    t0 = time.perf_counter()
    p = spawn(binary, args, conn)
    conn.close()
    try:
        cl.sendall(nmea("PGID,veh-1").encode() + fix(0))
        cl.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # A stand-in (an empty program, for the floor) that has gone.
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    cl.close()
    return (ru.ru_utime + ru.ru_stime) * 1e3, wall * 1e3, p.returncode


def cpu_ns(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/schedstat" % pid) as f:
                t += int(f.read().split()[0])
        except OSError:
            pass
    return t


def family(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [pid] + [int(x) for x in f.read().split()]
    except OSError:
        return [pid]


def steady(binary, args, ls, conns, fixes, hz):
    pairs = [connect(ls) for _ in range(conns)]
    procs = []
    for cl, conn in pairs:
        procs.append(spawn(binary, args, conn))
        conn.close()
    for cl, _ in pairs:
        cl.sendall(nmea("PGID,veh-1").encode() + fix(0))
    time.sleep(0.5 + conns * 0.004)
    pids = [q for p in procs for q in family(p.pid)]
    c0 = cpu_ns(pids)
    gap = 1.0 / hz / conns
    t0 = time.monotonic()
    for i in range(1, fixes + 1):
        for k, (cl, _) in enumerate(pairs):
            cl.sendall(fix(i))
            due = t0 + ((i - 1) * conns + k + 1) * gap
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
    # The last fix of each connection is closed by the merge hold.
    time.sleep(0.3)
    c1 = cpu_ns(pids)
    for cl, _ in pairs:
        cl.close()
    rcs = [p.wait() for p in procs]
    return (c1 - c0) / 1e3 / (conns * fixes), max(rcs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="+")
    ap.add_argument("--runs", type=int, default=200, help="start-up connections per build")
    ap.add_argument("--rounds", type=int, default=3, help="steady rounds per build (median)")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--fixes", type=int, default=10)
    ap.add_argument("--hz", type=float, default=1.0)
    ap.add_argument("--sinks", default="stdout,fifo,journal")
    ap.add_argument("--modes", default="supervise,no-supervise")
    ap.add_argument("--what", default="startup,steady")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()

    sinks = a.sinks.split(",")
    if "journal" in sinks and not a.inner:
        if os.geteuid() != 0:
            sys.exit("cost.py: the journal sink needs root (a private mount namespace); use --sinks=stdout,fifo")
        inner = ("mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 2; "
                 "socat -u UNIX-RECV:/run/systemd/journal/socket OPEN:/dev/null </dev/null >/dev/null 2>&1 & "
                 "sp=$!; while [ ! -S /run/systemd/journal/socket ]; do sleep 0.05; done; "
                 "\"$0\" --inner \"$@\"; rc=$?; kill $sp; exit $rc")
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", inner,
                              os.path.abspath(sys.argv[0])] + sys.argv[1:])

    builds = []
    for b in a.builds:
        path, _, label = b.partition("=")
        builds.append((os.path.abspath(path), label or path))
    fifo = "/tmp/vlsink-cost-%d.fifo" % os.getpid()
    os.mkfifo(fifo)
    drain = subprocess.Popen(["sh", "-c", 'exec 3<>"$0"; exec cat <&3 >/dev/null', fifo])
    ls = listener()
    w = max(len(lbl) for _, lbl in builds)
    try:
        for sink in sinks:
            for mode in a.modes.split(","):
                args = sink_args(sink, fifo) + ["--" + mode, "--date=2026-11-25"]
                head = "%-7s %-13s" % (sink, mode)
                if "startup" in a.what:
                    res = {lbl: [] for _, lbl in builds}
                    for _ in range(a.runs):
                        for path, lbl in builds:
                            res[lbl].append(startup_once(path, args, ls))
                    for _, lbl in builds:
                        r = res[lbl]
                        print("%s start-up  %-*s cpu %6.2f ms  wall %6.2f ms  (median of %d; worst exit %d)" % (
                            head, w, lbl, statistics.median(x[0] for x in r),
                            statistics.median(x[1] for x in r), len(r), max(x[2] for x in r)), flush=True)
                if "steady" in a.what:
                    res = {lbl: [] for _, lbl in builds}
                    for _ in range(a.rounds):
                        for path, lbl in builds:
                            res[lbl].append(steady(path, args, ls, a.conns, a.fixes, a.hz))
                    for _, lbl in builds:
                        r = res[lbl]
                        print("%s steady    %-*s %7.1f us/fix  (median of %d rounds, %d conns x %d fixes at %g Hz; worst exit %d)" % (
                            head, w, lbl, statistics.median(x[0] for x in r), len(r), a.conns, a.fixes,
                            a.hz, max(x[1] for x in r)), flush=True)
    finally:
        drain.kill()
        drain.wait()
        os.unlink(fifo)


if __name__ == "__main__":
    main()
