#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# Confinement of one vlsink connection, as a black box: the probe shim
# (tests/shim/probe.c, preloaded into the instance through a drop-in) tries
# some hundred actions after vlsink's set-up, each in a child of its own, and
# reports which were allowed, denied or killed. One connection through
# vlsink.socket is probed under the vlsink@.service of 2026-11-30
# (tests/fixtures/, the last unit that built the whole sandbox in PID 1) and
# one under the unit make install installs, in a throwaway systemd container
# (tests/lib/container.bash, tests/lib/confine.bash). Nothing the old unit
# denied may be allowed by the new one, and the new one must deny every
# action the probe classes as forbidden; once vlsink sandboxes itself (its
# --help offers --no-sandbox), also every action of the class sandbox: not
# needed by vlsink, but allowed by the 2026-11-30 unit. The table goes to the
# output; the same table for docs/reliability.md: tests/bench/confine-table.sh --run.
#
# CONFINE_NEW_DROPIN=FILE adds FILE as a drop-in to the new unit's run: a
# drop-in that weakens the unit (SystemCallFilter= reset, say) must make
# this file fail.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'
load 'lib/confine'

OLD_UNIT=$BATS_TEST_DIRNAME/fixtures/vlsink@.service.2026-11-30
TABLE=$BATS_TEST_DIRNAME/bench/confine-table.sh

setup_file() {
	e2e_setup_file_installed _confine_setup_file
}

_confine_setup_file() {
	confine_build "$BATS_FILE_TMPDIR/vlsink-probe.so" &&
		confine_prepare "$BATS_FILE_TMPDIR/vlsink-probe.so"
}

setup() {
	e2e_setup
	OLD=$BATS_FILE_TMPDIR/old NEW=$BATS_FILE_TMPDIR/new
}

teardown_file() {
	[ -n "${CT_SKIP_REASON:-}" ] || confine_cleanup
	e2e_teardown_file
}

# probed TAG UNIT OUT [DROPIN]: one probed connection; its table in OUT.
probed() {
	run confine_run "$@"
	echo "$output"
	assert_success
	echo "# $1: $(grep -c -v ' done ' "$3") actions probed" >&3
}

# tables: both tables are there (the two runs above passed).
tables() {
	[[ -s $OLD && -s $NEW ]] || fail "no probe table of the old or the new unit (see the first two tests)"
}

@test "the probe runs under the 2026-11-30 unit (DynamicUser, namespaces, syscall filter in PID 1); the connection's record reaches the journal" {
	probed old "$OLD_UNIT" "$OLD"
	# The probe must see what it reports on: a wrong set-up would make every
	# action "denied" and the comparison pass for nothing.
	run grep -E '^PROBE old (fork|signal-own-reader|send-journal-socket|memfd_create) allowed ' "$OLD"
	assert_equal "${#lines[@]}" 4
	run grep -E '^PROBE old (signal|ptrace-seize|process_vm_readv)-peer n/a ' "$OLD"
	assert_output ''
}

@test "the probe runs under the unit make install installs; the connection's record reaches the journal" {
	probed new "" "$NEW" "${CONFINE_NEW_DROPIN:-}"
	run grep -E '^PROBE new (fork|signal-own-reader|send-journal-socket|memfd_create) allowed ' "$NEW"
	assert_equal "${#lines[@]}" 4
}

@test "nothing the 2026-11-30 unit denied is allowed under the new unit (the table side by side)" {
	tables
	run "$TABLE" --check "$OLD" "$NEW"
	printf '# %s\n' "${lines[@]}" >&3
	assert_success
	# The table covers both runs, action by action (a header row, then one
	# row an action).
	local rows
	rows=$(grep -c '^| ' <<<"$output")
	assert_equal "$((rows - 1))" "$(grep -c -v ' done ' "$OLD")"
}

@test "the new unit denies every action of the class forbid" {
	tables
	run "$TABLE" --forbid "$OLD" "$NEW"
	echo "$output"
	assert_success
	# And the old one did too: the class is what the 2026-11-30 unit kept
	# from a connection.
	run "$TABLE" --forbid "$NEW" "$OLD"
	echo "$output"
	assert_success
}

@test "vlsink's own sandbox denies every action of the classes forbid and sandbox" {
	tables
	confine_sandboxed || skip "vlsink does not sandbox itself yet (no --no-sandbox in --help); applies once it does"
	run "$TABLE" --sandbox "$OLD" "$NEW"
	echo "$output"
	assert_success
	# Opening a writable file as vlsink opens its FIFO: neither a file
	# beside it nor /proc/self/mem (which writes even read-only code).
	run grep -cE '^PROBE new (write-file-beside-fifo|write-/proc/self/mem) (denied|killed) ' "$NEW"
	assert_output 2
}

@test "systemd-analyze security of both units" {
	local old new
	old=$(confine_rating "$OLD_UNIT")
	new=$(confine_rating "")
	echo "# systemd-analyze security: old unit $old, new unit $new" >&3
	[[ $old =~ ^[0-9]+\.[0-9]\  ]] || fail "no rating of the old unit: '$old'"
	[[ $new =~ ^[0-9]+\.[0-9]\  ]] || fail "no rating of the new unit: '$new'"
}
