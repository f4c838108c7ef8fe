#!/usr/bin/env bash
# trust.sh - the guarantees of docs/trust.md, one attack at a time: rollback
# (wiped device, re-imaged device, an index offering an older latest), freeze
# (an expired index online and offline), mix-and-match (an index from one time
# with a manifest from another), key rotation (root 1 -> 2 -> 3, a rotation
# signed only by the new key, a revoked key), thresholds (2 of 3, one key
# twice) and endless data (every metadata cap hit against a real nginx).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50
unset SOURCE_DATE_EPOCH

json_get() { # TEXT PYTHON-EXPRESSION over j
	python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($2)" <<<"$1"
}
kid() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-16; }

# --- keys, roots and releases -----------------------------------------------------
for k in r1 r2 r3 rel rel2 rel3 idx; do
	"$A" keygen -o $k.pem >/dev/null
done
check "private keys are written with mode 0600" test "$(stat -c %a rel.pem)" = 600
src11=$SRCDIR/manifests/sample-release.json
mkdir -p pay10 && cp "$SRCDIR"/payloads/sample/* pay10/
tr a b <"$SRCDIR/payloads/sample/config.template.yaml" >pay10/config.template.yaml
for v in 1.0.0 1.2.0 1.3.0; do
	sed "s/\"version\": \"1.1.0\"/\"version\": \"$v\"/" "$src11" >src$v.json
done
"$A" build src1.0.0.json --payloads pay10 --key rel.pem -o r10.tar --layout rel10 --quiet
"$A" build "$src11" --payloads "$SRCDIR/payloads/sample" --key rel.pem -o r11.tar --layout rel11 --quiet
"$A" build src1.2.0.json --payloads "$SRCDIR/payloads/sample" --key rel2.pem -o r12-rel2.tar --quiet
"$A" build src1.2.0.json --payloads "$SRCDIR/payloads/sample" --key rel.pem -o r12-rel.tar --quiet

run "$A" root init -o root1.json --root-key r1.pub.pem --release-key rel.pub.pem --index-key idx.pub.pem
is "root init exits 0" "$rc" 0
contains "and says the file is not signed yet" "$out" "sign it: airpack root sign root1.json"
run "$A" root sign root1.json --key r1.pem --json
is "root sign exits 0" "$rc" 0
contains "and names the signature file" "$out" "root1.json.sig.$(kid r1.pub.pem)"
check "the root's signature verifies with openssl pkeyutl -rawin" \
	openssl pkeyutl -verify -pubin -inkey r1.pub.pem -rawin -in root1.json -sigfile "root1.json.sig.$(kid r1.pub.pem)"
run "$A" root show root1.json --json
is "root show exits 0" "$rc" 0
is "it is version 1" "$(json_get "$out" "j['version']")" 1
is "signed by its root key" "$(json_get "$out" "j['self_signed']")" True
mkdir trust1
cp root1.json trust1/airpack-root.json
cp "root1.json.sig.$(kid r1.pub.pem)" "trust1/airpack-root.json.sig.$(kid r1.pub.pem)"
T=(--trust trust1)

# --- a mirror tree signed by the index key ----------------------------------------
M=www/m
run "$A" publish --mirror "$M" r10.tar --key rel.pem --index-key idx.pem --quiet
is "publish with a separate index key exits 0" "$rc" 0
cp -r "$M" www/old   # the tree at time A: only 1.0.0, index version 1
run "$A" publish --mirror "$M" r11.tar --key rel.pem --index-key idx.pem --quiet
is "publish 1.1.0 exits 0" "$rc" 0
idx=$(cat "$M/index.json")
is "the index is signed by the index key" "$(json_get "$idx" "j['key_id']")" "$(kid idx.pub.pem)"
is "its version went up with the new release" "$(json_get "$idx" "j['version']")" 2
contains "it expires" "$idx" '"expires": '
is "it pins the manifest's length" "$(json_get "$idx" "j['releases'][1]['manifest_size']")" "$(size_of "$M/1.1.0/manifest.json")"
nginx_start www
U=$NGINX_URL/m

run "$S" install --mirror "$U" --version latest "${T[@]}" --root dev --quiet
is "a device with root 1 installs the latest release from the mirror" "$rc" 0
rec=$(cat dev/var/lib/airpack/.trust/versions.json)
is "the device records the release it accepted" "$(json_get "$rec" "j['products'][0]['release']")" 1.1.0
is "and the index version" "$(json_get "$rec" "j['products'][0]['index']")" 2
is "and the root version" "$(json_get "$rec" "j['root']")" 1

# --- rollback ---------------------------------------------------------------------
run "$S" install --mirror "$NGINX_URL/old" --version latest "${T[@]}" --root dev --quiet
is "an older index (its latest is 1.0.0) is refused: exit 9" "$rc" 9
run "$S" uninstall --root dev --quiet
is "uninstall exits 0" "$rc" 0
exists "the version record survives uninstall" dev/var/lib/airpack/.trust/versions.json
run "$S" install --mirror "$NGINX_URL/old" --version latest "${T[@]}" --root dev --quiet
is "a wiped device refuses the older index too: exit 9" "$rc" 9
contains "naming the index versions" "$out" "refusing mirror index version 1 of 'sample-edge': this device accepted index version 2"
run "$S" install --bundle r10.tar "${T[@]}" --root dev --quiet
is "a wiped device refuses an older release from a bundle: exit 9" "$rc" 9
contains "saying what it accepted before" "$out" "this device accepted 1.1.0 before"
run "$S" install --bundle r10.tar "${T[@]}" --root dev --quiet --allow-downgrade
is "--allow-downgrade alone is not enough with a root of trust: exit 9" "$rc" 9
contains "it needs a signed floor" "$out" "needs a signed floor at or below 1.0.0"
run "$A" publish --mirror "$M" r10.tar --key rel.pem --index-key idx.pem --min-version 1.0.0 --quiet
is "publish --min-version signs a floor into the index" "$rc" 0
run "$S" install --mirror "$U" --version 1.0.0 "${T[@]}" --root dev --quiet --allow-downgrade
is "with a signed floor at 1.0.0, --allow-downgrade installs 1.0.0" "$rc" 0
run "$S" install --mirror "$U" --version 1.1.0 "${T[@]}" --root dev --quiet
is "and the device goes up again" "$rc" 0

# Re-imaged device: no record at all, but the root it is given sets a floor.
"$A" root init -o rootF.json --root-key r1.pub.pem --release-key rel.pub.pem --index-key idx.pub.pem \
	--floor sample-edge=1.1.0 >/dev/null
"$A" root sign rootF.json --key r1.pem >/dev/null
mkdir trustF && cp rootF.json trustF/airpack-root.json && cp "rootF.json.sig.$(kid r1.pub.pem)" "trustF/airpack-root.json.sig.$(kid r1.pub.pem)"
run "$S" install --bundle r10.tar --trust trustF --root reimaged --quiet --allow-downgrade
is "a re-imaged device refuses a release below the root's floor: exit 9" "$rc" 9
contains "naming the floor" "$out" "below the signed floor 1.1.0"
absent "nothing installed" reimaged/opt/sample-edge

# --- freeze -----------------------------------------------------------------------
F=www/frozen
SOURCE_DATE_EPOCH=1500000000 "$A" publish --mirror "$F" r11.tar --key rel.pem --index-key idx.pem --expires-in 7 --quiet
contains "an index signed long ago has expired" "$(cat "$F/index.json")" '"expires": "2017-07-21'
run "$S" install --mirror "$NGINX_URL/frozen" --version 1.1.0 "${T[@]}" --root fz1 --quiet
is "online, an expired index is refused: exit 12" "$rc" 12
contains "saying it expired" "$out" "expired 2017-07-21"
run "$S" install --mirror "$NGINX_URL/frozen" --version 1.1.0 "${T[@]}" --root fz1 --quiet --expired-ok
is "online, even with --expired-ok: exit 12" "$rc" 12
run "$S" install --mirror "file://$tmp/$F" --version 1.1.0 "${T[@]}" --root fz2 --quiet
is "offline (a file:// mirror), refused without --expired-ok: exit 12" "$rc" 12
contains "saying what to do" "$out" "--expired-ok"
SOURCE_DATE_EPOCH=1500000100 run "$S" install --mirror "file://$tmp/$F" --version 1.1.0 "${T[@]}" --root fz2 --quiet
is "SOURCE_DATE_EPOCH (an image build's time) does not make it fresh: exit 12" "$rc" 12
run "$S" install --mirror "file://$tmp/$F" --version 1.1.0 "${T[@]}" --root fz2 --quiet --expired-ok
is "offline with --expired-ok it installs" "$rc" 0
contains "the receipt records the choice" "$(cat fz2/var/lib/airpack/sample-edge/receipt.json)" '"freshness": "expired-ok: mirror index'
contains "so does the history" "$(cat fz2/var/log/airpack/history.jsonl)" '"freshness":"expired-ok: mirror index'
run "$S" status --root fz2
contains "status shows it" "$out" "freshness:    expired-ok: mirror index"
run "$S" install --mirror "file://$tmp/$F" --version 1.1.0 "${T[@]}" --root fz3 --quiet --at-time 2017-07-20T00:00:00Z
is "offline, --at-time before the expiry installs" "$rc" 0
contains "and is recorded" "$(cat fz3/var/lib/airpack/sample-edge/receipt.json)" '"freshness": "at-time 2017-07-20T00:00:00Z"'
run "$S" install --mirror "$NGINX_URL/frozen" --version 1.1.0 "${T[@]}" --root fz1 --quiet --at-time 2017-07-20T00:00:00Z
is "online, --at-time is refused: exit 2" "$rc" 2
"$A" root init -o rootE.json --root-key r1.pub.pem --release-key rel.pub.pem --index-key idx.pub.pem \
	--expires 2020-01-01T00:00:00Z >/dev/null
"$A" root sign rootE.json --key r1.pem >/dev/null
run "$S" install --bundle r11.tar --trust rootE.json --root fz5 --quiet
is "offline, an expired root of trust is refused: exit 12" "$rc" 12
contains "naming it" "$out" "the root of trust (version 1) expired 2020-01-01T00:00:00Z"
run "$S" install --bundle r11.tar --trust rootE.json --root fz5 --quiet --expired-ok
is "and installs with --expired-ok" "$rc" 0
contains "recorded" "$(cat fz5/var/lib/airpack/sample-edge/receipt.json)" "expired-ok: the root of trust (version 1) expired"
run "$S" versions --mirror "$NGINX_URL/frozen" "${T[@]}"
is "versions refuses the expired index online too: exit 12" "$rc" 12
run "$S" versions --mirror "$U" "${T[@]}"
is "and lists a fresh one, checked against the root" "$rc" 0
mkdir bare && cp idx.pub.pem rel.pub.pem bare/
run "$S" install --mirror "$NGINX_URL/frozen" --version 1.1.0 --trust bare --root fz4 --quiet
is "a device with bare keys refuses the expired index online too: exit 12" "$rc" 12

# --- mix and match ------------------------------------------------------------------
X=www/mix
cp -r "$M" "$X"
# Time B: 1.1.0's manifest replaced by another, validly signed one of 1.1.0.
sed 's/"channel": "lts"/"channel": "beta"/' "$src11" >src11b.json
"$A" build src11b.json --payloads "$SRCDIR/payloads/sample" --key rel.pem --layout rel11b --quiet
cp rel11b/manifest.json rel11b/manifest.json.sig "$X/1.1.0/"
run "$S" install --mirror "$NGINX_URL/mix" --version 1.1.0 "${T[@]}" --root mix --quiet
is "a manifest from another time than the index is refused: exit 4" "$rc" 4
contains "naming the mismatch" "$out" "does not match the signed index"
absent "nothing installed" mix/opt/sample-edge

# --- rotation 1 -> 2 -> 3 -----------------------------------------------------------
# root 2: r2 replaces r1 as root key, rel2 replaces rel (rel is revoked).
run "$A" root rotate root1.json -o root2.json --add-key root=r2.pub.pem --remove-key "root=$(kid r1.pub.pem)" \
	--add-key release=rel2.pub.pem --remove-key "release=$(kid rel.pub.pem)"
is "root rotate exits 0" "$rc" 0
contains "writing version 2" "$out" "wrote root version 2"
run "$A" root rotate root2.json -o root3.json --add-key root=r3.pub.pem --remove-key "root=$(kid r2.pub.pem)"
is "a second rotation exits 0" "$rc" 0
mkdir -p chain bad
cp root2.json chain/2.root.json
cp root3.json chain/3.root.json
"$A" root sign chain/2.root.json --key r1.pem >/dev/null
"$A" root sign chain/2.root.json --key r2.pem >/dev/null
"$A" root sign chain/3.root.json --key r2.pem >/dev/null
"$A" root sign chain/3.root.json --key r3.pem >/dev/null
# A rotation signed only by its own new key.
cp root2.json bad/2.root.json
"$A" root sign bad/2.root.json --key r2.pem >/dev/null
run "$S" install --bundle r12-rel2.tar "${T[@]}" --roots bad --root rot0 --quiet
isnt "a rotation signed only by the new root key is refused" "$rc" 0
contains "naming whose keys are missing" "$out" "root 2 (by the keys of root 1)"
absent "nothing installed" rot0/opt/sample-edge
run "$S" install --bundle r12-rel2.tar "${T[@]}" --root rot0 --quiet
is "without the chain, rel2's release is untrusted for root 1: exit 6" "$rc" 6
run "$S" install --bundle r12-rel2.tar "${T[@]}" --roots chain --root rot1 --quiet
is "a device holding root 1 walks 1 -> 2 -> 3 and installs rel2's release" "$rc" 0
is "it stores root 3" "$(json_get "$(cat rot1/var/lib/airpack/.trust/root-3.json)" "j['version']")" 3
run "$S" status --root rot1
contains "status shows the root of trust" "$out" "root of trust version 3"
run "$S" install --bundle r12-rel.tar "${T[@]}" --root rot1 --quiet --repair
is "the revoked key's release is refused afterwards (the stored root 3, not the folder's root 1): exit 6" "$rc" 6
contains "naming the key" "$out" "key you do not trust (key id $(kid rel.pub.pem)"
run "$S" install --from rel11 "${T[@]}" --root rot1 --quiet --repair
is "from an offline folder too: exit 6" "$rc" 6
# The same chain from the mirror's roots/ folder.
mkdir -p "$M/roots" && cp chain/* "$M/roots/"
"$A" build src1.3.0.json --payloads "$SRCDIR/payloads/sample" --key rel2.pem -o r13.tar --quiet
run "$A" publish --mirror "$M" r13.tar --key rel2.pem --index-key idx.pem --quiet
is "publish 1.3.0 signed by rel2" "$rc" 0
run "$S" install --mirror "$U" --version 1.3.0 "${T[@]}" --root dev --quiet
is "a device walks the chain from the mirror's roots/ and installs 1.3.0" "$rc" 0
is "and stores root 3" "$(json_get "$(cat dev/var/lib/airpack/.trust/versions.json)" "j['root']")" 3

# --- threshold 2 of 3 ---------------------------------------------------------------
"$A" root init -o rootT.json --root-key r1.pub.pem --release-key rel.pub.pem --release-key rel2.pub.pem \
	--release-key rel3.pub.pem --threshold release=2 --index-key idx.pub.pem >/dev/null
"$A" root sign rootT.json --key r1.pem >/dev/null
mkdir trustT && cp rootT.json trustT/airpack-root.json && cp "rootT.json.sig.$(kid r1.pub.pem)" "trustT/airpack-root.json.sig.$(kid r1.pub.pem)"
run "$S" install --from rel11 --trust trustT --root th --quiet
is "one signature of a 2-of-3 role is refused: exit 5" "$rc" 5
contains "counting them" "$out" "1 of the 2 required signatures verify"
run "$A" verify rel11 --trust trustT
is "airpack verify against the root counts the threshold too: exit 5" "$rc" 5
cp rel11/manifest.json.sig "rel11/manifest.json.sig.$(kid rel.pub.pem)"
run "$S" install --from rel11 --trust trustT --root th --quiet
is "the same key's signature twice counts once: exit 5" "$rc" 5
rm "rel11/manifest.json.sig.$(kid rel.pub.pem)"
run "$A" root sign rel11/manifest.json --key rel2.pem
is "airpack root sign adds a second signature to a manifest" "$rc" 0
check "each signature verifies with openssl pkeyutl -rawin (rel)" \
	openssl pkeyutl -verify -pubin -inkey rel.pub.pem -rawin -in rel11/manifest.json -sigfile rel11/manifest.json.sig
check "each signature verifies with openssl pkeyutl -rawin (rel2)" \
	openssl pkeyutl -verify -pubin -inkey rel2.pub.pem -rawin -in rel11/manifest.json -sigfile "rel11/manifest.json.sig.$(kid rel2.pub.pem)"
run "$S" install --from rel11 --trust trustT --root th --quiet
is "two distinct keys of three are accepted" "$rc" 0
run "$A" verify rel11 --trust trustT/airpack-root.json
is "and airpack verify agrees" "$rc" 0

# The second signature travels with the release: publish copies it into the
# mirror (also when it is added after the release was published), layout
# copies it into a USB folder, and a 2-of-3 device installs from both.
R2=manifest.json.sig.$(kid rel2.pub.pem)
cp -r rel11 rel11one && rm "rel11one/$R2"
run "$A" publish --mirror www/mt rel11one --key rel.pem --index-key idx.pem --quiet
is "publish of the release with one signature exits 0" "$rc" 0
run "$S" install --mirror "$NGINX_URL/mt" --version 1.1.0 --trust trustT --root thm --quiet
is "a 2-of-3 device refuses it from the mirror: exit 5" "$rc" 5
run "$A" publish --mirror www/mt rel11 --key rel.pem --index-key idx.pem --quiet
is "publishing it again with the second signature exits 0" "$rc" 0
exists "and copies manifest.json.sig.<rel2 id> into the mirror" "www/mt/1.1.0/$R2"
run "$S" install --mirror "$NGINX_URL/mt" --version 1.1.0 --trust trustT --root thm --quiet
is "the 2-of-3 device installs it from the mirror" "$rc" 0
run "$S" layout --dir usbT --mirror "$NGINX_URL/mt" --version 1.1.0 --trust trustT --quiet
is "layout from the mirror into a USB folder exits 0" "$rc" 0
check "the folder holds the second signature, byte for byte" cmp "usbT/$R2" "rel11/$R2"
run "$S" install --from usbT --trust trustT --root thu --quiet
is "and a 2-of-3 device installs from that folder" "$rc" 0
run "$S" layout --dir usbT2 --from usbT --trust trustT --quiet
is "layout from that folder into another exits 0" "$rc" 0
exists "keeping the second signature" "usbT2/$R2"

# --- endless data: every metadata cap against nginx ---------------------------------
C=www/caps
mkdir -p "$C"
cp -r "$M"/1.1.0 "$M"/index.json* "$C/"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$C/big-index-pad"
{ cat "$M/index.json"; cat "$C/big-index-pad"; } >"$C/index.json"
run "$S" install --mirror "$NGINX_URL/caps" --version 1.1.0 "${T[@]}" --root cap1 --quiet
isnt "an index over its 4 MiB cap is refused" "$rc" 0
contains "naming the cap" "$out" "more than the expected"
check "nginx was not read to the end" test "$(nginx_bytes '/caps/index.json ')" -lt $((5 * 1024 * 1024))
cp "$M/index.json" "$C/index.json"
head -c 8192 /dev/urandom >"$C/index.json.sig"
run "$S" install --mirror "$NGINX_URL/caps" --version 1.1.0 "${T[@]}" --root cap2 --quiet
isnt "an index signature over its 4 KiB cap is refused" "$rc" 0
contains "naming the cap" "$out" "more than the expected 4096 bytes"
cp "$M/index.json.sig" "$C/index.json.sig"
{ cat "$M/1.1.0/manifest.json"; head -c 100000 /dev/zero; } >"$C/1.1.0/manifest.json"
run "$S" install --mirror "$NGINX_URL/caps" --version 1.1.0 "${T[@]}" --root cap3 --quiet
is "a manifest longer than the index pins is refused: exit 4" "$rc" 4
contains "at the pinned length" "$out" "longer than the $(size_of "$M/1.1.0/manifest.json") bytes it pins"
cp "$M/1.1.0/manifest.json" "$C/1.1.0/manifest.json"
mkdir -p "$C/roots"
{ cat chain/2.root.json; head -c $((300 * 1024)) /dev/zero | tr '\0' ' '; } >"$C/roots/2.root.json"
run "$S" install --mirror "$NGINX_URL/caps" --version 1.1.0 "${T[@]}" --root cap4 --quiet
isnt "a root over its 256 KiB cap is refused" "$rc" 0
contains "naming the cap" "$out" "sent more than the expected 262144 bytes"
run "$S" install --bundle r11.tar "${T[@]}" --roots "$C/roots" --root cap5 --quiet
isnt "and from a folder too" "$rc" 0
contains "naming the file" "$out" "2.root.json"

nginx_stop
done_testing
