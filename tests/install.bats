#!/usr/bin/env bats
# make install / make uninstall into a staging directory: every file lands
# where the README says, units carry the installed binary's path, and
# uninstall leaves nothing behind.

setup_file() {
	export TOP="$BATS_TEST_DIRNAME/.."
}

setup() {
	STAGE="$BATS_TEST_TMPDIR/stage"
}

@test "make install honours DESTDIR and PREFIX and fills in the binary path" {
	run make -s -C "$TOP" install DESTDIR="$STAGE" PREFIX=/opt/vl
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for f in bin/vlsink bin/vlsink-collect bin/vlsink-export share/man/man1/vlsink.1 \
		share/man/man1/vlsink-collect.1 share/man/man1/vlsink-export.1 \
		lib/systemd/system/vlsink.socket lib/systemd/system/vlsink@.service \
		lib/systemd/system/vlsink-collect.socket lib/systemd/system/vlsink-collect.service \
		lib/sysusers.d/vlsink.conf share/doc/vlsink/units/vlsink@.service.d/fifo.conf \
		share/doc/vlsink/units/vlsink-collect.service.d/chain.conf; do
		[ -e "$STAGE/opt/vl/$f" ] || { echo "missing $f"; false; }
	done
	[ -x "$STAGE/opt/vl/bin/vlsink" ]
	grep -q '^ExecStart=/opt/vl/bin/vlsink --sink=journal$' "$STAGE/opt/vl/lib/systemd/system/vlsink@.service"
	grep -q '^ExecStart=/opt/vl/bin/vlsink-collect ' "$STAGE/opt/vl/lib/systemd/system/vlsink-collect.service"
	grep -q '/opt/vl/bin/vlsink --sink=fifo:' "$STAGE/opt/vl/share/doc/vlsink/units/vlsink@.service.d/fifo.conf"
	! grep -rq '@BINDIR@' "$STAGE"
	"$STAGE/opt/vl/bin/vlsink" --version | grep -q '^vlsink '
}

@test "make uninstall removes every installed file" {
	make -s -C "$TOP" install DESTDIR="$STAGE" PREFIX=/opt/vl
	run make -s -C "$TOP" uninstall DESTDIR="$STAGE" PREFIX=/opt/vl
	[ "$status" -eq 0 ]
	run find "$STAGE" -type f
	[ -z "$output" ] || { echo "left behind: $output"; false; }
}

@test "the man pages render without warnings" {
	for page in vlsink.1 vlsink-collect.1 vlsink-export.1; do
		run bash -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$TOP/man/$page' 2>&1 >/dev/null"
		[ -z "$output" ] || { echo "$page: $output"; false; }
	done
}

@test "--help names every option the man page documents" {
	run "${VLSINK:-$TOP/build/std/vlsink}" --help
	[ "$status" -eq 0 ]
	opts=$(grep -o '^\.B[IR]* \\-\\-[a-z\\-]*' "$TOP/man/vlsink.1" | sed 's/^[^ ]* //; s/\\//g; s/^--//' | sort -u)
	[ "$(echo "$opts" | wc -l)" -ge 7 ]
	for opt in $opts; do
		[[ "$output" == *"--$opt"* ]] || { echo "--$opt missing from --help"; false; }
	done
}
