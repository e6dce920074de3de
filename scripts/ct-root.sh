#!/bin/sh
# scripts/ct-root.sh [--check] SUITE: the root filesystem of Debian SUITE
# (e.g. trixie) that tests/lib/container.bash boots when CT_RELEASE=SUITE.
# Prints its path on stdout once it is complete; builds it first when it is
# missing or incomplete, unless --check is given.
#
# The root is a debootstrap minbase with what the container suites run
# inside (INCLUDE below), from the Debian archive this machine's apt already
# uses (never a host written here). It lives outside the clone, in
# $VLSINK_ROOT_CACHE (default /var/cache/vlsink-tests), as SUITE-HASH, HASH
# naming the suite, architecture and package list, so changing the list
# builds a new root. A root is built into a temporary directory, marked
# complete last, and renamed into place: a builder killed halfway leaves no
# root that looks complete, and two builders (serialised by flock) never
# write into the same directory.
#
# Exit status: 0 root ready (path printed); 2 the archive cannot be reached
# (the reason printed on stdout and kept in SUITE-HASH.unreachable, which the
# container harness turns into a skip); 1 anything else (the build failed, or
# with --check: no root yet).
set -eu

INCLUDE=systemd,systemd-sysv,dbus,libsystemd0,iproute2,procps,python3,jq,socat,man-db
MARKER=.vlsink-root-complete
CACHE=${VLSINK_ROOT_CACHE:-/var/cache/vlsink-tests}

check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
suite=${1:?usage: ct-root.sh [--check] SUITE}
case $suite in
*[!a-z]*)
	echo "ct-root.sh: not a Debian suite name: $suite" >&2
	exit 1
	;;
esac
arch=$(dpkg --print-architecture)
hash=$(printf '%s %s %s\n' "$suite" "$arch" "$INCLUDE" | sha256sum | cut -c1-12)
root=$CACHE/$suite-$hash
unreachable=$root.unreachable

root_complete() { [ -f "$root/$MARKER" ]; }

if root_complete; then
	echo "$root"
	exit 0
fi
if [ "$check" = 1 ]; then
	if [ -s "$unreachable" ]; then
		cat "$unreachable"
		exit 2
	fi
	echo "no $suite root at $root (make deps-trixie builds it)"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ct-root.sh: building the $suite root needs root (debootstrap)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "ct-root.sh: debootstrap is missing (make deps-test installs it)" >&2
	exit 1
}

# The Debian archive of this machine's own release, as apt knows it (from
# sources.list or deb822 .sources alike).
# shellcheck disable=SC1091
. /etc/os-release
# shellcheck disable=SC2016 # apt expands these
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(CREATED_BY)' |
	awk -v r="$VERSION_CODENAME" '$2 == r && $3 == "Packages" { print $1; exit }')
if [ -z "$mirror" ]; then
	echo "ct-root.sh: apt has no archive for $VERSION_CODENAME to take the mirror from" >&2
	exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
# another builder may have finished while this one waited for the lock
if root_complete; then
	echo "$root"
	exit 0
fi

if ! wget -q -T 30 -t 2 -O /dev/null "${mirror%/}/dists/$suite/InRelease"; then
	msg="the Debian archive $mirror has no reachable dists/$suite/InRelease; no $suite root can be built"
	printf '%s\n' "$msg" >"$unreachable"
	echo "$msg"
	exit 2
fi
rm -f "$unreachable"

# An incomplete root (from before the rename scheme, or left by hand) is
# never booted; it is replaced.
[ ! -e "$root" ] || rm -rf --one-file-system "$root"
tmp=$(mktemp -d "$CACHE/.build-$suite.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
log=$tmp.log
if ! debootstrap --variant=minbase --include="$INCLUDE" "$suite" "$tmp" "$mirror" >"$log" 2>&1; then
	echo "ct-root.sh: debootstrap $suite failed; last lines of $log:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
rm -f "$log"
# Nothing of the build host's apt state is needed in the root: the package
# test installs local .deb files without network.
rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
printf '%s %s %s\n' "$suite" "$mirror" "$INCLUDE" >"$tmp/$MARKER"
chmod 0755 "$tmp"
mv -T "$tmp" "$root"
trap - EXIT
echo "$root"
