# shellcheck shell=bash
# shellcheck disable=SC2016
#
# tests/lib/confine.bash - runs the confinement probe (tests/shim/probe.c)
# in one connection of vlsink.socket under a chosen vlsink@.service, inside
# a container of tests/lib/container.bash where the build is installed.
# Used by tests/confine.bats and tests/bench/confine-table.sh; the table and
# its checks are tests/bench/confine-table.sh's.
#
#   confine_build SO            compiles the shim into SO (host); prints the
#                               compiler's errors and fails when it cannot
#   confine_prepare SO          the shim as /usr/local/lib/vlsink-probe.so and
#                               what its actions look for: marker files in
#                               /tmp, /var/tmp, /dev/shm, a System V shared
#                               memory segment (key 0x766c736b), a
#                               world-readable file
#                               in /home, a world-writable one in
#                               /run/vlsink-probe (the probe's stand-in for
#                               a file beside the FIFO: write-file-beside-fifo),
#                               the collector's positions file, a
#                               TCP (127.0.0.1:10111) and an abstract AF_UNIX
#                               (vlsink-probe) listener in the container's
#                               network
#   confine_run TAG UNIT OUT [DROPIN]
#                               one probed connection through vlsink.socket;
#                               UNIT is a host file installed as
#                               /etc/systemd/system/vlsink@.service for the
#                               run (@BINDIR@ replaced, as make install does),
#                               or "" for the unit make install installed.
#                               A second connection of the same unit is held
#                               open meanwhile: the probe's peer. The probe's
#                               lines go to OUT (host); fails unless every
#                               line came and the connection's record is in
#                               the journal. DROPIN (a host file) is added
#                               to the unit for the run, as weaken.conf.
#   confine_rating UNIT         systemd-analyze security's overall exposure of
#                               UNIT (a host file, or "" for the installed one)
#   confine_sandboxed           true when the installed vlsink sandboxes
#                               itself (its --help offers --no-sandbox)
#   confine_cleanup             stops the listeners and the peer

CONFINE_SO=/usr/local/lib/vlsink-probe.so
CONFINE_ETC=/etc/systemd/system/vlsink@.service
CONFINE_DROPIN=/etc/systemd/system/vlsink@.service.d/probe.conf
CONFINE_WEAKEN=/etc/systemd/system/vlsink@.service.d/weaken.conf
CONFINE_INSTALLED=/usr/local/lib/systemd/system/vlsink@.service
CONFINE_TMP=/tmp/confine # inside the container

_confine_err() { printf 'confine: %s\n' "$*" >&2; }

confine_build() {
	local src
	src=$(cd "${BASH_SOURCE[0]%/*}/../shim" && pwd)/probe.c
	"${CC:-cc}" -shared -fPIC -O2 -std=c11 -Wall -Wextra -o "$1" "$src" -ldl
}

confine_prepare() {
	ct_copy_in "$1" "$CONFINE_SO" || return 1
	ct_exec chmod 0644 "$CONFINE_SO" || return 1
	# The collector's state directory and file as it makes them (0750, 0640).
	ct_sh 'set -e
		mkdir -p "$1"
		for d in /tmp /var/tmp /dev/shm; do echo mark >"$d/vlsink-probe-mark"; chmod 0644 "$d/vlsink-probe-mark"; done
		install -d -m 0755 /home/vlsink-probe
		echo readable >/home/vlsink-probe/readable
		chmod 0644 /home/vlsink-probe/readable
		install -d -m 0755 /run/vlsink-probe
		echo writable >/run/vlsink-probe/writable
		chmod 0666 /run/vlsink-probe/writable
		perl -e "defined shmget(0x766c736b, 4096, 01000 | 0644) or die \"shmget: \$!\n\""
		install -d -o vlsink -g vlsink -m 0750 /var/lib/vlsink
		[ -e /var/lib/vlsink/positions.jsonl ] ||
			install -o vlsink -g vlsink -m 0640 /dev/null /var/lib/vlsink/positions.jsonl' \
		"$CONFINE_TMP" || return 1
	ct_exec systemd-run --quiet --collect --unit=confine-tcp \
		socat TCP-LISTEN:10111,bind=127.0.0.1,reuseaddr,fork SYSTEM:true || return 1
	ct_exec systemd-run --quiet --collect --unit=confine-abstract \
		socat ABSTRACT-LISTEN:vlsink-probe,fork SYSTEM:true || return 1
	ct_wait_until 10 _confine_listening || {
		_confine_err "the probe's listeners did not start"
		return 1
	}
}

_confine_listening() {
	ct_sh 'ss -Hltn "sport = :10111" | grep -q . && ss -Hlx | grep -q "@vlsink-probe "'
}

confine_cleanup() {
	ct_exec sh -c 'systemctl stop confine-tcp confine-abstract confine-peer 2>/dev/null; true'
}

# _confine_unit UNIT: installs UNIT (host file) in /etc, or removes the
# override for ""; then daemon-reload.
_confine_unit() {
	if [[ -n $1 ]]; then
		# The binary of 2026-11-30 had no sandbox of its own: the old
		# unit runs today's with --no-sandbox.
		sed 's|@BINDIR@|/usr/local/bin|g; /^ExecStart=.*vlsink /s|$| --no-sandbox|' "$1" |
			ct_write "$CONFINE_ETC" 0644 || return 1
	else
		ct_exec rm -f "$CONFINE_ETC" || return 1
	fi
	ct_exec systemctl daemon-reload
}

_confine_instances() {
	ct_exec systemctl list-units --plain --no-legend --state=active,activating,deactivating 'vlsink@*' |
		awk '{ print $1 }'
}

_confine_no_instance() { [[ -z $(_confine_instances) ]]; }
_confine_some_instance() { [[ -n $(_confine_instances) ]]; }

_confine_lines() { # TAG
	ct_sh 'journalctl --no-pager -q -o cat -t vlsink | grep "^PROBE $1 "' "$1"
}

_confine_done() { _confine_lines "$1" | grep -q "^PROBE $1 done "; }

_confine_record() { # VEHICLE
	[[ -n $(ct_exec journalctl --no-pager -q -o cat -t vlsink VEHICLE_ID="$1" SOURCE_FORMAT=csv) ]]
}

confine_run() {
	local tag=$1 unit=$2 out=$3 dropin=${4:-} peer_unit peer rc=0
	ct_wait_until 20 _confine_no_instance || {
		_confine_err "vlsink@ instances left over: $(_confine_instances)"
		return 1
	}
	ct_exec rm -f "$CONFINE_DROPIN" "$CONFINE_WEAKEN"
	if [[ -n $dropin ]]; then
		ct_write "$CONFINE_WEAKEN" 0644 <"$dropin" || return 1
	fi
	_confine_unit "$unit" || return 1
	# The peer: another connection of this unit, held open without sending.
	ct_exec systemd-run --quiet --collect --unit=confine-peer \
		sh -c 'sleep 120 | socat -u - TCP:127.0.0.1:10110' || return 1
	ct_wait_until 10 _confine_some_instance || {
		_confine_err "the peer connection started no instance"
		return 1
	}
	peer_unit=$(_confine_instances | head -n 1)
	peer=$(ct_exec systemctl show -P MainPID "$peer_unit")
	[[ $peer =~ ^[1-9][0-9]*$ ]] || {
		_confine_err "no main pid for $peer_unit: $peer"
		return 1
	}
	# The probe says its table on stderr: the unit's stderr, /dev/null as
	# installed, becomes a journal stream for it (a descriptor the old unit
	# gave every instance too).
	printf '[Service]\nEnvironment=LD_PRELOAD=%s PROBE_TAG=%s PROBE_PEER_PID=%s\nStandardError=journal\n' \
		"$CONFINE_SO" "$tag" "$peer" |
		ct_write "$CONFINE_DROPIN" 0644 || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_sh 'printf "confine-%s,2026-11-25T00:00:00Z,48.0,11.0\n" "$1" | socat -u - TCP:127.0.0.1:10110' "$tag" ||
		return 1
	if ! ct_wait_until 30 _confine_done "$tag"; then
		_confine_err "no complete probe table from connection $tag; its lines:"
		_confine_lines "$tag" >&2
		rc=1
	fi
	_confine_lines "$tag" >"$out"
	if ! ct_wait_until 10 _confine_record "confine-$tag"; then
		_confine_err "the record of connection $tag is not in the journal"
		rc=1
	fi
	# The unit as it was: no drop-in, no override, no peer.
	ct_exec systemctl stop confine-peer
	ct_exec rm -f "$CONFINE_DROPIN" "$CONFINE_WEAKEN"
	_confine_unit "" || rc=1
	ct_wait_until 20 _confine_no_instance || {
		_confine_err "instances still running after the probe: $(_confine_instances)"
		rc=1
	}
	return $rc
}

confine_rating() {
	local path=$CONFINE_INSTALLED
	if [[ -n $1 ]]; then
		path=$CONFINE_TMP/rated/vlsink@.service
		sed 's|@BINDIR@|/usr/local/bin|g' "$1" | ct_write "$path" 0644 || return 1
	fi
	ct_exec systemd-analyze security --offline=yes --no-pager "$path" |
		sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\) *\([A-Z_]*\).*/\1 \2/p'
}

confine_sandboxed() {
	ct_exec /usr/local/bin/vlsink --help 2>&1 | grep -q -- --no-sandbox
}
