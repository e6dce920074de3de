#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# The journal sink against a real journald: the one inside a throwaway
# systemd container (tests/lib/container.bash; never the host's journal).
# vlsink runs directly inside the container (ct_exec, or a transient unit
# for the runs that must outlive one command); no vlsink units are needed.
#
# Every test uses vehicle ids of its own (e2e_vid), so tests sharing the
# container's journal never count each other's entries.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

# Where the binary under test lives inside the container: a copy of
# $VLSINK (the host build may be rebuilt while the container runs).
VL=/usr/local/bin/vlsink

setup_file() {
	e2e_setup_file || return 1
	[ -n "$CT_SKIP_REASON" ] && return 0
	[[ -x $VLSINK ]] || {
		echo "vlsink binary not found: $VLSINK" >&2
		return 1
	}
	ct_copy_in "$(realpath "$VLSINK")" "$VL"
}

setup() {
	e2e_setup
	common_setup
}

teardown() {
	common_teardown
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	# a test that stopped journald and failed must not take the journal
	# away from the tests after it
	e2e_journald_up
	e2e_stop_bg
}

teardown_file() {
	e2e_teardown_file
}

# fields JQ-FILTER: the record fields of every vlsink entry that passes
# JQ-FILTER, as compact JSON with the keys sorted (null when absent), one
# entry a line, in journal order.
fields() {
	e2e_journal | jq -c -S "select($1) | {MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, VEHICLE_ID, FIX_TIME,
		LATITUDE, LONGITUDE, SPEED_MPS, COURSE_DEG, ALTITUDE_M, FIX_MODE, FIX_QUALITY,
		SATELLITES_USED, HDOP, SOURCE_FORMAT, RAW_LINE, REMOTE_ADDR, REMOTE_PORT}"
}

# entries_of VEHICLE: number of journal entries (of any kind) of VEHICLE
entries_of() {
	e2e_journal VEHICLE_ID="$1" | wc -l
}

entries_at_least() { # N VEHICLE
	(($(entries_of "$2") >= $1))
}

# expect_entry JQ-FILTER EXPECTED-JSON: exactly one entry passes the filter
# and its fields are EXPECTED-JSON (keys sorted, null for absent fields).
expect_entry() {
	run fields "$1"
	assert_success
	[ "${#lines[@]}" -eq 1 ] || fail "expected one entry for $1, got ${#lines[@]}: $output"
	assert_equal "$output" "$(jq -c -S . <<<"$2")"
}

journald_stop() {
	ct_exec systemctl stop systemd-journald.socket systemd-journald-dev-log.socket \
		systemd-journald.service
}

journald_start() {
	ct_exec systemctl start systemd-journald.socket systemd-journald-dev-log.socket \
		systemd-journald.service
}

bg_err_has() { # NAME TEXT
	ct_exec grep -qF -- "$2" "$E2E_TMP/$1.err"
}

@test "NMEA, gpsd TPV and CSV records arrive with every field" {
	local bus van truck
	bus=$(e2e_vid bus) truck=$(e2e_vid truck) van=$(e2e_vid van)
	{
		printf '%s\r\n' "$(nmea "PGID,$bus")" "$(nmea "$RMC_BODY")" "$(nmea "$GGA_BODY")"
	} >"$T/bus.nmea"
	{
		printf 'IMEI %s\n' "$truck"
		printf '%s\n' '{"class":"TPV","device":"/dev/ttyUSB0","mode":3,"time":"2026-11-25T08:00:00.000Z","lat":48.1375,"lon":11.57545,"altMSL":519.0,"speed":8.0,"track":330.0}'
		printf '%s\n' '{"class":"SKY","device":"/dev/ttyUSB0","satellites":[]}'
	} >"$T/truck.jsonl"
	printf 'id,time,lat,lon,speed_mps,course_deg,alt_m\n%s,1764057600,59.329230,18.068700,9.5,120,26\n' \
		"$van" >"$T/van.csv"
	for f in bus.nmea truck.jsonl van.csv; do
		run ct_exec "$VL" --sink=journal <"$T/$f"
		assert_success
	done
	e2e_wait_records 10 1 "$bus"
	e2e_wait_records 10 1 "$truck"
	e2e_wait_records 10 1 "$van"

	# The RMC and the GGA of one fix: one entry with the fields of both, the
	# position from the GGA, both lines in RAW_LINE.
	expect_entry ".VEHICLE_ID == \"$bus\" and .SOURCE_FORMAT" '{
		"MESSAGE": "'"$bus"' at 48.1173000,11.5166667", "PRIORITY": "6",
		"SYSLOG_IDENTIFIER": "vlsink", "VEHICLE_ID": "'"$bus"'",
		"FIX_TIME": "2024-03-23T12:35:19.000Z", "LATITUDE": "48.1173000",
		"LONGITUDE": "11.5166667", "SPEED_MPS": "11.524", "COURSE_DEG": "84.40",
		"ALTITUDE_M": "545.40", "FIX_QUALITY": "1", "SATELLITES_USED": "8", "HDOP": "0.90",
		"FIX_MODE": null, "SOURCE_FORMAT": "nmea-gga",
		"RAW_LINE": '"$(printf '%s\n%s' "$(nmea "$RMC_BODY")" "$(nmea "$GGA_BODY")" | jq -Rs .)"',
		"REMOTE_ADDR": null, "REMOTE_PORT": null }'
	expect_entry ".VEHICLE_ID == \"$truck\" and .SOURCE_FORMAT" '{
		"MESSAGE": "'"$truck"' at 48.1375000,11.5754500", "PRIORITY": "6",
		"SYSLOG_IDENTIFIER": "vlsink", "VEHICLE_ID": "'"$truck"'",
		"FIX_TIME": "2026-11-25T08:00:00.000Z", "LATITUDE": "48.1375000",
		"LONGITUDE": "11.5754500", "SPEED_MPS": "8.000", "COURSE_DEG": "330.00",
		"ALTITUDE_M": "519.00", "SOURCE_FORMAT": "gpsd-tpv", "FIX_MODE": "3",
		"FIX_QUALITY": null, "SATELLITES_USED": null, "HDOP": null,
		"RAW_LINE": '"$(sed -n 2p "$T/truck.jsonl" | jq -R .)"', "REMOTE_ADDR": null, "REMOTE_PORT": null }'
	expect_entry ".VEHICLE_ID == \"$van\" and .SOURCE_FORMAT" '{
		"MESSAGE": "'"$van"' at 59.3292300,18.0687000", "PRIORITY": "6",
		"SYSLOG_IDENTIFIER": "vlsink", "VEHICLE_ID": "'"$van"'",
		"FIX_TIME": "2025-11-25T08:00:00.000Z", "LATITUDE": "59.3292300",
		"LONGITUDE": "18.0687000", "SPEED_MPS": "9.500", "COURSE_DEG": "120.00",
		"ALTITUDE_M": "26.00", "SOURCE_FORMAT": "csv", "FIX_MODE": null,
		"FIX_QUALITY": null, "SATELLITES_USED": null, "HDOP": null,
		"RAW_LINE": "'"$van"',1764057600,59.329230,18.068700,9.5,120,26",
		"REMOTE_ADDR": null, "REMOTE_PORT": null }'
	# nothing else was logged as a record or a reject for these vehicles
	run e2e_journal VEHICLE_ID="$truck" PRIORITY=4
	assert_output ''
}

@test "over TCP, entries carry REMOTE_ADDR and REMOTE_PORT (socket-activate --accept and --inetd)" {
	local mode port=10120 v
	for mode in accept inetd; do
		port=$((port + 1))
		# --inetd alone would pass the listening socket (inetd "wait" mode)
		e2e_bg "ssa-$mode" "systemd-socket-activate -l 127.0.0.1:$port --accept \
			$([[ $mode == inetd ]] && echo --inetd) $VL --sink=journal"
		ct_wait_until 10 ct_exec sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
			{ e2e_bg_show "ssa-$mode"; fail "no listener on $port"; }
		# TPV without an identification line: the vehicle is the peer's address
		v=$(e2e_vid "$mode")
		e2e_client gen tpv "$v" 3 >"$T/in"
		sed 1d "$T/in" | ct_write "$E2E_TMP/$mode.jsonl"
		ct_exec rm -f "$E2E_TMP/ports"
		run e2e_client send --port "$port" --ports "$E2E_TMP/ports" "$E2E_TMP/$mode.jsonl"
		assert_success
		local cport
		cport=$(ct_exec cat "$E2E_TMP/ports" | cut -d' ' -f1)
		[[ $cport =~ ^[0-9]+$ ]] || fail "no client port: $cport"
		_peer_records() {
			(($(e2e_journal REMOTE_PORT="$cport" SOURCE_FORMAT=gpsd-tpv | wc -l) >= 3))
		}
		ct_wait_until 10 _peer_records || fail "$mode: records from port $cport did not arrive"
		run fields ".REMOTE_PORT == \"$cport\" and .SOURCE_FORMAT"
		[ "${#lines[@]}" -eq 3 ] || fail "$mode: ${#lines[@]} records: $output"
		for l in "${lines[@]}"; do
			assert_equal "$(jq -r '[.REMOTE_ADDR, .REMOTE_PORT, .VEHICLE_ID] | join(" ")' <<<"$l")" \
				"127.0.0.1 $cport 127.0.0.1"
		done
		# the summary names the peer too
		_peer_summary() { e2e_journal REMOTE_PORT="$cport" | jq -e 'select(.END_REASON)' >/dev/null; }
		ct_wait_until 10 _peer_summary || fail "$mode: no summary"
		run e2e_journal REMOTE_PORT="$cport"
		assert_output --partial "\"MESSAGE\":\"127.0.0.1:$cport: eof: 3 accepted, 0 ignored, 0 rejected"
		ct_exec systemctl stop "e2e-ssa-$mode"
	done
}

@test "a rejected line gives a PRIORITY=4 entry with REJECT_REASON and an escaped, cut RAW_LINE" {
	local v long
	v=$(e2e_vid rej)
	printf -v long '%0200d' 7
	{
		printf '%s,1764057600,59.3,18.0\n' "$v"
		printf '%s,17640\x01\x7f57600,"59.3",18.0\n' "$v" # control bytes
		printf 'x%s\\"y\n' "$long"                         # 200+ bytes of nothing
		printf '$GPGLL,4916.45,N,12311.12,W,225444,A*00\n'    # bad checksum
		printf '%s,1764057601,59.3,18.0\n' "$v"
	} >"$T/in"
	run ct_exec "$VL" --sink=journal --vehicle="$v" <"$T/in"
	assert_success
	_rejects_there() { (($(e2e_journal VEHICLE_ID="$v" PRIORITY=4 | wc -l) >= 3)); }
	ct_wait_until 10 _rejects_there || fail "reject entries did not arrive"
	run e2e_journal VEHICLE_ID="$v" PRIORITY=4
	[ "${#lines[@]}" -eq 3 ] || fail "expected 3 reject entries: $output"
	run jq -r '[.LINE_NUMBER, .REJECT_REASON, .RAW_LINE] | join(" ")' <<<"$output"
	assert_line -n 0 "2 control-char $v,17640\\x01\\x7f57600,\\\"59.3\\\",18.0"
	assert_line -n 1 "3 syntax x${long:0:63}..."
	assert_line -n 2 '4 bad-checksum $GPGLL,4916.45,N,12311.12,W,225444,A*00'
	run e2e_journal VEHICLE_ID="$v" PRIORITY=4
	run jq -r '.MESSAGE' <<<"${lines[0]}"
	assert_output "line 2 rejected (control-char): \"$v,17640\\x01\\x7f57600,\\\"59.3\\\",18.0\""
	# the lines after the rejects are accepted as if nothing happened
	e2e_wait_records 10 2 "$v"
}

@test "one summary entry at the end: END_REASON, line counts, BYTES_READ" {
	local v
	v=$(e2e_vid sum)
	{
		printf '%s\r\n' "$(nmea "PGID,$v")" "$(nmea "$RMC_BODY")" "$(nmea "$GSV_BODY")"
		printf '\n'
		printf '%s\r\n' "$(nmea "$GGA_BODY")" 'not a position' "$(nmea "$RMC_BODY")"
	} >"$T/in"
	run ct_exec "$VL" --sink=journal <"$T/in"
	assert_success
	_summary_there() { e2e_journal VEHICLE_ID="$v" | jq -e 'select(.END_REASON)' >/dev/null; }
	ct_wait_until 10 _summary_there || fail "no summary entry"
	run e2e_journal VEHICLE_ID="$v"
	# 3 accepted lines of one fix (RMC, GGA, the RMC resent) make 1 record;
	# 1 reject, 1 summary; the summary comes last
	[ "${#lines[@]}" -eq 3 ] || fail "expected 3 entries: $output"
	run jq -c -S '{END_REASON, LINES_ACCEPTED, LINES_IGNORED, LINES_REJECTED, BYTES_READ,
		REJECTS_SUPPRESSED, RECORDS_WRITTEN, RECORDS_FILTERED, MERGE_CONFLICTS, PRIORITY,
		VEHICLE_ID}' <<<"${lines[2]}"
	assert_output "$(jq -c -S . <<<'{"END_REASON":"eof","LINES_ACCEPTED":"3","LINES_IGNORED":"3",
		"LINES_REJECTED":"1","BYTES_READ":"'"$(stat -c %s "$T/in")"'","REJECTS_SUPPRESSED":"0",
		"RECORDS_WRITTEN":"1","RECORDS_FILTERED":"0","MERGE_CONFLICTS":"0",
		"PRIORITY":"6","VEHICLE_ID":"'"$v"'"}')"
	run e2e_journal VEHICLE_ID="$v"
	run jq -r .MESSAGE <<<"${lines[2]}"
	assert_output "stdin: eof: 3 accepted, 3 ignored, 1 rejected (syntax 1), $(stat -c %s "$T/in") bytes"
}

@test "reject entries are bounded: 1000 garbage lines, at most ~10 entries, the summary counts the rest" {
	local v
	v=$(e2e_vid garbage)
	for i in $(seq 1000); do printf 'garbage line %d\n' "$i"; done >"$T/in"
	run ct_exec "$VL" --sink=journal --vehicle="$v" <"$T/in"
	assert_success
	_summary_there() { e2e_journal VEHICLE_ID="$v" | jq -e 'select(.END_REASON)' >/dev/null; }
	ct_wait_until 10 _summary_there || fail "no summary entry"
	local logged
	logged=$(e2e_journal VEHICLE_ID="$v" PRIORITY=4 | wc -l)
	echo "reject entries: $logged"
	((logged >= 1 && logged <= 11)) || fail "$logged reject entries for 1000 bad lines"
	run e2e_journal VEHICLE_ID="$v"
	run jq -c 'select(.END_REASON) | [.LINES_REJECTED, .REJECTS_SUPPRESSED, .MESSAGE]' <<<"$output"
	assert_output "[\"1000\",\"$((1000 - logged))\",\"stdin: eof: 0 accepted, 0 ignored, 1000 rejected (syntax 1000), $(stat -c %s "$T/in") bytes, some rejects not logged\"]"
}

@test "journal socket absent at start: vlsink says so, waits, and delivers everything once it appears" {
	local v
	v=$(e2e_vid absent)
	e2e_gen csv "$v" 200 0 "$E2E_TMP/absent.csv"
	journald_stop
	# PID 1 leaves the socket file behind when the socket unit stops
	# (RemoveOnStop=no): remove it, the socket is then really absent
	ct_exec rm -f /run/systemd/journal/socket
	run ct_exec test -e /run/systemd/journal/socket
	assert_failure
	e2e_bg absent "$VL --sink=journal --vehicle=$v <$E2E_TMP/absent.csv"
	ct_wait_until 10 bg_err_has absent "journal socket absent, waiting for journald" ||
		{ e2e_bg_show absent; fail "vlsink did not say it waits"; }
	sleep 1
	# still waiting, not given up
	run e2e_bg_done absent
	assert_failure
	journald_start
	e2e_bg_wait absent 20
	e2e_bg_show absent
	assert_equal "$E2E_RC" 0
	bg_err_has absent "journal socket present, delivering"
	run e2e_wait_check 10 VEHICLE_ID="$v" -- --expect "$v:0:200"
	assert_success
	# nothing was lost into the void: the summary made it, too
	_summary_200() { [ "$(e2e_journal VEHICLE_ID="$v" END_REASON=eof LINES_ACCEPTED=200 | wc -l)" = 1 ]; }
	ct_wait_until 10 _summary_200 || fail "no summary with 200 records"
	# and all of it (the wait, the socket libsystemd makes once journald is
	# back) ran inside vlsink's own sandbox
	run jq -r .SANDBOX < <(e2e_journal VEHICLE_ID="$v" END_REASON=eof)
	assert_output --regexp "$SANDBOX_RE"
}

@test "journald stopped with its socket file left behind: vlsink retries and loses nothing" {
	local v
	v=$(e2e_vid stale)
	e2e_gen nmea "$v" 200 0 "$E2E_TMP/stale.nmea"
	journald_stop
	ct_exec test -S /run/systemd/journal/socket # stale: nobody listens
	e2e_bg stale "$VL --sink=journal <$E2E_TMP/stale.nmea"
	ct_wait_until 10 bg_err_has stale "retrying" ||
		{ e2e_bg_show stale; fail "vlsink did not say it retries"; }
	sleep 0.5
	run e2e_bg_done stale
	assert_failure
	journald_start
	e2e_bg_wait stale 20
	e2e_bg_show stale
	assert_equal "$E2E_RC" 0
	run e2e_wait_check 10 VEHICLE_ID="$v" -- --expect "$v:0:200"
	assert_success
}

@test "systemctl restart systemd-journald in the middle of a stream loses no record" {
	local v
	v=$(e2e_vid restart)
	e2e_journald_restart_check restart "$v" "$VL --sink=journal"
}

# An entry larger than the socket buffer: sendmsg fails with EMSGSIZE (the
# fault shim, tests/shim/faultinject.c, answers for a full buffer: the first
# send of a message of 8000 bytes or more, as a socket of net.core.wmem_max
# 4608 does), and libsystemd passes the entry as a sealed memfd instead, with
# prctl(PR_GET_NAME), memfd_create, writev, fcntl(F_ADD_SEALS), sendmsg with
# SCM_RIGHTS and close, all under the sandbox: in the one process of a pipe,
# and in a supervised reader's worker (its narrower layer too).  Unprivileged,
# like an installed instance.  The merged fix of three 3,800-byte sentences
# must arrive as one whole entry.
@test "an entry too large for the socket buffer arrives whole as a memfd, confined (one process and a worker)" {
	local so=$BATS_FILE_TMPDIR/faultinject.so lib=/usr/local/lib/vlsink-faultinject.so mode v port=10130 pad
	"${CC:-cc}" -shared -fPIC -O2 -std=c11 -Wall -Wextra -o "$so" "$BATS_TEST_DIRNAME/shim/faultinject.c" -ldl ||
		fail "cannot build the fault shim"
	ct_copy_in "$so" "$lib"
	ct_exec chmod 0644 "$lib"
	pad=$(printf '%01880d' 0)
	local rmc="GPRMC,123519,A,4807.038$pad,N,01131.000$pad,E,022.4,084.4,230324,003.1,W"
	local gga="GPGGA,123519,4807.038$pad,N,01131.000$pad,E,1,08,0.9,545.4,M,46.9,M,,"
	local gll="GPGLL,4807.038$pad,N,01131.000$pad,E,123519,A,A"
	printf '%s\r\n' "$(nmea "$rmc")" "$(nmea "$gga")" "$(nmea "$gll")" >"$T/big.nmea"
	ct_write /tmp/vlsink-big.nmea 0644 <"$T/big.nmea"
	# A dynamically linked ASan runtime (the sanitizer pass) must come first
	# in the library list, the shim right after it (as in faults.bats).
	local asan
	asan=$(ldd "$VLSINK" 2>/dev/null | awk '/libasan|libclang_rt\.asan/ { print $3; exit }')
	for mode in pipe tcp; do
		v=$(e2e_vid "$mode")
		local fault="LD_PRELOAD=${asan:+$asan:}$lib FAULT_SENDMSG_ERRNO=EMSGSIZE FAULT_SENDMSG_MIN=8000 FAULT_SENDMSG_TIMES=1"
		fault+=" FAULT_LOG=/tmp/vlsink-big-$mode.log"
		local cmd="setpriv --reuid=nobody --regid=nogroup --clear-groups env $fault $VL --sink=journal"
		cmd+=" --max-line=4000 --vehicle=$v"
		ct_exec rm -f "/tmp/vlsink-big-$mode.log"
		if [[ $mode == pipe ]]; then
			e2e_bg big-pipe "$cmd </tmp/vlsink-big.nmea"
			e2e_bg_wait big-pipe 20
			[ "$E2E_RC" -eq 0 ] || { e2e_bg_show big-pipe; fail "pipe: exit $E2E_RC"; }
		else
			e2e_bg big-tcp "systemd-socket-activate -l 127.0.0.1:$port --accept $cmd"
			ct_wait_until 10 ct_exec sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
				{ e2e_bg_show big-tcp; fail "no listener on $port"; }
			ct_exec socat -u FILE:/tmp/vlsink-big.nmea "TCP:127.0.0.1:$port"
			_big_summary() { e2e_journal VEHICLE_ID="$v" | jq -e 'select(.END_REASON)' >/dev/null; }
			ct_wait_until 20 _big_summary || { e2e_bg_show big-tcp; fail "tcp: no summary"; }
		fi
		e2e_wait_records 10 1 "$v" || { e2e_bg_show "big-$mode"; fail "$mode: no record"; }
		run ct_exec cat "/tmp/vlsink-big-$mode.log"
		assert_output --regexp '^sendmsg fd=[0-9]+ size=[0-9]+ -> EMSGSIZE$'
		run ct_exec cat "$E2E_TMP/big-$mode.err"
		refute_output --partial "refused system call"
		# --all: journalctl shows fields over 4096 bytes as null otherwise
		run e2e_journal --all VEHICLE_ID="$v"
		assert_success
		output=$(jq -c -S 'select(.SOURCE_FORMAT) | {MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, VEHICLE_ID,
			FIX_TIME, LATITUDE, LONGITUDE, SPEED_MPS, COURSE_DEG, ALTITUDE_M, FIX_MODE, FIX_QUALITY,
			SATELLITES_USED, HDOP, SOURCE_FORMAT, RAW_LINE}' <<<"$output")
		[ "$(wc -l <<<"$output")" -eq 1 ] || fail "$mode: not one record: $output"
		assert_equal "$output" "$(jq -c -S . <<<'{
			"MESSAGE": "'"$v"' at 48.1173000,11.5166667", "PRIORITY": "6",
			"SYSLOG_IDENTIFIER": "vlsink", "VEHICLE_ID": "'"$v"'",
			"FIX_TIME": "2024-03-23T12:35:19.000Z", "LATITUDE": "48.1173000",
			"LONGITUDE": "11.5166667", "SPEED_MPS": "11.524", "COURSE_DEG": "84.40",
			"ALTITUDE_M": "545.40", "FIX_QUALITY": "1", "SATELLITES_USED": "8", "HDOP": "0.90",
			"FIX_MODE": null, "SOURCE_FORMAT": "nmea-gga",
			"RAW_LINE": '"$(printf '%s\n%s\n%s' "$(nmea "$rmc")" "$(nmea "$gga")" "$(nmea "$gll")" | jq -Rs .)"' }')"
		[ "$(jq -r '.RAW_LINE | length' <<<"$output")" -gt 11000 ] || fail "$mode: RAW_LINE cut"
		[[ $mode == pipe ]] || ct_exec systemctl stop e2e-big-tcp
	done
}
