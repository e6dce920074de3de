#!/usr/bin/env bats
# The sinks: record formats on stdout, the FIFO (no reader, reader going away,
# many writers, backpressure), the journal when its socket is absent, and
# write errors.

load 'lib/common'

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# fifo_writers N INPUT OPTION...: N vlsinks at once, each with OPTION... and
# --sink=fifo:$T/fifo, writer w reading INPUT ("{w}" in INPUT and the options
# stands for w; its stderr in $T/err.w); one cat reads the FIFO into $T/got.
# Every writer must exit 0; returns once the reader has seen EOF.
fifo_writers() {
	local n=$1 in=$2 w p reader
	shift 2
	local -a pids=()
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	reader=$!
	exec 6>"$T/fifo" # Keeps the reader from seeing EOF between writers.
	for ((w = 1; w <= n; w++)); do
		"$VLSINK" "${@//"{w}"/$w}" --sink=fifo:"$T/fifo" <"${in//"{w}"/$w}" >/dev/null 2>"$T/err.$w" 3>&- 6>&- &
		track $!
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait_exit "$p" 60
		assert_equal "$status" 0
	done
	exec 6>&-
	wait_exit "$reader" 10
}

@test "--format=json: every known field, nothing for unknown ones" {
	printf '%s\r\n%s\r\n' "$RMC" "$GGA" >"$T/in"
	REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 vl --vehicle=bus-7 <"$T/in"
	assert_equal "$status" 0
	# The RMC and the GGA of one fix make one record with the fields of both.
	assert_equal "$(line_count "$OUT")" 1
	run jq -c 'keys' "$OUT"
	assert_output '["alt","course","format","hdop","lat","lon","peer","quality","sats","speed","time","vehicle"]'
	jq -e '.vehicle == "bus-7" and .peer == "192.0.2.7:4242" and .format == "nmea-gga"
		and .time == "2024-03-23T12:35:19.000Z"
		and (.lat - 48.1173 | fabs) < 1e-6 and (.lon - 11.5166667 | fabs) < 1e-6
		and (.speed - 11.5236 | fabs) < 1e-3 and (.course - 84.4 | fabs) < 1e-6
		and (.alt - 545.4 | fabs) < 1e-6 and .quality == 1 and .sats == 8 and .hdop == 0.9' "$OUT"
	# Degrees with at least 6 decimals.
	run grep -cE '"lat":-?[0-9]+\.[0-9]{6,},"lon":-?[0-9]+\.[0-9]{6,},' "$OUT"
	assert_output 1

	# One record per sentence with --merge=none; without a vehicle id or a
	# peer, the keys are left out.
	vl --merge=none <"$T/in"
	run jq -c 'keys' "$OUT"
	assert_output '["course","format","lat","lon","speed","time"]
["alt","format","hdop","lat","lon","quality","sats","time"]'
	jq -e -s '(.[0] | .format == "nmea-rmc" and .time == "2024-03-23T12:35:19.000Z"
			and (.speed - 11.5236 | fabs) < 1e-3 and (.course - 84.4 | fabs) < 1e-6)
		and (.[1] | .format == "nmea-gga" and .time == "2024-03-23T12:35:19.000Z"
			and (.alt - 545.4 | fabs) < 1e-6)' "$OUT"
}

@test "a date moved past GPS week rollovers: rollover:true in JSON, and in CSV" {
	printf '%s\n' "$(nmea 'GPRMC,000000,A,4807.038,N,01131.000,E,0.0,0.0,220899,,')" >"$T/in"
	vl <"$T/in"
	assert_equal "$status" 0
	run jq -c '[.time, .rollover]' "$OUT"
	assert_output '["2019-04-07T00:00:00.000Z",true]'
	vl --format=csv <"$T/in"
	run awk -F, '{ print NF, $2 }' "$OUT"
	assert_output '14 2019-04-07T00:00:00.000Z'
	vl --rollover=keep <"$T/in"
	run jq -c '[.time, .rollover]' "$OUT"
	assert_output '["1999-08-22T00:00:00.000Z",null]'
}

@test "--format=csv: vehicle,time,lat,lon,speed,course,alt,format,peer,mode,quality,sats,hdop,accuracy; empty when unknown" {
	printf '%s\n%s\n' "$RMC" "$GGA" >"$T/in"
	REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 vl --format=csv --vehicle=bus-7 <"$T/in"
	assert_equal "$status" 0
	run awk -F, '{ print NF }' "$OUT"
	assert_output 14
	IFS=, read -r v t lat lon speed course alt format peer mode quality sats hdop accuracy <"$OUT"
	assert_equal "$v,$t,$format,$peer" "bus-7,2024-03-23T12:35:19.000Z,nmea-gga,192.0.2.7:4242"
	[[ $lat == 48.1173* && $lon == 11.51666* && $speed == 11.52* && $course == 84.4* && $alt == 545.4* ]]
	assert_equal "$mode,$quality,$sats,$hdop,$accuracy" ",1,8,0.90,"

	vl --format=csv --merge=none <"$T/in"
	run cut -d, -f1,7-14 "$OUT"
	assert_output $',,nmea-rmc,,,,,,\n,545.40,nmea-gga,,,1,8,0.90,'
}

# Needs the OsmAnd and Queclink parsers and --protocol (issue 18).
@test "accuracy (OsmAnd) and the archive flag (Queclink +BUFF): JSON after the fix quality and after rollover, CSV's last column" {
	printf 'GET /?id=123456&timestamp=1796113800&lat=52.520008&lon=13.404954&accuracy=12.46 HTTP/1.1\r\nHost: vlsink\r\n\r\n' >"$T/osmand"
	vl --protocol=osmand --vehicle=car-1 <"$T/osmand"
	assert_equal "$status" 0
	run grep -c '"accuracy":12.5,"format":"osmand"' "$OUT"
	assert_output 1
	vl --protocol=osmand --format=csv --vehicle=car-1 <"$T/osmand"
	run awk -F, '/,osmand,/ { print NF, $14 }' "$OUT"
	assert_output '14 12.5'

	printf '+BUFF:GTFRI,060228,862170010196747,,0,0,1,1,4.3,92,70.0,13.404954,52.520008,20261201083000,0262,0001,18d8,6141,00,2000.0,20261201083005,11F0$' >"$T/gl200"
	vl --protocol=gl200 <"$T/gl200"
	assert_equal "$status" 0
	run grep -cE '"format":"gl200",("rollover":true,)?"archive":true[,}]' "$OUT"
	assert_output 1
	run cat "$OUT"
	refute_output --partial accuracy
	# The flag has no CSV column: 14 columns still.
	vl --protocol=gl200 --format=csv <"$T/gl200"
	run awk -F, '/,gl200,/ { print NF }' "$OUT"
	assert_output 14
}

@test "--format=raw: the accepted line as received, without its CR" {
	bad=${RMC/\*/0*} # Checksum no longer matches.
	printf '%s\r\n%s\r\n%s\r\n%s\n%s' "$RMC" "$GSV" "$bad" "$GGA" 'v1,1700000000,1.5,2.5' >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$RMC"$'\n'"$GGA"$'\n'"v1,1700000000,1.5,2.5"
	assert_equal "$(summary_counts)" "3 1 1"
}

@test "--sink=fifo:PATH delivers every record" {
	gen_nmea 3000 >"$T/in"
	vl <"$T/in" # The same records on stdout, for comparison.
	cp "$OUT" "$T/expected"
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	reader=$!
	vl --sink=fifo:"$T/fifo" <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" ""
	wait_exit "$reader" 10
	cmp "$T/expected" "$T/got"
	assert_equal "$(summary_counts)" "3000 0 0"
}

@test "FIFO without a reader: vlsink waits, reads nothing, then delivers to a late reader" {
	gen_nmea 500 >"$T/in"
	mkfifo "$T/fifo"
	"$VLSINK" --format=raw --sink=fifo:"$T/fifo" <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	wait_until 10 file_has "$ERR" 'no reader, waiting'
	sleep 1
	alive "$vpid"
	assert_equal "$(fdinfo_pos "$vpid" 0)" 0 # Backpressure: the input stays unread.
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	reader=$!
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	wait_exit "$reader" 10
	cmp <(tr -d '\r' <"$T/in") "$T/got"
	grep -q 'reader present, delivering' "$ERR"
}

@test "FIFO that does not exist yet is waited for; a regular file is refused" {
	printf '%s\n' "$RMC" >"$T/in"
	"$VLSINK" --format=raw --sink=fifo:"$T/later" <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	wait_until 10 file_has "$ERR" 'does not exist, waiting'
	alive "$vpid"
	mkfifo "$T/later"
	cat "$T/later" >"$T/got" 3>&- &
	track $!
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	wait_exit "$BG_PID" 10
	assert_equal "$(cat "$T/got")" "$RMC"

	: >"$T/plain"
	vl --sink=fifo:"$T/plain" <"$T/in"
	assert_equal "$status" 74
	grep -q 'not a FIFO' "$ERR"
	assert_equal "$(stat -c %s "$T/plain")" 0
}

@test "FIFO reader goes away mid-stream: vlsink waits for the next; nothing lost, nothing torn" {
	mkfifo "$T/in" "$T/fifo"
	for i in $(seq 1 60); do rmc_at "$i"; echo; done >"$T/batch1"
	for i in $(seq 61 120); do rmc_at "$i"; echo; done >"$T/batch2"
	env --default-signal=PIPE "$VLSINK" --format=raw --sink=fifo:"$T/fifo" <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	exec 5>"$T/in"
	# The first reader takes 1000 bytes, stopping in the middle of a
	# record, and leaves: what it did not read stays in the pipe.
	dd if="$T/fifo" of="$T/got1" bs=1 count=1000 status=none 3>&- 5>&- &
	track $!
	reader=$!
	cat "$T/batch1" >&5
	wait_exit "$reader" 10
	assert_equal "$(stat -c %s "$T/got1")" 1000
	cat "$T/batch2" >&5
	wait_until 10 file_has "$ERR" 'reader went away, waiting for another'
	sleep 0.5
	alive "$vpid" # SIGPIPE did not kill it.
	cat "$T/fifo" >"$T/got2" 3>&- 5>&- &
	track $!
	reader=$!
	exec 5>&-
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	wait_exit "$reader" 10
	cmp <(cat "$T/batch1" "$T/batch2") <(cat "$T/got1" "$T/got2")
	assert_equal "$(summary_counts)" "120 0 0"
}

@test "stdout reader gone: EPIPE is a sink failure (exit 74), never a SIGPIPE death" {
	mkfifo "$T/in"
	# SIGPIPE at its default, whatever this shell inherited; the reader
	# closes its end before vlsink has anything to write.
	bg_group bash -c '
		{ env --default-signal=PIPE "$1" <"$2/in" 2>"$2/err"; echo $? >"$2/rc"; } | {
			exec 0<&-
			touch "$2/closed"
			sleep 30
		}' vl-epipe "$VLSINK" "$T"
	exec 5>"$T/in"
	wait_until 10 test -e "$T/closed"
	printf '%s\n' "$RMC" >&5
	exec 5>&-
	wait_until 10 test -s "$T/rc"
	assert_equal "$(cat "$T/rc")" 74
	grep -q '1 record(s) not delivered' "$ERR"
}

@test "stdout write error (/dev/full): exit 74, the loss reported" {
	printf '%s\n%s\n' "$RMC" "$GGA" >"$T/in"
	status=0
	"$VLSINK" <"$T/in" >/dev/full 2>"$ERR" || status=$?
	assert_equal "$status" 74
	grep -q 'sink failed: 1 record(s) not delivered' "$ERR" # One fix, RMC and GGA merged.
	summary | grep -q 'sink-error'
}

@test "many concurrent writers into one FIFO: every record once, none torn" {
	gen_nmea 2000 >"$T/in"
	fifo_writers 20 "$T/in" --vehicle="v{w}"
	# gen-nmea's 2000 lines are 1000 fixes (RMC and GGA each): 1000 records.
	assert_equal "$(line_count "$T/got")" 20000
	# Every line one whole JSON record; each vehicle's 1000 records once each.
	jq -r -R 'fromjson | "\(.vehicle) \(.time) \(.format)"' "$T/got" >"$T/keys"
	assert_equal "$(line_count "$T/keys")" 20000
	run bash -c "sort '$T/keys' | uniq -d | head -n 3"
	assert_output ""
	run bash -c "cut -d' ' -f1 '$T/keys' | sort | uniq -c | awk '{ print \$1 }' | sort -u"
	assert_output 1000
	run bash -c "cut -d' ' -f1 '$T/keys' | sort -u | wc -l"
	assert_output 20
}

@test "many concurrent writers of long raw lines: every line arrives whole, once" {
	for w in $(seq 1 16); do
		# Lines of 100 to 3900 bytes, so that records often straddle
		# what one write can carry.
		awk -v w="$w" 'BEGIN {
			srand(w)
			for (i = 1; i <= 150; i++) {
				n = 100 + int(rand() * 3800)
				pad = sprintf("%*s", n, "")
				gsub(/ /, "p", pad)
				printf "{\"class\":\"TPV\",\"device\":\"w%d-%d-%s\",\"mode\":2,\"lat\":1.5,\"lon\":2.5}\n", w, i, pad
			}
		}' >"$T/in.$w"
	done
	fifo_writers 16 "$T/in.{w}" --format=raw --max-line=4000
	cmp <(cat "$T"/in.* | sort) <(sort "$T/got")
}

@test "backpressure: a sink that does not read stops vlsink reading; then all arrives" {
	gen_nmea 200000 >"$T/in"
	size=$(stat -c %s "$T/in")
	for sink in fifo stdout; do
		rm -f "$T/fifo" "$T/got"
		mkfifo "$T/fifo"
		exec 7<>"$T/fifo" # A reader that never reads.
		if [[ $sink == fifo ]]; then
			"$VLSINK" --sink=fifo:"$T/fifo" <"$T/in" >/dev/null 2>"$ERR" 3>&- 7>&- &
		else
			"$VLSINK" <"$T/in" >"$T/fifo" 2>"$ERR" 3>&- 7>&- &
		fi
		track $!
		vpid=$!
		wait_until 20 settled "$vpid" 0
		alive "$vpid"
		pos=$(fdinfo_pos "$vpid" 0)
		echo "$sink: vlsink stopped reading at $pos of $size bytes"
		((pos < size / 4))
		cat "$T/fifo" >"$T/got" 3>&- 7>&- &
		track $!
		reader=$!
		wait_exit "$vpid" 30
		assert_equal "$status" 0
		exec 7>&-
		wait_exit "$reader" 10
		assert_equal "$(line_count "$T/got")" 100000 # RMC and GGA of each fix merged.
		assert_equal "$(summary_counts)" "200000 0 0"
	done
}

@test "journal socket absent at start: vlsink waits without reading, then delivers" {
	need_private_mount
	printf '%s\n' "$RMC" >"$T/in"
	in_private_run "$VLSINK" --sink=journal --vehicle=bus-7 <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	wait_until 10 file_has "$ERR" 'journal socket absent, waiting'
	sleep 1
	alive "$vpid"
	assert_equal "$(fdinfo_pos "$vpid" 0)" 0
	fake_journal "$vpid"
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	wait_until 10 file_has "$T/journal" '^LINES_ACCEPTED=1$'
	grep -qx 'SYSLOG_IDENTIFIER=vlsink' "$T/journal"
	grep -qx 'PRIORITY=6' "$T/journal"
	grep -qx 'VEHICLE_ID=bus-7' "$T/journal"
	grep -qx 'LATITUDE=48.1173000' "$T/journal"
	grep -qx 'SOURCE_FORMAT=nmea-rmc' "$T/journal"
	grep -qxF "RAW_LINE=$RMC" "$T/journal"
	assert_equal "$(cat "$OUT")" ""
}

@test "--log=journal: each diagnostic is a journald entry of its own (priority, identifier, message), stderr stays empty; no journald: said on stderr after all" {
	need_private_mount
	mkfifo "$T/in"
	in_private_run "$VLSINK" --log=journal --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	exec 5>"$T/in"
	# vlsink itself, so past in_private_run's unshare and tmpfs
	wait_until 10 bash -c "[[ \$(cat /proc/$vpid/comm) == vlsink ]]" || fail "vlsink did not start"
	fake_journal "$vpid"
	printf 'garbage\n%s\n' "$RMC" >&5
	exec 5>&-
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$RMC"
	assert_equal "$(cat "$ERR")" ""
	wait_until 10 file_has "$T/journal" '^MESSAGE=stdin: eof: '
	# one entry per diagnostic: three fields each, the message without "vlsink: "
	run cat "$T/journal"
	assert_line --index 0 PRIORITY=4
	assert_line --index 1 SYSLOG_IDENTIFIER=vlsink
	assert_line --index 2 'MESSAGE=stdin: line 1 rejected (syntax): "garbage"'
	assert_line --index 3 PRIORITY=6
	assert_line --index 4 SYSLOG_IDENTIFIER=vlsink
	assert_line --index 5 --regexp '^MESSAGE=stdin: eof: 1 accepted, 0 ignored, 1 rejected \(syntax 1\), [0-9]+ bytes$'
	assert_equal "${#lines[@]}" 6
	# no journald: the same lines on stderr
	printf 'garbage\n' >"$T/in2"
	(in_private_run "$VLSINK" --log=journal <"$T/in2" >"$OUT" 2>"$ERR" 3>&-)
	run cat "$ERR"
	assert_line --index 0 'vlsink: stdin: line 1 rejected (syntax): "garbage"'
	assert_line --index 1 --regexp '^vlsink: stdin: eof: 0 accepted'
}

@test "--log=auto: the journal only in a systemd service (INVOCATION_ID) whose stderr is /dev/null; --log=stderr overrides" {
	need_private_mount
	printf 'garbage\n' >"$T/in"
	# inside one private mount namespace: a fake journald, then four runs
	(export T VLSINK; in_private_run bash -c '
		mkdir -p /run/systemd/journal
		socat -u UNIX-RECV:/run/systemd/journal/socket OPEN:"$T/journal",creat,append &
		sp=$!
		for _ in $(seq 100); do [[ -S /run/systemd/journal/socket ]] && break; sleep 0.05; done
		INVOCATION_ID=run1 "$VLSINK" --vehicle=run1 <"$T/in" 2>/dev/null >/dev/null
		"$VLSINK" --vehicle=run2 <"$T/in" 2>/dev/null >/dev/null
		INVOCATION_ID=run3 "$VLSINK" --vehicle=run3 <"$T/in" 2>"$T/err3" >/dev/null
		INVOCATION_ID=run4 "$VLSINK" --log=stderr --vehicle=run4 <"$T/in" 2>/dev/null >/dev/null
		INVOCATION_ID=run5 "$VLSINK" --bogus <"$T/in" 2>/dev/null >/dev/null
		sleep 0.2
		kill $sp' 3>&-)
	run grep -c '^MESSAGE=' "$T/journal"
	assert_output 3
	grep -q '^MESSAGE=stdin: line 1 rejected' "$T/journal"
	grep -q '^MESSAGE=stdin run1: eof: 0 accepted' "$T/journal"
	! grep -q 'run[234]' "$T/journal"
	# a usage error, decided before the options are read
	grep -q "^MESSAGE=--bogus: unknown option" "$T/journal"
	grep -q 'rejected' "$T/err3"
}

@test "journal socket absent: SIGTERM gives up after the grace period, exit 74" {
	need_private_mount
	printf '%s\n' "$RMC" >"$T/in"
	in_private_run "$VLSINK" --sink=journal <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	wait_until 10 file_has "$ERR" 'journal socket absent, waiting'
	sleep 0.5
	alive "$vpid"
	kill -TERM "$vpid"
	start=$SECONDS
	wait_exit "$vpid" 15
	assert_equal "$status" 74
	((SECONDS - start >= 3)) # It waited its grace period first.
	grep -q 'gave up waiting' "$ERR"
	grep -q '0 record(s) not delivered' "$ERR"
	summary | grep -q 'sink-error: 0 accepted, 0 ignored, 0 rejected, 0 bytes'
}

@test "journal socket gone mid-stream: the record waits; SIGTERM reports it undelivered" {
	need_private_mount
	mkfifo "$T/in"
	# One record per line: what is parsed is what waits.
	in_private_run "$VLSINK" --sink=journal --merge=none <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	exec 5>"$T/in"
	wait_until 10 file_has "$ERR" 'journal socket absent, waiting'
	fake_journal "$vpid"
	printf '%s\n' "$RMC" >&5
	wait_until 10 file_has "$T/journal" '^LATITUDE=48.1173000$'
	nsenter -t "$vpid" -m -- rm /run/systemd/journal/socket
	printf '%s\n%s\n' "$GGA" "$RMC" >&5
	wait_until 10 bash -c "[[ \$(grep -c 'journal socket absent, waiting' '$ERR') == 2 ]]"
	sleep 0.5
	alive "$vpid"
	kill -TERM "$vpid"
	wait_exit "$vpid" 15
	assert_equal "$status" 74
	# The GGA waits for the journal; the RMC behind it was parsed too if
	# both lines came in one read, else it is still unread: 1 or 2 lost,
	# and every accepted record but the first.
	local n acc
	n=$(sed -nE 's/.*sink failed: ([0-9]+) record\(s\) not delivered.*/\1/p' "$ERR")
	acc=$(summary | sed -nE 's/.*sink-error: ([0-9]+) accepted.*/\1/p')
	[[ $n == 1 || $n == 2 ]] || fail "not delivered: '$n'"
	assert_equal "$acc" "$((n + 1))"
	summary | grep -q ", $n not delivered"
	assert_equal "$(grep -c '^LATITUDE=' "$T/journal")" 1
}
