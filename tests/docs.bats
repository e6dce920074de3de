#!/usr/bin/env bats
# The documentation holds together: every relative link in README.md and
# docs/ (and the other READMEs) resolves, anchors included; every option
# that a program's --help names is in its man page; the README stays a
# front door (12 KiB at most).

load 'lib/common'

setup() {
	common_setup
	: "${VLSINK_COLLECT:=$TOP/build/std/vlsink-collect}"
	: "${VLSINK_EXPORT:=$TOP/build/std/vlsink-export}"
}

teardown() {
	common_teardown
}

# check_links FILE...: prints "FILE: (TARGET) ..." for each relative link
# that does not resolve; GitHub's heading anchors are checked too.
check_links() {
	python3 - "$@" <<'PY'
import os, re, sys
def slug(h):
    h = re.sub(r'[`*_\[\]()]', '', h.strip().lower())
    h = re.sub(r'[^\w\- ]', '', h)
    return h.replace(' ', '-')
def anchors(path):
    out, fence = set(), False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            fence = not fence
        elif not fence and line.startswith('#'):
            out.add(slug(line.lstrip('#')))
    return out
bad = 0
for f in sys.argv[1:]:
    text = open(f, encoding='utf-8').read()
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'[a-z]+:', target):
            continue
        path, _, frag = target.partition('#')
        full = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(full):
            print(f"{f}: ({target}) does not exist"); bad += 1
        elif frag and full.endswith('.md') and frag not in anchors(full):
            print(f"{f}: ({target}) has no heading #{frag}"); bad += 1
sys.exit(1 if bad else 0)
PY
}

# help_options PROGRAM MANPAGE: the --options of PROGRAM --help that
# MANPAGE does not mention (man writes a hyphen as \-).
help_options_missing() {
	local opt missing=""
	local man
	man=$(sed 's/\\-/-/g' "$2")
	for opt in $("$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$opt" <<<"$man" || missing+=" $opt"
	done
	echo "$missing"
}

@test "every relative link in README.md, docs/ and the other READMEs resolves" {
	cd "$TOP"
	local files=(README.md docs/*.md src/README.md examples/README.md tests/fuzz/README.md)
	[ "${#files[@]}" -ge 8 ]
	run check_links "${files[@]}"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the link check finds a broken link and a missing anchor" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p d && printf '# Title\n\n## A section\n' >d/t.md
	printf '[ok](d/t.md) [ok](d/t.md#a-section) [bad](d/none.md) [bad](d/t.md#nowhere)\n' >x.md
	run check_links x.md
	[ "$status" -eq 1 ]
	[[ $output == *"(d/none.md) does not exist"* ]]
	[[ $output == *"(d/t.md#nowhere) has no heading"* ]]
	[[ $output != *"(d/t.md)"* && $output != *"#a-section"* ]]
}

@test "every option in each program's --help is in its man page" {
	local prog man missing
	for prog in "$VLSINK:vlsink" "$VLSINK_COLLECT:vlsink-collect" "$VLSINK_EXPORT:vlsink-export"; do
		man=$TOP/man/${prog##*:}.1
		[ -x "${prog%:*}" ] || fail "missing build: ${prog%:*}"
		[ "$("${prog%:*}" --help | grep -c -- '--[a-z]')" -ge 3 ] || fail "${prog##*:} --help names no options"
		missing=$(help_options_missing "${prog%:*}" "$man")
		[ -z "$missing" ] || fail "${prog##*:}(1) lacks:$missing"
	done
}

@test "README.md is a front door: at most 12 KiB, in the issue's order" {
	local size
	size=$(wc -c <"$TOP/README.md")
	[ "$size" -le 12288 ] || fail "README.md is $size bytes"
	run grep -n '^## ' "$TOP/README.md"
	[[ $output == *"The two commands"*"60-second tour"*"Install"*"under systemd"*"Devices and formats"*"Where everything else lives"* ]]
}
