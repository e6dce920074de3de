# shellcheck shell=bash
# shellcheck disable=SC2034
#
# tests/bench/sd-common.bash - shared by tests/bench/systemd-bench.sh and
# tests/bench/soak.sh: build, boot ONE throwaway systemd container
# (tests/lib/container.bash: nspawn over a tmpfs overlay of /, never the
# host's systemd), install vlsink into it (ct_install), copy the bench tools
# (tests/lib/e2e_client.py, sd-probe.sh) in, and tear everything down on
# exit (trap). Plain bash, no bats.
#
#   source tests/bench/sd-common.bash   (sets sd_root, sd_dir, sd_tmp)
#   sd_setup NAME                       build, boot, install, enable
#                                       vlsink.socket, copy the tools; dies
#                                       (exit 2) on any setup failure
#   sd_copy SRC DEST                    one more file into the container
#   probe ARGS...                       tests/bench/sd-probe.sh inside
#   sd_check SECS PAUSE TAIL PREFIX SENT 'SOURCE' [CHECK-ARG...]
#                                       every record sent, exactly once
#   sock_prop PROP                      property of vlsink.socket
#   calc 'AWK'  kv KEY TEXT  median N...   number helpers

set -u -o pipefail
export LC_ALL=C

sd_name=${sd_name:-${0##*/}}
die() {
	echo "$sd_name: $*" >&2
	exit 2
}

sd_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || die "cannot find tests/bench"
sd_root=$(cd "$sd_dir/../.." && pwd) || die "cannot find the repository"

# shellcheck source=../lib/container.bash
source "$sd_root/tests/lib/container.bash" || die "cannot load tests/lib/container.bash"

LIBEXEC=/usr/local/libexec/vlsink-bench # inside the container
CLIENT=$LIBEXEC/e2e_client.py # tests/lib/e2e_client.py: clients and check
PROBE=$LIBEXEC/sd-probe.sh
B=/tmp/bench
UNITDIR=/usr/local/lib/systemd/system
DROPINS=/etc/systemd/system/vlsink@.service.d

sd_tmp=''
_sd_cleanup() {
	ct_stop
	[[ -n $sd_tmp ]] && rm -rf -- "$sd_tmp"
}

_sd_preboot() {
	# the default runtime journal cap (10% of /run) would rotate records
	# away before they are counted; so would the cap of 100 files (a file
	# holds some 20,000 records before its hash table is full and it is
	# rotated: a fleet of 10,000 vehicles for 60 s fills about 30). No rate
	# limit for units that set none, such as PID 1's own lines about each
	# instance, which the failure count reads.
	printf '[Journal]\nRuntimeMaxUse=4G\nRuntimeMaxFiles=1000\nRateLimitIntervalSec=0\n' \
		>"$CT_ROOT/etc/systemd/journald.conf.d/60-vlsink-bench.conf"
}

sd_setup() {
	local reason
	reason=$(ct_can_run) || die "cannot run a container here: $reason"
	sd_tmp=$(mktemp -d "${TMPDIR:-/tmp}/vlsink-$1.XXXXXX") || die "mktemp failed"
	trap _sd_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	echo "building (make all) ..."
	make -s -C "$sd_root" all >"$sd_tmp/build.log" 2>&1 || {
		cat "$sd_tmp/build.log" >&2
		die "make all failed"
	}
	echo "booting the container ..."
	CT_PREBOOT=_sd_preboot
	ct_start || die "the container did not boot"
	{
		ct_install "$sd_root" "$sd_tmp/install.log" &&
			ct_exec systemctl enable --now vlsink.socket >>"$sd_tmp/install.log" 2>&1
	} || {
		cat "$sd_tmp/install.log" >&2
		die "install into the container failed"
	}
	sd_copy "$sd_root/tests/lib/e2e_client.py" "$CLIENT"
	sd_copy "$sd_dir/sd-probe.sh" "$PROBE"
	ct_exec mkdir -p "$B" || die "mkdir $B failed"
}

sd_copy() {
	ct_copy_in "$1" "$2" || die "cannot copy $1 into the container"
}

probe() { ct_exec "$PROBE" "$@"; }

# sd_check SECS PAUSE TAIL PREFIX SENT 'SOURCE' [CHECK-ARG...]: inside the
# container, pipes what the bash script SOURCE prints (JSON lines) through
# `e2e_client.py check CHECK-ARG... --only-expected`, with an --expect for
# each line of the client's SENT file, every PAUSE s until it passes or SECS
# have passed; prints the last TAIL lines of the report, without the lines
# of single vehicles (those starting with PREFIX), and returns its status.
sd_check() {
	ct_sh 'secs=$1 pause=$2 tail=$3 prefix=$4 sent=$5 source=$6 client=$7
		shift 7
		end=$(($(date +%s) + secs))
		while :; do
			out=$(bash -c "$source" | python3 "$client" check "$@" --only-expected $(sed "s/^/--expect /" "$sent"))
			rc=$?
			[ $rc = 0 ] || [ "$(date +%s)" -ge "$end" ] && break
			sleep "$pause"
		done
		printf "%s\n" "$out" | grep -v "^$prefix" | tail -n "$tail"
		exit $rc' "${@:1:6}" "$CLIENT" "${@:7}"
}
sock_prop() { ct_exec systemctl show -P "$1" vlsink.socket; }
calc() { awk "BEGIN { $1 }"; }
softnet_drops() { # the packets every CPU's backlog dropped, on the host: one counter for all namespaces
	local s=0 _a d _r
	while read -r _a d _r; do s=$((s + 16#$d)); done </proc/net/softnet_stat
	echo "$s"
}

kv() { # KEY TEXT: the word after KEY in TEXT
	awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$2"
}
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
pid1_mem() { # "VmRSS Pss" (KiB) of the container's PID 1, read from the host
	echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$CT_LEADER/status") $(awk '/^Pss:/ { print $2 }' "/proc/$CT_LEADER/smaps_rollup")"
}
sd_header() { # TITLE
	local cpu
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
	echo
	echo "== $1 =="
	echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine:   $(uname -srm), nproc $(nproc), CPU ${cpu:-unknown}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "container: systemd $(ct_exec systemctl --version | awk 'NR == 1 { print $2 }'), booted in ${CT_BOOT_MS} ms," \
		"private network, vlsink installed with make install DESTDIR= PREFIX=/usr/local"
}
