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

# Key rotation (docs/trust.md): a root of trust names the keys; root 2,
# signed by root 1's key and its own, moves the device to a new release key
# and revokes the old one.
quiet() { "$@" >/dev/null; }
mkdir -p "$work/trust" "$work/roots"
for k in root1 root2 release2; do "$airpack" keygen -o "$work/$k.pem" >"$work/$k.txt"; done
step "a root of trust: the release key signs releases, root1 signs roots" \
	"$airpack" root init -o "$work/trust/airpack-root.json" --root-key "$work/root1.pub.pem" \
	--release-key "$work/release.pub.pem" --index-key "$work/release.pub.pem"
step "sign it" "$airpack" root sign "$work/trust/airpack-root.json" --key "$work/root1.pem"
step "the device trusts root 1 and installs" \
	"$setup" install --from "$work/usb" --trust "$work/trust" --offline --root "$work/root3" --quiet
old_id=$(sed -n 's/^key id: *//p' "$work/keygen.txt")
step "root 2: root2 replaces root1, release2 replaces the release key (revoked)" \
	"$airpack" root rotate "$work/trust/airpack-root.json" -o "$work/roots/2.root.json" \
	--add-key root="$work/root2.pub.pem" --remove-key "root=$(sed -n 's/^key id: *//p' "$work/root1.txt")" \
	--add-key release="$work/release2.pub.pem" --remove-key "release=$old_id"
step "signed by the old root key and the new one" sh -c \
	"'$airpack' root sign '$work/roots/2.root.json' --key '$work/root1.pem' && '$airpack' root sign '$work/roots/2.root.json' --key '$work/root2.pem'"
quiet env SOURCE_DATE_EPOCH=1700000000 "$airpack" build "$top/manifests/sample-release.json" \
	--payloads "$top/payloads/sample" --key "$work/release2.pem" --layout "$work/usb2" --quiet
step "the device walks 1 -> 2 and takes the release signed by the new key" \
	"$setup" install --from "$work/usb2" --trust "$work/trust" --roots "$work/roots" --offline \
	--root "$work/root3" --repair --quiet
step "the old key's release is refused now (exit 6)" sh -c \
	"'$setup' install --from '$work/usb' --trust '$work/trust' --offline --root '$work/root3' --repair --quiet; test \$? -eq 6"
step "status shows the root of trust" "$setup" status --root "$work/root3"
echo
echo "demo files are in $work"
