#!/usr/bin/env bats
#
# Smoke test for tests/lib/container.bash: boots a throwaway systemd in
# systemd-nspawn (overlay of / on tmpfs), checks the journal and socket
# activation inside, and tears everything down in teardown_file.
#
# Tests the harness, not vlsink: not part of `bats tests` (make check); run
# with `bats tests/harness`.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '../lib/container'

setup_file() {
	# bats 1.8 cannot skip from setup_file: remember the reason, skip in setup
	if ! CT_SKIP_REASON=$(ct_can_run); then
		export CT_SKIP_REASON
		return 0
	fi
	export CT_SKIP_REASON=''
	ct_start
	echo "# container $CT_NAME booted in ${CT_BOOT_MS} ms" >&3
}

setup() {
	[ -z "${CT_SKIP_REASON:-}" ] || skip "$CT_SKIP_REASON"
}

teardown_file() {
	ct_stop
}

@test "systemd is PID 1 in the container and the system is up" {
	run ct_exec cat /proc/1/comm
	assert_success
	assert_output systemd
	run ct_exec systemctl is-system-running
	assert_output --regexp '^(running|degraded)$'
	run ct_exec systemctl is-active systemd-journald.service
	assert_output active
	# it is a container with its own machine id, not the host
	run ct_exec systemd-detect-virt --container
	assert_output systemd-nspawn
	[ "$(ct_exec cat /etc/machine-id)" != "$(cat /etc/machine-id)" ]
}

@test "ct_exec preserves the exit status; ct_sh passes arguments" {
	run ct_exec false
	assert_failure 1
	run ct_sh 'echo "$1-$2"; exit 42' a b
	assert_failure 42
	assert_output a-b
}

@test "the host root is the lower layer; writes through CT_ROOT stay out of the host" {
	run ct_exec test -f /usr/lib/systemd/systemd
	assert_success
	mkdir -p "$CT_ROOT/etc/vlsink-smoke"
	echo marker >"$CT_ROOT/etc/vlsink-smoke/marker"
	run ct_exec cat /etc/vlsink-smoke/marker
	assert_output marker
	[ ! -e /etc/vlsink-smoke ]
	# host /tmp (and thus BATS_*_TMPDIR) is not visible inside: copy in
	echo "from host" >"$BATS_TEST_TMPDIR/in.txt"
	run ct_exec test -e "$BATS_TEST_TMPDIR/in.txt"
	assert_failure
	ct_copy_in "$BATS_TEST_TMPDIR/in.txt" /tmp/smoke/in.txt
	run ct_exec cat /tmp/smoke/in.txt
	assert_output "from host"
}

@test "systemd-cat output is readable with journalctl -o json" {
	local msg="hello"
	run ct_exec systemd-cat -t vlsink-smoke echo "$msg"
	assert_success
	# journald stores the stream asynchronously: poll
	_has_hello() {
		ct_exec journalctl --no-pager -t vlsink-smoke -o json |
			jq -e --arg m "$msg" -s 'map(select(.MESSAGE == $m)) | length >= 1' >/dev/null
	}
	ct_wait_until 5 _has_hello
	run ct_exec journalctl --no-pager -t vlsink-smoke -o json -n 1
	assert_success
	assert_equal "$(jq -r .MESSAGE <<<"$output")" "$msg"
	assert_equal "$(jq -r .SYSLOG_IDENTIFIER <<<"$output")" vlsink-smoke
}

@test "socket unit with Accept=yes echoes through /bin/cat" {
	ct_write /etc/systemd/system/vlsink-smoke.socket <<-'EOF'
		[Socket]
		ListenStream=127.0.0.1:10999
		Accept=yes
	EOF
	ct_write /etc/systemd/system/vlsink-smoke@.service <<-'EOF'
		[Service]
		StandardInput=socket
		StandardOutput=socket
		StandardError=journal
		ExecStart=/bin/cat
	EOF
	ct_exec systemctl daemon-reload
	ct_exec systemctl start vlsink-smoke.socket
	run ct_sh 'echo ping-$$ | socat -t 5 -T 5 - TCP:127.0.0.1:10999; echo "$$"'
	assert_success
	assert_equal "${lines[0]}" "ping-${lines[1]}"
	# same with bash /dev/tcp
	run ct_sh 'exec 3<>/dev/tcp/127.0.0.1/10999 && echo pong >&3 && read -r -t 5 l <&3 && echo "$l"'
	assert_success
	assert_output pong
	# --private-network: the host loopback does not have the port
	run timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10999' 2>/dev/null
	assert_failure
}

@test "host build of vlsink runs inside (libsystemd resolved)" {
	local bin="${VLSINK:-$BATS_TEST_DIRNAME/../../build/std/vlsink}"
	[ -x "$bin" ] || skip "vlsink not built ($bin)"
	# The checkout may live under /tmp, which the container does not see.
	ct_copy_in "$(realpath "$bin")" /usr/local/lib/vlsink-smoke/vlsink
	run ct_exec ldd /usr/local/lib/vlsink-smoke/vlsink
	assert_success
	assert_output --partial libsystemd.so.0
	refute_output --partial "not found"
}
