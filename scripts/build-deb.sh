#!/bin/sh
# Builds the Debian package from a copy of this tree, so that debian/rules
# clean (make clean) and debhelper's files never touch the tree itself:
#   scripts/build-deb.sh OUTDIR [VERSION]
# leaves vlsink_VERSION_ARCH.deb in OUTDIR and prints its path. With VERSION,
# the copy's debian/changelog gets an entry for it first (tests/deb.bats
# builds its upgrade that way). The build's output goes to OUTDIR/build.log.
set -eu
out=${1:?usage: scripts/build-deb.sh OUTDIR [VERSION]}
version=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src/vlsink
rm -rf "$out/src"
mkdir -p "$src"
tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
if [ -n "$version" ]; then
	# The maintainer line of the latest entry, for the new one.
	who=$(sed -n '0,/^ -- /s/^ -- \(.*>\).*/\1/p' "$src/debian/changelog")
	{
		printf 'vlsink (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Rebuilt as %s.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$who" "$(date -R)"
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi
(cd "$src" && dpkg-buildpackage -us -uc -b -jauto) >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
version=$(cd "$src" && dpkg-parsechangelog -S Version)
deb=vlsink_${version#*:}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
mv "$out/src/$deb" "$out/"
rm -rf "$out/src"
echo "$out/$deb"
