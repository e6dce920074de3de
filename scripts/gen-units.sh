#!/bin/sh
# gen-units.sh [--bindir=DIR] [--from=DIR] OUTDIR NAME PORT FDNAME [SETTING...]
# gen-units.sh [--bindir=DIR] [--from=DIR] [--etc=DIR [--destdir=DIR]] --shards=N OUTDIR
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
#   SETTING   more [Socket] settings.
#   --from    where vlsink.socket and vlsink@.service are read (default:
#             the units/ folder beside this script; an installed copy
#             reads the installed units, e.g. /lib/systemd/system).
#
# --shards=N splits vlsink.socket's port over N listening sockets, which
# the kernel balances (ReusePort=yes): vlsink.socket and vlsink-s2.socket
# ... vlsink-sN.socket, each starting its own template vlsink-sK@.service,
# so that each shard's instances are a slice of their own
# (system-vlsink\x2dsK.slice) and PID 1 walks N short sibling lists
# instead of one long one.  MaxConnections= and MaxConnectionsPerSource=
# are divided by N, so that vlsink.socket's totals still hold.  Writes
# OUTDIR/vlsink.socket.d/10-shards.conf (ReusePort, the divided limits,
# Wants= on the other shards, so that starting, enabling or restarting
# vlsink.socket is enough); the shards are PartOf=vlsink.socket.  Shards
# beyond N that an earlier run wrote are removed; N=1 removes them all.
# --etc=DIR (the administrator's unit folder, /etc/systemd/system) makes
# every shard read vlsink@.service's and vlsink.socket's drop-ins there:
# DIR/vlsink-sK@.service.d and DIR/vlsink-sK.socket.d become symlinks to
# DIR/vlsink@.service.d and DIR/vlsink.socket.d (created empty if absent),
# so that systemctl edit vlsink@.service applies to every shard.  The
# symlinks are absolute: systemd 252 does not follow a drop-in folder's
# relative symlink (measured); --destdir=D writes them under D (make
# install's DESTDIR) while they still point at DIR.
#
# make install runs it for every line of units/protocols, and with
# --shards=$(SHARDS) when SHARDS is more than 1.
set -eu
# The units' binary path placeholder, spelt so that this script, installed
# itself, holds no unsubstituted placeholder (tests/deb.bats looks for one).
placeholder='@''BINDIR''@'

usage() {
	echo "usage: $0 [--bindir=DIR] [--from=DIR] OUTDIR NAME PORT FDNAME [SETTING...]" >&2
	echo "       $0 [--bindir=DIR] [--from=DIR] [--etc=DIR] --shards=N OUTDIR" >&2
	exit 64
}
bindir="" src=$(dirname "$0")/../units shards="" etc="" destdir=""
while :; do
	case ${1:-} in
	--bindir=*) bindir=${1#--bindir=} ;;
	--from=*) src=${1#--from=} ;;
	--shards=*) shards=${1#--shards=} ;;
	--etc=*) etc=${1#--etc=} ;;
	--destdir=*) destdir=${1#--destdir=} ;;
	*) break ;;
	esac
	shift
done
for f in vlsink.socket vlsink@.service; do
	[ -r "$src/$f" ] || {
		echo "$0: cannot read $src/$f (--from)" >&2
		exit 66
	}
done

# gen OUT NAME PORT FDNAME [SETTING...]: one socket and its template.  In
# shard mode (shard_k set) also PartOf=vlsink.socket and the divided limits.
gen() {
	out=$1 name=$2 port=$3 fd=$4
	shift 4
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
	desc="vlsink $name listener"
	unit_sed="" limits_sed=""
	if [ -n "${shard_k:-}" ]; then
		desc="vlsink vehicle position listener, shard $shard_k of $shards"
		dropin_note=" (gen-units.sh --shards --etc\\
# makes that folder a symlink to vlsink@.service.d, so that every drop-in\\
# of vlsink@.service applies to every shard)"
		unit_sed="/^\\[Unit\\]\$/a\\
# Stopped and restarted with vlsink.socket, which starts it (10-shards.conf).\\
PartOf=vlsink.socket"
		limits_sed="s|^MaxConnections=.*|# Per shard: vlsink.socket's total divided by $shards.\\
MaxConnections=$shard_max|;s|^MaxConnectionsPerSource=.*|MaxConnectionsPerSource=$shard_per_source|"
	fi

	mkdir -p "$out"
	sed -e "1i\\
# vlsink-$name.socket: generated from vlsink.socket by scripts/gen-units.sh;\\
# change vlsink.socket (or a drop-in for this unit), not this file.\\
# Every connection starts an instance of vlsink-$name@.service." \
		-e '1,/^\[Unit\]/{/^#/d;}' \
		-e "s|^Description=.*|Description=$desc|" \
		-e '/^# 10110 is the IANA port/d' \
		-e "s|^ListenStream=10110\$|ListenStream=$port|" \
		-e "s|^Accept=yes\$|Accept=yes$fdline$settings|" \
		-e "$unit_sed" -e "$limits_sed" \
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
		-e "s|^\(ExecStart=$placeholder/vlsink\) |\1$protocol |" \
		-e "s|$placeholder|${bindir:-$placeholder}|g" \
		"$src/vlsink@.service" >"$svc.tmp"

	# Each replacement must have found its line: a change to the sources that
	# this script does not follow stops the build instead of shipping a unit
	# that listens on 10110 or names no protocol.
	check "$sock.tmp" "^ListenStream=$port\$" 1
	check "$sock.tmp" '^ListenStream=' 1
	check "$sock.tmp" "^Description=$desc\$" 1
	check "$sock.tmp" '^Accept=yes$' 1
	check "$svc.tmp" "^Description=vlsink $name connection %i\$" 1
	if [ "$fd" != - ]; then
		check "$sock.tmp" "^FileDescriptorName=$fd\$" 1
		check "$svc.tmp" "^ExecStart=.*/vlsink --protocol=$fd " 1
	fi
	if [ -n "${shard_k:-}" ]; then
		check "$sock.tmp" '^PartOf=vlsink.socket$' 1
		check "$sock.tmp" "^MaxConnections=$shard_max\$" 1
		check "$sock.tmp" "^MaxConnectionsPerSource=$shard_per_source\$" 1
		check "$sock.tmp" '^ReusePort=yes$' 1
	fi
	mv "$sock.tmp" "$sock"
	mv "$svc.tmp" "$svc"
}

check() { # FILE PATTERN COUNT
	n=$(grep -c -- "$2" "$1" || true)
	[ "$n" -eq "$3" ] || {
		echo "$0: $1: expected $3 line(s) matching '$2', found $n (did $src change?)" >&2
		rm -f "$sock.tmp" "$svc.tmp"
		exit 1
	}
}

if [ -z "$shards" ]; then
	[ $# -ge 4 ] || usage
	gen "$@"
	exit 0
fi

# ---- --shards=N OUTDIR ------------------------------------------------------
[ $# -eq 1 ] || usage
out=$1
case $etc in
'' | /*) ;;
*)
	echo "$0: --etc: an absolute path: $etc" >&2
	exit 64
	;;
esac
case $shards in
'' | *[!0-9]* | 0*)
	echo "$0: --shards: a number from 1 to 64: $shards" >&2
	exit 64
	;;
esac
[ "$shards" -le 64 ] || {
	echo "$0: --shards: a number from 1 to 64: $shards" >&2
	exit 64
}
# vlsink.socket's one port and totals, divided (rounded up) per shard: an
# attacker still needs MaxConnections / MaxConnectionsPerSource addresses to
# hold every slot, as with one socket.
value() { sed -n "s/^$1=//p" "$src/vlsink.socket"; }
port=$(value ListenStream)
total=$(value MaxConnections)
per_source=$(value MaxConnectionsPerSource)
for v in "$port" "$total" "$per_source"; do
	case $v in
	'' | *[!0-9]*)
		echo "$0: $src/vlsink.socket: expected one ListenStream=PORT, MaxConnections=N and MaxConnectionsPerSource=N" >&2
		exit 1
		;;
	esac
done
shard_max=$(((total + shards - 1) / shards))
shard_per_source=$(((per_source + shards - 1) / shards))

# Shards an earlier run made beyond N go (only files this script wrote).
k=$((shards + 1))
while [ -e "$out/vlsink-s$k.socket" ] || [ -L "$destdir${etc:-/nonexistent}/vlsink-s$k@.service.d" ]; do
	for f in "$out/vlsink-s$k.socket" "$out/vlsink-s$k@.service"; do
		[ ! -e "$f" ] || grep -q '^# vlsink-s[0-9]*[.@][a-z.]*: generated from vlsink' "$f" || {
			echo "$0: $f was not written by this script: left alone, remove it yourself" >&2
			exit 1
		}
		rm -f "$f"
	done
	if [ -n "$etc" ]; then
		for d in "$destdir$etc/vlsink-s$k@.service.d" "$destdir$etc/vlsink-s$k.socket.d"; do
			[ ! -L "$d" ] || rm -f "$d"
		done
	fi
	k=$((k + 1))
done

dropin=$out/vlsink.socket.d/10-shards.conf
if [ "$shards" -eq 1 ]; then
	rm -f "$dropin"
	# Folders left empty (made by a run with --etc, or holding only the
	# drop-in above) go; an administrator's drop-ins stay.
	for d in "$out/vlsink.socket.d" ${etc:+"$destdir$etc/vlsink.socket.d" "$destdir$etc/vlsink@.service.d"}; do
		rmdir "$d" 2>/dev/null || true
	done
	exit 0
fi
wants=
k=2
while [ "$k" -le "$shards" ]; do
	shard_k=$k gen "$out" "s$k" "$port" - ReusePort=yes
	wants="$wants vlsink-s$k.socket"
	if [ -n "$etc" ]; then
		# The administrator's drop-ins of vlsink@.service and vlsink.socket
		# (fifo.conf, devices.conf, proxy.conf, balancer.conf, systemctl
		# edit) must reach every shard: one folder each, shared by symlink.
		# A prefix drop-in (vlsink-.service.d) would also reach
		# vlsink-collect.service and the tracker ports' templates.
		mkdir -p "$destdir$etc/vlsink@.service.d" "$destdir$etc/vlsink.socket.d"
		for pair in "vlsink-s$k@.service.d vlsink@.service.d" "vlsink-s$k.socket.d vlsink.socket.d"; do
			link=$destdir$etc/${pair% *} target=$etc/${pair#* }
			if [ -L "$link" ]; then
				rm -f "$link"
			elif [ -e "$link" ]; then
				echo "$0: $link exists and is not a symlink: move its drop-ins to $target and remove it" >&2
				exit 1
			fi
			ln -s "$target" "$link"
		done
	fi
	k=$((k + 1))
done
wants=${wants# }
mkdir -p "$out/vlsink.socket.d"
cat >"$dropin.tmp" <<EOF
# Written by scripts/gen-units.sh --shards=$shards: vlsink.socket is shard 1
# of $shards listening on the same port; the kernel spreads the connections
# over them (SO_REUSEPORT).  Each shard's limits are vlsink.socket's totals
# divided by $shards: up to $total connections and $per_source per source in all
# (a source's connections are spread by hash, so it may meet a shard's cap
# a little before $per_source).  Starting, restarting or stopping vlsink.socket
# does the same to the other shards (they are PartOf= it).
[Unit]
Wants=$wants
[Socket]
ReusePort=yes
MaxConnections=$shard_max
MaxConnectionsPerSource=$shard_per_source
EOF
mv "$dropin.tmp" "$dropin"
