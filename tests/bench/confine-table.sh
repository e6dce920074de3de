#!/usr/bin/env bash
# tests/bench/confine-table.sh - what a vlsink connection may do under the old
# and the new vlsink@.service, side by side: the lines of the confinement
# probe (tests/shim/probe.c) as a markdown table, for docs/reliability.md.
#
#   confine-table.sh [--check] [--forbid] [--sandbox] OLD NEW
#       OLD, NEW: files of PROBE lines (one probed connection each). Prints
#       | action | class | old unit | new unit |. --check fails (status 1)
#       when an action denied under OLD is not denied under NEW; --forbid
#       when an action of class forbid is not denied under NEW; --sandbox
#       likewise for the classes forbid and sandbox. Each fails when a table
#       is incomplete (no "done" line, an action missing).
#   confine-table.sh --run
#       boots a throwaway systemd container (tests/bench/sd-common.bash),
#       installs the build, probes one connection under the 2026-11-30 unit
#       (tests/fixtures/) and one under the unit make install installs, and
#       prints the table and both units' systemd-analyze security ratings.
#       CONFINE_NEW_DROPIN=FILE adds FILE as a drop-in to the new column.
#       PROBE_SO=FILE: the built shim (make's build/std/vlsink-probe.so);
#       compiled here when unset.
set -u -o pipefail

usage() {
	sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 64
}

# table CHECK FORBID SANDBOX OLD NEW
table() {
	awk -v check="$1" -v forbid="$2" -v sandbox="$3" '
		function cell(v, d) { return d == "-" ? v : v " (" d ")" }
		function shut(v) { return v == "denied" || v == "killed" }
		FNR == 1 { col++ }
		$1 != "PROBE" { next }
		$3 == "done" { done[col] = 1; next }
		NF >= 6 {
			a = $3
			if (!(a in seen)) { seen[a] = 1; order[++n] = a }
			v[col, a] = $4; d[col, a] = $5; cls[a] = $6
		}
		END {
			print "| action | class | old unit | new unit |"
			print "|---|---|---|---|"
			bad = 0
			for (i = 1; i <= n; i++) {
				a = order[i]
				o = ((1, a) in v) ? cell(v[1, a], d[1, a]) : "missing"
				w = plain = ((2, a) in v) ? cell(v[2, a], d[2, a]) : "missing"
				weaker = shut(v[1, a]) && !shut(v[2, a])
				loose = (cls[a] == "forbid" || (sandbox && cls[a] == "sandbox")) && !shut(v[2, a])
				if (weaker) w = "**" w "** weaker"
				else if (loose && (forbid || sandbox)) w = "**" w "** forbidden"
				printf "| %s | %s | %s | %s |\n", a, cls[a], o, w
				if (check && weaker) { msg[++bad] = "weaker: " a ": old " o ", new " plain }
				if ((forbid || sandbox) && loose) { msg[++bad] = "forbidden but not denied: " a ": new " plain }
				if (((1, a) in v) != ((2, a) in v)) { msg[++bad] = "in one table only: " a }
			}
			for (c = 1; c <= 2; c++)
				if (!done[c]) msg[++bad] = "incomplete: no done line in the " (c == 1 ? "old" : "new") " table"
			if (n == 0) msg[++bad] = "no PROBE lines"
			if ((check || forbid || sandbox) && bad) {
				print ""
				for (i = 1; i <= bad; i++) print "FAIL " msg[i]
				exit 1
			}
		}' "$4" "$5"
}

check=0 forbid=0 sandbox=0 run=0
while (($#)); do
	case $1 in
	--check) check=1 ;;
	--forbid) forbid=1 ;;
	--sandbox) sandbox=1 ;;
	--run) run=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done

if ((!run)); then
	(($# == 2)) || usage
	table "$check" "$forbid" "$sandbox" "$1" "$2"
	exit
fi

(($# == 0)) || usage
# shellcheck source=sd-common.bash
source "$(dirname "$0")/sd-common.bash"
# shellcheck source=../lib/confine.bash
source "$sd_root/tests/lib/confine.bash" || die "cannot load tests/lib/confine.bash"
sd_setup confine
old_unit=$sd_root/tests/fixtures/vlsink@.service.2026-11-30
so=${PROBE_SO:-$sd_tmp/vlsink-probe.so}
if [[ -z ${PROBE_SO:-} ]]; then
	confine_build "$so" || die "cannot compile tests/shim/probe.c"
fi
confine_prepare "$so" || die "cannot set the probe up in the container"
sd_header "what one vlsink connection may do: the ${old_unit##*/} unit vs the installed one (figures, not a test)"
confine_run old "$old_unit" "$sd_tmp/old" || die "the probe under the old unit failed"
confine_run new "" "$sd_tmp/new" "${CONFINE_NEW_DROPIN:-}" || die "the probe under the new unit failed"
confine_cleanup
echo "systemd-analyze security: old unit $(confine_rating "$old_unit"), new unit $(confine_rating "")"
if confine_sandboxed; then
	echo "vlsink sandboxes itself (--no-sandbox in --help)"
else
	echo "vlsink does not sandbox itself (no --no-sandbox in --help): the unit is all there is"
fi
echo
table 1 0 0 "$sd_tmp/old" "$sd_tmp/new"
