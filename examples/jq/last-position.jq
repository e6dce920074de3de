# Last position of every vehicle: the record with the latest fix time (of
# equal times, the later one read), one JSON line per vehicle, by vehicle id.
#
#   jq -n -c -f examples/jq/last-position.jq positions.jsonl
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json | jq -n -c -f examples/jq/last-position.jq
#
# Input: vlsink's JSON lines (vlsink --format=json, vlsink-collect's file) or
# `journalctl -o json` (see vlsink.jq).  Records without a vehicle id are
# grouped under "".
include "vlsink" {search: "./"};

reduce records as $r ({};
	($r.vehicle // "") as $v
	| if (.[$v].time // "") <= $r.time then .[$v] = $r else . end)
| to_entries
| sort_by(.key)
| .[].value
