#!/bin/bash
# make-journal.sh: regenerates journal.json, the `journalctl -o json` fixture
# of the jq recipes, from a real journal: boots a throwaway systemd container
# (tests/lib/container.bash: an overlay of / in RAM, nothing of the host's
# journal or services touched), runs run-streams.sh with --sink=journal in
# it, adds one entry of another program, and exports the entries.
#
#   examples/jq/testdata/make-journal.sh [VLSINK]     (root; default build/std/vlsink)
#
# Only the fields vlsink writes and a few of journald's own are kept
# (--output-fields), to keep the fixture small; journalctl always adds
# __CURSOR, __REALTIME_TIMESTAMP, __MONOTONIC_TIMESTAMP and _BOOT_ID.
# Rerun it, and update the *.expected files, when vlsink's journal fields
# change (tests/examples.bats says so).
set -eu
here=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
top=$(cd "$here/../../.." && pwd)
vlsink=$(realpath "${1:-$top/build/std/vlsink}")
# shellcheck disable=SC1091 # found at run time
source "$top/tests/lib/container.bash"

reason=$(ct_can_run) || {
	echo "make-journal.sh: cannot boot a container: $reason" >&2
	exit 1
}
ct_start
trap ct_stop EXIT
fields=SYSLOG_IDENTIFIER,MESSAGE,PRIORITY,_PID,_COMM,_TRANSPORT
fields+=,VEHICLE_ID,FIX_TIME,LATITUDE,LONGITUDE,SPEED_MPS,COURSE_DEG,ALTITUDE_M
fields+=,FIX_MODE,FIX_QUALITY,SATELLITES_USED,HDOP,GPS_WEEK_ROLLOVER
fields+=,SOURCE_FORMAT,REMOTE_ADDR,REMOTE_PORT,RAW_LINE,REJECT_REASON,LINE_NUMBER
fields+=,END_REASON,LINES_ACCEPTED,LINES_IGNORED,LINES_REJECTED,BYTES_READ,REJECTS_SUPPRESSED
fields+=,RECORDS_WRITTEN,RECORDS_FILTERED,RECORDS_UNDELIVERED,MERGE_CONFLICTS
ct_exec "$here/run-streams.sh" "$vlsink" --sink=journal
ct_exec systemd-cat -t other echo "an entry of another program, at 52.5,13.4"
ct_exec journalctl --sync
ct_exec journalctl --no-pager -q -o json -t vlsink -t other --output-fields="$fields" >"$here/journal.json.tmp"
mv "$here/journal.json.tmp" "$here/journal.json"
echo "make-journal.sh: $(wc -l <"$here/journal.json") entries in $here/journal.json"
