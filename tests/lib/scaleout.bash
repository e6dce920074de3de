# shellcheck shell=bash
# shellcheck disable=SC2016,SC2034
#
# tests/lib/scaleout.bash - the scale-out setup of docs/scale.md "Scale-out" in one
# throwaway systemd container, on top of tests/lib/e2e.bash: vlsink.socket
# and systemd-journal-upload on the ingest side, systemd-journal-remote on
# the central side, both configured from examples/scale-out/ as the README
# says, talking over the container's loopback. For tests/scaleout.bats and
# tests/harness/journal-remote.bats.
#
# The build is installed with `make install` (e2e_install); the setup adds
# only two drop-ins of its own, sorted after the examples:
#   /etc/systemd/journal-upload.conf.d/90-test.conf   URL= on loopback
#   /etc/systemd/system/systemd-journal-upload.service.d/90-test.conf
#                                                     RestartSec=200ms (10s)
# HTTP by default (50-vlsink-http.conf on the central side); use_https
# switches to the documented HTTPS setup with certificates from
# examples/scale-out/make-certs.sh, use_http back.
#
# Load after lib/common, lib/container and lib/e2e. Loading it defines the
# bats hooks setup_file, setup, teardown and teardown_file of the suite: one
# container per .bats file, set up as above.

SO=$E2E_TOP/examples/scale-out
REMOTE_DIR=/var/log/journal/remote
EXPORT=/usr/local/bin/vlsink-export
SYSD=/etc/systemd/system
UPLOAD_CONF=/etc/systemd/journal-upload.conf.d
PKI=/root/pki

# --- configuration, as documented ----------------------------------------------

# example SRC DEST: installs examples/scale-out/SRC as DEST in the container
example() {
	ct_copy_in "$SO/$1" "$2"
}

# upload_url URL: the test's URL= override (the example says central.example.net)
upload_url() {
	printf '[Upload]\nURL=%s\n' "$1" | ct_write "$UPLOAD_CONF/90-test.conf"
}

_scaleout_setup_impl() {
	# central host
	example central/journal-remote.conf.d/50-vlsink.conf \
		/etc/systemd/journal-remote.conf.d/50-vlsink.conf || return 1
	example central/systemd-journal-remote.socket.d/50-vlsink.conf \
		"$SYSD/systemd-journal-remote.socket.d/50-vlsink.conf" || return 1
	example central/systemd-journal-remote.service.d/50-vlsink-http.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf" || return 1
	# ingest host
	example ingest/journal-upload.conf.d/50-vlsink.conf "$UPLOAD_CONF/50-vlsink.conf" || return 1
	example ingest/systemd-journal-upload.service.d/50-vlsink-retry.conf \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-retry.conf" || return 1
	upload_url http://127.0.0.1:19532 || return 1
	printf '[Service]\nRestartSec=200ms\n' |
		ct_write "$SYSD/systemd-journal-upload.service.d/90-test.conf" || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl enable --quiet --now systemd-journal-remote.socket || return 1
	ct_exec systemctl enable --quiet --now systemd-journal-upload.service || return 1
	printf 'http\n' | ct_write /run/e2e-scaleout-mode || return 1
	# the pipeline is up once the boot's journal has reached the central host
	ct_wait_until "$((30 * E2E_SCALE))" ct_exec test -s "$REMOTE_DIR/remote-127.0.0.1.journal" || {
		echo "setup: nothing reached $REMOTE_DIR in 30 s" >&2
		services_log >&2
		return 1
	}
}

setup_file() {
	local b
	for b in systemd-journal-remote systemd-journal-upload; do
		if [[ ! -x /lib/systemd/$b ]]; then
			export CT_SKIP_REASON="needs /lib/systemd/$b (Debian package systemd-journal-remote)"
			return 0
		fi
	done
	e2e_setup_file_installed _scaleout_setup_impl
}

setup() {
	e2e_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	# a test that failed half-way leaves both ends running for the next one
	ct_exec systemctl start systemd-journal-remote.socket || true
	if ! ct_exec systemctl is-active --quiet systemd-journal-upload.service; then
		ct_exec systemctl reset-failed systemd-journal-upload.service
		ct_exec systemctl start systemd-journal-upload.service || true
	fi
}

teardown_file() {
	e2e_teardown_file
}

# --- helpers -------------------------------------------------------------------

# central_json [JOURNALCTL-MATCHES...]: vlsink's entries in the central
# journal, as JSON lines
central_json() {
	ct_exec journalctl --directory="$REMOTE_DIR" --no-pager -q -o json -t vlsink "$@"
}

# central_check VEHICLE... -- CHECK-ARGS...: e2e_client.py check --journal
# over the central journal's entries of the VEHICLEs
central_check() {
	local -a m=()
	while (($#)) && [[ $1 != -- ]]; do
		m+=("VEHICLE_ID=$1")
		shift
	done
	shift
	ct_sh 'n=$1 c=$2 d=$3; shift 3
		journalctl --directory="$d" --no-pager -q -o json -t vlsink "${@:1:n}" 2>/dev/null |
			python3 "$c" check --journal "${@:n+1}"' \
		"${#m[@]}" "$E2E_CLIENT" "$REMOTE_DIR" "${m[@]}" "$@"
}

_central_checked() { central_check "$@" >/dev/null; }

# wait_central SECS VEHICLE... -- CHECK-ARGS...: waits until the central
# journal passes the check, then prints the report and returns its status
# (on failure with the last words of both ends)
wait_central() {
	local secs=$1
	shift
	ct_wait_until "$((secs * E2E_SCALE))" _central_checked "$@"
	central_check "$@" || {
		services_log
		return 1
	}
}

# services_log: the last lines the uploader, the central service and PID 1
# logged about them
services_log() {
	echo "--- journal of systemd-journal-upload/-remote (last 25 lines):"
	ct_exec journalctl --no-pager -q -o short-precise -n 25 -u systemd-journal-upload.service \
		-u systemd-journal-remote.service -u systemd-journal-remote.socket
	echo "--- upload state: $(ct_exec cat /var/lib/private/systemd/journal-upload/state 2>&1 | tail -n 1)"
}

# central_count VEHICLE: the central journal's records of VEHICLE
central_count() {
	ct_sh 'journalctl --directory="$1" --no-pager -q -o json -t vlsink VEHICLE_ID="$2" 2>/dev/null |
		jq -c "select(.SOURCE_FORMAT)" | wc -l' "$REMOTE_DIR" "$1"
}

# gen_send FORMAT:VEHICLE:COUNT...: generates each stream in the container
# ($E2E_TMP/VEHICLE.FORMAT) and sends them all at once to vlsink.socket
# (127.0.0.1:10110, one connection each); sets EXPECT (check arguments)
gen_send() {
	local spec fmt v n
	local -a files=()
	EXPECT=()
	for spec in "$@"; do
		IFS=: read -r fmt v n <<<"$spec"
		e2e_gen "$fmt" "$v" "$n" 0 "$E2E_TMP/$v.$fmt" || return 1
		files+=("$E2E_TMP/$v.$fmt")
		EXPECT+=(--expect "$v:0:$n")
	done
	e2e_client send "${files[@]}" >/dev/null
}

upload_restarts() {
	ct_exec systemctl show -P NRestarts systemd-journal-upload.service
}

# upload_logged TEXT: the uploader has logged TEXT since the last `mark`
upload_logged() {
	ct_sh 'journalctl --no-pager -q -o cat -u systemd-journal-upload.service --since="$1" |
		grep -qF -- "$2"' "$MARK" "$1"
}

mark() {
	MARK=$(ct_exec date '+%Y-%m-%d %H:%M:%S.%N' | cut -c1-26)
	sleep 0.01
}

# mode: http or https, what the two ends are configured for now
mode() { ct_exec cat /run/e2e-scaleout-mode; }

# use_https: the documented HTTPS setup. Certificates from make-certs.sh
# (central "localhost", ingest host "ingest-a", both from the CA in $PKI),
# installed where the example configuration expects them; the central host
# drops the HTTP drop-in and hands its key over with LoadCredential=, the
# uploader too; the uploader then uses https://localhost:19532.
use_https() {
	[[ $(mode) == https ]] && return 0
	if ! ct_exec test -e "$PKI/ca.pem"; then
		example make-certs.sh /root/make-certs.sh || return 1
		ct_sh 'sh /root/make-certs.sh "$1" localhost ingest-a >/dev/null &&
			cd "$1" &&
			install -m 0600 localhost.key /etc/ssl/private/journal-remote.pem &&
			install -m 0644 localhost.pem /etc/ssl/certs/journal-remote.pem &&
			install -D -m 0644 ca.pem /etc/ssl/ca/trusted.pem &&
			install -m 0600 ingest-a.key /etc/ssl/private/journal-upload.pem &&
			install -m 0644 ingest-a.pem /etc/ssl/certs/journal-upload.pem' "$PKI" || return 1
	fi
	ct_exec systemctl stop systemd-journal-upload.service systemd-journal-remote.socket \
		systemd-journal-remote.service || return 1
	ct_exec rm -f "$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf"
	example central/systemd-journal-remote.service.d/50-vlsink-credentials.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-credentials.conf" || return 1
	example ingest/systemd-journal-upload.service.d/50-vlsink-credentials.conf \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-credentials.conf" || return 1
	upload_url https://localhost:19532 || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl start systemd-journal-remote.socket systemd-journal-upload.service || return 1
	printf 'https\n' | ct_write /run/e2e-scaleout-mode
}

use_http() {
	[[ $(mode) == http ]] && return 0
	ct_exec systemctl stop systemd-journal-upload.service systemd-journal-remote.socket \
		systemd-journal-remote.service || return 1
	ct_exec rm -f "$SYSD/systemd-journal-remote.service.d/50-vlsink-credentials.conf" \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-credentials.conf" \
		"$UPLOAD_CONF/91-test.conf"
	example central/systemd-journal-remote.service.d/50-vlsink-http.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf" || return 1
	upload_url http://127.0.0.1:19532 || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl start systemd-journal-remote.socket systemd-journal-upload.service || return 1
	printf 'http\n' | ct_write /run/e2e-scaleout-mode
}
