#!/usr/bin/python3
"""Stream generator, TCP clients and record check for the end-to-end suites
(tests/journal.bats, tests/systemd.bats, tests/scaleout.bats,
tests/slowloris.bats) and the benchmarks under a real systemd
(tests/bench/systemd-bench.sh, tests/bench/soak.sh).  Runs inside the test
container (python3 from the lower layer), standard library only.

  e2e_client.py gen FORMAT VEHICLE COUNT [--seq0 N] [--pace RECORDS:SECONDS]
      Prints a stream of COUNT position records for VEHICLE in FORMAT
      (nmea, tpv or csv), with non-position lines mixed in.  Record k
      (k = seq0 .. seq0+COUNT-1) has the fix time BASE + k seconds, so
      FIX_TIME identifies it; see fix_time().  The vehicle id travels in
      the stream: $PGID for nmea, "IMEI id" for tpv, the id column for csv.
      --pace: flush and pause SECONDS after every RECORDS records (a
      stream that lasts, for things to happen in the middle of it).

  e2e_client.py send --port P [--pace LINES:SECONDS] [--ports FILE] FILE...
      One TCP connection per FILE, all at once (one thread each).  Sends
      the file (PACE: LINES lines, then a pause of SECONDS), half-closes,
      and waits for the server to close.  FILE "-" is stdin.  With --ports,
      "LOCALPORT FILE" lines are appended (and flushed) as soon as each
      connection is up.  Prints "sent FILE BYTES" for each connection;
      exit 1 if any connection failed.

  e2e_client.py storm --port P --count N --prefix ID [--sources K]
      Opens N connections one after the other as fast as possible; each
      sends one CSV record with vehicle id ID-<i> (fix time BASE + i) and
      half-closes.  --sources: connection i comes from 127.0.0.(1 + i % K),
      a fleet spread over K addresses (MaxConnectionsPerSource=).  Then
      waits for the server to close every one.  Prints
      "connected C sent S closed X connect_seconds T".

  e2e_client.py check [--journal] [--expect VEHICLE:SEQ0:COUNT]...
                      [--storm PREFIX:COUNT] [--max-missing N] [--only-expected]
      Reads records from stdin, one JSON object a line: journal entries
      (journalctl -o json; --journal: keys VEHICLE_ID/FIX_TIME, entries
      without SOURCE_FORMAT are not records) or vlsink JSON records (keys
      vehicle/time).  Checks that each expected vehicle's records are
      exactly the fix times of records SEQ0..SEQ0+COUNT-1, each once (with
      --max-missing, up to N may be missing, none duplicated); --storm:
      vehicles PREFIX-0..PREFIX-(COUNT-1) with one record each, at BASE+i.
      Every input line must be a complete JSON object (a torn record fails).
      --only-expected: a record of any other vehicle fails too.
      Prints one line per vehicle and "ok"; exit 1 on any mismatch.

  e2e_client.py seq --count N [--wait] [--max-seconds S]
      N connections one after the other: connect, send one valid NMEA RMC
      line, close.  --wait: half-close and wait until the server closes
      (the instance has exited) before the next connect.  Prints
      "connections C failed F seconds T start_realtime R".

  e2e_client.py fleet --count C --seconds S [--sources K] [--prefix P]
                      [--format nmea|csv] [--interval I] [--go-file PATH]
                      [--sent-file PATH] [--status-file PATH]
      C simulated vehicles, one connection each (connection i from
      127.0.0.(1 + i % K)).  Phase 1: connect all, each sends its
      identification line ($PGID,P-i for nmea, the header for csv).
      Phase 2 (with --go-file: once that file exists): every vehicle sends
      record k = 0 .. S/I - 1 at t0 + (k + i/C) * I (records spread evenly
      over each interval), exactly the lines of `gen`.
      Phase 3: half-close all and wait for the server to close each.
      --sent-file: "VEHICLE:0:RECORDS" per vehicle (check --expect args).
      --status-file: "connected N SECONDS", "sending EPOCH", "closing",
      "done" as phases begin.
      Prints "vehicles C connected X failed F records R closed Y
      connect_seconds T send_seconds U late_max L".

  e2e_client.py one --file F
      One connection: send F, half-close, wait until the server closes.
      Prints "bytes B seconds T start_realtime R".

  e2e_client.py flood SRC COUNT LOG
      Slowloris: opens COUNT connections from SRC, one after the other;
      sends nothing on the even ones and one byte ("x", never a line)
      every 0.5 s on the odd ones; appends "connected COUNT" to LOG once all
      are up, then "closed I after SECS" as the server closes each one, and
      "open N" at the end (--timeout, 60 s at most).

  e2e_client.py burst SRC PREFIX COUNT LINES
      COUNT connections from SRC at once, connection i sending LINES CSV
      records of vehicle PREFIX-i (records 0..LINES-1, no header), then
      half-closing and waiting for the server to close.  Prints "done I"
      or "failed I: why".

  Every command that connects takes --host (127.0.0.1), --port (10110)
  and --timeout (seconds; 60, or 120 for seq, fleet and one, 30 for
  burst's wait for the close).
"""
import argparse
import calendar
import os
import resource
import select
import selectors
import socket
import sys
import threading
import time

# 2026-11-25T00:00:00Z
BASE = calendar.timegm((2026, 11, 25, 0, 0, 0))


def nmea(body):
    s = 0
    for ch in body.encode():
        s ^= ch
    return "$%s*%02X" % (body, s)


def fix_time(k):
    """The FIX_TIME that record k carries, as vlsink prints it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(BASE + k))


def ddmm(v, degw):
    d = int(v)
    m = (v - d) * 60
    return "%0*d%07.4f" % (degw, d, m)


def ident_line(fmt, vehicle):
    """The line that opens a stream of VEHICLE in FMT: $PGID for nmea,
    "IMEI id" for tpv, the header for csv."""
    if fmt == "nmea":
        return nmea("PGID," + vehicle) + "\r\n"
    if fmt == "tpv":
        return "IMEI %s\n" % vehicle
    if fmt == "csv":
        return "id,time,lat,lon,speed_mps,course_deg,alt_m\n"
    sys.exit("unknown format " + fmt)


def record_lines(fmt, vehicle, k):
    """Record k of VEHICLE in FMT, with the non-position lines that follow
    it in a generated stream."""
    t = BASE + k
    lat = 48.0 + (k % 1000) * 0.0001
    lon = 11.0 + (k % 1000) * 0.0001
    if fmt == "nmea":
        tm = time.gmtime(t)
        hms = time.strftime("%H%M%S", tm) + ".00"
        if k % 2 == 0:
            s = nmea("GPRMC,%s,A,%s,N,%s,E,10.0,90.0,%s,,,A"
                     % (hms, ddmm(lat, 2), ddmm(lon, 3), time.strftime("%d%m%y", tm))) + "\r\n"
        else:
            s = nmea("GNGGA,%s,%s,N,%s,E,1,08,0.9,500.0,M,46.9,M,,"
                     % (hms, ddmm(lat, 2), ddmm(lon, 3))) + "\r\n"
        if k % 10 == 9:
            s += nmea("GPGSV,1,1,01,01,40,083,46") + "\r\n"
        return s
    if fmt == "tpv":
        s = ('{"class":"TPV","device":"/dev/ttyUSB0","mode":3,"time":"%s",'
             '"lat":%.7f,"lon":%.7f,"altMSL":519.5,"speed":8.25,"track":330.5}\n'
             % (fix_time(k), lat, lon))
        if k % 10 == 9:
            s += '{"class":"SKY","device":"/dev/ttyUSB0","hdop":0.9,"satellites":[]}\n'
        return s
    if fmt == "csv":
        return ("%s,%s,%.6f,%.6f,9.5,120,26\n"
                % (vehicle, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), lat, lon))
    sys.exit("unknown format " + fmt)


def gen(fmt, vehicle, count, seq0, out, pace=None):
    out.write(ident_line(fmt, vehicle))
    for k in range(seq0, seq0 + count):
        out.write(record_lines(fmt, vehicle, k))
        if pace and (k - seq0) % pace[0] == pace[0] - 1:
            out.flush()
            time.sleep(pace[1])
    out.flush()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_closed(sock, deadline):
    """Reads until EOF (the server closed); False on timeout or error."""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(left)
            if not sock.recv(4096):
                return True
    except OSError:
        return False


def cmd_send(a):
    lock = threading.Lock()
    results = {}
    pace = None
    if a.pace:
        n, s = a.pace.split(":")
        pace = (int(n), float(s))
    ports = open(a.ports, "a") if a.ports else None

    def one(idx, path):
        try:
            data = (sys.stdin.buffer.read() if path == "-" else open(path, "rb").read())
            sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
            if ports:
                with lock:
                    ports.write("%d %s\n" % (sock.getsockname()[1], path))
                    ports.flush()
            if pace:
                lines = data.splitlines(keepends=True)
                for i in range(0, len(lines), pace[0]):
                    sock.sendall(b"".join(lines[i:i + pace[0]]))
                    time.sleep(pace[1])
            else:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            ok = wait_closed(sock, time.monotonic() + a.timeout)
            sock.close()
            results[idx] = (path, len(data), ok, "" if ok else "server did not close")
        except OSError as e:
            results[idx] = (path, 0, False, str(e))

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(a.files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = 0
    for i in range(len(a.files)):
        path, n, ok, err = results[i]
        print("sent %s %d%s" % (path, n, "" if ok else " FAILED: " + err))
        bad += not ok
    return 1 if bad else 0


def cmd_storm(a):
    raise_nofile()
    socks = []
    sent = 0
    t0 = time.monotonic()
    for i in range(a.count):
        try:
            src = ("127.0.0.%d" % (1 + i % a.sources), 0) if a.sources else None
            s = socket.create_connection((a.host, a.port), timeout=a.timeout,
                                         source_address=src)
        except OSError as e:
            print("connect %d: %s" % (i, e), file=sys.stderr)
            continue
        try:
            s.sendall(("%s-%d,%d,48.000000,11.000000\n" % (a.prefix, i, BASE + i)).encode())
            s.shutdown(socket.SHUT_WR)
            sent += 1
        except OSError as e:
            print("send %d: %s" % (i, e), file=sys.stderr)
        s.setblocking(False)
        socks.append(s)
    t_connect = time.monotonic() - t0
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + a.timeout
    while closed < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                closed += 1
    print("connected %d sent %d closed %d connect_seconds %.3f"
          % (len(socks), sent, closed, t_connect))
    return 0


# --- benchmark clients (tests/bench/systemd-bench.sh, tests/bench/soak.sh) ---

def cmd_seq(a):
    line = record_lines("nmea", "x", 0).encode()
    failed = done = 0
    t_real = time.time()
    t0 = time.monotonic()
    for _ in range(a.count):
        if a.max_seconds and time.monotonic() - t0 > a.max_seconds:
            break
        try:
            s = socket.create_connection((a.host, a.port), timeout=a.timeout)
            s.sendall(line)
            if a.wait:
                s.shutdown(socket.SHUT_WR)
                if not wait_closed(s, time.monotonic() + a.timeout):
                    failed += 1
            s.close()
            done += 1
        except OSError as e:
            failed += 1
            print("connect/send: %s" % e, file=sys.stderr)
    t = time.monotonic() - t0
    print("connections %d failed %d seconds %.4f start_realtime %.6f" % (done, failed, t, t_real))
    return 0


def status(a, what):
    if a.status_file:
        with open(a.status_file, "w") as f:
            f.write(what + "\n")


class Conn:
    __slots__ = ("sock", "vid", "pending", "sent", "dead", "closed")

    def __init__(self, sock, vid):
        self.sock = sock
        self.vid = vid
        self.pending = b""
        self.sent = 0
        self.dead = False
        self.closed = False


def push(c, data):
    """Queues DATA on C's non-blocking socket and writes what the kernel
    takes; False when the connection is dead."""
    if c.dead:
        return False
    c.pending += data
    try:
        n = c.sock.send(c.pending)
        c.pending = c.pending[n:]
    except BlockingIOError:
        pass
    except OSError as e:
        print("%s: send: %s" % (c.vid, e), file=sys.stderr)
        c.dead = True
        return False
    return True


def cmd_fleet(a):
    raise_nofile()
    conns = []
    failed = 0
    t0 = time.monotonic()
    for i in range(a.count):
        vid = "%s-%d" % (a.prefix, i)
        src = ("127.0.0.%d" % (1 + i % a.sources), 0) if a.sources > 1 else None
        try:
            s = socket.create_connection((a.host, a.port), timeout=a.timeout, source_address=src)
        except OSError as e:
            failed += 1
            print("%s: connect: %s" % (vid, e), file=sys.stderr)
            continue
        s.setblocking(False)
        c = Conn(s, vid)
        push(c, ident_line(a.format, vid).encode())
        conns.append(c)
    t_connect = time.monotonic() - t0
    status(a, "connected %d %.3f" % (len(conns), t_connect))
    if a.go_file:
        while not os.path.exists(a.go_file):
            time.sleep(0.02)
    status(a, "sending %.6f" % time.time())
    n = len(conns)
    records = max(1, int(round(a.seconds / a.interval)))
    t1 = time.monotonic()
    late_max = 0.0
    for k in range(records):
        for i, c in enumerate(conns):
            due = t1 + (k + i / max(n, 1)) * a.interval
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            else:
                late_max = max(late_max, -d)
            if push(c, record_lines(a.format, c.vid, k).encode()):
                c.sent += 1
    t_send = time.monotonic() - t1
    status(a, "closing")
    # flush what is left, then half-close; wait for every server to close
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + a.timeout
    for c in conns:
        if c.dead:
            continue
        sel.register(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.pending else 0), c)
        if not c.pending:
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                c.dead = True
    open_ = sum(1 for c in conns if not c.dead)
    while open_ and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if ev & selectors.EVENT_WRITE and c.pending:
                push(c, b"")
                if not c.pending and not c.dead:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    c.sock.shutdown(socket.SHUT_WR)
            if ev & selectors.EVENT_READ or c.dead:
                try:
                    data = b"" if c.dead else c.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c.sock)
                    c.sock.close()
                    c.closed = not c.dead and not c.pending
                    open_ -= 1
    dead = sum(1 for c in conns if c.dead)
    closed = sum(1 for c in conns if c.closed)
    if a.sent_file:
        with open(a.sent_file, "w") as f:
            for c in conns:
                f.write("%s:0:%d\n" % (c.vid, c.sent))
    status(a, "done")
    print("vehicles %d connected %d failed %d records %d closed %d connect_seconds %.3f "
          "send_seconds %.3f late_max %.3f"
          % (a.count, len(conns), failed + dead, sum(c.sent for c in conns), closed,
             t_connect, t_send, late_max))
    return 0


def cmd_one(a):
    data = open(a.file, "rb").read()
    t_real = time.time()
    t0 = time.monotonic()
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ok = wait_closed(s, time.monotonic() + a.timeout)
    s.close()
    print("bytes %d seconds %.4f start_realtime %.6f%s"
          % (len(data), time.monotonic() - t0, t_real, "" if ok else " NOT-CLOSED"))
    return 0 if ok else 1


# --- idle and trickling connections (tests/slowloris.bats) -------------------

def connect_from(a, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((a.host, a.port))
    return s


def cmd_flood(a):
    out = open(a.log, "a", buffering=1)
    conns = {}
    for i in range(a.count):
        s = connect_from(a, a.src)
        s.setblocking(False)
        conns[s] = (i, time.monotonic())
    out.write("connected %d\n" % a.count)
    end = time.monotonic() + a.timeout
    trickle = time.monotonic() + 0.5
    while conns and time.monotonic() < end:
        ready, _, _ = select.select(list(conns), [], [], 0.1)
        now = time.monotonic()
        for s in ready:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                i, t = conns.pop(s)
                out.write("closed %d after %.2f\n" % (i, now - t))
                s.close()
        if now >= trickle:
            trickle = now + 0.5
            for s, (i, t) in conns.items():
                if i % 2:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass  # the close is seen by recv
    out.write("open %d\n" % len(conns))
    return 0


def cmd_burst(a):
    conns = []
    for i in range(a.count):
        try:
            conns.append((i, connect_from(a, a.src)))
        except OSError as e:
            print("failed %d: connect: %s" % (i, e))
    for i, s in conns:
        vid = "%s-%d" % (a.prefix, i)
        data = "".join(record_lines("csv", vid, k) for k in range(a.lines))
        try:
            s.sendall(data.encode())
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            print("failed %d: send: %s" % (i, e))
    for i, s in conns:
        try:
            s.settimeout(a.timeout)
            while s.recv(4096):
                pass
            print("done %d" % i)
        except OSError as e:
            print("failed %d: %s" % (i, e))
        s.close()
    return 0


def cmd_check(a):
    import json
    from collections import Counter, defaultdict
    vkey, tkey = ("VEHICLE_ID", "FIX_TIME") if a.journal else ("vehicle", "time")
    seen = defaultdict(Counter)
    bad = 0
    nrec = 0
    for n, line in enumerate(sys.stdin.buffer, 1):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not line.endswith(b"\n"):
                raise ValueError("not an object with a line end")
        except ValueError as e:
            bad += 1
            if bad <= 5:
                print("line %d: not a complete JSON record (%s): %r" % (n, e, line[:120]))
            continue
        if a.journal and "SOURCE_FORMAT" not in obj:
            continue
        if not a.journal and not all(k in obj for k in ("vehicle", "time", "lat", "lon", "format")):
            bad += 1
            print("line %d: record lacks a key: %r" % (n, line[:120]))
            continue
        nrec += 1
        seen[obj.get(vkey)][obj.get(tkey)] += 1
    want = {}
    for e in a.expect:
        v, seq0, count = e.rsplit(":", 2)
        want[v] = [fix_time(k) for k in range(int(seq0), int(seq0) + int(count))]
    for e in a.storm:
        prefix, count = e.rsplit(":", 1)
        for i in range(int(count)):
            want["%s-%d" % (prefix, i)] = [fix_time(i)]
    fail = bad > 0
    missing_total = dup_total = extra_total = 0
    quiet = len(want) > 50
    for v in sorted(want):
        got = seen.get(v, Counter())
        exp = set(want[v])
        missing = [t for t in want[v] if got[t] == 0]
        dups = sum(c - 1 for t, c in got.items() if c > 1)
        extra = sum(c for t, c in got.items() if t not in exp)
        missing_total += len(missing)
        dup_total += dups
        extra_total += extra
        if not quiet or missing or dups or extra:
            print("%s: expected %d, got %d (%d missing%s, %d duplicated, %d unexpected)"
                  % (v, len(exp), sum(got.values()), len(missing),
                     (": first " + missing[0]) if missing else "", dups, extra))
    others = {v: sum(c.values()) for v, c in seen.items() if v not in want}
    if a.only_expected and others:
        print("records of other vehicles: %r" % dict(list(others.items())[:10]))
        fail = True
    if dup_total or extra_total or missing_total > a.max_missing:
        fail = True
    print("records %d, vehicles %d, missing %d, duplicated %d, unexpected %d, bad lines %d"
          % (nrec, len(seen), missing_total, dup_total, extra_total, bad))
    print("FAIL" if fail else "ok")
    return 1 if fail else 0


def net_args(parser, timeout):
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10110)
    parser.add_argument("--timeout", type=float, default=timeout)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("format")
    g.add_argument("vehicle")
    g.add_argument("count", type=int)
    g.add_argument("--seq0", type=int, default=0)
    g.add_argument("--pace")
    s = sub.add_parser("send")
    net_args(s, 60)
    s.add_argument("--pace")
    s.add_argument("--ports")
    s.add_argument("files", nargs="+")
    st = sub.add_parser("storm")
    net_args(st, 60)
    st.add_argument("--count", type=int, default=1000)
    st.add_argument("--prefix", default="storm")
    st.add_argument("--sources", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--journal", action="store_true")
    c.add_argument("--expect", action="append", default=[])
    c.add_argument("--storm", action="append", default=[])
    c.add_argument("--max-missing", type=int, default=0)
    c.add_argument("--only-expected", action="store_true")
    s = sub.add_parser("seq")
    net_args(s, 120)
    s.add_argument("--count", type=int, default=300)
    s.add_argument("--wait", action="store_true")
    s.add_argument("--max-seconds", type=float, default=0)
    f = sub.add_parser("fleet")
    net_args(f, 120)
    f.add_argument("--count", type=int, default=1000)
    f.add_argument("--seconds", type=float, default=30)
    f.add_argument("--interval", type=float, default=1.0)
    f.add_argument("--sources", type=int, default=8)
    f.add_argument("--prefix", default="fleet")
    f.add_argument("--format", default="nmea", choices=("nmea", "csv"))
    f.add_argument("--go-file")
    f.add_argument("--sent-file")
    f.add_argument("--status-file")
    o = sub.add_parser("one")
    net_args(o, 120)
    o.add_argument("--file", required=True)
    fl = sub.add_parser("flood")
    net_args(fl, 60)
    fl.add_argument("src")
    fl.add_argument("count", type=int)
    fl.add_argument("log")
    b = sub.add_parser("burst")
    net_args(b, 30)
    b.add_argument("src")
    b.add_argument("prefix")
    b.add_argument("count", type=int)
    b.add_argument("lines", type=int)
    a = p.parse_args()
    if a.cmd == "gen":
        pace = None
        if a.pace:
            n, sec = a.pace.split(":")
            pace = (int(n), float(sec))
        try:
            gen(a.format, a.vehicle, a.count, a.seq0, sys.stdout, pace)
        except BrokenPipeError:
            return 1
        return 0
    return {"check": cmd_check, "send": cmd_send, "storm": cmd_storm,
            "seq": cmd_seq, "fleet": cmd_fleet, "one": cmd_one,
            "flood": cmd_flood, "burst": cmd_burst}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
