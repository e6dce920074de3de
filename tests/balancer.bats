#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# Load balancers for real in front of vlsink, in one throwaway systemd
# container (tests/lib/container.bash): Debian's haproxy, and nginx with its
# stream module, unpacked into build/deps by `make deps-balancers` (never
# installed on the host: their units would be enabled there and inherited by
# the containers), run the shipped examples/haproxy/haproxy.cfg and
# examples/nginx/nginx.conf with only their addresses and ports changed;
# vlsink.socket runs with the shipped drop-ins
# examples/units/vlsink@.service.d/proxy.conf (--proxy-protocol=v2) and
# examples/units/vlsink.socket.d/balancer.conf.  Vehicles connect from
# addresses of their own (127.0.0.5-7 on the container's loopback).
#
# Runs once, against the normal build; the sanitizer pass skips it.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

HAPROXY=$BATS_TEST_DIRNAME/../build/deps/haproxy/usr/sbin/haproxy
NGINX_DIR=$BATS_TEST_DIRNAME/../build/deps/nginx
# Their copies inside the container: the tree may lie where the container
# does not see it (under /tmp, which is a tmpfs of its own in there).
CT_HAPROXY=/usr/local/lib/vlsink-test/haproxy
CT_NGINX_DIR=/usr/local/lib/vlsink-test/nginx
# The balancers listen here; vlsink.socket on 10110, as installed.
LB_PORT=10111
NGINX_PORT=10112

haproxy_setup() {
	local top=$E2E_TOP
	ct_copy_in "$HAPROXY" "$CT_HAPROXY" || return 1
	ct_copy_in "$NGINX_DIR" "$CT_NGINX_DIR" || return 1
	ct_exec useradd --system --no-create-home --shell /usr/sbin/nologin haproxy || return 1
	ct_exec mkdir -p /var/lib/haproxy || return 1
	# The shipped configuration; only its addresses and ports differ.
	sed -e "s/^\tbind :10110$/\tbind 127.0.0.1:$LB_PORT/" \
		-e 's/^\tserver ingest1 192\.0\.2\.11:10110$/\tserver ingest1 127.0.0.1:10110/' \
		-e 's/^\tserver ingest2 192\.0\.2\.12:10110$/\tserver ingest2 127.0.0.2:10110/' \
		"$top/examples/haproxy/haproxy.cfg" | ct_write /etc/haproxy/haproxy.cfg || return 1
	sed 's|@BINDIR@|/usr/local/bin|g' "$top/examples/units/vlsink@.service.d/proxy.conf" |
		ct_write /etc/systemd/system/vlsink@.service.d/proxy.conf || return 1
	ct_write /etc/systemd/system/vlsink.socket.d/balancer.conf \
		<"$top/examples/units/vlsink.socket.d/balancer.conf" || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl restart vlsink.socket || { ct_exec systemctl status vlsink.socket >&2; return 1; }
	# A stats socket for the test, in a file of its own: HAProxy merges
	# global sections.
	printf 'global\n\tstats socket /run/haproxy-test.sock mode 600 level admin\n' |
		ct_write /etc/haproxy/test-stats.cfg || return 1
	# As Debian's haproxy.service starts it.
	if ! ct_exec systemd-run --quiet --unit=haproxy -p Type=notify \
		"$CT_HAPROXY" -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/test-stats.cfg; then
		ct_exec journalctl --no-pager -u haproxy.service >&2
		return 1
	fi
	ct_wait_until 10 ct_sh 'ss -Hltn "sport = :$1" | grep -q .' "$LB_PORT" ||
		{ echo "haproxy is not listening on $LB_PORT" >&2; return 1; }
}

setup_file() {
	# A missing balancer is a failure (make deps-test unpacks them), said in
	# setup.
	[[ -x $HAPROXY && -x $NGINX_DIR/usr/sbin/nginx ]] || return 0
	e2e_setup_file_installed haproxy_setup
}

setup() {
	[[ -x $HAPROXY ]] || fail "no haproxy at $HAPROXY (make deps-balancers)"
	[[ -x $NGINX_DIR/usr/sbin/nginx ]] || fail "no nginx in $NGINX_DIR (make deps-balancers)"
	e2e_setup
}

teardown_file() {
	e2e_teardown_file
}

# send SOURCE-ADDRESS PORT FILE: FILE's lines from SOURCE-ADDRESS to PORT on
# the container's loopback, from inside it.
send() {
	ct_sh 'socat -u -t 2 "OPEN:$3" "TCP:127.0.0.1:$2,bind=$1,connect-timeout=3"' "$@"
}

# vlsink's journal entries, as JSON, with the matches given.
entries() {
	ct_exec journalctl --no-pager -q -o json -t vlsink "$@"
}

# Seconds-resolution RMC lines, one per second from 12:00:00 on day DDMMYY.
rmc_lines() {
	local i
	for ((i = 0; i < $1; i++)); do
		nmea "$(printf 'GPRMC,1200%02d,A,4807.038,N,01131.000,E,022.4,084.4,251126,003.1,W' "$i")"
		printf '\r\n'
	done
}

@test "the shipped drop-ins are in effect: --proxy-protocol=v2, no per-source cap" {
	run ct_exec systemctl show -P DropInPaths vlsink.socket
	assert_output --partial vlsink.socket.d/balancer.conf
	run ct_exec systemctl show -P MaxConnectionsPerSource vlsink.socket
	assert_output 0
	run ct_exec systemctl cat vlsink@.service
	assert_output --partial 'ExecStart=/usr/local/bin/vlsink --sink=journal --log=journal --proxy-protocol=v2'
	run ct_exec systemctl is-active haproxy.service
	assert_output active
}

@test "vehicles through HAProxy: every record carries its vehicle's own address, none the balancer's" {
	local a
	rmc_lines 5 >"$BATS_TEST_TMPDIR/rmc"
	ct_copy_in "$BATS_TEST_TMPDIR/rmc" /tmp/e2e/rmc
	for a in 127.0.0.5 127.0.0.6 127.0.0.7; do
		send "$a" "$LB_PORT" /tmp/e2e/rmc || fail "sending from $a failed"
	done
	for a in 127.0.0.5 127.0.0.6 127.0.0.7; do
		ct_wait_until 20 ct_sh '[ "$(journalctl -q -o json -t vlsink REMOTE_ADDR="$1" | jq -s "map(select(.END_REASON)) | length")" = 1 ]' "$a" ||
			fail "no summary for $a: $(entries | tail -n 5)"
		run ct_sh 'journalctl -q -o json -t vlsink REMOTE_ADDR="$1" | jq -r "select(.SOURCE_FORMAT) | .VEHICLE_ID" | sort | uniq -c' "$a"
		assert_output --regexp "^ +5 $a\$"
		# The summary names the balancer the connection came through.
		run ct_sh 'journalctl -q -o json -t vlsink REMOTE_ADDR="$1" END_REASON=eof | jq -r ".PROXY_VIA, .RECORDS_WRITTEN"' "$a"
		assert_output --regexp $'^127\\.0\\.0\\.1:[0-9]+\n5$'
	done
	# No record has the balancer's address.
	run ct_sh 'journalctl -q -o json -t vlsink REMOTE_ADDR=127.0.0.1 | jq -c "select(.SOURCE_FORMAT)"'
	assert_output ""
}

# "SERVER STATUS CHECK_STATUS CHKFAIL" for each server of backend vlsink.
servers() {
	ct_sh 'echo "show stat" | socat - UNIX-CONNECT:/run/haproxy-test.sock' |
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
			$1 == "vlsink" && $2 ~ /^ingest/ { print $2, $col["status"], $col["check_status"], $col["chkfail"] }'
}

_checked() { [[ $(servers | grep -c ' UP L4OK 0$') == 2 ]]; }

@test "HAProxy's health checks (LOCAL headers): the servers stay up, no record, no warning from vlsink or PID 1" {
	# A check every 10 s per server, the first at a random point of the
	# first interval; then one more round.
	ct_wait_until 25 _checked || fail "checks did not pass: $(servers)"
	sleep 11
	run servers
	assert_output $'ingest1 UP L4OK 0\ningest2 UP L4OK 0'
	# HAProxy resets a check connection at once, before PID 1 has accepted
	# it as a rule: PID 1 then drops it quietly (with MaxConnectionsPerSource=0,
	# balancer.conf).  One that vlsink gets ends in a debug entry, no record.
	echo "health checks that reached vlsink: $(entries PRIORITY=7 | wc -l)"
	run ct_sh 'journalctl -q -o json -t vlsink REMOTE_ADDR=127.0.0.1 | jq -r "[.PRIORITY, .END_REASON, .BYTES_READ, .RECORDS_WRITTEN] | join(\" \")" | sort -u'
	[[ -z $output ]] || assert_output --regexp '^7 (eof|reset) 0 0$'
	# No warning from any vlsink in this container, ever, nor from PID 1
	# about vlsink.socket.
	run ct_sh 'journalctl -q -o json -t vlsink -p warning | jq -r .MESSAGE'
	assert_output ""
	run ct_sh 'journalctl -q -p warning -u vlsink.socket -o cat; journalctl -q -p warning -o cat | grep -i getpeername'
	assert_output ""
	run ct_exec journalctl --no-pager -q -u haproxy.service
	refute_output --partial 'is DOWN'
	refute_output --regexp 'ALERT|WARNING'
}

@test "nginx stream with proxy_protocol on (version 1): every record carries its vehicle's own address" {
	local a
	# The shipped configuration; only its addresses and ports differ.
	sed -e "s/^\t\tlisten 10110;$/\t\tlisten 127.0.0.1:$NGINX_PORT;/" \
		-e 's/^\t\tserver 192\.0\.2\.11:10110;$/\t\tserver 127.0.0.1:10110;/' \
		-e 's/^\t\tserver 192\.0\.2\.12:10110;$/\t\tserver 127.0.0.2:10110;/' \
		"$E2E_TOP/examples/nginx/nginx.conf" | ct_write /etc/nginx/nginx.conf
	# nginx sends version 1: the drop-in with v2 changed to v1, as it says.
	sed -e 's|@BINDIR@|/usr/local/bin|g' -e 's/--proxy-protocol=v2$/--proxy-protocol=v1/' \
		"$E2E_TOP/examples/units/vlsink@.service.d/proxy.conf" |
		ct_write /etc/systemd/system/vlsink@.service.d/proxy.conf
	ct_exec systemctl daemon-reload
	# Modules resolve against the prefix, as /usr/share/nginx/modules does
	# on an installed nginx.
	ct_exec systemd-run --quiet --unit=nginx "$CT_NGINX_DIR/usr/sbin/nginx" -p "$CT_NGINX_DIR/usr/lib/nginx/" \
		-c /etc/nginx/nginx.conf -g 'daemon off;' ||
		fail "nginx did not start: $(ct_exec journalctl --no-pager -q -u nginx.service)"
	ct_wait_until 10 ct_sh 'ss -Hltn "sport = :$1" | grep -q .' "$NGINX_PORT" ||
		fail "nginx is not listening: $(ct_exec journalctl --no-pager -q -u nginx.service)"
	rmc_lines 3 >"$BATS_TEST_TMPDIR/rmc"
	ct_copy_in "$BATS_TEST_TMPDIR/rmc" /tmp/e2e/rmc3
	for a in 127.0.0.8 127.0.0.9; do
		send "$a" "$NGINX_PORT" /tmp/e2e/rmc3 || fail "sending from $a failed"
	done
	for a in 127.0.0.8 127.0.0.9; do
		ct_wait_until 20 ct_sh '[ "$(journalctl -q -o json -t vlsink REMOTE_ADDR="$1" | jq -s "map(select(.END_REASON)) | length")" = 1 ]' "$a" ||
			fail "no summary for $a: $(entries | tail -n 5)"
		run ct_sh 'journalctl -q -o json -t vlsink REMOTE_ADDR="$1" | jq -r "select(.SOURCE_FORMAT) | .VEHICLE_ID" | sort | uniq -c' "$a"
		assert_output --regexp "^ +3 $a\$"
	done
	run ct_sh 'journalctl -q -o json -t vlsink -p warning | jq -r .MESSAGE'
	assert_output ""
	run ct_exec journalctl --no-pager -q -u nginx.service
	refute_output --regexp '\[(emerg|alert|crit|error|warn)\]'
	# The drop-in as the other tests expect it.
	sed 's|@BINDIR@|/usr/local/bin|g' "$E2E_TOP/examples/units/vlsink@.service.d/proxy.conf" |
		ct_write /etc/systemd/system/vlsink@.service.d/proxy.conf
	ct_exec systemctl daemon-reload
}
