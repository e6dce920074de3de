#!/usr/bin/env python3
"""A tracker's side of one TCP connection, for tests/protocols.bats.

  tcppeer.py PORT send FILE          send FILE, half-close, print what comes
                                     back until the server closes
  tcppeer.py PORT bytewise FILE      the same, one byte per send (TCP_NODELAY,
                                     a pause between): frames split at every
                                     offset, as far as the kernel keeps sends
                                     apart (no verdict depends on it)
  tcppeer.py PORT turns REQ N ...    send REQ, read exactly N bytes back, then
                                     the next pair; then half-close and read
                                     to the end: replies in order, on one
                                     connection, each before the next request
  tcppeer.py PORT hold FILE SECS     send FILE, print what comes back within
                                     SECS seconds, then a line "==", then
                                     half-close and print the rest
  tcppeer.py PORT noread FILE SECS   a peer that never reads: a small receive
                                     buffer, FILE sent over and over until the
                                     server stops taking it, then held open
                                     SECS seconds; prints "sent BYTES"
Everything received goes to stdout, unchanged.
"""
import socket
import sys
import time


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    return s


def read_all(s, out):
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return
        if not b:
            return
        out.write(b)
        out.flush()


def main():
    port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    out = sys.stdout.buffer
    if mode in ("send", "bytewise"):
        data = open(args[0], "rb").read()
        s = connect(port)
        try:
            if mode == "send":
                s.sendall(data)
            else:
                for i in range(len(data)):
                    s.sendall(data[i:i + 1])
                    time.sleep(0.003)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # The server closed first (an HTTP error): what it said is read.
        read_all(s, out)
    elif mode == "turns":
        s = connect(port)
        for req, n in zip(args[0::2], args[1::2]):
            try:
                s.sendall(open(req, "rb").read())
            except OSError:
                break
            want, got = int(n), b""
            while len(got) < want:
                b = s.recv(want - len(got))
                if not b:
                    break
                got += b
            out.write(got)
            out.flush()
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        read_all(s, out)
    elif mode == "hold":
        s = connect(port)
        s.sendall(open(args[0], "rb").read())
        s.settimeout(float(args[1]))
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out.write(b)
        except socket.timeout:
            pass
        out.write(b"==\n")
        out.flush()
        s.settimeout(60)
        s.shutdown(socket.SHUT_WR)
        read_all(s, out)
    elif mode == "noread":
        data = open(args[0], "rb").read()
        s = connect(port, rcvbuf=2048)
        s.setblocking(False)
        sent, off, idle_since = 0, 0, time.monotonic()
        while sent < 64 << 20 and time.monotonic() - idle_since < 3:
            try:
                k = s.send(data[off:] + data * 64)
                sent += k
                off = (off + k) % len(data)
                idle_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break
        print("sent %d" % sent, flush=True)
        time.sleep(float(args[1]))
        s.close()
    else:
        sys.exit("tcppeer.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
