# Table-driven parser cases, in the shape of jq's tests/jq.test.
#
# A case file (tests/cases/*.cases) holds cases separated by blank lines.
# Lines starting with '#' are comments (an input that does is written $'...'); the
# comment lines just above a case name it in failure reports.  A case is:
#
#   [NAME=VALUE ...] vlsink [OPTION ...]    the command line, minus the
#                                           --sink=stdout --format=json that
#                                           the runner adds, and --merge=none
#                                           --keep-zero unless the case sets
#                                           --merge (a case pairs each line
#                                           with its own record, so merging and
#                                           the zero filter are off); NAME=VALUE
#                                           sets the environment (REMOTE_ADDR...)
#   INPUT                                   then pairs of lines: one input
#   EXPECTED                                line and what vlsink must make
#   INPUT                                   of it, in stream order
#   EXPECTED
#   ...
#
# For the tracker protocols (vlsink --protocol=h02, gps103, gl200, osmand)
# an input is one frame with its terminator ('#', ';', '$'); the LF that
# joins inputs lies between frames, where it is skipped.  An OsmAnd input is
# a whole HTTP request written as $'...' with its CRLFs; an input that
# starts with '#' (GPS103's "##,imei:...") is written $'##,...' so that it
# is not read as a comment.  A rejected OsmAnd request
# ends the connection (400 and close), so it must be a case's last input.
# A frame that makes several records (a Queclink report of several points)
# is expected as its first record, then one line "+ RECORD" per further
# record, in order; "+ " lines count no input and no accepted line.
#
# EXPECTED is the exact JSON record, "reject REASON", "ignored" (valid
# lines without a position, identification sentences and headers), or
# "filtered FILTER" (accepted, then dropped by a position filter), or
# "merged" (accepted, its fix in a record expected at another line of the
# same epoch: records are compared in stream order, not line by line).  An input
# written as $'...' is decoded like bash's ANSI-C quoting (\xHH, \r, \\), for
# bytes that a text file should not carry; inputs are otherwise literal.
#
# The runner feeds a case's inputs to one vlsink, then checks stdout against
# the expected records, the "line N rejected (REASON)" diagnostics on stderr
# against the expected rejects (line numbers included), the summary counts,
# and the exit status.  Every mismatch prints the whole case.

VLSINK=${VLSINK:-$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)/build/std/vlsink}

# vlsink logs at most this many rejects at once (REJECT_BURST in main.c); a
# case that expects more could not be checked line by line.
CASES_MAX_REJECTS=10

# Decodes an input line into the variable named by $1.
_case_input() {
	local -n _dst=$1
	local s=$2
	if [[ $s == "\$'"*"'" && ${#s} -ge 3 ]]; then
		s=${s:2:${#s}-3}
		printf -v _dst '%b' "$s"
	else
		_dst=$s
	fi
}

# Runs one case.  Arguments: where (file:line), name, command line, then
# input/expected pairs.  Prints a report and returns 1 on any mismatch.
case_check() {
	local where=$1 name=$2 cmdline=$3
	shift 3
	local -a words env=() opts=() inputs=() expects=()
	local w seen=0 problems=""

	read -r -a words <<<"$cmdline"
	for w in "${words[@]}"; do
		if ((seen)); then
			opts+=("$w")
		elif [[ $w == vlsink ]]; then
			seen=1
		elif [[ $w == [A-Z_]*=* ]]; then
			env+=("$w")
		else
			problems+="  malformed command line: expected [NAME=VALUE...] vlsink [OPTION...]"$'\n'
			break
		fi
	done
	((seen)) || problems+="  malformed command line: no 'vlsink'"$'\n'
	[[ " ${opts[*]} " == *" --merge="* ]] || opts+=(--merge=none --keep-zero)
	if (($# == 0)); then
		problems+="  malformed case: inputs and expectations must come in pairs"$'\n'
	fi

	local want_out="" want_rej="" line want_filt="" got_filt=""
	local -i i=0 acc=0 ign=0 rej=0
	while (($# >= 2)); do
		i+=1
		_case_input line "$1"
		inputs+=("$line")
		expects+=("$2")
		case $2 in
		'{'*)
			want_out+="$2"$'\n'
			acc+=1
			;;
		ignored)
			ign+=1
			;;
		'filtered '[a-z]*)
			want_filt+="${2#filtered }"$'\n'
			acc+=1
			;;
		merged)
			acc+=1
			;;
		'reject '[a-z]*)
			want_rej+="line $i rejected (${2#reject })"$'\n'
			rej+=1
			;;
		*)
			problems+="  malformed expectation: $2"$'\n'
			;;
		esac
		shift 2
		while (($# >= 1)) && [[ $1 == '+ {'* ]]; do
			want_out+="${1#+ }"$'\n'
			expects[-1]+=$'\n'"      then: ${1#+ }"
			shift
		done
	done
	if (($# == 1)); then
		inputs+=("$1")
		expects+=("(missing)")
	fi
	((rej <= CASES_MAX_REJECTS)) ||
		problems+="  more than $CASES_MAX_REJECTS rejects in one case: split it"$'\n'

	local dir
	dir=$(mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/case.XXXXXX")
	if [[ -z $problems ]]; then
		printf '%s\n' "${inputs[@]}" >"$dir/in"
		local -i rc=0
		env -u REMOTE_ADDR -u REMOTE_PORT -u LISTEN_FDS -u LISTEN_PID "${env[@]}" \
			"$VLSINK" --sink=stdout --format=json "${opts[@]}" \
			<"$dir/in" >"$dir/out" 2>"$dir/err" || rc=$?

		local got_out got_rej="" summary=""
		got_out=$(<"$dir/out")
		[[ -n $got_out ]] && got_out+=$'\n'
		while IFS= read -r line; do
			if [[ $line =~ line\ ([0-9]+)\ rejected\ \(([a-z-]+)\) ]]; then
				got_rej+="line ${BASH_REMATCH[1]} rejected (${BASH_REMATCH[2]})"$'\n'
			elif [[ $line =~ :\ (eof|reply-close):\ ([0-9]+)\ accepted,\ ([0-9]+)\ ignored,\ ([0-9]+)\ rejected ]]; then
				summary="${BASH_REMATCH[2]} accepted, ${BASH_REMATCH[3]} ignored, ${BASH_REMATCH[4]} rejected"
				if [[ $line =~ \ filtered\ \(([^\)]*)\) ]]; then
					local item
					IFS=, read -ra items <<<"${BASH_REMATCH[1]}"
					for item in "${items[@]}"; do
						item=${item# }
						for ((k = 0; k < ${item##* }; k++)); do got_filt+="${item% *}"$'\n'; done
					done
				fi
			fi
		done <"$dir/err"

		((rc == 0)) || problems+="  exit status $rc, expected 0"$'\n'
		[[ $got_out == "$want_out" ]] || problems+="  records differ"$'\n'
		[[ $got_rej == "$want_rej" ]] || problems+="  rejects differ"$'\n'
		[[ $(sort <<<"$got_filt") == "$(sort <<<"$want_filt")" ]] ||
			problems+="  filtered differ: got '${got_filt//$'\n'/ }', expected '${want_filt//$'\n'/ }'"$'\n'
		[[ $summary == "$acc accepted, $ign ignored, $rej rejected" ]] ||
			problems+="  summary is '$summary', expected '$acc accepted, $ign ignored, $rej rejected'"$'\n'
	fi
	[[ -z $problems ]] && return 0

	{
		printf 'FAIL %s: %s\n%s' "$where" "$name" "$problems"
		printf '  command: %s\n' "${env[*]}${env[*]:+ }vlsink --sink=stdout --format=json ${opts[*]}"
		for ((i = 0; i < ${#inputs[@]}; i++)); do
			line=${inputs[i]}
			[[ $line == *[![:print:]]* ]] && printf -v line '%q' "$line"
			printf '  line %d: %s\n      want: %s\n' $((i + 1)) "$line" "${expects[i]}"
		done
		if [[ -e $dir/out ]]; then
			printf '  stdout:\n'
			sed 's/^/    /' "$dir/out"
			printf '  stderr:\n'
			sed 's/^/    /' "$dir/err"
		fi
		printf '\n'
	}
	return 1
}

# Runs every case of a file; prints each failing case, then the tally.
cases_run_file() {
	local file=$1 line name="" cmd="" start=0
	local -a body=()
	local -i ln=0 failed=0 total=0

	_cases_flush() {
		if [[ -n $cmd ]]; then
			total+=1
			case_check "$file:$start" "$name" "$cmd" "${body[@]}" || failed+=1
		fi
		cmd="" name="" body=()
	}
	while IFS= read -r line || [[ -n $line ]]; do
		ln+=1
		if [[ -z $line ]]; then
			_cases_flush
		elif [[ $line == '#'* ]]; then
			# Comments inside a case are notes; above it, its name.
			if [[ -z $cmd ]]; then
				line=${line###}
				name+="${name:+ }${line# }"
			fi
		elif [[ -z $cmd ]]; then
			cmd=$line
			start=$ln
		else
			body+=("$line")
		fi
	done <"$file"
	_cases_flush
	unset -f _cases_flush
	printf '%s: %d cases, %d failed\n' "${file##*/}" "$total" "$failed"
	((total > 0 && failed == 0))
}

# Run as a script, it takes case files: bats' per-command tracing makes the
# file loop slow when sourced into a test, so the tests call it this way.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -u
	BATS_TEST_TMPDIR=$(mktemp -d)
	trap 'rm -rf "$BATS_TEST_TMPDIR"' EXIT
	status=0
	for f in "$@"; do
		cases_run_file "$f" || status=1
	done
	exit $status
fi
