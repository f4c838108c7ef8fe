#!/usr/bin/env bash
# demo.sh - the main job end to end on the sample release: pack it into a
# signed bundle, an offline folder and a self-extracting setup, verify it,
# install it offline into a scratch root, and show status and verify.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# AIRPACK and AIRPACK_SETUP run installed programs instead (tools/test-deb.sh
# runs the demo against the Debian packages that way).
airpack=${AIRPACK:-}
setup=${AIRPACK_SETUP:-}
if [ -z "$airpack" ] || [ -z "$setup" ]; then
	"$top/tools/deps.sh"
	"$top/tools/build.sh" "$top/build"
	airpack=$top/build/packager/airpack
	setup=$top/build/installer/airpack-setup
fi
work=$(mktemp -d /tmp/airpack-demo.XXXXXX)

# Headings in bold on a terminal, unless NO_COLOR is set.
bold='' plain=''
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$'\033[1m' plain=$'\033[0m'
fi
step() { printf '\n%s== %s%s\n$ %s\n' "$bold" "$1" "$plain" "${*:2}"; "${@:2}"; }

step "make a signing key" sh -c "'$airpack' keygen -o '$work/release.pem' | tee '$work/keygen.txt'"
step "pack the sample release (bundle, offline folder, setup)" \
	env SOURCE_DATE_EPOCH=1700000000 "$airpack" build "$top/manifests/sample-release.json" --payloads "$top/payloads/sample" \
	--key "$work/release.pem" -o "$work/sample-edge-1.1.0.tar" --layout "$work/usb" \
	--sfx "$work/setup"
step "what is inside" "$airpack" inspect "$work/sample-edge-1.1.0.tar"
step "its SBOM (SPDX 2.3, inside the signed manifest): the packages" \
	sh -c "'$airpack' inspect --sbom '$work/sample-edge-1.1.0.tar' | grep -E '\"(name|versionInfo|licenseDeclared)\"' | head -n 12"
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
# A demo device identity: the key is 32 random bytes, as IoT Hub makes them.
key=$(head -c 32 /dev/urandom | base64)
printf 'HostName=demo-hub.azure-devices.net;DeviceId=line-7-gateway;SharedAccessKey=%s\n' "$key" \
	> "$work/device.txt"
step "give the device its IoT Hub identity (read from stdin, never echoed)" \
	sh -c "'$setup' provision --root '$work/root' --connection-string - < '$work/device.txt'"
step "status now has a provisioning section" "$setup" status --root "$work/root"
step "the history" "$setup" log --root "$work/root"
step "the setup alone: trust pinned by the published key fingerprint" \
	"$work/setup" --root "$work/root2" --trust-key-id "$(sed -n 's/^fingerprint: *//p' "$work/keygen.txt")" --quiet
step "it verifies too" "$setup" verify --root "$work/root2"
step "uninstall, purging data folders and the configuration" \
	"$setup" uninstall --root "$work/root" --purge
echo
echo "demo files are in $work"
