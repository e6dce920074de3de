#!/bin/bash
# vlsink-pgload.sh: loads vlsink JSON records (one object per line on stdin)
# into the `positions` table of examples/postgres/schema.sql with COPY, in
# batches: one COPY, that is one transaction, per BATCH records, or fewer when
# FLUSH seconds pass with a batch open, and the rest at the end of the input.
#
#   vlsink-collect --output=- | vlsink-pgload.sh -d fleet        # the collector
#   vlsink --format=json <track.nmea | vlsink-pgload.sh -d fleet  # one stream
#   vlsink-pgload.sh -h 127.0.0.1 -p 5432 -U loader -d fleet <positions.jsonl
#
# Arguments are passed to psql (-h, -p, -U, -d, or a conninfo string); the PG*
# environment variables (PGHOST, PGDATABASE...) and ~/.pgpass work as usual.
#
# Environment:
#   BATCH  records per COPY (default 1000)
#   FLUSH  seconds a batch may stay open while records trickle in (default 2)
#   TABLE  table name (default positions)
#   PSQL   the psql to run (default psql)
#
# Lines that are not a JSON object with time, lat and lon are skipped
# (vlsink-collect has already dropped everything that is not JSON).
#
# Exit status: 0 when the input ended and every batch was committed; psql's
# status when a batch failed (ON_ERROR_STOP: a rejected batch, e.g. a CHECK
# violation, stops the loader, and its records are not in the table); 64 on a
# bad BATCH or FLUSH.
#
# Needs jq, awk and psql (Debian: jq, mawk or gawk, postgresql-client).
#
# How it works: jq turns each record into a CSV row, a ticker adds a line
# "tick" every FLUSH seconds (jq writes each row with one write(), so a tick
# never lands inside a row), and awk frames the rows into
#   COPY positions (...) FROM STDIN (FORMAT csv);
#   row
#   ...
#   \.
# blocks that psql runs one after the other.  Each block is committed when
# its "\." arrives.
set -u -o pipefail

BATCH=${BATCH:-1000}
FLUSH=${FLUSH:-2}
TABLE=${TABLE:-positions}
PSQL=${PSQL:-psql}

case $BATCH in
'' | *[!0-9]* | 0*)
	echo "vlsink-pgload: BATCH must be a positive integer, not '$BATCH'" >&2
	exit 64
	;;
esac
if ! [[ $FLUSH =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ $FLUSH =~ ^0+(\.0+)?$ ]]; then
	echo "vlsink-pgload: FLUSH must be a positive number of seconds, not '$FLUSH'" >&2
	exit 64
fi
if ! [[ $TABLE =~ ^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$ ]]; then
	echo "vlsink-pgload: TABLE must be a plain [schema.]name, not '$TABLE'" >&2
	exit 64
fi

# vlsink's record keys, in the table's column order.
FILTER='fromjson? | objects | select(.time != null and .lat != null and .lon != null)
	| [.vehicle, .time, .lat, .lon, .speed, .course, .alt, .format, .peer] | @csv'

# mawk (Debian's default awk) reads pipes in blocks: a batch would wait for
# 4 KiB more input instead of the tick; -W interactive reads line by line.
AWK=(awk)
if awk -W version 2>/dev/null | grep -q mawk; then
	AWK=(awk -W interactive)
fi

ticker() {
	local s
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	while :; do
		sleep "$FLUSH" >/dev/null &
		s=$!
		wait "$s"
		echo tick || exit 0
	done
}

# shellcheck disable=SC2016 # $0 and the rest are awk's.
{
	ticker &
	tick_pid=$!
	rc=0
	jq -R -r --unbuffered "$FILTER" || rc=$?
	kill "$tick_pid" 2>/dev/null
	wait "$tick_pid" 2>/dev/null
	exit "$rc"
} | "${AWK[@]}" -v batch="$BATCH" -v table="$TABLE" '
	function begin() {
		print "COPY " table " (vehicle, fix_time, lat, lon, speed_mps, course_deg, alt_m, format, peer) FROM STDIN (FORMAT csv);"
		open = 1
		n = 0
	}
	function end() {
		print "\\."
		fflush()
		open = 0
	}
	$0 == "tick" { if (open) end(); next }
	{
		if (!open) begin()
		print
		if (++n >= batch) end()
	}
	END { if (open) end() }
' | "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"
