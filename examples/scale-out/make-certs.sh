#!/bin/sh
# make-certs.sh - a private CA and the certificates for systemd-journal-remote
# (the central host) and systemd-journal-upload (each ingest host). Follows
# systemd-journal-upload(8), "Setting up certificates for authentication",
# with two changes: ECDSA P-256 keys instead of RSA 2048 (as strong, and made
# in milliseconds), and a subjectAltName in every certificate, which curl
# (the uploader) checks against the host name in URL=.
#
#   make-certs.sh OUTDIR CENTRAL-NAME INGEST-NAME...
#   make-certs.sh pki central.example.net ingest1.example.net ingest2.example.net
#
# Writes OUTDIR/ca.pem (the CA certificate: TrustedCertificateFile= on every
# host), OUTDIR/ca.key (keep it offline), and NAME.pem / NAME.key for the
# central host and for each ingest host. A NAME that is an IPv4 address gets
# an IP subjectAltName, any other a DNS one. Valid 825 days; existing files
# are never overwritten (the CA is reused: run again to add an ingest host).
#
# What is checked (measured with Debian 12's systemd 252): the uploader
# refuses a central host whose certificate is not signed by the CA in its
# TrustedCertificateFile= or does not name the host in URL=. The central
# host does NOT check client certificates: Debian builds
# systemd-journal-remote without GnuTLS ("Certificate checking disabled."),
# so any client that reaches port 19532 can upload, with or without a
# certificate. Restrict the port to the ingest hosts (firewall, VPN, bind
# address). The client certificates are still worth having: a build with
# GnuTLS checks them against TrustedCertificateFile= and names its output
# files after their CN instead of the peer's address.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 OUTDIR CENTRAL-NAME INGEST-NAME..." >&2; exit 64; }
out=$1
shift
umask 077
mkdir -p "$out"
cd "$out"

if [ ! -e ca.pem ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -sha256 \
		-subj '/CN=vlsink journal CA/' -keyout ca.key -out ca.pem 2>/dev/null
fi

for name in "$@"; do
	[ -e "$name.pem" ] && { echo "$name.pem exists, kept"; continue; }
	case $name in
	*[!0-9.]*) san="DNS:$name" ;;
	*) san="IP:$name" ;;
	esac
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj "/CN=$name/" \
		-keyout "$name.key" -out "$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 825 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
	echo "$name.pem $name.key"
done
chmod 0644 ./*.pem
