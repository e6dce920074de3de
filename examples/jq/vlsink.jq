# vlsink.jq: what the recipes in this directory share.  Not run on its own:
# each recipe starts with   include "vlsink" {search: "./"};
# which finds this file next to the recipe, wherever jq is started from.
#
# record: turns one input into a vlsink record, whichever source it is from:
#   - vlsink's JSON lines (vlsink --format=json, vlsink-collect's file):
#     passed through as they are;
#   - `journalctl -o json` entries (every value a string): an entry of
#     SYSLOG_IDENTIFIER=vlsink with a LATITUDE becomes the same record as
#     vlsink's JSON line, {vehicle,time,lat,lon,speed,course,alt,mode,
#     quality,sats,hdop,accuracy,format,rollover,archive,peer}
#     with numbers as numbers and absent fields left out; every other entry
#     (rejects, summaries, other programs) gives nothing.
#     The identifier proves nothing (any local user can log with it): give
#     the recipes `journalctl -t vlsink _UID="$(id -u vlsink-conn)" -o json`, the
#     entries of vlsink's units (see "Whose entries" in the README).
def record:
	def num: if . == null then null else tonumber end;
	if has("__CURSOR") or has("MESSAGE") then
		select(.SYSLOG_IDENTIFIER == "vlsink" and has("LATITUDE"))
		| {
			vehicle: .VEHICLE_ID,
			time: .FIX_TIME,
			lat: (.LATITUDE | num),
			lon: (.LONGITUDE | num),
			speed: (.SPEED_MPS | num),
			course: (.COURSE_DEG | num),
			alt: (.ALTITUDE_M | num),
			mode: (.FIX_MODE | num),
			quality: (.FIX_QUALITY | num),
			sats: (.SATELLITES_USED | num),
			hdop: (.HDOP | num),
			accuracy: (.ACCURACY_M | num),
			format: .SOURCE_FORMAT,
			rollover: (if .GPS_WEEK_ROLLOVER == "1" then true else null end),
			archive: (if .ARCHIVE == "1" then true else null end),
			peer: (if .REMOTE_ADDR == null then null
				elif .REMOTE_PORT == null then .REMOTE_ADDR
				elif (.REMOTE_ADDR | contains(":")) then "[\(.REMOTE_ADDR)]:\(.REMOTE_PORT)"
				else "\(.REMOTE_ADDR):\(.REMOTE_PORT)" end)
		}
		| with_entries(select(.value != null))
	else
		.
	end;

# records: every input (run jq with -n) as a record.
def records: inputs | record;
