# Histogram of reject reasons: "REASON<TAB>COUNT" lines, most frequent first.
#
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json | jq -R -n -r -f examples/jq/reject-reasons.jq
#   jq -R -n -r -f examples/jq/reject-reasons.jq /var/log/vlsink.log
#
# Rejected lines are not records, so vlsink's JSON lines have none.  The
# counts come from the summary vlsink writes when a connection ends, which
# names every reason with its count ("... 2 rejected (bad-checksum 1,
# no-fix 1), ..."): in the journal (entries with END_REASON), or on vlsink's
# stderr with --sink=stdout or fifo (e.g. the --log=PATH of
# examples/inetd/vlsink-inetd.sh).  Unlike counting REJECT_REASON entries,
# this is exact: vlsink rate-limits its per-line reject entries, not the
# summary.  Connections still open have no summary yet.
#
# Read with -R (raw lines): a line that is a JSON object is a journal entry,
# any other line is taken as vlsink's stderr.
def summary_text:
	if startswith("{") then
		fromjson? | select(.SYSLOG_IDENTIFIER == "vlsink" and has("END_REASON")) | .MESSAGE
	else
		.
	end;

reduce (inputs
	| summary_text
	| strings
	| capture(": [0-9]+ accepted, [0-9]+ ignored, [0-9]+ rejected \\((?<list>[^)]*)\\)")
	| .list
	| split(", ")[]
	| capture("^(?<reason>[a-z-]+) (?<n>[0-9]+)$")) as $c
	({}; .[$c.reason] += ($c.n | tonumber))
| to_entries
| sort_by(-.value, .key)
| .[]
| "\(.key)\t\(.value)"
