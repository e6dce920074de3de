#!/usr/bin/env bats
# The libFuzzer harnesses (tests/fuzz/), as a CI smoke run: they build, every
# saved crasher replays without a crash, and each harness fuzzes for a few
# seconds from the fixture seeds without finding one.  The long runs are
# `make fuzz` / tests/fuzz/run.sh; see tests/fuzz/README.md.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

RUN=$BATS_TEST_DIRNAME/fuzz/run.sh

# Seconds per harness in the smoke run; two run at a time, so the fourteen
# harnesses take seven rounds of this.  `make fuzz` does the long runs.
: "${FUZZ_SMOKE_SECONDS:=5}"

setup_file() {
	# bats 1.8 cannot skip from setup_file: remember the reason, skip in setup.
	local cc=${FUZZ_CC:-clang} d
	export FUZZ_SKIP_REASON=""
	if ! command -v "$cc" >/dev/null; then
		FUZZ_SKIP_REASON="$cc not installed (apt-get install clang)"
		return 0
	fi
	d=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$d/probe.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$d/probe" "$d/probe.c" 2>"$d/err"; then
		FUZZ_SKIP_REASON="$cc cannot link -fsanitize=fuzzer (libFuzzer runtime missing: apt-get install libclang-rt-dev)"
	fi
	rm -rf "$d"
}

setup() {
	[ -z "${FUZZ_SKIP_REASON:-}" ] || skip "$FUZZ_SKIP_REASON"
}

@test "the fuzz harnesses build" {
	run "$RUN" --build-only
	assert_success
	assert_output --partial "build/fuzz/fuzz-linebuf"
	assert_output --partial "build/fuzz/fuzz-line"
}

@test "every saved crasher in tests/fuzz/crashers replays without a crash" {
	run "$RUN" --replay
	assert_success
	refute_output --partial CRASH
}

@test "smoke: each harness fuzzes ${FUZZ_SMOKE_SECONDS}s from the fixture seeds without a crash" {
	# The harnesses are ASan/UBSan builds already; the sanitized pass of
	# `make check` would only repeat this.
	[[ ${VLSINK_SANITIZED:-0} != 1 ]] || skip "run once, in the plain pass"
	run "$RUN" --jobs 2 "$FUZZ_SMOKE_SECONDS"
	assert_success
	assert_output --regexp $'\nline +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +0 '
}
