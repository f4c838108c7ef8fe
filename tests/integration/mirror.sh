#!/usr/bin/env bash
# mirror.sh - mirror trees, pinned versions, first boot and golden images:
# airpack publish builds a signed mirror tree, a real nginx serves it, and
# airpack-setup installs exactly the version asked for; nginx's access log
# is the proof of what was fetched.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50
unset SOURCE_DATE_EPOCH

json_get() { # FILE-or-TEXT PYTHON-EXPRESSION over j
	python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($2)" <<<"$1"
}

# --- three releases of the sample product ----------------------------------------
"$A" keygen -o key.pem >/dev/null
"$A" keygen -o stranger.pem >/dev/null
keyid=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-16)
strangerid=$(openssl pkey -pubin -in stranger.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-16)
src11=$SRCDIR/manifests/sample-release.json
# 1.0.0 differs from 1.1.0 in one payload, of the same size: only its hash tells.
mkdir -p pay10 && cp "$SRCDIR"/payloads/sample/* pay10/
tr a b <"$SRCDIR/payloads/sample/config.template.yaml" >pay10/config.template.yaml
sed 's/"version": "1.1.0"/"version": "1.0.0"/' "$src11" >src10.json
sed -e 's/"version": "1.1.0"/"version": "1.2.0"/' -e 's/"channel": "lts"/"channel": "edge"/' \
	"$src11" >src12.json
"$A" build src10.json --payloads pay10 --key key.pem -o r10.tar --quiet
"$A" build "$src11" --payloads "$SRCDIR/payloads/sample" --key key.pem --layout rel11 -o r11.tar --quiet
"$A" build src12.json --payloads "$SRCDIR/payloads/sample" --key key.pem --sfx r12.setup --quiet
T=(--trust key.pub.pem)
M=www/m

# --- publish ------------------------------------------------------------------------
run "$A" publish --mirror "$M" r10.tar --key key.pem
is "publish a bundle exits 0" "$rc" 0
contains "publish says what it did" "$out" "published sample-edge 1.0.0 (lts) into $M/1.0.0: 4 payloads copied"
run "$A" publish --mirror "$M" --layout rel11 --key key.pem --json
is "publish an offline folder exits 0" "$rc" 0
contains "publish --json counts the copies" "$out" '"copied":4'
for v in 1.0.0 1.1.0; do
	for f in manifest.json manifest.json.sig iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh; do
		exists "$v/$f is in the mirror tree" "$M/$v/$f"
	done
done
check "the 1.1.0 folder holds the released manifest byte for byte" cmp rel11/manifest.json "$M/1.1.0/manifest.json"
check "and the changed payload of 1.0.0" cmp pay10/config.template.yaml "$M/1.0.0/config.template.yaml"
check "index.json's signature verifies with openssl pkeyutl -rawin" \
	openssl pkeyutl -verify -pubin -inkey key.pub.pem -rawin -in "$M/index.json" -sigfile "$M/index.json.sig"
idx=$(cat "$M/index.json")
is "the index names the product" "$(json_get "$idx" "j['product']")" sample-edge
is "and the key" "$(json_get "$idx" "j['key_id']")" "$keyid"
is "its releases are sorted by version, with channels" \
	"$(json_get "$idx" "' '.join(r['version']+':'+r['channel'] for r in j['releases'])")" "1.0.0:lts 1.1.0:lts"
is "manifest_sha256 is the hash of the published manifest" \
	"$(json_get "$idx" "j['releases'][1]['manifest_sha256']")" "$(sha256_of "$M/1.1.0/manifest.json")"
total=0
for f in iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh; do
	total=$((total + $(size_of "rel11/$f")))
done
is "size is the total of the payloads" "$(json_get "$idx" "j['releases'][1]['size']")" "$total"

before=$(sha256_of "$M/index.json")
body_before=$(grep -vE '^  "(version|expires)": ' "$M/index.json" | sha256sum | cut -d' ' -f1)
version_before=$(sed -n 's/^  "version": \([0-9]*\),$/\1/p' "$M/index.json")
mtime=$(stat -c %Y.%N "$M/index.json")
run "$A" publish --mirror "$M" r10.tar --key key.pem
is "publishing the same release again exits 0" "$rc" 0
contains "and says there is nothing to do" "$out" "sample-edge 1.0.0 is already published in $M: nothing to do"
is "the index was not rewritten" "$(stat -c %Y.%N "$M/index.json")" "$mtime"

# a payload lost from the tree: publishing again repairs it, the index stays
rm "$M/1.0.0/moby-engine.zip"
run "$A" publish --mirror "$M" r10.tar --key key.pem
is "republishing after a payload was lost exits 0" "$rc" 0
contains "it copies just that payload" "$out" "1 payload copied, 3 already there"
check "the payload is back" cmp "$M/1.0.0/moby-engine.zip" pay10/moby-engine.zip
is "and the index did not change" "$(stat -c %Y.%N "$M/index.json")" "$mtime"

# the same version with another manifest: immutable unless --force
sed 's/"version": "1.1.0"/"version": "1.0.0"/; s/Sample release/Rebuilt release/' "$src11" >src10b.json
"$A" build src10b.json --payloads "$SRCDIR/payloads/sample" --key key.pem -o r10b.tar --quiet
run "$A" publish --mirror "$M" r10b.tar --key key.pem
is "publishing 1.0.0 with another manifest is refused (exit 1)" "$rc" 1
contains "the refusal says a version is immutable" "$out" "sample-edge 1.0.0 is already published in '$M' with another manifest"
is "the refused publish left the index alone" "$(sha256_of "$M/index.json")" "$before"
check "and the 1.0.0 folder" cmp "$M/1.0.0/config.template.yaml" pay10/config.template.yaml
run "$A" publish --mirror "$M" r10b.tar --key key.pem --force --quiet
is "--force replaces it" "$rc" 0
isnt "the index now lists the new manifest" "$(sha256_of "$M/index.json")" "$before"
run "$A" publish --mirror "$M" r10.tar --key key.pem --force --quiet
is "--force puts the original back" "$rc" 0
# Each change is a new index version with a fresh expiry (docs/trust.md);
# everything else is canonical and deterministic.
index_body() { grep -vE '^  "(version|expires)": ' "$1" | sha256sum | cut -d' ' -f1; }
is "the index is byte-identical to before but for its version and expiry (canonical and deterministic)" "$(index_body "$M/index.json")" "$body_before"
is "its version went up" "$(( $(sed -n 's/^  "version": \([0-9]*\),$/\1/p' "$M/index.json") > version_before ))" 1
before=$(sha256_of "$M/index.json")

# another product into the same tree
sed 's/"product": "sample-edge"/"product": "other-product"/' "$src11" >other.json
"$A" build other.json --payloads "$SRCDIR/payloads/sample" --key key.pem -o other.tar --quiet
run "$A" publish --mirror "$M" other.tar --key key.pem
is "publishing another product into the tree is refused (exit 2)" "$rc" 2
contains "naming both products" "$out" "mirror '$M' holds product 'sample-edge', not 'other-product'"
check "the sample's 1.1.0 folder is untouched" cmp rel11/manifest.json "$M/1.1.0/manifest.json"
is "the index is unchanged" "$(sha256_of "$M/index.json")" "$before"

# a release signed by another key than the one publishing
run "$A" publish --mirror "$M" r11.tar --key stranger.pem
is "publishing a release signed by another key is refused (exit 6)" "$rc" 6
contains "naming the release's signer" "$out" "signed by a key you do not trust (key id $keyid)"

# a damaged payload in the source is never published
sed 's/"version": "1.1.0"/"version": "1.3.0"/' "$src11" >src13.json
"$A" build src13.json --payloads "$SRCDIR/payloads/sample" --key key.pem --layout lay13 --quiet
cp rel11/moby-engine.zip lay13/ && printf 'X' | dd of=lay13/moby-engine.zip bs=1 seek=100 conv=notrunc 2>/dev/null
run "$A" publish --mirror "$M" --layout lay13 --key key.pem
is "a payload that does not match its manifest is refused (exit 4)" "$rc" 4
contains "naming the component and both hashes" "$out" "component 'moby-engine': 'lay13/moby-engine.zip' has sha256 $(sha256_of lay13/moby-engine.zip), the signed manifest says"
absent "the bad payload did not reach the mirror" "$M/1.3.0/moby-engine.zip"
absent "no manifest claims the folder is complete" "$M/1.3.0/manifest.json"
is "and the index does not list 1.3.0" "$(sha256_of "$M/index.json")" "$before"
rm -rf "$M/1.3.0"

# a tree signed by a stranger (its own releases), a tampered index, a tampered manifest
"$A" build "$src11" --payloads "$SRCDIR/payloads/sample" --key stranger.pem -o s11.tar --quiet
"$A" publish --mirror www/stranger s11.tar --key stranger.pem --quiet
cp -r "$M" www/badsig
sed -i 's/"size": \([0-9]*\)/"size": 1\1/' www/badsig/index.json
cp -r "$M" www/tampered
sed -i 's/Sample release/Tampered release/' www/tampered/1.1.0/manifest.json
openssl pkeyutl -sign -inkey key.pem -rawin -in www/tampered/1.1.0/manifest.json \
	-out www/tampered/1.1.0/manifest.json.sig

nginx_start "$tmp/www"
U=$NGINX_URL/m

# --- versions -------------------------------------------------------------------------
nginx_log_clear
run "$S" versions --mirror "$U" "${T[@]}"
is "versions exits 0" "$rc" 0
contains "versions lists 1.0.0 with its channel" "$out" "1.0.0            lts"
contains "and 1.1.0, marked latest" "$out" "1.1.0            lts"
contains "1.1.0 is latest" "$out" "(latest)"
contains "it says the index signature was checked" "$out" "index signed by key id $keyid, signature ok"
is "versions fetched the index and its signature only" "$(nginx_requests)" 2
run "$S" versions --mirror "$U" "${T[@]}" --json
is "versions --json lists both" "$(json_get "$out" "' '.join(r['version'] for r in j['releases'])")" "1.0.0 1.1.0"
is "versions --json names latest" "$(json_get "$out" "j['latest']")" 1.1.0

run "$S" versions --mirror "$NGINX_URL/stranger" "${T[@]}"
is "an index signed by an untrusted key is refused (exit 6)" "$rc" 6
contains "naming the key id" "$out" "signed by a key you do not trust (key id $strangerid)"
run "$S" install --mirror "$NGINX_URL/stranger" --version 1.1.0 "${T[@]}" --root r-stranger
is "install from that tree is refused too (exit 6)" "$rc" 6
contains "naming the index" "$out" "mirror index '$NGINX_URL/stranger/index.json'"
absent "nothing installed" r-stranger/opt

nginx_log_clear
run "$S" versions --mirror "$NGINX_URL/badsig" "${T[@]}"
is "a tampered index is refused as a bad signature (exit 5)" "$rc" 5
contains "the error names the index" "$out" "mirror index '$NGINX_URL/badsig/index.json'"
is "a pair that does not verify is fetched again (a publish may be mid-way): 3 tries" \
	"$(nginx_requests 'GET /badsig/index.json 200')" 3

run "$S" versions --mirror "$NGINX_URL/missing/m" --mirror "$U" "${T[@]}"
is "a mirror without an index is skipped for the next one" "$rc" 0
contains "which is the one listed" "$out" "sample-edge at $U"

# --- pinned install -----------------------------------------------------------------------
nginx_log_clear
run "$S" install --mirror "$U" --version 1.0.0 "${T[@]}" --root r1
is "install --version 1.0.0 exits 0" "$rc" 0
contains "it installed 1.0.0" "$out" "installed sample-edge 1.0.0 into r1"
is "nothing was fetched from the 1.1.0 folder" "$(nginx_requests ' /m/1.1.0/')" 0
is "4 payloads from the 1.0.0 folder" "$(nginx_requests 'GET /m/1.0.0/[a-z.-]+\.(cab|zip|yaml|sh) 200')" 4
is "plus index, signature, manifest, signature: 8 requests" "$(nginx_requests)" 8
check "the installed template is 1.0.0's" cmp r1/opt/sample-edge/templates/config.template.yaml pay10/config.template.yaml
run "$S" status --root r1
contains "status shows version 1.0.0" "$out" "version:      1.0.0 (lts)"
contains "and the pin" "$out" "pinned:       1.0.0"
run "$S" status --root r1 --json
is "status --json pinned_version" "$(json_get "$out" "j['pinned_version']")" 1.0.0

# a second install from the populated cache: no payload requests
nginx_log_clear
run "$S" install --mirror "$U" --version 1.0.0 "${T[@]}" --root r1b --cache r1/var/cache/airpack/sample-edge --quiet
is "install with the cache populated exits 0" "$rc" 0
is "no payload requests: only index, manifest and their signatures" "$(nginx_requests)" 4
is "none for payloads" "$(nginx_requests '\.(cab|zip|yaml|sh) ')" 0

# --- 1.1.0: a 1.0.0 component in an offline folder is not used ---------------------------
mkdir stale10 && cp pay10/config.template.yaml stale10/
run "$S" plan --mirror "$U" --version 1.1.0 "${T[@]}" --offline-dir stale10
is "plan exits 0" "$rc" 0
contains "plan shows the release" "$out" "sample-edge 1.1.0"
contains "plan names the 1.0.0 file: another sha256" "$out" "'config.template.yaml' in stale10 has another sha256 (from another release?)"
contains "and downloads the right one from the 1.1.0 folder" "$out" "will download from $U/1.1.0/config.template.yaml"
nginx_log_clear
run "$S" install --mirror "$U" --version 1.1.0 "${T[@]}" --offline-dir stale10 --root r1
is "installing 1.1.0 over 1.0.0 works" "$rc" 0
contains "it says what it replaced" "$out" "installed sample-edge 1.1.0 into r1"
contains "(was 1.0.0)" "$out" "(was 1.0.0)"
is "the template was downloaded from 1.1.0" "$(nginx_requests 'GET /m/1.1.0/config.template.yaml 200')" 1
check "the installed template is 1.1.0's, not the offline folder's" cmp r1/opt/sample-edge/templates/config.template.yaml rel11/config.template.yaml
run "$S" status --root r1
contains "status shows 1.1.0" "$out" "version:      1.1.0 (lts)"
contains "pinned 1.1.0" "$out" "pinned:       1.1.0"

# --- downgrades need --allow-downgrade --------------------------------------------------------
run "$S" install --mirror "$U" --version 1.0.0 "${T[@]}" --root r1
is "back to 1.0.0 is refused (exit 9)" "$rc" 9
contains "saying why and what to do" "$out" "refusing to downgrade 'sample-edge' from 1.1.0 to 1.0.0: use --allow-downgrade"
run "$S" status --root r1
contains "1.1.0 is still installed" "$out" "version:      1.1.0 (lts)"
run "$S" verify --root r1
is "and verifies" "$rc" 0
run "$S" install --mirror "$U" --version 1.0.0 "${T[@]}" --root r1 --allow-downgrade
is "with --allow-downgrade it works" "$rc" 0
run "$S" status --root r1
contains "1.0.0 again" "$out" "pinned:       1.0.0"

# --- the manifest must match the signed index --------------------------------------------------
run "$S" install --mirror "$NGINX_URL/tampered" --version 1.1.0 "${T[@]}" --root r-tampered
is "a manifest that differs from the index is refused (exit 4)" "$rc" 4
contains "the error says so" "$out" "manifest of 1.1.0 does not match the signed index"
absent "nothing installed" r-tampered/opt
run "$S" install --mirror "$NGINX_URL/tampered" --version 1.0.0 "${T[@]}" --root r-tampered --quiet
is "the untouched 1.0.0 of the same tree still installs" "$rc" 0

# --- versions that do not exist, and --version without a mirror ---------------------------------
run "$S" install --mirror "$U" --version 9.9.9 "${T[@]}" --root r-none
is "an unknown version is refused (exit 8)" "$rc" 8
contains "listing what there is" "$out" "version 9.9.9 of 'sample-edge' is not in the mirror index (it lists: 1.0.0 (lts), 1.1.0 (lts))"
run "$S" install --bundle r11.tar --version 1.0.0 "${T[@]}" --root r-none
is "--version with a bundle of another version is refused (exit 9)" "$rc" 9
contains "naming both" "$out" "is sample-edge 1.1.0, but --version 1.0.0 was asked for"
run "$S" install --bundle r11.tar --version latest "${T[@]}" --root r-none
is "--version latest without a mirror is a usage error" "$rc" 2
absent "nothing installed by any of them" r-none/opt

# --- channels: a third release on 'edge' ----------------------------------------------------------
run "$A" publish --mirror "$M" r12.setup --key key.pem --quiet
is "publish a self-extracting setup exits 0" "$rc" 0
exists "its payloads came out of the setup" "$M/1.2.0/moby-engine.zip"
run "$S" versions --mirror "$U" "${T[@]}" --json
is "three releases now" "$(json_get "$out" "' '.join(r['version']+':'+r['channel'] for r in j['releases'])")" "1.0.0:lts 1.1.0:lts 1.2.0:edge"
is "latest is 1.2.0" "$(json_get "$out" "j['latest']")" 1.2.0
run "$S" versions --mirror "$U" "${T[@]}" --channel lts --json
is "latest of lts is 1.1.0" "$(json_get "$out" "j['latest']")" 1.1.0
run "$S" plan --mirror "$U" --version latest "${T[@]}" --json
is "plan --version latest resolves to 1.2.0" "$(json_get "$out" "j['version']")" 1.2.0
run "$S" install --mirror "$U" --version latest --channel lts "${T[@]}" --root r-lts --quiet
is "install --version latest --channel lts exits 0" "$rc" 0
run "$S" status --root r-lts --json
is "it installed 1.1.0" "$(json_get "$out" "j['version']")" 1.1.0
is "and pinned the concrete version, not 'latest'" "$(json_get "$out" "j['pinned_version']")" 1.1.0
run "$S" install --mirror "$U" --version 1.0.0 --channel edge "${T[@]}" --root r-none
is "a version outside the channel asked for is refused" "$rc" 8
contains "naming its channel" "$out" "version 1.0.0 of 'sample-edge' is in channel 'lts', not 'edge'"

# --- without --version a mirror is still a flat payload folder ---------------------------------------
mkdir flat && cp rel11/manifest.json rel11/manifest.json.sig flat/
nginx_log_clear
run "$S" install --from flat --mirror "$U/1.1.0" "${T[@]}" --root r-flat --quiet
is "install from a flat mirror (no --version) exits 0" "$rc" 0
is "it fetched the four payloads as URL/FILE" "$(nginx_requests 'GET /m/1.1.0/[a-z.-]+\.(cab|zip|yaml|sh) 200')" 4
is "and no index" "$(nginx_requests 'index.json')" 0

# --- layout from a mirror tree ------------------------------------------------------------------------
run "$S" layout --dir lay-from-mirror --mirror "$U" --version 1.0.0 "${T[@]}" --quiet
is "layout --mirror --version exits 0" "$rc" 0
check "the layout holds 1.0.0's manifest" cmp lay-from-mirror/manifest.json "$M/1.0.0/manifest.json"
check "and its payloads" cmp lay-from-mirror/config.template.yaml pay10/config.template.yaml

# --- golden images and first boot -------------------------------------------------------------------
# The images' history logs record where each payload came from: give both
# the same inputs (a cache filled beforehand), as an image pipeline does.
run "$S" install --mirror "$U" --version 1.1.0 "${T[@]}" --root img0 --no-run --cache gcache --quiet
is "filling the image pipeline's cache exits 0" "$rc" 0
export SOURCE_DATE_EPOCH=1700000000
nginx_log_clear
for img in img1 img2; do
	AIRPACK_SAMPLE_LOG=$tmp/image.log run "$S" install --mirror "$U" --version 1.1.0 "${T[@]}" \
		--root "$img" --no-run --cache gcache --quiet
	is "image install into $img exits 0" "$rc" 0
done
unset SOURCE_DATE_EPOCH
is "the image installs downloaded no payload" "$(nginx_requests '\.(cab|zip|yaml|sh) ')" 0
absent "--no-run: the run action did not run in the images" image.log
check "the two images are identical (diff -r)" diff -r img1 img2
tree_sig() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s\n' | LC_ALL=C sort &&
		find opt var/lib -printf '%p %T@\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
is "same paths, types, modes, sizes and sha256 in both; same mtimes of what was installed" \
	"$(tree_sig img1)" "$(tree_sig img2)"
is "every installed file's mtime is SOURCE_DATE_EPOCH" \
	"$(cd img1 && find opt var/lib -type f ! -newermt @1700000000 | wc -l)" \
	"$(cd img1 && find opt var/lib -type f | wc -l)"
run "$S" status --root img1
contains "status shows the action pending" "$out" "pending first-boot actions: install-check"
run "$S" status --root img1 --json
is "status --json lists it" "$(json_get "$out" "' '.join(j['pending'])")" install-check

# airpack-firstboot.service runs while var/lib/airpack/firstboot.d is not empty.
marker=var/lib/airpack/firstboot.d/sample-edge
exists "the image holds the first-boot marker of the product" "img1/$marker"
AIRPACK_SAMPLE_LOG=$tmp/firstboot.log run "$S" firstboot --root img1 --run-on-host
is "firstboot exits 0" "$rc" 0
absent "firstboot removed the marker once nothing is pending" "img1/$marker"
contains "it ran the pending action" "$out" "ran 1 pending action under img1"
is "the action ran exactly once" "$(wc -l <firstboot.log)" 1
contains "in the image's prefix" "$(cat firstboot.log)" "img1/opt/sample-edge"
run "$S" status --root img1
not_contains "nothing pending any more" "$out" "pending first-boot actions"
contains "the result is recorded" "$out" "run action ran (exit code 0)"
AIRPACK_SAMPLE_LOG=$tmp/firstboot.log run "$S" firstboot --root img1 --run-on-host
is "a second firstboot exits 0" "$rc" 0
contains "and says nothing is pending" "$out" "nothing pending under img1"
is "the action did not run again" "$(wc -l <firstboot.log)" 1
AIRPACK_SAMPLE_LOG=$tmp/firstboot.log run "$S" firstboot --root img2 --product sample-edge --json --run-on-host
is "firstboot --json exits 0" "$rc" 0
is "firstboot --json reports one action ran" "$(json_get "$(tail -n 1 <<<"$out")" "j['ran']")" 1
run "$S" firstboot --root empty-root
is "firstboot with nothing installed exits 0" "$rc" 0
contains "saying nothing is pending" "$out" "nothing pending under empty-root"
absent "firstboot --product removed that product's marker" "img2/$marker"

if hooks "a kill after the switch of an image install (AP_TXN_CRASH_AT)"; then
# The marker is written before a receipt with pending actions: a kill right
# after the switch (the receipt is committed by recovery) leaves it in place.
AP_TXN_CRASH_AT=after-exchange run "$S" install --mirror "$U" --version 1.1.0 "${T[@]}" \
	--root img3 --no-run --cache gcache --quiet
is "an image install killed after the switch dies (137)" "$rc" 137
exists "the marker is already there" "img3/$marker"
run "$S" status --root img3
contains "and the recovered receipt has the action pending" "$out" "pending first-boot actions: install-check"
run "$S" uninstall --root img3 --quiet
is "uninstalling the image's product exits 0" "$rc" 0
absent "uninstall removes the marker" "img3/$marker"
absent "and the empty marker folder" "img3/var/lib/airpack/firstboot.d"
fi

done_testing
