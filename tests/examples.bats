#!/usr/bin/env bats
# The examples in examples/, run so that they cannot rot: the replay tool
# (examples/replay), the collector feeding PostgreSQL (examples/postgres),
# the inetd, xinetd and tcpserver setups (examples/inetd) and the jq recipes
# (examples/jq).  A test whose server, launcher or tool is missing skips and
# names the Debian package.
#
# Nothing here touches the host's services, configuration or journal:
# PostgreSQL runs from a temporary directory on a free 127.0.0.1 port; inetd
# and xinetd run in the foreground on private copies of the example configs,
# in a mount namespace of their own with a private /run (inetd always writes
# and removes /run/inetd.pid) and no /dev/log; the journal of the live jq test
# is that of a throwaway container (tests/lib/container.bash).

bats_require_minimum_version 1.5.0 # run --separate-stderr

load 'lib/common'
load 'lib/container'

EX=$TOP/examples
PG_BIN=/usr/lib/postgresql/15/bin

setup_file() {
	# vlsink-replay: the Makefile's build next to vlsink, else build/std,
	# else compiled here with the flags the Makefile uses (warnings fail).
	local dir=${VLSINK%/*}
	if [[ -z ${REPLAY:-} ]]; then
		if [[ -x $dir/vlsink-replay && $dir/vlsink-replay -nt $EX/replay/vlsink-replay.c ]]; then
			REPLAY=$dir/vlsink-replay
		elif [[ -x $TOP/build/std/vlsink-replay && $TOP/build/std/vlsink-replay -nt $EX/replay/vlsink-replay.c ]]; then
			REPLAY=$TOP/build/std/vlsink-replay
		else
			REPLAY=$BATS_FILE_TMPDIR/vlsink-replay
			"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wmissing-prototypes \
				-Wstrict-prototypes -Wcast-qual -Wwrite-strings -Wformat=2 -Werror \
				-o "$REPLAY" "$EX/replay/vlsink-replay.c"
		fi
	fi
	export REPLAY
	if [[ -z ${COLLECT:-} ]]; then
		COLLECT=$dir/vlsink-collect
		[[ -x $COLLECT ]] || COLLECT=$TOP/build/std/vlsink-collect
	fi
	export COLLECT
}

setup() {
	common_setup
	PGT=
	CT_USED=
}

teardown() {
	pg_stop
	[[ -z $CT_USED ]] || ct_stop
	common_teardown
}

# ---- helpers ---------------------------------------------------------------

# listening PORT: something listens on 127.0.0.1:PORT (TCP).
listening() {
	local hex
	printf -v hex '%04X' "$1"
	grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp
}

# port_free: a random port below the ephemeral range that no socket uses.
# (common's free_port parses /proc/net/tcp in a bash loop, which takes
# seconds under bats when many connections sit in TIME_WAIT.)
port_free() {
	local port hex i
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + SRANDOM % 12000))
		printf -v hex '%04X' "$port"
		if ! grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# per_vehicle FILE: "COUNT VEHICLE" lines of the JSON records in FILE.
per_vehicle() {
	jq -r '.vehicle' "$1" | sort | uniq -c | awk '{ print $1, $2 }' | sort -k2,2V
}

# expect_per_vehicle FILE COUNT PREFIX N: vehicles PREFIX1..PREFIXN have
# COUNT records each, and there is no other vehicle.
expect_per_vehicle() {
	local want="" i
	for ((i = 1; i <= $4; i++)); do
		want+="$2 $3$i"$'\n'
	done
	assert_equal "$(per_vehicle "$1")" "${want%$'\n'}"
}

need_collect() {
	[[ -x $COLLECT ]] || skip "vlsink-collect not built ($COLLECT): run make"
}

# pg_start: a PostgreSQL 15 server of our own: initdb in a temporary
# directory owned by postgres (it refuses to run as root), listening on a
# free 127.0.0.1 port, its unix socket in the same directory.  Exports
# PGHOST PGPORT PGUSER PGDATABASE for psql.  pg_stop (teardown) stops it and
# removes the directory.
pg_start() {
	[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] ||
		skip "PostgreSQL 15 server not installed (package postgresql-15)"
	command -v psql >/dev/null || skip "psql not installed (package postgresql-client-15)"
	id postgres >/dev/null 2>&1 || skip "no postgres user (created by package postgresql-15)"
	[[ $(id -u) == 0 ]] || skip "needs root, to run PostgreSQL as the postgres user"
	PGT=$(mktemp -d "${TMPDIR:-/tmp}/vlsink-pg.XXXXXX")
	chown postgres: "$PGT"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PGT/data" --auth=trust -U postgres -E UTF8 \
		--locale=C --no-sync --no-instructions >"$PGT/initdb.log" 2>&1 ||
		fail "initdb failed: $(cat "$PGT/initdb.log")"
	local try
	for ((try = 0; try < 5; try++)); do
		PGPORT=$(port_free) || fail "no free port"
		if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -l "$PGT/server.log" -w -t 30 -s \
			-o "-p $PGPORT -k $PGT -c listen_addresses=127.0.0.1 -c fsync=off" start 3>&- \
			>>"$PGT/pg_ctl.log" 2>&1; then
			export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres
			return 0
		fi
	done
	fail "PostgreSQL did not start: $(tail -n 20 "$PGT/server.log")"
}

pg_stop() {
	[[ -n ${PGT:-} && -d $PGT ]] || return 0
	if [[ -f $PGT/data/postmaster.pid ]]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -m immediate -w -t 10 -s stop \
			>/dev/null 2>&1 || true
		local pid
		pid=$(head -n 1 "$PGT/data/postmaster.pid" 2>/dev/null) || pid=
		if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$PGT"
	PGT=
}

# psql_val SQL...: the result, unaligned, no headers.
psql_val() {
	psql -X -q -t -A -v ON_ERROR_STOP=1 -d fleet "$@"
}

pg_fleet_db() {
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE fleet' || fail "CREATE DATABASE failed"
	psql -X -q -v ON_ERROR_STOP=1 -d fleet -f "$EX/postgres/schema.sql" || fail "schema.sql failed"
}

# "${PRIVATE_NS[@]}" CMD...: CMD in a mount namespace of its own, with an
# empty /run and no /dev/log, so that a launcher's pid file and syslog stay
# in there.
PRIVATE_NS=(unshare --mount --propagation private -- bash -c '
	mount -t tmpfs -o size=1m,mode=0755 vlsink-test-run /run || exit 1
	if [[ -e /dev/log ]]; then mount --bind /dev/null /dev/log || exit 1; fi
	exec "$@"' private_ns)

private_ns_ok() {
	[[ $(id -u) == 0 ]] || return 1
	command -v unshare >/dev/null || return 1
	unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o size=1m vlsink-test /run' \
		>/dev/null 2>&1
}

# launcher_prepare: the wrapper and vlsink side by side in $T/bin, as they
# would be installed in /usr/local/bin; the FIFO the records go to, and a
# collector reading it into $T/got, held open read-write as the examples
# tell (no systemd to do it).
launcher_prepare() {
	need_collect
	mkdir -p "$T/bin"
	ln -s "$EX/inetd/vlsink-inetd.sh" "$T/bin/vlsink-inetd.sh"
	ln -s "$VLSINK" "$T/bin/vlsink"
	mkfifo "$T/fifo"
	"$COLLECT" --output="$T/got" <>"$T/fifo" 2>"$T/collect.err" 3>&- &
	track $!
}

# launcher_check: sends through the launcher on $PORT: 3 generated vehicles
# of 5 lines, and one connection of garbage whose diagnostics must not come
# back over the connection; checks the records in the collector's file and
# the diagnostics in the wrapper's log.
launcher_check() {
	run --separate-stderr "$REPLAY" --generate --vehicles=3 --count=5 --fast "127.0.0.1:$PORT"
	assert_success
	printf 'garbage\r\n' | socat -t 5 - "TCP:127.0.0.1:$PORT" >"$T/back"
	wait_until 10 lines_at_least "$T/got" 15
	sleep 0.2
	expect_per_vehicle "$T/got" 5 sim- 3
	assert_equal "$(jq -r '.peer' "$T/got" | grep -c '^127\.0\.0\.1:[0-9][0-9]*$')" 15
	# Nothing went back to the trackers: not the records, not the
	# diagnostics.
	assert_equal "$(wc -c <"$T/back")" 0
	wait_until 10 file_has "$T/vlsink.log" 'rejected \(syntax\)'
	wait_until 10 bash -c '(($(grep -c ": eof: " "$1") == 4))' _ "$T/vlsink.log"
	assert_equal "$(grep -c ': eof: 5 accepted, 1 ignored, 0 rejected' "$T/vlsink.log")" 3
}

# ---- examples/replay -------------------------------------------------------

@test "replay: 20 vehicles x 50 lines through systemd-socket-activate: 1000 records, 50 per vehicle" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	ssa_start --accept -- "$VLSINK" --sink=stdout
	run --separate-stderr "$REPLAY" --generate --vehicles=20 --count=50 --rate=100 --per-vehicle \
		"127.0.0.1:$PORT"
	assert_success
	assert_equal "$(grep -c '^sim-[0-9]* 50 ok$' <<<"$output")" 20
	[[ $stderr == *"20 connections made, 0 failed, 0 dropped by the peer"* ]]
	[[ $stderr == *"1000 lines sent, per vehicle min 50 max 50"* ]]
	# The replay waits for every peer to close: vlsink has written all.
	wait_until 5 lines_at_least "$T/ssa.out" 1000
	sleep 0.2
	assert_equal "$(line_count "$T/ssa.out")" 1000
	expect_per_vehicle "$T/ssa.out" 50 sim- 20
	# Every line is a record of its own: (vehicle, time) unique, times
	# 2026-01-01T00:00:00Z + 0..49 s, RMC and GGA alternating.
	assert_equal "$(jq -r '[.vehicle, .time] | @tsv' "$T/ssa.out" | sort -u | wc -l)" 1000
	run jq -r -s 'group_by(.vehicle) | map([.[].time] | sort | first + " " + last) | unique | .[]' "$T/ssa.out"
	assert_output "2026-01-01T00:00:00.000Z 2026-01-01T00:00:49.000Z"
	run jq -r '.format' "$T/ssa.out"
	assert_equal "$(grep -c '^nmea-rmc$' <<<"$output"),$(grep -c '^nmea-gga$' <<<"$output")" "500,500"
	assert_equal "$(grep -c ': eof: 50 accepted, 1 ignored, 0 rejected' "$T/ssa.err")" 20
}

@test "replay --generate: strict checksums, one fix time per line across midnight, moving positions" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	ssa_start --accept -- "$VLSINK" --sink=stdout --checksum=strict
	# Sequence 86300..86499: 2026-01-01T23:58:20Z to 2026-01-02T00:01:39Z.
	run --separate-stderr "$REPLAY" --generate --vehicles=3 --count=200 --first=86300 --fast \
		"127.0.0.1:$PORT"
	assert_success
	wait_until 5 lines_at_least "$T/ssa.out" 600
	sleep 0.2
	assert_equal "$(line_count "$T/ssa.out")" 600
	assert_equal "$(grep -c ': eof: 200 accepted, 1 ignored, 0 rejected' "$T/ssa.err")" 3
	# Per vehicle n (1-based): times are exactly the sequence, the square
	# starts at 48.0 + (n-1)*0.1 N, 8.0 E; speed 8 + n%8 m/s on RMC (via
	# knots with 2 decimals); course one of the four sides.
	jq -e -s '
		def epoch: sub("\\.000Z$"; "Z") | fromdateiso8601;
		group_by(.vehicle) | length == 3 and all(.[];
			(.[0].vehicle | ltrimstr("sim-") | tonumber) as $n
			| (map(.time | epoch) == [range(1767225600 + 86300; 1767225600 + 86500)])
			and (map([.lat, .lon]) | unique | length) == 200
			and (.[0].lat - (48.0 + ($n - 1) * 0.1) | fabs) < 1e-6
			and all(.[]; .lat >= 48 and .lat < 52.1 and .lon >= 8 and .lon < 11)
			and all(.[] | select(.format == "nmea-rmc");
				(.speed - (8 + $n % 8) | fabs) < 0.01
				and (.course | . == 0 or . == 90 or . == 180 or . == 270)))' "$T/ssa.out"
	# The date moves on at midnight, for GGA (date from the last RMC) too.
	run jq -r 'select(.time >= "2026-01-02") | .format' "$T/ssa.out"
	[[ $output == *nmea-gga* && $output == *nmea-rmc* ]]
}

@test "replay FILE --speed: paced by the capture's timestamps; \$PGID replaced, or kept with --file-ids" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	ssa_start --accept -- "$VLSINK" --sink=stdout
	# bus-42.nmea spans 23 s (23:59:50 to 00:00:13): 1.15 s at 20x.
	run --separate-stderr "$REPLAY" --speed=20 --vehicles=2 "127.0.0.1:$PORT" "$TOP/examples/bus-42.nmea"
	assert_success
	local elapsed
	elapsed=$(sed -n 's/.*: elapsed \([0-9.]*\) s.*/\1/p' <<<"$stderr")
	awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.0 && e < 4.0) }' || fail "elapsed $elapsed s, expected about 1.15"
	# Its 48 sentences are 24 fixes.
	wait_until 5 lines_at_least "$T/ssa.out" 48
	sleep 0.2
	expect_per_vehicle "$T/ssa.out" 24 sim- 2
	# Each connection got the whole capture: the same records as the file
	# piped into vlsink, but for the vehicle and the peer.
	"$VLSINK" <"$TOP/examples/bus-42.nmea" 2>/dev/null | jq -c 'del(.vehicle, .peer)' >"$T/want"
	for v in sim-1 sim-2; do
		jq -c --arg v "$v" 'select(.vehicle == $v) | del(.vehicle, .peer)' "$T/ssa.out" >"$T/got.$v"
		diff -u "$T/want" "$T/got.$v"
	done

	# --file-ids: the file's own $PGID, which then counts as a line (54 in
	# the file); --count beyond the file loops it.
	run --separate-stderr "$REPLAY" --file-ids --fast --count=108 "127.0.0.1:$PORT" "$TOP/examples/bus-42.nmea"
	assert_success
	[[ $stderr == *"108 lines sent"* ]]
	# Two connections, the file once each: 24 fixes each.
	wait_until 5 lines_at_least "$T/ssa.out" $((48 + 48))
	sleep 0.2
	assert_equal "$(jq -r 'select(.vehicle == "bus-42")' "$T/ssa.out" | jq -s length)" 48
}

@test "replay --idle: holds connections, reports when the peer's idle timeout closes them" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	ssa_start --accept -- "$VLSINK" --sink=stdout --idle-timeout=1
	run --separate-stderr "$REPLAY" --idle --vehicles=30 --duration=30 "127.0.0.1:$PORT"
	assert_success
	[[ $stderr == *"30 connections made, 0 failed, 30 closed by the peer"* ]]
	local first last
	read -r first last < <(sed -n 's/.*closed by the peer \([0-9.]*\)-\([0-9.]*\) s after.*/\1 \2/p' <<<"$stderr")
	awk -v a="$first" -v b="$last" -v s="$T_SCALE" 'BEGIN { exit !(a >= 0.9 && b < 6 * s) }' ||
		fail "closed after $first-$last s, expected about 1 s"
	wait_until 5 bash -c '(($(grep -c ": idle-timeout: 0 accepted" "$1") == 30))' _ "$T/ssa.err"
	assert_equal "$(line_count "$T/ssa.out")" 0
}

@test "replay: exit status 64 usage, 66 no input, 69 nothing listening, 1 dropped by the peer" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	run "$REPLAY"
	assert_equal "$status" 64
	run "$REPLAY" --generate --rate=0 127.0.0.1:1
	assert_equal "$status" 64
	run "$REPLAY" --generate --fast --rate=5 127.0.0.1:1
	assert_equal "$status" 64
	run "$REPLAY" 127.0.0.1:1 "$T/no-such-file"
	assert_equal "$status" 66
	run "$REPLAY" --help
	assert_success
	assert_output --partial "Exit status:"

	local port
	port=$(port_free)
	run --separate-stderr "$REPLAY" --generate --vehicles=3 --count=5 "127.0.0.1:$port"
	assert_equal "$status" 69
	[[ $stderr == *"0 connections made, 3 failed"* ]]

	# A peer that reads 100 bytes and closes.
	ssa_start --accept --inetd -- head -c 100
	run --separate-stderr "$REPLAY" --generate --vehicles=2 --count=100000 --fast "127.0.0.1:$PORT"
	assert_equal "$status" 1
	[[ $stderr == *"2 connections made, 0 failed, 2 dropped by the peer"* ]]
}


@test "replay --protocol: frames sent with each protocol's terminator, {id} per vehicle, OsmAnd requests built or raw; replies counted and printed" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	# A peer that answers every connection with one acknowledgement and
	# keeps what it reads, one file per connection.
	ssa_start --accept --inetd -- sh -c 'printf "ACK#"; cat >"$1.$$"' _ "$T/got"
	printf '%s\n' '*HQ,{id},V1,083000,A,5231.2005,N,01324.2972,E,12.50,90,011226,FFFFFBFF#' \
		'*HQ,{id},V1,083001,A,5231.2010,N,01324.2980,E,12.50,90,011226,FFFFFBFF' \
		'*HQ,4210051415,V1,083002,A,5231.2015,N,01324.2990,E,0.00,0,011226,FFFFFBFF#*HQ,4210051415,V1,083003,A,5231.2020,N,01324.3000,E,0.00,0,011226,FFFFFBFF#' \
		>"$T/h02"
	run --separate-stderr "$REPLAY" --protocol=h02 --prefix=86000 --vehicles=2 --fast --replies "127.0.0.1:$PORT" "$T/h02"
	assert_success
	[[ $stderr == *"8 frames sent, per vehicle min 4 max 4"* ]] || fail "$stderr"
	[[ $stderr == *"8 bytes received from the peer in 2 reads"* ]] || fail "$stderr"
	assert_equal "$(sort <<<"$output")" $'860001< ACK#\n860002< ACK#'
	wait_until 5 bash -c '(($(cat "$1".* | wc -c) > 0 && $(ls "$1".* | wc -l) == 2))' _ "$T/got"
	sleep 0.2
	local f
	for f in "$T"/got.*; do
		run tr '#' '\n' <"$f"
		assert_line -n 0 --regexp '^\*HQ,86000[12],V1,083000,'
		assert_line -n 1 --regexp '^\*HQ,86000[12],V1,083001,'
		assert_line -n 2 --partial '*HQ,4210051415,V1,083002,'
		assert_line -n 3 --partial '*HQ,4210051415,V1,083003,'
		assert_equal "$(tr -cd '#' <"$f" | wc -c)" 4
		assert_equal "$(tr -cd '\r\n' <"$f" | wc -c)" 0
	done
	rm -f "$T"/got.*

	# gps103 and gl200: their own terminators.
	printf '%s\n' 'imei:359586015829802,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;' \
		'imei:359586015829802,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,' >"$T/gps103"
	run --separate-stderr "$REPLAY" --protocol=gps103 --fast "127.0.0.1:$PORT" "$T/gps103"
	assert_success
	wait_until 5 bash -c '(($(cat "$1".* 2>/dev/null | wc -c) > 0))' _ "$T/got"
	sleep 0.2
	assert_equal "$(cat "$T"/got.*)" 'imei:359586015829802,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;imei:359586015829802,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;'
	rm -f "$T"/got.*
	printf '%s\r\n' '+RESP:GTFRI,060228,862170010196747,,0,0,1,1,4.3,92,70.0,13.404954,52.520008,20261201083000,0262,0001,18d8,6141,00,2000.0,20261201083005,11F0' >"$T/gl200"
	run --separate-stderr "$REPLAY" --protocol=gl200 --fast "127.0.0.1:$PORT" "$T/gl200"
	assert_success
	wait_until 5 bash -c '(($(cat "$1".* 2>/dev/null | wc -c) > 0))' _ "$T/got"
	sleep 0.2
	assert_equal "$(cat "$T"/got.*)" '+RESP:GTFRI,060228,862170010196747,,0,0,1,1,4.3,92,70.0,13.404954,52.520008,20261201083000,0262,0001,18d8,6141,00,2000.0,20261201083005,11F0$'
	rm -f "$T"/got.*

	# osmand: a path made into a GET request, a raw POST with its body.
	{
		echo '/?id={id}&timestamp=1796113800&lat=52.520008&lon=13.404954&accuracy=12.46'
		printf 'POST /?id=raw-1 HTTP/1.1\nHost: x\nContent-Length: 24\n\nlat=52.5&lon=13.4&id={id}GET /?id=raw-2 HTTP/1.1\n\n'
	} >"$T/osmand"
	run --separate-stderr "$REPLAY" --protocol=osmand --fast "127.0.0.1:$PORT" "$T/osmand"
	assert_success
	[[ $stderr == *"3 frames sent"* ]] || fail "$stderr"
	wait_until 5 bash -c '(($(cat "$1".* 2>/dev/null | wc -c) > 0))' _ "$T/got"
	sleep 0.2
	assert_equal "$(cat "$T"/got.*)" "GET /?id=sim-1&timestamp=1796113800&lat=52.520008&lon=13.404954&accuracy=12.46 HTTP/1.1"$'\r'"
Host: 127.0.0.1:$PORT"$'\r'"
User-Agent: vlsink-replay"$'\r'"
"$'\r'"
POST /?id=raw-1 HTTP/1.1"$'\r'"
Host: x"$'\r'"
Content-Length: 24"$'\r'"
"$'\r'"
lat=52.5&lon=13.4&id={id}GET /?id=raw-2 HTTP/1.1"$'\r'"
"$'\r'

	# Usage: protocol names; what is for NMEA only; a file without frames.
	run "$REPLAY" --protocol=tk103 "127.0.0.1:$PORT" "$T/h02"
	assert_equal "$status" 64
	run "$REPLAY" --protocol=h02 --generate "127.0.0.1:$PORT"
	assert_equal "$status" 64
	run "$REPLAY" --protocol=h02 --speed=1 "127.0.0.1:$PORT" "$T/h02"
	assert_equal "$status" 64
	printf '\n\r\n' >"$T/empty"
	run "$REPLAY" --protocol=gl200 "127.0.0.1:$PORT" "$T/empty"
	assert_equal "$status" 66
}

# ---- examples/postgres -----------------------------------------------------

@test "postgres: vlsink -> FIFO -> vlsink-collect -> vlsink-pgload.sh -> PostgreSQL 15, batched COPY" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	command -v jq >/dev/null || skip "jq not installed (package jq)"
	need_collect
	pg_start
	pg_fleet_db
	# The FIFO held open for writing, as systemd's ListenFIFO does.
	mkfifo "$T/fifo"
	exec 7<>"$T/fifo"
	ssa_start --accept -- "$VLSINK" --sink=fifo:"$T/fifo"
	bg bash -c '"$1" --output=- <"$2" | BATCH=100 FLUSH=1 "$3" -d fleet' chain \
		"$COLLECT" "$T/fifo" "$EX/postgres/vlsink-pgload.sh" 2>"$T/chain.err"
	local chain=$BG_PID
	run "$REPLAY" --generate --vehicles=20 --count=50 --fast "127.0.0.1:$PORT"
	assert_success
	run "$REPLAY" --file-ids --fast "127.0.0.1:$PORT" "$TOP/examples/bus-42.nmea"
	assert_success
	# The last writer goes: the collector ends, the loader commits the rest.
	exec 7>&-
	wait_exit "$chain" 30
	[[ $status == 0 ]] || fail "collector | loader exited $status: $(cat "$T/chain.err")"

	# 20 x 50 generated fixes, and bus-42's 24.
	assert_equal "$(psql_val -c 'SELECT count(*) FROM positions')" 1024
	local want="bus-42|24" i
	for ((i = 1; i <= 20; i++)); do want+=$'\n'"sim-$i|50"; done
	assert_equal "$(psql_val -c 'SELECT vehicle, count(*) FROM positions GROUP BY 1' | sort -t'|' -k1,1V)" \
		"$(sort -t'|' -k1,1V <<<"$want")"
	# Coordinates: bus-42's first fix, 5231.3188 N 01324.7981 E, its RMC's
	# speed and course merged with its GGA.
	assert_equal "$(psql_val -c "SELECT lat, lon, speed_mps, course_deg, alt_m, format FROM positions
		WHERE vehicle = 'bus-42' AND fix_time = '2026-11-25T23:59:50Z'")" \
		"52.52198|13.4133017|6.173|60|35|nmea-gga"
	# sim-3 starts its square at 48.2 N 8.0 E on 2026-01-01 at midnight UTC.
	assert_equal "$(psql_val -c "SELECT lat, lon, peer LIKE '127.0.0.1:%' FROM positions
		WHERE vehicle = 'sim-3' AND fix_time = '2026-01-01T00:00:00Z'")" "48.2|8|t"
	assert_equal "$(psql_val -c "SELECT min(fix_time) AT TIME ZONE 'UTC', max(fix_time) AT TIME ZONE 'UTC'
		FROM positions WHERE vehicle LIKE 'sim-%'")" "2026-01-01 00:00:00|2026-01-01 00:00:49"
	# Batched: one transaction per COPY, at most BATCH rows each.
	run psql_val -c 'SELECT count(*), max(n) FROM (SELECT xmin, count(*) AS n FROM positions GROUP BY 1) b'
	local batches largest
	IFS='|' read -r batches largest <<<"$output"
	((batches >= 11 && batches <= 40 && largest <= 100)) ||
		fail "$batches COPY transactions, largest $largest rows: expected 11-40, at most 100 rows"
	# The view of the schema.
	assert_equal "$(psql_val -c "SELECT fix_time AT TIME ZONE 'UTC' FROM last_positions WHERE vehicle = 'bus-42'")" \
		"2026-11-26 00:00:13"
}

@test "postgres: vlsink-pgload.sh commits a trickle after FLUSH seconds, skips non-records, stops on a bad batch" {
	command -v jq >/dev/null || skip "jq not installed (package jq)"
	pg_start
	pg_fleet_db
	mkfifo "$T/in"
	exec 6<>"$T/in"
	# (An async command's stdin is /dev/null unless redirected in the command
	# itself: no bg here.)
	BATCH=1000 FLUSH=1 "$EX/postgres/vlsink-pgload.sh" -d fleet <"$T/in" 2>"$T/load.err" 3>&- 6>&- &
	track $!
	local loader=$!
	{
		"$VLSINK" <"$TOP/examples/van-3.csv" 2>/dev/null | head -n 3
		echo 'not json'
		echo '{"class":"SKY"}'
	} >&6
	# Three records, far fewer than BATCH, while the input stays open.
	_rows() { [[ $(psql_val -c 'SELECT count(*) FROM positions') == "$1" ]]; }
	wait_until 5 _rows 3
	alive "$loader" || fail "the loader ended early: $(cat "$T/load.err")"
	"$VLSINK" --vehicle=truck-7 <"$TOP/examples/truck-7.jsonl" 2>/dev/null >&6
	exec 6>&-
	wait_exit "$loader" 10
	assert_equal "$status" 0
	assert_equal "$(psql_val -c 'SELECT vehicle, count(*) FROM positions GROUP BY 1 ORDER BY 1')" \
		$'truck-7|20\nvan-3|3'
	# A record the table refuses (CHECK lat): psql's error, non-zero status.
	run bash -c 'echo "{\"time\":\"2026-01-01T00:00:00Z\",\"lat\":95,\"lon\":1,\"format\":\"csv\"}" |
		"$1" -d fleet' _ "$EX/postgres/vlsink-pgload.sh"
	assert_failure
	assert_output --partial positions_lat_check
	run env BATCH=abc "$EX/postgres/vlsink-pgload.sh" -d fleet </dev/null
	assert_equal "$status" 64
	assert_equal "$(psql_val -c 'SELECT count(*) FROM positions')" 23
}

# ---- examples/inetd --------------------------------------------------------

@test "inetd: the inetd.conf line under openbsd-inetd delivers records to the FIFO, nothing back to the tracker" {
	dpkg-query -W -f='${Status}' openbsd-inetd 2>/dev/null | grep -q 'ok installed' ||
		skip "openbsd-inetd not installed (package openbsd-inetd)"
	command -v socat >/dev/null || skip "socat not installed (package socat)"
	private_ns_ok || skip "needs root and a private mount namespace (inetd always writes /run/inetd.pid)"
	launcher_prepare
	local try
	for ((try = 0; try < 5; try++)); do
		PORT=$(port_free)
		grep -v '^#' "$EX/inetd/inetd.conf" | sed -E \
			-e "s|^10110([[:space:]])|127.0.0.1:$PORT\\1|" \
			-e "s|vlsink:vlsink|root:root|" \
			-e "s|/usr/local/bin/vlsink-inetd.sh|$T/bin/vlsink-inetd.sh|" \
			-e "s|--sink=fifo:/run/vlsink/positions|--sink=fifo:$T/fifo --log=$T/vlsink.log|" \
			>"$T/inetd.conf"
		grep -qE "^127.0.0.1:$PORT[[:space:]].*nowait.*$T/bin/vlsink-inetd.sh[[:space:]]+vlsink-inetd.sh --sink=fifo:$T/fifo" \
			"$T/inetd.conf" || fail "inetd.conf no longer has the expected line: $(cat "$T/inetd.conf")"
		bg_group "${PRIVATE_NS[@]}" /usr/sbin/inetd -d "$T/inetd.conf" </dev/null >"$T/inetd.log" 2>&1
		wait_until 5 listening "$PORT" && break
		kill -TERM -- "-$BG_PID" 2>/dev/null || true
	done
	listening "$PORT" || fail "inetd did not listen: $(cat "$T/inetd.log")"
	launcher_check
	grep -q 'execv .*vlsink-inetd.sh' "$T/inetd.log"
}

@test "inetd: the xinetd service file under xinetd delivers records to the FIFO, nothing back to the tracker" {
	local xinetd=${XINETD:-}
	if [[ -z $xinetd ]]; then
		for xinetd in "$(command -v xinetd)" /usr/sbin/xinetd "$TOP/build/deps/xinetd/usr/sbin/xinetd" ""; do
			[[ -n $xinetd && -x $xinetd ]] && break
		done
	fi
	[[ -n $xinetd ]] || skip "xinetd not found (Debian's xinetd conflicts with openbsd-inetd: install it instead, or unpack it with 'apt-get download xinetd && dpkg-deb -x xinetd_*.deb build/deps/xinetd', or set XINETD)"
	command -v socat >/dev/null || skip "socat not installed (package socat)"
	private_ns_ok || skip "needs root and a private mount namespace (keeps xinetd's syslog off the host)"
	launcher_prepare
	local try
	for ((try = 0; try < 5; try++)); do
		PORT=$(port_free)
		sed -E \
			-e "s|^([[:space:]]*port[[:space:]]*=).*|\\1 $PORT|" \
			-e "s|^([[:space:]]*bind[[:space:]]*=).*|\\1 127.0.0.1|" \
			-e "s/^([[:space:]]*(user|group)[[:space:]]*=).*/\\1 root/" \
			-e "s|/usr/local/bin/vlsink-inetd.sh|$T/bin/vlsink-inetd.sh|" \
			-e "s|--sink=fifo:/run/vlsink/positions|--sink=fifo:$T/fifo --log=$T/vlsink.log|" \
			"$EX/inetd/xinetd.vlsink" >"$T/xinetd.conf"
		[[ $(grep -cE "port += $PORT|bind += 127.0.0.1|user += root|group += root|server += $T/bin/|server_args += --sink=fifo:$T/fifo" \
			"$T/xinetd.conf") == 6 ]] || fail "xinetd.vlsink no longer has the expected lines: $(cat "$T/xinetd.conf")"
		bg_group "${PRIVATE_NS[@]}" "$xinetd" -dontfork -f "$T/xinetd.conf" -filelog "$T/xinetd.log" \
			</dev/null >"$T/xinetd.out" 2>&1
		wait_until 5 listening "$PORT" && break
		kill -TERM -- "-$BG_PID" 2>/dev/null || true
	done
	listening "$PORT" || fail "xinetd did not listen: $(cat "$T/xinetd.out" "$T/xinetd.log" 2>/dev/null)"
	launcher_check
}

@test "inetd: tcpserver.sh (ucspi-tcp) delivers records to the FIFO, nothing back to the tracker" {
	command -v tcpserver >/dev/null || skip "tcpserver not installed (package ucspi-tcp)"
	command -v socat >/dev/null || skip "socat not installed (package socat)"
	[[ $(id -u) == 0 ]] || skip "needs root (tcpserver -u/-g)"
	launcher_prepare
	# Port 0: tcpserver -1 prints the port it got.
	bg_group env LISTEN_ADDR=127.0.0.1 LISTEN_PORT=0 RUN_AS=root WRAPPER="$T/bin/vlsink-inetd.sh" \
		"$EX/inetd/tcpserver.sh" --sink=fifo:"$T/fifo" --log="$T/vlsink.log" \
		</dev/null >"$T/tcpserver.out" 2>"$T/tcpserver.err"
	wait_until 5 test -s "$T/tcpserver.out" || fail "tcpserver did not start: $(cat "$T/tcpserver.err")"
	PORT=$(head -n 1 "$T/tcpserver.out")
	wait_until 5 listening "$PORT"
	launcher_check
	assert_equal "$(grep -c '^tcpserver: ok ' "$T/tcpserver.err")" 4
}

@test "inetd: vlsink-inetd.sh refuses --sink=stdout, which would send records back to the tracker" {
	run "$EX/inetd/vlsink-inetd.sh" --log="$T/w.log" --sink=stdout </dev/null
	assert_equal "$status" 64
	assert_output ""
	grep -q 'would send the records back' "$T/w.log"
	run "$EX/inetd/vlsink-inetd.sh" --sink stdout --log="$T/w.log" </dev/null
	assert_equal "$status" 64
	assert_output ""
	# An unwritable log: status 73, still silent.
	run "$EX/inetd/vlsink-inetd.sh" --log="$T/no/such/dir/log" </dev/null
	assert_equal "$status" 73
	assert_output ""
}

# ---- examples/jq -----------------------------------------------------------

# jq_check INPUT-FLAG INPUT: every recipe on INPUT against its .expected.
jq_check_records() {
	local in=$1 d=$EX/jq
	diff -u "$d/testdata/last-position.expected" <(jq -n -c -f "$d/last-position.jq" "$in")
	diff -u "$d/testdata/count-per-vehicle.expected" <(jq -n -r -f "$d/count-per-vehicle.jq" "$in")
	diff -u "$d/testdata/speeding.expected" <(jq -n -c --argjson kmh 40 -f "$d/speeding.jq" "$in")
	diff -u "$d/testdata/vehicle-csv.expected" <(jq -n -r --arg vehicle van-3 -f "$d/vehicle-csv.jq" "$in")
}

jq_positions() {
	"$EX/jq/testdata/run-streams.sh" "$VLSINK" --sink=stdout --format=json >"$T/positions.jsonl" 2>"$T/vlsink.err"
	# bus-42's 48 sentences are 24 fixes, one record each.
	[[ $(line_count "$T/positions.jsonl") == 68 ]] || fail "run-streams.sh: $(line_count "$T/positions.jsonl") records, expected 68"
}

@test "jq recipes on vlsink's JSON lines and stderr" {
	command -v jq >/dev/null || skip "jq not installed (package jq)"
	jq_positions
	jq_check_records "$T/positions.jsonl"
	diff -u "$EX/jq/testdata/reject-reasons.expected" \
		<(jq -R -n -r -f "$EX/jq/reject-reasons.jq" "$T/vlsink.err")
	# The recipes run from any directory.
	(cd / && jq -n -r -f "$EX/jq/count-per-vehicle.jq" "$T/positions.jsonl" >/dev/null)
}

@test "jq recipes on journalctl -o json (fixture): the same answers, and journal-to-jsonl gives vlsink's lines" {
	command -v jq >/dev/null || skip "jq not installed (package jq)"
	local journal=$EX/jq/testdata/journal.json
	jq_check_records "$journal"
	diff -u "$EX/jq/testdata/reject-reasons.expected" <(jq -R -n -r -f "$EX/jq/reject-reasons.jq" "$journal")
	# The fixture came from the same streams: converted back, it is what
	# vlsink writes today (else rerun examples/jq/testdata/make-journal.sh).
	jq_positions
	diff -u <(jq -c . "$T/positions.jsonl") <(jq -n -c -f "$EX/jq/journal-to-jsonl.jq" "$journal") ||
		fail "journal.json is stale: rerun examples/jq/testdata/make-journal.sh"
}

@test "jq recipes on a live journal (throwaway container): the same answers" {
	command -v jq >/dev/null || skip "jq not installed (package jq)"
	local why
	why=$(ct_can_run) || skip "$why"
	CT_USED=1
	ct_start
	# The checkout may live under /tmp, which the container does not see.
	ct_copy_in "$EX" /usr/local/lib/vlsink-ex/examples
	ct_copy_in "$(realpath "$VLSINK")" /usr/local/lib/vlsink-ex/vlsink
	ct_exec /usr/local/lib/vlsink-ex/examples/jq/testdata/run-streams.sh /usr/local/lib/vlsink-ex/vlsink \
		--sink=journal
	ct_exec journalctl --sync
	_entries() {
		ct_exec journalctl --no-pager -q -o json -t vlsink >"$T/journal.json"
		(($(line_count "$T/journal.json") >= 84))
	}
	ct_wait_until 10 _entries
	jq_check_records "$T/journal.json"
	diff -u "$EX/jq/testdata/reject-reasons.expected" \
		<(jq -R -n -r -f "$EX/jq/reject-reasons.jq" "$T/journal.json")
	jq_positions
	diff -u <(jq -c . "$T/positions.jsonl") <(jq -n -c -f "$EX/jq/journal-to-jsonl.jq" "$T/journal.json")
}

# Last: its 1000 connections linger in TIME_WAIT for a minute.
@test "replay: 1000 concurrent connections at 1 Hz" {
	command -v python3 >/dev/null || skip "python3 not installed (the test's counting server)"
	(($(ulimit -Hn) >= 1100)) || skip "hard open-file limit $(ulimit -Hn) is below 1100"
	# One process that accepts everything and counts lines.
	local port try
	for ((try = 0; try < 5; try++)); do
		port=$(port_free)
		bg python3 -c '
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
lines = conns = now_open = max_open = 0
async def conn(r, w):
    global lines, conns, now_open, max_open
    conns += 1
    now_open += 1
    max_open = max(max_open, now_open)
    while await r.readline():
        lines += 1
    now_open -= 1
    w.close()
async def report():
    while True:
        await asyncio.sleep(0.1)
        with open(sys.argv[2], "w") as f:
            f.write("%d %d %d\n" % (conns, lines, max_open))
async def main():
    s = await asyncio.start_server(conn, "127.0.0.1", int(sys.argv[1]), backlog=2048)
    asyncio.get_running_loop().create_task(report())
    await s.serve_forever()
asyncio.run(main())' "$port" "$T/counts" 2>"$T/server.err"
		wait_until 5 listening "$port" && break
	done
	listening "$port" || fail "counting server did not start: $(cat "$T/server.err")"
	run --separate-stderr "$REPLAY" --generate --vehicles=1000 --rate=1 --count=3 "127.0.0.1:$port"
	assert_success
	[[ $stderr == *"1000 connections made, 0 failed, 0 dropped by the peer"* ]]
	[[ $stderr == *"3000 lines sent, per vehicle min 3 max 3"* ]]
	# 3 lines at 1 Hz: the first at once, the last 2 s later, the vehicles
	# spread over the second: about 3 s with the closing.
	local elapsed
	elapsed=$(sed -n 's/.*: elapsed \([0-9.]*\) s.*/\1/p' <<<"$stderr")
	awk -v e="$elapsed" 'BEGIN { exit !(e >= 2.0 && e < 8.0) }' || fail "elapsed $elapsed s, expected about 3"
	# Every line arrived (plus one $PGID per connection), and all 1000
	# connections were open at the same time.
	wait_until 5 bash -c '[[ $(cat "$1") == "1000 4000 1000" ]]' _ "$T/counts" ||
		fail "server saw (connections, lines, most open at once) $(cat "$T/counts"), expected 1000 4000 1000"
}
