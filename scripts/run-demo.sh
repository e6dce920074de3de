#!/bin/bash
# make run: vlsink behind systemd-socket-activate on 127.0.0.1, one instance
# per connection, with three sample vehicles replayed into it at once.
set -euo pipefail
bin=${1:?usage: run-demo.sh VLSINK}
top=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-10110}
delay=${DELAY:-0.02}

if ! command -v systemd-socket-activate >/dev/null; then
	echo "run-demo: systemd-socket-activate not found (Debian package systemd)" >&2
	exit 1
fi
# 10110 is the NMEA port; use a free one if it is taken.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	port=$(( (RANDOM % 20000) + 30000 ))
fi

systemd-socket-activate -l "127.0.0.1:$port" --accept "$bin" --sink=stdout --format=json &
activator=$!
trap 'kill "$activator" 2>/dev/null; wait "$activator" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
echo "run-demo: vlsink listening on 127.0.0.1:$port (systemd-socket-activate --accept)" >&2

replay() { # replay PREFIX-LINE FILE: send the file line by line, like a tracker
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	[ -n "$1" ] && printf '%s\r\n' "$1" >&3
	while IFS= read -r line; do
		printf '%s\n' "$line" >&3
		sleep "$delay"
	done <"$2"
	exec 3>&-
}
replay "" "$top/examples/bus-42.nmea" &
replay "IMEI 356938035643809" "$top/examples/truck-7.jsonl" &
replay "" "$top/examples/van-3.csv" &
wait %2 %3 %4
sleep 0.5
echo "run-demo: done; each connection's summary is on stderr above" >&2
