#!/usr/bin/python3
"""TCP clients for the benchmarks under a real systemd
(tests/bench/systemd-bench.sh, tests/bench/soak.sh).  Runs inside the
throwaway container, next to tests/lib/e2e_client.py (imported from the same
directory: same record generator, so `e2e_client.py check` can verify what
arrived).  Standard library only.

  sd_client.py seq --count N [--wait] [--max-seconds S]
      N connections one after the other: connect, send one valid NMEA RMC
      line, close.  --wait: half-close and wait until the server closes
      (the instance has exited) before the next connect.  Prints
      "connections C failed F seconds T start_realtime R".

  sd_client.py fleet --count C --seconds S [--sources K] [--prefix P]
                     [--format nmea|csv] [--interval I] [--go-file PATH]
                     [--sent-file PATH] [--status-file PATH]
      C simulated vehicles, one connection each (connection i from
      127.0.0.(1 + i % K)).  Phase 1: connect all, each sends its
      identification line ($PGID,P-i for nmea, the header for csv).
      Phase 2 (with --go-file: once that file exists): every vehicle sends
      record k = 0 .. S/I - 1 at t0 + (k + i/C) * I (records spread evenly
      over each interval), exactly the lines of `e2e_client.py gen`.
      Phase 3: half-close all and wait for the server to close each.
      --sent-file: "VEHICLE:0:RECORDS" per vehicle (check --expect args).
      --status-file: "connected N SECONDS", "sending EPOCH", "closing",
      "done" as phases begin.
      Prints "vehicles C connected X failed F records R closed Y
      connect_seconds T send_seconds U late_max L".

  sd_client.py one --file F
      One connection: send F, half-close, wait until the server closes.
      Prints "bytes B seconds T start_realtime R".
"""
import argparse
import os
import resource
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_client import BASE, ddmm, nmea  # noqa: E402


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def ident_line(fmt, vehicle):
    if fmt == "nmea":
        return (nmea("PGID," + vehicle) + "\r\n").encode()
    return b"id,time,lat,lon,speed_mps,course_deg,alt_m\n"


def record_lines(fmt, vehicle, k):
    """Record k of VEHICLE, as e2e_client.py gen writes it (with the
    non-position lines it mixes in)."""
    t = BASE + k
    lat = 48.0 + (k % 1000) * 0.0001
    lon = 11.0 + (k % 1000) * 0.0001
    tm = time.gmtime(t)
    if fmt == "nmea":
        hms = time.strftime("%H%M%S", tm) + ".00"
        if k % 2 == 0:
            s = nmea("GPRMC,%s,A,%s,N,%s,E,10.0,90.0,%s,,,A"
                     % (hms, ddmm(lat, 2), ddmm(lon, 3), time.strftime("%d%m%y", tm))) + "\r\n"
        else:
            s = nmea("GNGGA,%s,%s,N,%s,E,1,08,0.9,500.0,M,46.9,M,,"
                     % (hms, ddmm(lat, 2), ddmm(lon, 3))) + "\r\n"
        if k % 10 == 9:
            s += nmea("GPGSV,1,1,01,01,40,083,46") + "\r\n"
        return s.encode()
    return ("%s,%s,%.6f,%.6f,9.5,120,26\n"
            % (vehicle, time.strftime("%Y-%m-%dT%H:%M:%SZ", tm), lat, lon)).encode()


def wait_closed(sock, deadline):
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(left)
            if not sock.recv(65536):
                return True
    except OSError:
        return False


def cmd_seq(a):
    line = record_lines("nmea", "x", 0)
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
        push(c, ident_line(a.format, vid))
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
            if push(c, record_lines(a.format, c.vid, k)):
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=10110)
    p.add_argument("--timeout", type=float, default=120)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seq")
    s.add_argument("--count", type=int, default=300)
    s.add_argument("--wait", action="store_true")
    s.add_argument("--max-seconds", type=float, default=0)
    f = sub.add_parser("fleet")
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
    o.add_argument("--file", required=True)
    a = p.parse_args()
    return {"seq": cmd_seq, "fleet": cmd_fleet, "one": cmd_one}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
