#!/usr/bin/env bash
# sfx.sh - the self-extracting setup: one file carried to a device, run with
# nothing else; refusing a truncated, extended or damaged copy; trust pinned
# by key id; a detached setup that takes payloads from beside it and
# downloads only the rest.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50

"$A" keygen -o key.pem >/dev/null
keyid=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-16)
keyfpr=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-64)
run "$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --sfx out/setup --sfx-stub "$S" --layout rel
is "build --sfx exits 0" "$rc" 0
check "the setup is executable" test -x out/setup

run "$A" inspect out/setup --json
contains "airpack inspect reads a setup" "$out" '"kind":"self-extracting setup"'
contains "and its release" "$out" '"product":"sample-edge"'

# Alone in an empty folder on the "device".
mkdir dev && cp out/setup dev/setup
run dev/setup --help
is "./setup --help exits 0" "$rc" 0
contains "it explains the setup's own use" "$out" "install the release this setup carries"
run dev/setup --version
contains "./setup --version shows the trust folder" "$out" "trust folder:"
contains "and names the release it carries" "$out" "carries: sample-edge 1.1.0"
run dev/setup -q --root "$tmp/root-q" --trust key.pub.pem
is "./setup -q installs quietly" "$rc" 0
is "and prints nothing" "$out" ""

run dev/setup --root "$tmp/root0"
is "with no trust at all it refuses (exit 6)" "$rc" 6
contains "and prints the key id to compare" "$out" "signed by key id $keyid"
absent "nothing was installed" root0/opt
contains "and the full fingerprint to compare" "$out" "key fingerprint $keyfpr"
run dev/setup --root "$tmp/root0" --trust-key-id 0123456789abcdef
is "a wrong --trust-key-id is refused (exit 6)" "$rc" 6
contains "naming both ids" "$out" "has id $keyid, not 0123456789abcdef"
run dev/setup --root "$tmp/root0" --trust-key-id "$keyid"
is "the right 16-hex key id alone is not enough to trust the key (exit 6)" "$rc" 6
contains "the refusal says why and prints the fingerprint" "$out" \
	"a 16-digit key id is too short to trust a key on"
contains "the full fingerprint to compare" "$out" "$keyfpr"
absent "nothing was installed on a key id" root0/opt
wrongfpr=$(printf '%s' "$keyfpr" | tr 0-9a-f 1-9a-f0)
run dev/setup --root "$tmp/root0" --trust-key-id "$wrongfpr"
is "a wrong fingerprint is refused (exit 6)" "$rc" 6
contains "naming both fingerprints" "$out" "has fingerprint $keyfpr, not $wrongfpr"
run dev/setup --root "$tmp/root0" --trust-key-id abc
is "a --trust-key-id of another length is a usage error (exit 2)" "$rc" 2
run "$A" inspect dev/setup
contains "airpack inspect prints the setup key's full fingerprint" "$out" "fingerprint $keyfpr"
run "$A" inspect dev/setup --json
contains "and in JSON" "$out" "\"key_fingerprint\":\"$keyfpr\""

run dev/setup plan --trust-key-id "$keyfpr"
is "./setup plan works" "$rc" 0
contains "plan takes every component from the setup" "$out" "bundle    security-daemon"

KEYFPR_UPPER=$(printf '%s' "$keyfpr" | tr a-f A-F)
run dev/setup --root "$tmp/root1" --trust-key-id "$KEYFPR_UPPER" --quiet
is "./setup with --root and the published fingerprint (any case) installs" "$rc" 0
run "$S" verify --root root1
is "verify passes on what the setup installed" "$rc" 0
run "$S" status --root root1 --json
contains "status shows the release" "$out" '"version":"1.1.0"'
run "$S" status --root root1
is "status lists the components in manifest order" \
	"$(echo "$out" | sed -n 's/^  \([a-z-]*\) .*file.*/\1/p' | tr '\n' ' ')" \
	"security-daemon moby-engine config-template install-check "
is "the setup's folder is left as it was" "$(ls dev)" "setup"

run dev/setup --root "$tmp/root2" --trust key.pub.pem --quiet
is "./setup with --trust installs too" "$rc" 0
check "both installs are the same files" diff -r root1/opt root2/opt

run dev/setup --extract "$tmp/usb" --trust-key-id "$keyfpr" --quiet
is "./setup --extract DIR exits 0" "$rc" 0
run "$A" verify usb --trust key.pub.pem
is "the extracted offline folder verifies" "$rc" 0
check "its manifest is the release's" cmp usb/manifest.json rel/manifest.json

# Damage.
size=$(size_of out/setup)
cp out/setup trunc && truncate -s $((size - 1)) trunc
run ./trunc --root "$tmp/rt" --trust key.pub.pem
isnt "a setup truncated by one byte refuses" "$rc" 0
contains "saying it is truncated" "$out" "is truncated"
absent "and installs nothing" rt/opt
cp out/setup trunc2 && truncate -s $((size - 5000)) trunc2
run "$A" inspect trunc2
isnt "a setup cut short by 5000 bytes is refused" "$rc" 0
cp out/setup longer && printf 'x' >> longer
run ./longer --root "$tmp/rl" --trust key.pub.pem
isnt "a setup with one byte appended refuses" "$rc" 0
contains "saying bytes were appended" "$out" "1 unexpected bytes appended"
absent "and installs nothing" rl/opt
cp out/setup flipped
off=$((size - 64 - 4000))
printf '\xff' | dd of=flipped bs=1 seek=$off conv=notrunc 2>/dev/null
run ./flipped --root "$tmp/rf" --trust key.pub.pem
isnt "a setup with one byte changed in its release refuses" "$rc" 0
contains "saying it is damaged" "$out" "is damaged"
run "$A" inspect flipped
isnt "airpack inspect refuses it too" "$rc" 0

# Detached: only the signed manifest inside; payloads beside it or downloaded.
run "$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --sfx thin/setup --sfx-detached --sfx-stub "$S"
is "build --sfx-detached exits 0" "$rc" 0
check "a detached setup is smaller than the whole one" test "$(size_of thin/setup)" -lt "$size"
run "$A" inspect thin/setup
contains "inspect says it is detached" "$out" "detached"
mkdir -p www dev2
cp rel/* www/
cp thin/setup dev2/setup
cp rel/iotedge-daemon.cab rel/config.template.yaml dev2/
nginx_start "$tmp/www"
run dev2/setup plan --trust key.pub.pem --mirror "$NGINX_URL"
contains "plan takes the cab from beside the setup" "$out" "local     security-daemon"
contains "and will download the zip" "$out" "will download from $NGINX_URL/moby-engine.zip"
nginx_log_clear
run dev2/setup --root "$tmp/root3" --trust key.pub.pem --mirror "$NGINX_URL" --quiet
is "the detached setup installs" "$rc" 0
is "exactly the two missing payloads were requested" "$(nginx_requests)" 2
is "the zip" "$(nginx_requests 'GET /moby-engine.zip 200')" 1
is "and the script" "$(nginx_requests 'GET /install-check.sh 200')" 1
is "bytes sent = bytes missing" "$(nginx_bytes)" $(( $(size_of rel/moby-engine.zip) + $(size_of rel/install-check.sh) ))
run "$S" verify --root root3
is "verify passes" "$rc" 0
check "the same files as the whole setup installed" diff -r root1/opt root3/opt
is "nothing was written beside the setup" "$(ls dev2 | tr '\n' ' ')" "config.template.yaml iotedge-daemon.cab setup "
c3=$tmp/root3/var/cache/airpack/sample-edge
exists "the downloads are in the root's cache" "$c3/moby-engine.zip"
nginx_log_clear
run dev2/setup --root "$tmp/root4" --trust key.pub.pem --mirror "$NGINX_URL" --cache "$c3" --quiet
is "a second run with that cache needs no network" "$(nginx_requests)" 0
run dev2/setup --root "$tmp/root5" --trust key.pub.pem --offline --cache "$c3" --quiet
is "--offline works with the setup's folder and the cache" "$rc" 0

# --- a detached setup with --trust-key-id installs a version from a mirror tree ---
mkdir -p tree
run "$A" publish --mirror tree --layout rel --key key.pem
is "publish into a mirror tree exits 0" "$rc" 0
mkdir dev3 && cp thin/setup dev3/setup
nginx_stop
nginx_start "$tmp/tree"
run dev3/setup --root "$tmp/root6" --trust-key-id "$keyfpr" --mirror "$NGINX_URL" --version 1.1.0 --quiet
is "--trust-key-id with a mirror tree and --version installs" "$rc" 0
run "$S" status --root root6
contains "the pinned version" "$out" "pinned:       1.1.0"
run dev3/setup --root "$tmp/root7" --trust-key-id 0123456789abcdef --mirror "$NGINX_URL" --version 1.1.0
is "a wrong --trust-key-id with a mirror tree: exit 6" "$rc" 6
run "$S" install --root "$tmp/root8" --trust-key-id "$keyfpr" --mirror "$NGINX_URL" --version 1.1.0
is "--trust-key-id outside a setup: usage error" "$rc" 2
contains "saying where it works" "$out" "works only in a self-extracting setup"

done_testing
