#!/bin/sh
# gen-units.sh [--bindir=DIR] OUTDIR NAME PORT FDNAME [SETTING...]
#
# Writes OUTDIR/vlsink-NAME.socket and OUTDIR/vlsink-NAME@.service, made by
# sed from units/vlsink.socket and units/vlsink@.service, so that a second
# listening port never drifts from the first: the same limits, the same
# hardening, only what differs replaced.  systemd needs a template of its
# own per Accept=yes socket (vlsink-NAME.socket starts vlsink-NAME@.service);
# a real file, not a symlink, so that its instances get a slice of their own
# (system-vlsink\x2dNAME.slice) and say their name in systemctl and the
# journal.
#
#   PORT      the socket's ListenStream= (a port, or ADDRESS:PORT).
#   FDNAME    the protocol the port speaks, or - for none (the
#             connection's first bytes decide): the socket's
#             FileDescriptorName= and the template's vlsink --protocol=.
#   SETTING   more [Socket] settings, such as ReusePort=yes for a shard.
#
# make install runs it for every line of units/protocols.
set -eu

bindir=
case ${1:-} in
--bindir=*)
	bindir=${1#--bindir=}
	shift
	;;
esac
[ $# -ge 4 ] || {
	echo "usage: $0 [--bindir=DIR] OUTDIR NAME PORT FDNAME [SETTING...]" >&2
	exit 64
}
out=$1 name=$2 port=$3 fd=$4
shift 4
src=$(dirname "$0")/../units

# The name becomes part of unit names and a sed replacement: a safe alphabet.
case $name in
'' | *[!a-z0-9]*)
	echo "$0: NAME must be lower-case letters and digits: $name" >&2
	exit 64
	;;
esac
case $port in
'' | *[!0-9a-fA-F.:\[\]]*)
	echo "$0: bad PORT: $port" >&2
	exit 64
	;;
esac
case $fd in
-) ;;
'' | *[!a-z0-9]*)
	echo "$0: FDNAME must be lower-case letters and digits, or -: $fd" >&2
	exit 64
	;;
esac
settings=
for s in "$@"; do
	# Written into a sed replacement: no separator, backslash or "&".
	case $s in
	[A-Z]*=* | [A-Z]*=) ;;
	*)
		echo "$0: bad SETTING (KEY=VALUE): $s" >&2
		exit 64
		;;
	esac
	case $s in
	*'|'* | *'&'* | *\\* | *'
'*)
		echo "$0: bad SETTING (no |, & or backslash): $s" >&2
		exit 64
		;;
	esac
	settings="$settings\\
$s"
done

sock=$out/vlsink-$name.socket
svc=$out/vlsink-$name@.service
fdline=
protocol=
dropin_note=
if [ "$fd" != - ]; then
	fdline="\\
# The protocol of this port (vlsink --protocol in the template).\\
FileDescriptorName=$fd"
	protocol=" --protocol=$fd"
	dropin_note=", with\\
#$protocol added to its ExecStart= (systemd tells an Accept=yes\\
# instance on its standard input nothing of the socket's name)"
fi

mkdir -p "$out"
sed -e "1i\\
# vlsink-$name.socket: generated from vlsink.socket by scripts/gen-units.sh;\\
# change vlsink.socket (or a drop-in for this unit), not this file.\\
# Every connection starts an instance of vlsink-$name@.service." \
	-e '1,/^\[Unit\]/{/^#/d;}' \
	-e "s|^Description=.*|Description=vlsink $name listener|" \
	-e '/^# 10110 is the IANA port/d' \
	-e "s|^ListenStream=10110\$|ListenStream=$port|" \
	-e "s|^Accept=yes\$|Accept=yes$fdline$settings|" \
	"$src/vlsink.socket" >"$sock.tmp"
# The protocol is an option: with StandardInput=socket systemd passes no
# LISTEN_FDS and no LISTEN_FDNAMES (and before 257 it names every Accept=yes
# connection "connection" whatever FileDescriptorName= says).
sed -e "1i\\
# vlsink-$name@.service: generated from vlsink@.service by\\
# scripts/gen-units.sh; change vlsink@.service, not this file.  One vlsink\\
# per connection of vlsink-$name.socket.  A drop-in written for\\
# vlsink@.service (examples/units) applies here when installed as\\
# /etc/systemd/system/vlsink-$name@.service.d/NAME.conf too$dropin_note." \
	-e '1,/^\[Unit\]/{/^#/d;}' \
	-e "s|^Description=vlsink connection %i\$|Description=vlsink $name connection %i|" \
	-e "s|^\(ExecStart=@BINDIR@/vlsink\) |\1$protocol |" \
	-e "s|@BINDIR@|${bindir:-@BINDIR@}|g" \
	"$src/vlsink@.service" >"$svc.tmp"

# Each replacement must have found its line: a change to the sources that
# this script does not follow stops the build instead of shipping a unit
# that listens on 10110 or names no protocol.
check() { # FILE PATTERN COUNT
	n=$(grep -c -- "$2" "$1" || true)
	[ "$n" -eq "$3" ] || {
		echo "$0: $1: expected $3 line(s) matching '$2', found $n (did $src change?)" >&2
		rm -f "$sock.tmp" "$svc.tmp"
		exit 1
	}
}
check "$sock.tmp" "^ListenStream=$port\$" 1
check "$sock.tmp" '^ListenStream=' 1
check "$sock.tmp" "^Description=vlsink $name listener\$" 1
check "$sock.tmp" '^Accept=yes$' 1
check "$svc.tmp" "^Description=vlsink $name connection %i\$" 1
if [ "$fd" != - ]; then
	check "$sock.tmp" "^FileDescriptorName=$fd\$" 1
	check "$svc.tmp" "^ExecStart=.*/vlsink --protocol=$fd " 1
fi
mv "$sock.tmp" "$sock"
mv "$svc.tmp" "$svc"
