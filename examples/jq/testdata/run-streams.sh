#!/bin/bash
# run-streams.sh VLSINK [VLSINK-OPTION]...: feeds the test streams of the jq
# recipes to VLSINK, one stream after the other, each as its own "connection"
# (peers given by REMOTE_ADDR/REMOTE_PORT where a stream has one):
#   bus-42.nmea   NMEA, $PGID id, a bad checksum and a no-fix line, no peer
#   truck-7.jsonl gpsd TPV, --vehicle=truck-7, peer 192.0.2.7:4242
#   van-3.csv     CSV with its own ids, IPv6 peer [2001:db8::3]:5055
#   noisy.nmea    11 rejects of 5 reasons (more than vlsink logs one by one)
# tests/examples.bats runs it with --sink=stdout for the JSON lines, and
# make-journal.sh with --sink=journal for journal.json.
set -eu
here=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
examples=$here/../..
vlsink=$1
shift
env -u REMOTE_ADDR -u REMOTE_PORT -u LISTEN_FDS -u LISTEN_PID \
	"$vlsink" "$@" <"$examples/bus-42.nmea"
env REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 \
	"$vlsink" --vehicle=truck-7 "$@" <"$examples/truck-7.jsonl"
env REMOTE_ADDR=2001:db8::3 REMOTE_PORT=5055 \
	"$vlsink" "$@" <"$examples/van-3.csv"
env -u REMOTE_ADDR -u REMOTE_PORT \
	"$vlsink" "$@" <"$here/noisy.nmea"
