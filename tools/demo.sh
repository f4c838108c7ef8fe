#!/usr/bin/env bash
# demo.sh - the main job end to end on the sample release: pack it into a
# signed bundle, an offline folder and a self-extracting setup, verify it,
# install it offline into a scratch root, and show status and verify.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh" "$top/build"
airpack=$top/build/packager/airpack
setup=$top/build/installer/airpack-setup
work=$(mktemp -d /tmp/airpack-demo.XXXXXX)

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "make a signing key" "$airpack" keygen -o "$work/release.pem"
step "pack the sample release (bundle, offline folder, setup)" \
	env SOURCE_DATE_EPOCH=1700000000 "$airpack" build "$top/manifests/sample-release.json" --payloads "$top/payloads/sample" \
	--key "$work/release.pem" -o "$work/sample-edge-1.1.0.tar" --layout "$work/usb" \
	--sfx "$work/setup"
step "what is inside" "$airpack" inspect "$work/sample-edge-1.1.0.tar"
step "verify signature and payloads with the public key" \
	"$airpack" verify "$work/sample-edge-1.1.0.tar" --trust "$work/release.pub.pem"
step "the same signature checked by stock openssl" \
	openssl pkeyutl -verify -pubin -inkey "$work/release.pub.pem" -rawin \
	-in "$work/usb/manifest.json" -sigfile "$work/usb/manifest.json.sig"
step "plan an offline install from the folder" \
	"$setup" plan --from "$work/usb" --trust "$work/release.pub.pem" --offline
step "install offline into a scratch root" \
	"$setup" install --from "$work/usb" --trust "$work/release.pub.pem" --offline \
	--root "$work/root"
step "status" "$setup" status --root "$work/root"
step "verify every installed file" "$setup" verify --root "$work/root"
echo
echo "demo files are in $work"
