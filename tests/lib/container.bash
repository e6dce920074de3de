# shellcheck shell=bash
# shellcheck disable=SC2016,SC2119,SC2120
#
# tests/lib/container.bash - throwaway systemd (as PID 1) in systemd-nspawn,
# for bats tests that need a real service manager and journal.
#
# Recipe: ../shared/NOTES-systemd.md ("Booting a real systemd for tests").
# The container's root is an overlay of the live / (read-only lower layer)
# with a tmpfs upper layer, so every write of the container, and every write
# through $CT_ROOT, ends up in RAM and disappears in ct_stop.
#
# SAFETY: never boots anything over the real root; never calls systemctl or
# journalctl on the host; only ever signals the nspawn process and the
# container's PID 1 that it started itself (checked by pid *and* identity).
#
# Typical use (one container per .bats file, booting costs ~0.3-1 s):
#
#   load lib/container
#   setup_file() {
#       CT_SKIP_REASON=$(ct_can_run) || { export CT_SKIP_REASON; return 0; }
#       ct_start
#   }
#   setup()         { [ -z "${CT_SKIP_REASON:-}" ] || skip "$CT_SKIP_REASON"; }
#   teardown_file() { ct_stop; }
#
#   NB: bats 1.8 cannot `skip` inside setup_file (skip there ends the file
#   with "not ok setup_file failed"), hence the CT_SKIP_REASON dance.
#
# API (all set -u safe; safe to call under bats' set -e):
#   ct_can_run           0 if containers can run here; else prints a one-line
#                        reason on stdout and returns 1.
#   ct_start             mount tmpfs+overlay, boot, wait until
#                        `systemctl is-system-running --wait` says running or
#                        degraded (failed units are listed on stderr), check
#                        journald. On any failure: prints the nspawn log tail
#                        on stderr, cleans up (ct_stop) and returns 1.
#                        Exports CT_ROOT CT_LEADER CT_NSPAWN_PID CT_LOG
#                        CT_NAME CT_DIR CT_MNTNS CT_BOOT_MS (boot time)
#                        CT_RELEASE_NAME CT_SYSTEMD_VERSION (252, 257...).
#   ct_exec CMD...       run CMD inside the container (all namespaces of the
#                        container's PID 1, clean environment, cwd /); exit
#                        status of CMD is returned (128+N if killed by signal
#                        N); stdin/stdout/stderr are passed. ~9 ms per call.
#                        Extra environment: ct_exec env FOO=bar CMD...
#                        CMD runs outside the container's cgroups (not in a
#                        unit); use systemd-run inside for a real unit.
#   ct_sh 'SCRIPT' [ARG...]   bash -c SCRIPT inside the container.
#   ct_write DEST [MODE] write stdin to DEST (absolute path inside the
#                        container), creating parent directories.
#   ct_copy_in SRC DEST  copy a host file (or a directory's contents) to DEST
#                        inside the container.
#   ct_install TOP LOG   `make -C TOP install DESTDIR=$CT_ROOT PREFIX=/usr/local`
#                        (output in LOG, shown on stderr on failure), then
#                        the sysusers.d user and daemon-reload inside. Never
#                        with an empty DESTDIR: refuses unless CT_ROOT is a
#                        mounted container root.
#   ct_wait_until SECS CMD...  retry CMD (host side; wrap with ct_exec/ct_sh
#                        for inside) every 0.1 s until it succeeds or SECS pass.
#   ct_stop [CT_DIR]     power off, wait while it makes progress, kill if it
#                        stalls, unmount, remove temp
#                        dirs. Idempotent; safe after a half-failed ct_start.
#                        With an argument it cleans up a left-over state dir
#                        (e.g. from a bats run killed with SIGKILL):
#                          for d in /tmp/vlsink-ct.*; do ct_stop "$d"; done
#
# Knobs (environment, read by ct_can_run and ct_start):
#   CT_RELEASE (empty or the host's codename: an overlay of the host's own /,
#   Debian 12 / systemd 252 here; another suite, e.g. trixie: an overlay of
#   the root scripts/ct-root.sh keeps in /var/cache/vlsink-tests, built by
#   `make deps-trixie`, or by ct_can_run when missing; when the archive
#   cannot be reached ct_can_run gives that as the reason to skip).
#   CT_RELEASE_NAME is exported: the release the container booted.
#   CT_BOOT_TIMEOUT (60)  CT_STOP_TIMEOUT (15: seconds the powering-off
#   container may go without one process fewer)  CT_TMPFS_SIZE (e.g. 1G; kernel
#   default 50% RAM)  CT_TMPDIR (/tmp)  CT_MASK (default list below, replaces)
#   CT_EXTRA_MASK (appended)  CT_NSPAWN_ARGS (extra nspawn args, word-split)
#   CT_PREBOOT (name of a function run after the overlay is mounted and
#   before boot, with CT_ROOT set: place units/config there)  CT_KEEP_LOG=1
#   (ct_stop leaves the state dir with nspawn.log in place).
#
# Visibility pitfalls (measured on Debian 12 / systemd 252):
#   * /work is on the root filesystem here, so /work/main/... (e.g.
#     build/std/vlsink) is visible inside at the same path, read-through from
#     the live disk. Rebuilding on the host while a container runs is
#     formally undefined for overlayfs (it generally shows up, but copy the
#     binary in with ct_copy_in if a test depends on a fresh build).
#     Any separate mount (none here besides /proc,/sys,/dev...) would be
#     invisible: overlay lowerdir=/ does not cross mount points.
#   * With CT_RELEASE=trixie (any root other than the host's) nothing of the
#     host's disk is visible inside, /work included: bring files in with
#     ct_copy_in, ct_write or ct_install. The host builds on Debian 12
#     (glibc 2.36, libsystemd 252) run there unchanged (newer libraries).
#     Host tools never run inside: every command of ct_exec is the root's
#     own (systemd 257's systemctl, journalctl, systemd-sysusers...).
#   * nspawn mounts a fresh tmpfs on /tmp and /run inside the container:
#     host /tmp (including $BATS_TEST_TMPDIR, $BATS_FILE_TMPDIR) is NOT
#     visible inside, and files written to $CT_ROOT/tmp or $CT_ROOT/run are
#     hidden too. Use ct_copy_in / ct_write, which write from inside.
#   * Writing through $CT_ROOT from the host follows absolute symlinks on the
#     HOST (e.g. usr/sbin/ip -> /bin/ip, usr/lib/cpp -> /etc/alternatives/cpp).
#     Only write real directories there (etc/systemd/system,
#     usr/local/...), or use
#     ct_write/ct_copy_in which resolve paths inside the container.
#   * Writes made inside the container (also under /work) go to the tmpfs
#     and vanish at ct_stop; the host repository is never modified.
#   * After placing unit files: ct_exec systemctl daemon-reload.
#   * journald stores stream/native entries asynchronously: poll with
#     ct_wait_until instead of reading the journal right after logging.
#   * Do not kill a ct_exec (nsenter) with SIGKILL while its command runs: the
#     orphan becomes a zombie of the host init inside the container's pid
#     namespace and delays the container's poweroff by ~10 s (ct_stop copes).

# Units masked at boot: slow, noisy, or unwanted in a test container.
: "${CT_MASK_DEFAULT:=postgresql.service postgresql@.service \
console-getty.service container-getty@.service getty.target \
gpsd.socket gpsd.service inetd.service xinetd.service \
apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer man-db.timer \
e2scrub_all.timer e2scrub_reap.service fstrim.timer \
systemd-timesyncd.service systemd-networkd-wait-online.service}"

_ct_err() { printf 'container.bash: %s\n' "$*" >&2; }

_CT_TOP=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)

# _ct_host_release: the codename of the host's own root (bookworm here)
_ct_host_release() {
	# shellcheck disable=SC1091
	(. /etc/os-release && printf '%s\n' "${VERSION_CODENAME:-}")
}

# _ct_release: the release CT_RELEASE asks for (the host's when empty)
_ct_release() {
	printf '%s\n' "${CT_RELEASE:-$(_ct_host_release)}"
}

# _ct_lower: the overlay's lower layer for CT_RELEASE on stdout: / for the
# host's own release, else the complete cached root of that suite (fails,
# with the reason on stdout, when there is none)
_ct_lower() {
	local rel
	rel=$(_ct_release)
	if [[ $rel == "$(_ct_host_release)" ]]; then
		echo /
	else
		"$_CT_TOP/scripts/ct-root.sh" --check "$rel"
	fi
}

_ct_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s\n' $((t / 1000))
}

# _ct_pid_alive PID: running (not gone, not a zombie)
_ct_pid_alive() {
	local pid=${1:-} stat
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z && ${stat%% *} != X ]]
}

# _ct_is_our_nspawn PID NAME: PID is a systemd-nspawn with -M NAME
_ct_is_our_nspawn() {
	local pid=${1:-} name=${2:-} arg prev='' found=1
	_ct_pid_alive "$pid" || return 1
	[[ -n $name ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] || return 1
	while IFS= read -r -d '' arg; do
		[[ $prev == -M && $arg == "$name" ]] && found=0
		prev=$arg
	done <"/proc/$pid/cmdline"
	return $found
}

# _ct_is_our_leader PID MNTNS: PID is alive and still in the mount namespace
# recorded at boot (guards against pid reuse: never nsenter a host process)
_ct_is_our_leader() {
	local pid=${1:-} ns=${2:-}
	_ct_pid_alive "$pid" || return 1
	[[ -n $ns && $(readlink "/proc/$pid/ns/mnt" 2>/dev/null) == "$ns" ]] || return 1
	[[ $ns != "$(readlink /proc/self/ns/mnt)" ]]
}

_ct_state_get() { # DIR KEY
	cat "$1/$2" 2>/dev/null || true
}

# _ct_cgroup_dirs NAME: the cgroups (one per hierarchy systemd uses) that
# the container NAME gets for itself, under this process's own. nspawn with
# --keep-unit puts its "supervisor" and "payload" cgroups under the cgroup
# it starts in; on this machine every process is in the root cgroup, so two
# containers booted at the same time (other suites, other clones) would
# share /payload, and each PID 1 would create and prune the other's unit
# cgroups: measured on systemd 257, an Accept=yes instance whose cgroup went
# away under it failed with "Failed to spawn executor: No such file or
# directory". Nothing when a systemd runs the host: the tree is its own.
_ct_cgroup_dirs() {
	local name=$1 _ ctrl path
	[[ -d /run/systemd/system ]] && return 0
	while IFS=: read -r _ ctrl path; do
		path=${path%/}
		if [[ $ctrl == name=systemd && -f /sys/fs/cgroup/systemd/cgroup.procs ]]; then
			echo "/sys/fs/cgroup/systemd$path/vlsink-ct-$name"
		elif [[ -z $ctrl && -f /sys/fs/cgroup/unified/cgroup.procs ]]; then
			echo "/sys/fs/cgroup/unified$path/vlsink-ct-$name"
		elif [[ -z $ctrl && -f /sys/fs/cgroup/cgroup.procs ]]; then
			echo "/sys/fs/cgroup$path/vlsink-ct-$name"
		fi
	done </proc/self/cgroup
}

# _ct_cgroup_remove FILE: removes the cgroups listed in FILE, innermost
# first (rmdir only: a cgroup still holding a process stays)
_ct_cgroup_remove() {
	local c
	[[ -s $1 ]] || return 0
	while IFS= read -r c; do
		[[ $c == /sys/fs/cgroup/*/vlsink-ct-* && -d $c ]] || continue
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
		[[ ! -d $c ]] || _ct_err "ct_stop: cgroup $c still in use, left in place"
	done <"$1"
}

# ---------------------------------------------------------------------------

ct_can_run() {
	# || context: set -e (bats) off inside, the function checks every step
	_ct_can_run_impl || return 1
}

_ct_can_run_impl() {
	local c
	if [[ $(id -u) != 0 ]]; then
		echo "container tests need root (uid is $(id -u))"
		return 1
	fi
	for c in systemd-nspawn nsenter setsid mount umount mountpoint timeout readlink pgrep tar; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "container tests need $c (package systemd-container / util-linux)"
			return 1
		fi
	done
	local rel lower out rc=0
	rel=$(_ct_release)
	if [[ $rel == "$(_ct_host_release)" ]]; then
		lower=/
	else
		# Builds the root when it is missing (minutes, once per machine).
		# Only an unreachable archive (status 2) is a reason to skip; a
		# failed build is reported by ct_start, which then finds no root.
		out=$("$_CT_TOP/scripts/ct-root.sh" "$rel") || rc=$?
		if ((rc == 2)); then
			echo "CT_RELEASE=$rel: $out"
			return 1
		fi
		((rc == 0)) || return 0
		lower=$out
	fi
	if [[ ! -x $lower/lib/systemd/systemd ]]; then
		echo "container tests need /lib/systemd/systemd in $lower"
		return 1
	fi
	# trial: tmpfs + overlay of the lower layer
	local d why=
	d=$(mktemp -d "${CT_TMPDIR:-/tmp}/vlsink-ct-probe.XXXXXX") || {
		echo "mktemp failed"
		return 1
	}
	mkdir "$d/t" "$d/m"
	if ! mount -t tmpfs -o mode=0755,size=16M vlsink-ct-probe "$d/t" 2>/dev/null; then
		why="cannot mount tmpfs (no CAP_SYS_ADMIN?)"
		rc=1
	else
		mkdir "$d/t/upper" "$d/t/work"
		if ! mount -t overlay vlsink-ct-probe \
			-o "lowerdir=$lower,upperdir=$d/t/upper,workdir=$d/t/work" "$d/m" 2>/dev/null; then
			why="cannot mount an overlay of $lower (overlayfs missing or not permitted)"
			rc=1
		elif [[ ! -x $d/m/lib/systemd/systemd ]]; then
			why="overlay of $lower does not show /lib/systemd/systemd"
			rc=1
		fi
		mountpoint -q "$d/m" && { umount "$d/m" || umount -l "$d/m"; }
		umount "$d/t" || umount -l "$d/t"
	fi
	mountpoint -q "$d/m" || rmdir "$d/m" 2>/dev/null
	mountpoint -q "$d/t" || rmdir "$d/t" 2>/dev/null
	rmdir "$d" 2>/dev/null
	if ((rc)); then
		echo "$why"
		return 1
	fi
	return 0
}

ct_start() {
	if [[ -n ${CT_DIR:-} && -d ${CT_DIR:-} ]]; then
		_ct_err "ct_start: a container is already running ($CT_DIR); ct_stop first"
		return 1
	fi
	# called in an || list: set -e is off inside, every step checks itself
	_ct_start_impl || {
		_ct_err "ct_start failed; last lines of ${CT_LOG:-nspawn log}:"
		[[ -n ${CT_LOG:-} && -f ${CT_LOG:-} ]] && tail -n 40 "$CT_LOG" | sed 's/^/  | /' >&2
		ct_stop
		return 1
	}
}

_ct_start_impl() {
	local t0 deadline now base name unit out rc i lower rel
	t0=$(_ct_now_ms)
	deadline=$((t0 + ${CT_BOOT_TIMEOUT:-60} * 1000))
	rel=$(_ct_release)
	lower=$(_ct_lower) || {
		_ct_err "CT_RELEASE=$rel: $lower"
		return 1
	}

	base=$(mktemp -d "${CT_TMPDIR:-/tmp}/vlsink-ct.XXXXXX") || return 1
	name=$(printf 'vlsink-%s-%s' "$$" "${base##*.}" | tr '[:upper:]' '[:lower:]')
	export CT_DIR=$base CT_NAME=$name CT_ROOT=$base/root CT_LOG=$base/nspawn.log
	export CT_NSPAWN_PID='' CT_LEADER='' CT_RELEASE_NAME=$rel
	printf '%s\n' "$name" >"$base/name" || return 1
	mkdir "$base/tmpfs" "$base/root" || return 1

	mount -t tmpfs -o "mode=0755${CT_TMPFS_SIZE:+,size=$CT_TMPFS_SIZE}" vlsink-ct "$base/tmpfs" || return 1
	mkdir "$base/tmpfs/upper" "$base/tmpfs/work" || return 1
	mount -t overlay vlsink-ct \
		-o "lowerdir=$lower,upperdir=$base/tmpfs/upper,workdir=$base/tmpfs/work" "$CT_ROOT" || return 1

	# --- pre-boot configuration, all landing in the tmpfs upper layer -----
	# own machine id: the container's journal lives in /run/log/journal/<id>
	# and is never confused with the host's
	if command -v systemd-id128 >/dev/null; then
		systemd-id128 new >"$CT_ROOT/etc/machine-id" || return 1
	else
		tr -d '-' </proc/sys/kernel/random/uuid >"$CT_ROOT/etc/machine-id" || return 1
	fi
	# journald: RAM only (the lower layer has /var/log/journal, which would
	# make it "persistent" into the tmpfs and add a flush step)
	mkdir -p "$CT_ROOT/etc/systemd/journald.conf.d" || return 1
	printf '[Journal]\nStorage=volatile\n' \
		>"$CT_ROOT/etc/systemd/journald.conf.d/50-vlsink-ct.conf" || return 1
	if [[ -n ${CT_PREBOOT:-} ]]; then
		"$CT_PREBOOT" || { _ct_err "CT_PREBOOT hook $CT_PREBOOT failed"; return 1; }
	fi

	# --- boot -----------------------------------------------------------------
	local -a args=(
		-D "$CT_ROOT" -M "$name" --private-network --register=no --keep-unit
		--link-journal=no --boot
		# nspawn 252's system call allowlist predates Landlock: without
		# this the container's services could not use it, where on a
		# host booted with systemd they can (vlsink(1), SANDBOX)
		--system-call-filter="landlock_create_ruleset landlock_add_rule landlock_restrict_self"
	)
	# shellcheck disable=SC2206
	[[ -n ${CT_NSPAWN_ARGS:-} ]] && args+=($CT_NSPAWN_ARGS)
	args+=(systemd.unit=multi-user.target systemd.log_color=0)
	for unit in ${CT_MASK:-$CT_MASK_DEFAULT} ${CT_EXTRA_MASK:-}; do
		args+=("systemd.mask=$unit")
	done

	# This host mounts the hybrid cgroup hierarchy, which the host's nspawn
	# passes on. systemd 256 and later deprecate cgroup v1 and a Debian 13
	# host runs the unified hierarchy only: a root of another release gets
	# cgroup v2, as on its own hosts.
	local -a envs=(SYSTEMD_COLORS=0)
	[[ $lower == / ]] || envs+=(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1)

	local cg
	_ct_cgroup_dirs "$name" >"$base/cgroups" || return 1
	while IFS= read -r cg; do
		mkdir "$cg" || { _ct_err "cannot create the cgroup $cg"; return 1; }
	done <"$base/cgroups"

	# setsid --fork: nspawn gets its own session, is not a child of the bats
	# process (no job-control surprises) and is reparented to init; the
	# inner bash writes the pid nspawn will have (exec keeps it) and moves
	# into the container's own cgroups. fds 3-9 are closed so bats never
	# waits on the container.
	env "${envs[@]}" setsid --fork bash -c 'echo $$ >"$1" &&
		while IFS= read -r c; do echo $$ >"$c/cgroup.procs" || exit 1; done <"$2" &&
		exec "${@:3}"' ct-launch \
		"$base/nspawn.pid" "$base/cgroups" systemd-nspawn "${args[@]}" \
		</dev/null >"$CT_LOG" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
	for ((i = 0; i < 100; i++)); do
		[[ -s $base/nspawn.pid ]] && break
		sleep 0.02
	done
	CT_NSPAWN_PID=$(cat "$base/nspawn.pid" 2>/dev/null)
	[[ -n $CT_NSPAWN_PID ]] || { _ct_err "nspawn did not start"; return 1; }

	# the container's PID 1 is nspawn's only long-lived child, comm "systemd",
	# in a different pid namespace
	local leader='' c mntns=''
	while :; do
		if ! _ct_pid_alive "$CT_NSPAWN_PID"; then
			_ct_err "systemd-nspawn exited during boot"
			return 1
		fi
		for c in $(pgrep -P "$CT_NSPAWN_PID"); do
			if [[ $(cat "/proc/$c/comm" 2>/dev/null) == systemd &&
				$(readlink "/proc/$c/ns/pid" 2>/dev/null) != "$(readlink /proc/self/ns/pid)" ]]; then
				leader=$c
			fi
		done
		[[ -n $leader ]] && break
		(($(_ct_now_ms) < deadline)) || { _ct_err "no container PID 1 after ${CT_BOOT_TIMEOUT:-60}s"; return 1; }
		sleep 0.02
	done
	mntns=$(readlink "/proc/$leader/ns/mnt") || return 1
	printf '%s\n' "$leader" >"$base/leader"
	printf '%s\n' "$mntns" >"$base/mntns"
	export CT_LEADER=$leader CT_MNTNS=$mntns

	# wait for the end of startup
	while :; do
		now=$(_ct_now_ms)
		((now < deadline)) || { _ct_err "boot did not finish within ${CT_BOOT_TIMEOUT:-60}s (state: ${out:-?})"; return 1; }
		_ct_pid_alive "$CT_NSPAWN_PID" || { _ct_err "systemd-nspawn exited during boot"; return 1; }
		# timeout runs *inside*: a host-side timeout would kill nsenter and
		# orphan systemctl to the host init; the resulting zombie sits in the
		# container's pid namespace and stalls its shutdown for ~10 s
		out=$(nsenter -t "$leader" -a timeout -k 1 $(((deadline - now + 999) / 1000)) \
			systemctl is-system-running --wait 2>&1)
		case $out in
		running) break ;;
		degraded)
			_ct_err "container is degraded; failed units:"
			ct_exec systemctl --failed --no-legend --plain >&2
			break
			;;
		maintenance | stopping)
			_ct_err "container system state: $out"
			return 1
			;;
		# PID 1 not listening yet ("Failed to connect to bus"), or so early
		# that /run/systemd/system does not exist: systemctl then says
		# "offline" (sd_booted() is false; seen once on a loaded machine)
		*) sleep 0.05 ;;
		esac
	done

	# journald must be up: the whole point is to look at the journal
	if ! ct_exec systemctl is-active --quiet systemd-journald.socket systemd-journald.service; then
		ct_exec systemctl start systemd-journald.service ||
			{ _ct_err "journald not running in the container"; return 1; }
	fi
	ct_exec test -S /run/systemd/journal/socket ||
		{ _ct_err "no /run/systemd/journal/socket in the container"; return 1; }

	# systemd's major version inside (252 on bookworm, 257 on trixie), for
	# tests whose expectations differ between them
	CT_SYSTEMD_VERSION=$(ct_exec systemctl --version | awk 'NR == 1 { print $2 }')
	[[ $CT_SYSTEMD_VERSION =~ ^[0-9]+$ ]] || { _ct_err "no systemd version from the container"; return 1; }
	export CT_SYSTEMD_VERSION
	export CT_BOOT_MS=$(($(_ct_now_ms) - t0))
	return 0
}

ct_exec() {
	if [[ -z ${CT_LEADER:-} ]] || ! _ct_is_our_leader "$CT_LEADER" "${CT_MNTNS:-}"; then
		_ct_err "ct_exec: container is not running"
		return 125
	fi
	# Process tree: nsenter (host pid ns) -> sh (container) -> CMD.
	# If the host-side nsenter died first (Ctrl-C, TERM to the process group)
	# its child would be orphaned to the *host* init, not to the container's
	# PID 1; as a zombie it stays in the container's pid namespace and stalls
	# the container's shutdown for ~10 s. So nsenter and the wrapper sh ignore
	# INT/TERM/HUP/QUIT, CMD gets them back at default (env
	# --default-signal), and its fate comes back as an exit code (128+signal,
	# like bash's $?).
	(
		trap '' INT TERM HUP QUIT
		exec nsenter -t "$CT_LEADER" -a -- /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
			/bin/sh -c 'env --default-signal=INT,TERM,HUP,QUIT -- "$@"; exit $?' ct_exec "$@"
	)
}

ct_sh() {
	local script=${1:?ct_sh: script expected}
	shift
	ct_exec /bin/bash -c "$script" ct_sh "$@"
}

ct_write() {
	local dest=${1:?ct_write: DEST expected} mode=${2:-}
	if [[ $dest != /* || /$dest/ == */../* ]]; then
		_ct_err "ct_write: DEST must be an absolute path without '..': $dest"
		return 1
	fi
	ct_exec /bin/sh -c 'mkdir -p -- "$(dirname -- "$1")" && cat >"$1" &&
		{ [ -z "$2" ] || chmod "$2" -- "$1"; }' ct_write "$dest" "$mode"
}

ct_copy_in() {
	local src=${1:?ct_copy_in: SRC expected} dest=${2:?ct_copy_in: DEST expected}
	if [[ $dest != /* || /$dest/ == */../* ]]; then
		_ct_err "ct_copy_in: DEST must be an absolute path without '..': $dest"
		return 1
	fi
	if [[ -d $src ]]; then # contents of SRC into DEST
		tar -C "$src" -cf - . |
			ct_exec /bin/sh -c 'mkdir -p -- "$1" && tar -C "$1" -xf -' ct_copy_in "$dest"
	elif [[ -f $src ]]; then
		local mode
		mode=$(stat -c %a -- "$src") || return 1
		ct_write "$dest" "$mode" <"$src"
	else
		_ct_err "ct_copy_in: no such file or directory: $src"
		return 1
	fi
}

ct_install() {
	local top=${1:?ct_install: TOP expected} log=${2:?ct_install: LOG expected}
	# an empty DESTDIR would install onto the host: only ever into the
	# container's overlay
	if [[ -z ${CT_ROOT:-} || $CT_ROOT == / ]] || ! mountpoint -q "$CT_ROOT"; then
		_ct_err "ct_install: no container root mounted (CT_ROOT='${CT_ROOT:-}')"
		return 1
	fi
	# Everything lands in the container's tmpfs upper layer: /usr/local and
	# its subdirectories are real directories on this host (no symlink is
	# followed out of $CT_ROOT).
	if ! make -s -C "$top" install DESTDIR="$CT_ROOT" PREFIX=/usr/local >"$log" 2>&1; then
		_ct_err "make install failed:"
		cat "$log" >&2
		return 1
	fi
	ct_exec systemd-sysusers /usr/local/lib/sysusers.d/vlsink.conf >>"$log" 2>&1 || {
		_ct_err "systemd-sysusers failed:"
		cat "$log" >&2
		return 1
	}
	ct_exec systemctl daemon-reload
}

ct_wait_until() {
	local secs=${1:?ct_wait_until: SECS expected} end
	shift
	end=$(($(_ct_now_ms) + secs * 1000))
	until "$@"; do
		(($(_ct_now_ms) < end)) || return 1
		sleep 0.1
	done
}

ct_stop() {
	local dir=${1:-${CT_DIR:-}}
	if [[ -n $dir && -d $dir ]]; then
		_ct_stop_impl "$dir" || true
	fi
	if [[ -z ${1:-} || ${1:-} == "${CT_DIR:-}" ]]; then
		unset CT_DIR CT_ROOT CT_LEADER CT_NSPAWN_PID CT_LOG CT_NAME CT_MNTNS CT_BOOT_MS \
			CT_RELEASE_NAME CT_SYSTEMD_VERSION
	fi
	return 0
}

_ct_wait_gone() { # PID MS
	local end=$(($(_ct_now_ms) + $2))
	while _ct_pid_alive "$1"; do
		(($(_ct_now_ms) < end)) || return 1
		sleep 0.05
	done
}

# _ct_procs LEADER MNTNS: how many processes the container has, from the
# /proc it mounted (one directory read, however many processes); 0 once
# PID 1 is gone or has unmounted it
_ct_procs() {
	local -a p=()
	_ct_is_our_leader "$1" "$2" && p=("/proc/$1/root/proc/"[0-9]*)
	[[ -e ${p[0]:-} ]] || p=()
	echo "${#p[@]}"
}

# _ct_wait_poweroff NSPAWN LEADER MNTNS MS: waits for nspawn to exit while the
# container makes progress: MS is how long its process count may stay
# without falling. A powering-off systemd stops every unit first; how long
# that takes grows with their number (1000 connection instances: 7-10 s on
# systemd 252, 24-28 s on 257, NOTES-systemd.md), so no fixed limit fits.
_ct_wait_poweroff() {
	local pid=$1 leader=$2 ns=$3 idle=$4 n last='' end
	end=$(($(_ct_now_ms) + idle))
	while _ct_pid_alive "$pid"; do
		n=$(_ct_procs "$leader" "$ns")
		if [[ -z $last ]] || ((n < last)); then
			end=$(($(_ct_now_ms) + idle))
		fi
		last=$n
		(($(_ct_now_ms) < end)) || return 1
		_ct_wait_gone "$pid" 500 && return 0
	done
}

_ct_umount() { # DIR
	local i
	for ((i = 0; i < 20; i++)); do
		mountpoint -q "$1" || return 0
		umount "$1" 2>/dev/null && continue
		sleep 0.1
	done
	mountpoint -q "$1" || return 0
	_ct_err "ct_stop: $1 busy, lazy unmount"
	umount -l "$1"
}

_ct_stop_impl() {
	local dir=$1 name nspawn leader mntns
	name=$(_ct_state_get "$dir" name)
	nspawn=$(_ct_state_get "$dir" nspawn.pid)
	leader=$(_ct_state_get "$dir" leader)
	mntns=$(_ct_state_get "$dir" mntns)
	local stop_ms=$((${CT_STOP_TIMEOUT:-15} * 1000))

	if _ct_is_our_nspawn "$nspawn" "$name"; then
		if _ct_is_our_leader "$leader" "$mntns"; then
			nsenter -t "$leader" -a timeout -k 1 5 systemctl poweroff --no-block >/dev/null 2>&1 || true
		else
			kill -TERM "$nspawn" 2>/dev/null || true # nspawn asks PID 1 to halt
		fi
		if ! _ct_wait_poweroff "$nspawn" "$leader" "$mntns" "$stop_ms"; then
			_ct_err "ct_stop: container $name made no progress powering off for ${stop_ms} ms, killing"
			_ct_is_our_leader "$leader" "$mntns" && kill -KILL "$leader" 2>/dev/null
			_ct_is_our_nspawn "$nspawn" "$name" && kill -KILL "$nspawn" 2>/dev/null
			_ct_wait_gone "$nspawn" 5000 || _ct_err "ct_stop: nspawn $nspawn survived SIGKILL"
		fi
	fi
	# nspawn dead but PID 1 somehow alive (nspawn SIGKILLed): kill PID 1,
	# which takes the whole pid namespace with it
	if _ct_is_our_leader "$leader" "$mntns"; then
		kill -KILL "$leader" 2>/dev/null
		_ct_wait_gone "$leader" 5000 || _ct_err "ct_stop: container PID 1 $leader survived SIGKILL"
	fi
	# nspawn leaves this on the host /run when it could not clean up
	[[ -n $name && -d /run/systemd/nspawn/propagate/$name ]] &&
		rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null

	_ct_umount "$dir/root"
	_ct_umount "$dir/tmpfs"
	_ct_is_our_nspawn "$nspawn" "$name" || _ct_cgroup_remove "$dir/cgroups"
	# never rm -r: only remove our own files and the (now empty) mount points
	if mountpoint -q "$dir/root" || mountpoint -q "$dir/tmpfs"; then
		_ct_err "ct_stop: mounts under $dir remain, leaving it in place"
		return 1
	fi
	# nspawn's image lock; left behind when nspawn was killed
	rm -f "$dir/.#root.lck"
	[[ -d $dir/root ]] && rmdir "$dir/root"
	[[ -d $dir/tmpfs ]] && rmdir "$dir/tmpfs"
	if [[ -n ${CT_KEEP_LOG:-} ]]; then
		_ct_err "ct_stop: log kept in $dir/nspawn.log"
		return 0
	fi
	rm -f "$dir/name" "$dir/nspawn.pid" "$dir/leader" "$dir/mntns" "$dir/cgroups" "$dir/nspawn.log"
	rmdir "$dir"
}
