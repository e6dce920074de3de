# The position records of a journal as vlsink's JSON lines, e.g. to load
# them into PostgreSQL (examples/postgres/vlsink-pgload.sh) or to read them
# with the other recipes without the journal at hand.
#
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json --since yesterday |
#       jq -n -c -f examples/jq/journal-to-jsonl.jq >positions.jsonl
#
# The lines are those vlsink itself writes with --format=json for the same
# input (same keys in the same order, same values, numbers as jq writes
# them: 48.1173 for 48.1173000); entries that are not records
# (rejects, summaries, other programs) are skipped.  See vlsink.jq.
include "vlsink" {search: "./"};

records
