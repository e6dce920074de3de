# Positions of one vehicle as CSV, in input order, with a header line:
# vehicle,time,lat,lon,speed,course,alt,format,peer (vlsink's CSV columns;
# speed in m/s, course in degrees, alt in metres; empty when unknown).
#
#   jq -n -r --arg vehicle bus-42 -f examples/jq/vehicle-csv.jq positions.jsonl >bus-42.csv
#   journalctl -t vlsink _UID="$(id -u vlsink-conn)" VEHICLE_ID=bus-42 -o json |
#       jq -n -r --arg vehicle bus-42 -f examples/jq/vehicle-csv.jq
#
# Input: vlsink's JSON lines or `journalctl -o json` (see vlsink.jq).
include "vlsink" {search: "./"};

"vehicle,time,lat,lon,speed,course,alt,format,peer",
(records
	| select(.vehicle == $vehicle)
	| [.vehicle, .time, .lat, .lon, .speed, .course, .alt, .format, .peer]
	| @csv)
