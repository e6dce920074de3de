#!/bin/sh
# vlsink under ucspi-tcp's tcpserver (Debian package ucspi-tcp), for machines
# without systemd or inetd: one vlsink per TCP connection.  Run it from your
# service supervisor (runit, daemontools, s6, an rc script); it stays in the
# foreground and logs one line per connection on stderr.
#
#   tcpserver.sh [VLSINK-OPTION]...        e.g. --sink=journal --idle-timeout=600
#
# Environment (defaults in brackets):
#   LISTEN_ADDR  address to listen on [0.0.0.0]
#   LISTEN_PORT  port [10110, the IANA port for NMEA 0183 over TCP]
#   RUN_AS       user whose uid and gid the connections run as [vlsink]
#   WRAPPER      the per-connection program [/usr/local/bin/vlsink-inetd.sh]
#
# Records end up in the central FIFO /run/vlsink/positions, which one
# vlsink-collect reads; see inetd.conf next to this file for creating it, and
# vlsink-inetd.sh for why the records must not go to stdout (under tcpserver
# stdin and stdout are the connection; stderr is tcpserver's).
#
# tests/examples.bats runs this script with LISTEN_ADDR=127.0.0.1, port 0
# and RUN_AS=root.
set -eu
: "${LISTEN_ADDR:=0.0.0.0}" "${LISTEN_PORT:=10110}" "${RUN_AS:=vlsink}"
: "${WRAPPER:=/usr/local/bin/vlsink-inetd.sh}"
uid=$(id -u "$RUN_AS")
gid=$(id -g "$RUN_AS")

# -c 4096  concurrent connections (the default, 40, is for a few logins)
# -b 1024  listen backlog, for a fleet reconnecting at once (default 20)
# -R       no IDENT (RFC 1413) lookup of every peer: that would add a
#          connection back to port 113 and up to 26 s before vlsink starts
# -H -l 0  no DNS lookups of the peer or of the local name
# -u -g    run each vlsink as RUN_AS
# -v       one log line per connection on stderr ("tcpserver: ok PID ...")
# -1       print the local port on stdout once listening (useful with port 0)
exec tcpserver -v -1 -R -H -l 0 -c 4096 -b 1024 -u "$uid" -g "$gid" \
	"$LISTEN_ADDR" "$LISTEN_PORT" "$WRAPPER" --sink=fifo:/run/vlsink/positions "$@"
