#!/usr/bin/env bash
# layout.sh - offline folders made on a connected machine: download only what
# the folder lacks, --verify, --fix, --clean, mirror trees, and an update that
# is never visible half-done.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel --quiet
files=(iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh)
total=0
for f in "${files[@]}"; do total=$((total + $(size_of rel/$f))); done

# A signed manifest alone (no payloads beside it) and a flat mirror.
mkdir only && cp rel/manifest.json rel/manifest.json.sig only/
mkdir www && cp rel/* www/
nginx_start "$tmp/www"
M=$NGINX_URL

nginx_log_clear
run "$S" layout --dir L --manifest only/manifest.json "${T[@]}" --mirror "$M" --quiet
is "layout into an empty folder exits 0" "$rc" 0
is "every payload was downloaded once" "$(nginx_requests 'GET /[^ ]* 200')" 4
is "bytes sent = the release's size" "$(nginx_bytes)" "$total"
for f in "${files[@]}"; do
	check "$f is in the layout, intact" cmp "L/$f" "rel/$f"
done
check "the layout holds the signed manifest" cmp L/manifest.json rel/manifest.json
check "and its signature" cmp L/manifest.json.sig rel/manifest.json.sig
run "$A" verify L --trust key.pub.pem
is "airpack verify accepts the layout" "$rc" 0

nginx_log_clear
run "$S" layout --dir L --manifest only/manifest.json "${T[@]}" --mirror "$M" --quiet
is "a rerun exits 0" "$rc" 0
is "a rerun downloads nothing" "$(nginx_requests)" 0

run "$S" layout --dir L --verify --manifest only/manifest.json "${T[@]}"
is "--verify on a complete layout exits 0" "$rc" 0
printf 'X' | dd of=L/moby-engine.zip bs=1 seek=500 conv=notrunc 2>/dev/null
run "$S" layout --dir L --verify --manifest only/manifest.json "${T[@]}"
is "--verify after corrupting a file exits 10" "$rc" 10
contains "it names the file" "$out" "missing or invalid: moby-engine.zip"
contains "and says how to repair" "$out" "run with --fix"
nginx_log_clear
run "$S" layout --dir L --fix --manifest only/manifest.json "${T[@]}" --mirror "$M" --quiet
is "--fix exits 0" "$rc" 0
is "--fix downloads only the bad file" "$(nginx_requests)" 1
is "that file" "$(nginx_requests 'GET /moby-engine.zip 200')" 1
check "which is intact again" cmp L/moby-engine.zip rel/moby-engine.zip
rm L/config.template.yaml
run "$S" layout --dir L --verify --manifest only/manifest.json "${T[@]}"
contains "--verify names a missing file" "$out" "missing or invalid: config.template.yaml"
run "$S" layout --dir L --manifest only/manifest.json "${T[@]}" --mirror "$M" --quiet
is "and a plain rerun restores it" "$rc" 0

echo stray > L/notes-from-last-year.txt
run "$S" layout --dir L --manifest only/manifest.json "${T[@]}" --mirror "$M" --clean
is "--clean exits 0" "$rc" 0
absent "--clean removes a file the manifest does not name" L/notes-from-last-year.txt
contains "and says so" "$out" "removed    notes-from-last-year.txt"
exists "it keeps the release's files" L/moby-engine.zip
run "$S" layout --dir L --verify --clean --manifest only/manifest.json "${T[@]}"
is "--verify with --clean is a usage error" "$rc" 2

# From a bundle, no network at all.
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem -o b/r.tar --quiet
nginx_log_clear
run "$S" layout --dir L2 --bundle b/r.tar "${T[@]}" --mirror "$M" --quiet
is "layout from a bundle exits 0" "$rc" 0
is "needs no network" "$(nginx_requests)" 0
check "and gives the same folder" diff -r L L2

# From a mirror tree with a pinned version.
mkdir -p pay10 && cp "$SRCDIR"/payloads/sample/* pay10/ && printf '\n# 1.0.0\n' >> pay10/config.template.yaml
sed 's/"version": "1.1.0"/"version": "1.0.0"/' "$SRCDIR/manifests/sample-release.json" > src10.json
"$A" build src10.json --payloads pay10 --key key.pem -o b/r10.tar --quiet
"$A" publish --mirror www/tree b/r10.tar --key key.pem --quiet
"$A" publish --mirror www/tree b/r.tar --key key.pem --quiet
nginx_log_clear
run "$S" layout --dir L10 --mirror "$M/tree" --version 1.0.0 "${T[@]}" --quiet
is "layout --mirror TREE --version 1.0.0 exits 0" "$rc" 0
is "it fetched the 1.0.0 payloads from the version's folder" "$(nginx_requests 'GET /tree/1.0.0/[^ ]* 200')" 6
check "the layout is 1.0.0's" cmp L10/manifest.json www/tree/1.0.0/manifest.json

# Updating a layout to another release is never visible half-done: the old
# manifest goes first, payloads are renamed into place whole, the new manifest
# comes last.  Kill the update in the middle of a slow download.
mkdir -p www/slow && cp rel/* www/slow/
"$S" layout --dir L10 --manifest only/manifest.json "${T[@]}" --mirror "$M/crawl/slow" --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do
	ls L10/*.partial >/dev/null 2>&1 && break
	sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
absent "killed mid-update: no manifest names a half-updated folder" L10/manifest.json
run "$A" inspect L10
isnt "so nothing takes the folder for a release" "$rc" 0
for f in "${files[@]}"; do
	if [ -e "L10/$f" ]; then
		a=$(sha256_of "L10/$f")
		if [ "$a" != "$(sha256_of "rel/$f")" ] && [ "$a" != "$(sha256_of "www/tree/1.0.0/$f")" ]; then
			not_ok "L10/$f is whole (one release's bytes or the other's)"
		else
			ok "L10/$f is whole (one release's bytes or the other's)"
		fi
	fi
done
run "$S" layout --dir L10 --manifest only/manifest.json "${T[@]}" --mirror "$M" --quiet
is "the rerun completes the update" "$rc" 0
run "$S" layout --dir L10 --verify --manifest only/manifest.json "${T[@]}"
is "and the layout verifies as 1.1.0" "$rc" 0

run "$S" layout --manifest only/manifest.json "${T[@]}"
is "layout without --dir is a usage error" "$rc" 2

done_testing
