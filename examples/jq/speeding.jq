# Records faster than KMH km/h: one JSON line each, in input order, with the
# speed in km/h (rounded to 0.1) and where and when.
#
#   jq -n -c --argjson kmh 40 -f examples/jq/speeding.jq positions.jsonl
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json --since today |
#       jq -n -c --argjson kmh 40 -f examples/jq/speeding.jq
#
# Input: vlsink's JSON lines or `journalctl -o json` (see vlsink.jq).  Only
# records with a speed count: NMEA RMC, gpsd TPV with "speed", CSV with a
# speed column; GGA and GLL carry none.
include "vlsink" {search: "./"};

records
| select(.speed != null and .speed * 3.6 > $kmh)
| {vehicle, time, kmh: (.speed * 36 | round / 10), lat, lon}
