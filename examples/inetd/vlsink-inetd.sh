#!/bin/bash
# vlsink-inetd.sh: runs vlsink for one connection accepted by inetd, xinetd or
# tcpserver (examples/inetd/inetd.conf, xinetd.vlsink, tcpserver.sh).
#
#   vlsink-inetd.sh [--log=PATH|--log=syslog] [VLSINK-OPTION]...
#
# Under these launchers the connection is standard input AND standard output
# (inetd and xinetd put it on standard error too), so:
#   - the records must go elsewhere: to the central FIFO by default,
#     --sink=fifo:/run/vlsink/positions, read by vlsink-collect (see
#     examples/README.md); --sink=journal where journald runs.  --sink=stdout
#     would send them back to the tracker, and is refused (exit status 64);
#   - vlsink's diagnostics (rejected lines, the summary line) must not go to
#     the tracker either: they go to syslog through logger(1), tagged vlsink,
#     facility daemon, or with --log=PATH are appended to PATH.
# The other arguments are passed to vlsink after the defaults, so they win.
# vlsink is taken from the directory of this script, else from PATH.
# The peer address comes from the socket (getpeername), as with systemd.

# Until stderr has a place, nothing may reach the connection.
exec 2>/dev/null

log=syslog
args=()
for arg; do
	case $arg in
	--log=?*) log=${arg#--log=} ;;
	*) args+=("$arg") ;;
	esac
done

if [[ $log == syslog ]]; then
	# logger's own stdout and stderr would be the connection, too.
	exec 2> >(exec logger -t vlsink -p daemon.info >/dev/null 2>&1)
else
	exec 2>>"$log" || exit 73
fi

prev=
for arg in "${args[@]}"; do
	if [[ $arg == --sink=stdout || ($prev == --sink && $arg == stdout) ]]; then
		echo "vlsink-inetd.sh: --sink=stdout would send the records back over the connection" >&2
		exit 64
	fi
	prev=$arg
done

vlsink=${BASH_SOURCE[0]%/*}/vlsink
[[ -x $vlsink ]] || vlsink=vlsink
exec "$vlsink" --sink=fifo:/run/vlsink/positions --format=json "${args[@]}"
