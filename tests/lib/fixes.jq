# Records against gpsd's reports, for tests/corpus.bats and tests/gpsd.bats:
#   jq -nrR --slurpfile r RECORDS.json -f tests/lib/fixes.jq REPORTS
# gpsd reports a cycle several times as its sentences come in, so its
# distinct TPV times with a fix are the fixes; gpsd 3.22 moves old captures'
# dates by 1024 weeks, so times are matched by time of day.  Prints: fixes,
# records, fixes with exactly one record of their time within 1e-6 degrees,
# times with more than one record, records at times gpsd did not report.
[inputs | fromjson? | select(type == "object" and .class == "TPV" and .time != null
	and .lat != null and .mode >= 2)] as $tpv
| ($tpv | map(.time[11:23]) | unique) as $fixes
| ($r | map(select(.time != null) | . + {tod: .time[11:23]})) as $recs
| ($recs | group_by(.tod) | map(select(length > 1)) | length) as $shared
| [$fixes[] as $k | ($recs | map(select(.tod == $k))) as $m
	| select(($m | length) == 1 and any($tpv[]; .time[11:23] == $k
		and (.lat - $m[0].lat | fabs) <= 1e-6 and (.lon - $m[0].lon | fabs) <= 1e-6))] as $agree
| [$recs[] | .tod as $k | select(($fixes | index($k)) == null)] as $extra
| "\($fixes | length) \($recs | length) \($agree | length) \($shared) \($extra | length)"
