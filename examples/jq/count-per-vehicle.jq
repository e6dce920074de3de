# Number of records per vehicle: "VEHICLE<TAB>COUNT" lines, by vehicle id.
#
#   jq -n -r -f examples/jq/count-per-vehicle.jq positions.jsonl
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json --since -1h | jq -n -r -f examples/jq/count-per-vehicle.jq
#
# Input: vlsink's JSON lines or `journalctl -o json` (see vlsink.jq).  Records
# without a vehicle id count under "".
include "vlsink" {search: "./"};

reduce records as $r ({}; .[$r.vehicle // ""] += 1)
| to_entries
| sort_by(.key)
| .[]
| "\(.key)\t\(.value)"
