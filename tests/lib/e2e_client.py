#!/usr/bin/python3
"""Stream generator and TCP clients for the end-to-end suites
(tests/journal.bats, tests/systemd.bats).  Runs inside the test container
(python3 from the lower layer), standard library only.

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
"""
import argparse
import calendar
import os
import resource
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


def gen(fmt, vehicle, count, seq0, out, pace=None):
    w = out.write
    if fmt == "nmea":
        w(nmea("PGID," + vehicle) + "\r\n")
    elif fmt == "tpv":
        w("IMEI %s\n" % vehicle)
    elif fmt == "csv":
        w("id,time,lat,lon,speed_mps,course_deg,alt_m\n")
    for k in range(seq0, seq0 + count):
        t = BASE + k
        lat = 48.0 + (k % 1000) * 0.0001
        lon = 11.0 + (k % 1000) * 0.0001
        if fmt == "nmea":
            tm = time.gmtime(t)
            hms = time.strftime("%H%M%S", tm) + ".00"
            if k % 2 == 0:
                w(nmea("GPRMC,%s,A,%s,N,%s,E,10.0,90.0,%s,,,A"
                       % (hms, ddmm(lat, 2), ddmm(lon, 3), time.strftime("%d%m%y", tm))) + "\r\n")
            else:
                w(nmea("GNGGA,%s,%s,N,%s,E,1,08,0.9,500.0,M,46.9,M,,"
                       % (hms, ddmm(lat, 2), ddmm(lon, 3))) + "\r\n")
            if k % 10 == 9:
                w(nmea("GPGSV,1,1,01,01,40,083,46") + "\r\n")
        elif fmt == "tpv":
            w('{"class":"TPV","device":"/dev/ttyUSB0","mode":3,"time":"%s",'
              '"lat":%.7f,"lon":%.7f,"altMSL":519.5,"speed":8.25,"track":330.5}\n'
              % (fix_time(k), lat, lon))
            if k % 10 == 9:
                w('{"class":"SKY","device":"/dev/ttyUSB0","hdop":0.9,"satellites":[]}\n')
        elif fmt == "csv":
            w("%s,%s,%.6f,%.6f,9.5,120,26\n"
              % (vehicle, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), lat, lon))
        else:
            sys.exit("unknown format " + fmt)
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
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=10110)
    s.add_argument("--pace")
    s.add_argument("--ports")
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("files", nargs="+")
    st = sub.add_parser("storm")
    st.add_argument("--host", default="127.0.0.1")
    st.add_argument("--port", type=int, default=10110)
    st.add_argument("--count", type=int, default=1000)
    st.add_argument("--prefix", default="storm")
    st.add_argument("--sources", type=int, default=0)
    st.add_argument("--timeout", type=float, default=60)
    c = sub.add_parser("check")
    c.add_argument("--journal", action="store_true")
    c.add_argument("--expect", action="append", default=[])
    c.add_argument("--storm", action="append", default=[])
    c.add_argument("--max-missing", type=int, default=0)
    c.add_argument("--only-expected", action="store_true")
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
    if a.cmd == "check":
        return cmd_check(a)
    if a.cmd == "send":
        return cmd_send(a)
    return cmd_storm(a)


if __name__ == "__main__":
    sys.exit(main())
