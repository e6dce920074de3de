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
	grep -q '^ExecStart=/opt/vl/bin/vlsink --sink=journal --log=journal$' "$STAGE/opt/vl/lib/systemd/system/vlsink@.service"
	grep -q '^ExecStart=/opt/vl/bin/vlsink-collect ' "$STAGE/opt/vl/lib/systemd/system/vlsink-collect.service"
	grep -q '/opt/vl/bin/vlsink --sink=fifo:' "$STAGE/opt/vl/share/doc/vlsink/units/vlsink@.service.d/fifo.conf"
	! grep -rq '@BINDIR@' "$STAGE"
	"$STAGE/opt/vl/bin/vlsink" --version | grep -q '^vlsink '
}

@test "make install: a socket and a template per tracker protocol, made from vlsink.socket and vlsink@.service, that systemd-analyze verify accepts" {
	run make -s -C "$TOP" install DESTDIR="$STAGE" PREFIX=/opt/vl
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local u=$STAGE/opt/vl/lib/systemd/system name port fd
	[ "$(grep -vc '^#' "$TOP/units/protocols")" -eq 4 ]
	while read -r name port fd; do
		[ -f "$u/vlsink-$name.socket" ] && [ -f "$u/vlsink-$name@.service" ] || { echo "no units for $name"; false; }
		# What differs from vlsink.socket: the description, the port and the
		# protocol; every limit and every other line is the same.
		diff <(grep -v '^#' "$TOP/units/vlsink.socket") <(grep -v '^#' "$u/vlsink-$name.socket") >"$BATS_TEST_TMPDIR/d" || true
		run grep '^[<>]' "$BATS_TEST_TMPDIR/d"
		[ "$output" = "< Description=vlsink vehicle position listener
> Description=vlsink $name listener
< ListenStream=10110
> ListenStream=$port
> FileDescriptorName=$fd" ] || { echo "$name.socket: $output"; false; }
		diff <(grep -v '^#' "$TOP/units/vlsink@.service") <(grep -v '^#' "$u/vlsink-$name@.service") >"$BATS_TEST_TMPDIR/d" || true
		run grep '^[<>]' "$BATS_TEST_TMPDIR/d"
		[ "$output" = "< Description=vlsink connection %i
> Description=vlsink $name connection %i
< ExecStart=@BINDIR@/vlsink --sink=journal --log=journal
> ExecStart=/opt/vl/bin/vlsink --protocol=$fd --sink=journal --log=journal" ] || { echo "$name@.service: $output"; false; }
	done < <(grep -v '^#' "$TOP/units/protocols")
	grep -q '^ListenStream=5013$' "$u/vlsink-h02.socket"
	grep -q '^ListenStream=5001$' "$u/vlsink-gps103.socket"
	grep -q '^ListenStream=5004$' "$u/vlsink-gl200.socket"
	grep -q '^ListenStream=5055$' "$u/vlsink-osmand.socket"

	# systemd-analyze verify, on copies whose ExecStart= is the staged
	# binary (the host's own units are only read, never loaded): silent, and
	# each socket finds its template.
	mkdir "$BATS_TEST_TMPDIR/units"
	for f in "$u"/*; do
		sed "s|/opt/vl/bin/|$STAGE/opt/vl/bin/|" "$f" >"$BATS_TEST_TMPDIR/units/${f##*/}"
	done
	run env SYSTEMD_UNIT_PATH="$BATS_TEST_TMPDIR/units:" systemd-analyze verify --man=no "$BATS_TEST_TMPDIR"/units/vlsink*.socket \
		"$BATS_TEST_TMPDIR"/units/vlsink*@.service
	[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$output"; false; }
	# the check can fail: a socket without its template
	rm "$BATS_TEST_TMPDIR/units/vlsink-h02@.service"
	run env SYSTEMD_UNIT_PATH="$BATS_TEST_TMPDIR/units:" systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/units/vlsink-h02.socket"
	[ "$status" -ne 0 ]

	# The generator refuses what it cannot write safely, and a source it no
	# longer matches.
	run "$TOP/scripts/gen-units.sh" "$BATS_TEST_TMPDIR/g" 'bad name' 5013 h02
	[ "$status" -eq 64 ]
	run "$TOP/scripts/gen-units.sh" "$BATS_TEST_TMPDIR/g" h02 5013 h02 'ReusePort=yes&'
	[ "$status" -eq 64 ]
	run "$TOP/scripts/gen-units.sh" "$BATS_TEST_TMPDIR/g" s1 10110 - ReusePort=yes
	[ "$status" -eq 0 ]
	grep -q '^ReusePort=yes$' "$BATS_TEST_TMPDIR/g/vlsink-s1.socket"
	! grep -q 'FileDescriptorName\|--protocol' "$BATS_TEST_TMPDIR/g/vlsink-s1.socket" "$BATS_TEST_TMPDIR/g/vlsink-s1@.service"
	mkdir -p "$BATS_TEST_TMPDIR/copy/scripts" "$BATS_TEST_TMPDIR/copy/units"
	cp "$TOP/scripts/gen-units.sh" "$BATS_TEST_TMPDIR/copy/scripts/"
	cp "$TOP/units/vlsink@.service" "$BATS_TEST_TMPDIR/copy/units/"
	sed 's/^ListenStream=10110$/ListenStream=[::]:10110/' "$TOP/units/vlsink.socket" >"$BATS_TEST_TMPDIR/copy/units/vlsink.socket"
	run "$BATS_TEST_TMPDIR/copy/scripts/gen-units.sh" "$BATS_TEST_TMPDIR/g2" h02 5013 h02
	[ "$status" -eq 1 ]
	[[ $output == *"expected 1 line(s) matching '^ListenStream=5013\$'"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/g2/vlsink-h02.socket" ]
}

@test "make install SHARDS=4: vlsink-s2..s4 made from vlsink.socket and vlsink@.service, the totals divided, the drop-in folders shared; SHARDS=2 and uninstall take them back" {
	run make -s -C "$TOP" install DESTDIR="$STAGE" PREFIX=/opt/vl SHARDS=4
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local u=$STAGE/opt/vl/lib/systemd/system e=$STAGE/etc/systemd/system k
	# vlsink.socket itself as shipped; a drop-in makes it shard 1 of 4
	cmp "$TOP/units/vlsink.socket" "$u/vlsink.socket"
	run grep -v '^#' "$u/vlsink.socket.d/10-shards.conf"
	[ "$output" = "[Unit]
Wants=vlsink-s2.socket vlsink-s3.socket vlsink-s4.socket
[Socket]
ReusePort=yes
MaxConnections=3072
MaxConnectionsPerSource=64" ] || { echo "10-shards.conf: $output"; false; }
	for k in 2 3 4; do
		diff <(grep -v '^#' "$TOP/units/vlsink.socket") <(grep -v '^#' "$u/vlsink-s$k.socket") >"$BATS_TEST_TMPDIR/d" || true
		run grep '^[<>]' "$BATS_TEST_TMPDIR/d"
		[ "$output" = "< Description=vlsink vehicle position listener
> PartOf=vlsink.socket
> Description=vlsink vehicle position listener, shard $k of 4
< MaxConnections=12288
< MaxConnectionsPerSource=256
> ReusePort=yes
> MaxConnections=3072
> MaxConnectionsPerSource=64" ] || { echo "vlsink-s$k.socket: $output"; false; }
		diff <(grep -v '^#' "$TOP/units/vlsink@.service") <(grep -v '^#' "$u/vlsink-s$k@.service") >"$BATS_TEST_TMPDIR/d" || true
		run grep '^[<>]' "$BATS_TEST_TMPDIR/d"
		[ "$output" = "< Description=vlsink connection %i
> Description=vlsink s$k connection %i
< ExecStart=@BINDIR@/vlsink --sink=journal --log=journal
> ExecStart=/opt/vl/bin/vlsink --sink=journal --log=journal" ] || { echo "vlsink-s$k@.service: $output"; false; }
		[ "$(readlink "$e/vlsink-s$k@.service.d")" = /etc/systemd/system/vlsink@.service.d ]
		[ "$(readlink "$e/vlsink-s$k.socket.d")" = /etc/systemd/system/vlsink.socket.d ]
	done
	[ -d "$e/vlsink@.service.d" ] && [ -d "$e/vlsink.socket.d" ]
	[ ! -e "$u/vlsink-s5.socket" ] && [ ! -e "$u/vlsink-s1.socket" ]
	[ -x "$STAGE/opt/vl/libexec/vlsink/gen-units" ]

	# Fewer shards: the extra ones go, units and symlinks.
	run make -s -C "$TOP" install DESTDIR="$STAGE" PREFIX=/opt/vl SHARDS=2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -f "$u/vlsink-s2.socket" ] && [ -L "$e/vlsink-s2@.service.d" ]
	[ ! -e "$u/vlsink-s3.socket" ] && [ ! -e "$u/vlsink-s4@.service" ] && [ ! -L "$e/vlsink-s3@.service.d" ]
	grep -qx 'MaxConnectionsPerSource=128' "$u/vlsink-s2.socket" "$u/vlsink.socket.d/10-shards.conf"

	# An administrator's own folder where a symlink would go is not replaced;
	# a unit this script did not write is not removed.
	rm "$e/vlsink-s2@.service.d" && mkdir "$e/vlsink-s2@.service.d"
	run "$TOP/scripts/gen-units.sh" --shards=2 --etc=/etc/systemd/system --destdir="$STAGE" "$u"
	[ "$status" -eq 1 ] && [[ $output == *"is not a symlink"* ]] || { echo "$output"; false; }
	rmdir "$e/vlsink-s2@.service.d"
	echo '[Socket]' >"$u/vlsink-s3.socket"
	run "$TOP/scripts/gen-units.sh" --shards=2 --etc=/etc/systemd/system --destdir="$STAGE" "$u"
	[ "$status" -eq 1 ] && [[ $output == *"vlsink-s3.socket was not written by this script"* ]] || { echo "$output"; false; }
	rm "$u/vlsink-s3.socket"
	for n in 0 65 x ''; do
		run "$TOP/scripts/gen-units.sh" --shards="$n" "$u"
		[ "$status" -eq 64 ] || { echo "--shards=$n: $output"; false; }
	done

	# An installed copy reads the installed units (--from): the package's way.
	run "$STAGE/opt/vl/libexec/vlsink/gen-units" --from="$u" --shards=3 --etc=/etc/systemd/system --destdir="$BATS_TEST_TMPDIR/r" \
		"$BATS_TEST_TMPDIR/etc"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -qx 'ExecStart=/opt/vl/bin/vlsink --sink=journal --log=journal' "$BATS_TEST_TMPDIR/etc/vlsink-s3@.service"
	grep -qx 'MaxConnections=4096' "$BATS_TEST_TMPDIR/etc/vlsink-s3.socket"
	[ "$(readlink "$BATS_TEST_TMPDIR/r/etc/systemd/system/vlsink-s3@.service.d")" = /etc/systemd/system/vlsink@.service.d ]
	run "$TOP/scripts/gen-units.sh" --shards=2 --etc=etc/systemd/system "$u"
	[ "$status" -eq 64 ]

	run make -s -C "$TOP" uninstall DESTDIR="$STAGE" PREFIX=/opt/vl
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run find "$STAGE" -type f -o -type l
	[ -z "$output" ] || { echo "left behind: $output"; false; }
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
