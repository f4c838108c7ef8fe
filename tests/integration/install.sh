#!/usr/bin/env bash
# install.sh - airpack-setup against real parts: a release built by airpack,
# a real nginx serving mirrors on 127.0.0.1, and its access log as the proof
# of what was (and was not) downloaded.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50

# --- two releases of the sample product ---------------------------------------
"$A" keygen -o key.pem >/dev/null
"$A" keygen -o stranger.pem >/dev/null
mkdir -p pay10 && cp "$SRCDIR"/payloads/sample/* pay10/
printf '\n# 1.0.0 template\n' >> pay10/config.template.yaml
sed 's/"version": "1.1.0"/"version": "1.0.0"/' "$SRCDIR/manifests/sample-release.json" > src10.json
"$A" build src10.json --payloads pay10 --key key.pem --layout rel10 -o r10.tar --quiet
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel -o r11.tar --quiet
files=(iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh)
T=(--trust key.pub.pem)
# The default download cache of the sample product under root $1.
cache() { printf '%s/var/cache/airpack/sample-edge' "$1"; }

# The docroot of a flat mirror: the 1.1.0 payloads.
mkdir -p www && cp rel/* www/

nginx_start "$tmp/www"
M=$NGINX_URL

# What nginx saw in a scenario, as a TAP comment (the figures in the notes).
seen() { diag "nginx, $1: $(nginx_requests) requests, $(nginx_bytes) body bytes"; diag "$(cat "$NGINX_LOG")"; }

# --- all local: not one request ---------------------------------------------------
nginx_log_clear
AIRPACK_SAMPLE_LOG=$tmp/run.log run "$S" install --from rel "${T[@]}" --mirror "$M" --root r-local --quiet
is "install from a complete offline folder exits 0" "$rc" 0
seen "all local"
is "all components local: zero requests to the mirror" "$(nginx_requests)" 0
exists "the cab was extracted" r-local/opt/sample-edge/daemon/iotedged.exe
exists "the zip was extracted" r-local/opt/sample-edge/moby/dockerd.exe
exists "the copy component is in place" r-local/opt/sample-edge/templates/config.template.yaml
absent "an image root: the run action did not run on this host" run.log
run "$S" status --root r-local
contains "it is pending for firstboot" "$out" "pending first-boot actions: install-check"
exists "the receipt is written" r-local/var/lib/airpack/sample-edge/receipt.json
check "the receipt keeps the signed manifest byte for byte" cmp rel/manifest.json r-local/var/lib/airpack/sample-edge/manifest.json
check "and its signature" cmp rel/manifest.json.sig r-local/var/lib/airpack/sample-edge/manifest.json.sig

run "$S" verify --root r-local
is "verify passes on a fresh install" "$rc" 0

# --- half local: exactly the missing files, bytes sent = bytes missing -----------
mkdir half && cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/config.template.yaml half/
nginx_log_clear
run "$S" install --from half "${T[@]}" --mirror "$M" --root r-half --quiet
is "install with half the payloads local exits 0" "$rc" 0
seen "half local"
is "exactly two requests" "$(nginx_requests)" 2
is "one for the zip" "$(nginx_requests 'GET /moby-engine.zip 200')" 1
is "one for the script" "$(nginx_requests 'GET /install-check.sh 200')" 1
want=$(( $(size_of rel/moby-engine.zip) + $(size_of rel/install-check.sh) ))
is "bytes sent = bytes missing" "$(nginx_bytes)" "$want"
exists "the verified download is kept in the root's cache" "$(cache r-half)/moby-engine.zip"
check "so is the downloaded run payload (a cache is never moved from)" \
	cmp "$(cache r-half)/install-check.sh" rel/install-check.sh
absent "nothing was written into the release's folder" half/moby-engine.zip
absent "(nor the run payload)" half/install-check.sh
nginx_log_clear
run "$S" install --from half "${T[@]}" --mirror "$M" --root r-half2 --cache "$(cache r-half)" --quiet
is "a rerun elsewhere with that cache needs no network" "$(nginx_requests)" 0

# --- a version switch reads the cache back: only what changed is downloaded -------
mkdir -p www/v10 && cp rel10/* www/v10/
mkdir m10 m11 && cp rel10/manifest.json rel10/manifest.json.sig m10/ && cp rel/manifest.json rel/manifest.json.sig m11/
nginx_log_clear
run "$S" install --from m10 "${T[@]}" --mirror "$M/v10" --root r-switch --quiet
is "1.0.0 from the mirror alone installs" "$rc" 0
is "all four payloads downloaded" "$(nginx_requests)" 4
nginx_log_clear
run "$S" install --from m11 "${T[@]}" --mirror "$M" --root r-switch
is "switching to 1.1.0 installs" "$rc" 0
seen "version switch"
is "only the payload that changed is downloaded" "$(nginx_requests)" 1
is "(the config template)" "$(nginx_requests 'GET /config.template.yaml 200')" 1
run "$S" plan --from m11 "${T[@]}" --mirror "$M" --root r-switch
contains "plan names the cache as the source" "$out" "$(cache r-switch)/moby-engine.zip (cache): size and sha256 match"

# --- an operator's folder is never written: a 1.0.0 stick while installing 1.1.0 --
mkdir usb && cp rel10/config.template.yaml rel10/iotedge-daemon.cab usb/
before=$(sha256_of usb/config.template.yaml)
run "$S" install --from m11 "${T[@]}" --offline-dir usb --mirror "$M" --root r-usb --quiet
is "1.1.0 with a 1.0.0 stick installs" "$rc" 0
is "the stick's 1.0.0 file is untouched" "$(sha256_of usb/config.template.yaml)" "$before"
is "and nothing was added to it" "$(ls usb | tr '\n' ' ')" "config.template.yaml iotedge-daemon.cab "

# --- another release's bytes under the right name -------------------------------
mkdir stale && cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/moby-engine.zip rel/install-check.sh stale/
cp pay10/config.template.yaml stale/config.template.yaml
run "$S" plan --from stale "${T[@]}" --mirror "$M"
contains "plan says the local file is from another release" "$out" "from another release?"
contains "and that it will be downloaded" "$out" "will download from $M/config.template.yaml"
run "$S" plan --from stale "${T[@]}" --mirror "$M" --json
contains "plan --json says download for that component" "$out" '"component":"config-template","file":"config.template.yaml"'
run "$S" install --from stale "${T[@]}" --offline --root r-stale
is "--offline with a stale file fails (exit 8)" "$rc" 8
contains "the error names the component, file, size and sha256" "$out" "'config-template' (file config.template.yaml, $(size_of rel/config.template.yaml) bytes, sha256 $(sha256_of rel/config.template.yaml)"
absent "nothing was installed" r-stale/opt
nginx_log_clear
run "$S" install --from stale "${T[@]}" --mirror "$M" --root r-stale --quiet
is "without --offline it downloads the right one" "$rc" 0
seen "another release's file under the right name"
is "one request, for the stale file" "$(nginx_requests 'GET /config.template.yaml 200')" 1
check "the installed template is the 1.1.0 one" cmp r-stale/opt/sample-edge/templates/config.template.yaml rel/config.template.yaml
check "the verified one is in the cache" cmp "$(cache r-stale)/config.template.yaml" rel/config.template.yaml
check "and the stale local copy is left as it was" cmp stale/config.template.yaml pay10/config.template.yaml

# --- resume from .partial ------------------------------------------------------------
mkdir part && cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/config.template.yaml rel/install-check.sh part/
zsize=$(size_of rel/moby-engine.zip)
mkdir -p "$(cache r-part)"
head -c $((zsize / 2)) rel/moby-engine.zip > "$(cache r-part)/moby-engine.zip.partial"
nginx_log_clear
run "$S" install --from part "${T[@]}" --mirror "$M" --root r-part --quiet
is "install resuming a .partial exits 0" "$rc" 0
seen "resume from .partial"
is "one request with a Range header" "$(nginx_requests "GET /moby-engine.zip 206 $((zsize - zsize / 2)) bytes=$((zsize / 2))-")" 1
absent "the .partial is gone" "$(cache r-part)/moby-engine.zip.partial"
check "the resumed file is intact" cmp "$(cache r-part)/moby-engine.zip" rel/moby-engine.zip

mkdir part2 && cp part/manifest.json part/manifest.json.sig part/iotedge-daemon.cab part/config.template.yaml part/install-check.sh part2/
mkdir -p "$(cache r-norange)"
head -c $((zsize / 2)) rel/moby-engine.zip > "$(cache r-norange)/moby-engine.zip.partial"
nginx_log_clear
run "$S" install --from part2 "${T[@]}" --mirror "$M/norange" --root r-norange --quiet
is "a server that ignores Range: still installs" "$rc" 0
seen "server ignoring Range"
is "the whole file came in one 200" "$(nginx_requests "GET /norange/moby-engine.zip 200 $zsize")" 1
check "and it is intact" cmp "$(cache r-norange)/moby-engine.zip" rel/moby-engine.zip

# --- first mirror 404 (HTML body), second used -------------------------------------
mkdir m404 && cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/config.template.yaml rel/install-check.sh m404/
nginx_log_clear
run "$S" install --from m404 "${T[@]}" --mirror "$M/missing" --mirror "$M" --root r-404 --quiet
is "first mirror 404, second mirror used" "$rc" 0
seen "first mirror 404"
is "the 404 was asked once" "$(nginx_requests 'GET /missing/moby-engine.zip 404')" 1
is "the second mirror served it" "$(nginx_requests 'GET /moby-engine.zip 200')" 1
check "the error body never became the payload" cmp "$(cache r-404)/moby-engine.zip" rel/moby-engine.zip

# --- wrong bytes and too many bytes ---------------------------------------------------
mkdir -p www/bad www/big
cp rel/moby-engine.zip www/bad/moby-engine.zip
printf 'Z' | dd of=www/bad/moby-engine.zip bs=1 seek=100 conv=notrunc 2>/dev/null
cat rel/moby-engine.zip rel/moby-engine.zip > www/big/moby-engine.zip
mkdir wrong && cp m404/manifest.json m404/manifest.json.sig m404/iotedge-daemon.cab m404/config.template.yaml m404/install-check.sh wrong/
nginx_log_clear
run "$S" install --from wrong "${T[@]}" --mirror "$M/bad" --root r-wrong
seen "wrong bytes served"
isnt "a server sending wrong bytes: install fails" "$rc" 0
contains "the error names the sha256 mismatch" "$out" "sha256"
absent "nothing installed" r-wrong/opt
absent "the bad file is not kept" "$(cache r-wrong)/moby-engine.zip"
absent "no .partial either" "$(cache r-wrong)/moby-engine.zip.partial"
absent "nor anything in the release's folder" wrong/moby-engine.zip
nginx_log_clear
run "$S" install --from wrong "${T[@]}" --mirror "$M/big" --root r-big
nginx_wait_requests 1
seen "a file bigger than the manifest says"
isnt "a file bigger than the manifest says: install fails" "$rc" 0
contains "aborted at the cap" "$out" "more than the expected $zsize bytes"
absent "nothing installed" r-big/opt
absent "nothing kept" wrong/moby-engine.zip

# --- a local payload of the right size with wrong bytes ----------------------------------
# install takes a local file on its size and hashes it in the read that
# installs it: one found wrong then falls back to the next source as a
# mismatch found by plan does, and the root only ever gets signed bytes.
flip() { printf '\377' | dd of="$1" bs=1 seek=10 conv=notrunc 2>/dev/null; }
mkdir -p same && cp rel/* same/ && flip same/moby-engine.zip && flip same/config.template.yaml
check "the corrupted copies keep their size" test "$(size_of same/moby-engine.zip)" = "$(size_of rel/moby-engine.zip)"
run "$S" plan --from same "${T[@]}" --mirror "$M"
contains "plan hashes: it names the wrong copy" "$out" "'moby-engine.zip' in same has another sha256"
nginx_log_clear
run "$S" install --from same "${T[@]}" --mirror "$M" --root r-same
seen "same size, wrong bytes, mirror has them"
is "wrong local bytes of the right size: the install falls back and exits 0" "$rc" 0
is "the two wrong payloads came from the mirror, nothing else" "$(nginx_requests)" 2
check "the copy component has the mirror's bytes" cmp r-same/opt/sample-edge/templates/config.template.yaml rel/config.template.yaml
run "$S" verify --root r-same
is "and the install verifies" "$rc" 0
check "the corrupted local copy is left as it was" test "$(sha256_of same/config.template.yaml)" != "$(sha256_of rel/config.template.yaml)"
# The next offline folder before any download.
nginx_log_clear
run "$S" install --from same --offline-dir rel "${T[@]}" --mirror "$M" --root r-same2 --offline
is "wrong bytes in the first folder, right ones in --offline-dir: exit 0" "$rc" 0
is "no request at all" "$(nginx_requests)" 0
check "the copy component has the second folder's bytes" cmp r-same2/opt/sample-edge/templates/config.template.yaml rel/config.template.yaml
# Nowhere else to go.
run "$S" install --from same "${T[@]}" --offline --root r-same3
is "wrong bytes and no other source: exit 4" "$rc" 4
contains "the error names the component" "$out" "installing 'moby-engine'"
contains "and the file, with both hashes" "$out" "'same/moby-engine.zip' has sha256 $(sha256_of same/moby-engine.zip), the signed manifest says $(sha256_of rel/moby-engine.zip)"
absent "nothing installed" r-same3/opt/sample-edge
is "not one file under the prefix's parent (no stage left)" "$(find r-same3/opt -type f 2>/dev/null | wc -l)" 0
absent "no receipt" r-same3/var/lib/airpack/sample-edge/receipt.json
if hooks "a local payload swapped between plan and stage"; then
	rm -rf swap && cp -r rel swap
	AP_TXN_STOP_AT=stage "$S" install --from swap "${T[@]}" --mirror "$M" --root r-swap \
		--quiet >"$tmp/swap.out" 2>&1 &
	pid=$!
	wait_stopped "$pid"
	is "the installer stopped before staging" "$stopped" 1
	cp same/config.template.yaml swap/config.template.yaml
	nginx_log_clear
	kill -CONT "$pid" 2>/dev/null
	# The transaction found it wrong and runs again: it stops once more.
	wait_stopped "$pid"
	is "the transaction runs again after the fallback" "$stopped" 1
	kill -CONT "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	is "swapped for wrong bytes after the plan: still caught, falls back, exit 0" "$rc" 0
	is "one request: the swapped payload" "$(nginx_requests)" 1
	check "the root has the mirror's bytes" cmp r-swap/opt/sample-edge/templates/config.template.yaml rel/config.template.yaml
fi

# --- trust ------------------------------------------------------------------------------
run "$S" plan --from rel --trust stranger.pub.pem
is "a release signed by an untrusted key is refused (exit 6)" "$rc" 6
contains "with the signer's key id" "$out" "signed by a key you do not trust (key id $("$A" inspect rel --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key_id"])'))"
cp -r rel forged && sed -i 's/"lts"/"edge"/' forged/manifest.json
run "$S" plan --from forged "${T[@]}"
is "a changed manifest is a bad signature (exit 5)" "$rc" 5
contains "it says bad signature" "$out" "bad signature"
run "$S" install --from forged "${T[@]}" --insecure --root r-insecure --quiet
is "--insecure is the only way past" "$rc" 0
contains "and it warns" "$out" "warning: --insecure"
is "the receipt records --insecure" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("insecure"))' r-insecure/var/lib/airpack/sample-edge/receipt.json)" True
check "the history records it" grep -q '"signature":"not checked (--insecure)"' r-insecure/var/log/airpack/history.jsonl
run "$S" status --root r-insecure
contains "status says the signature was not verified" "$out" \
	"signature:    not verified: the release was installed with --insecure"
run "$S" status --root r-insecure --json
contains "status --json too" "$out" '"signature_verified":false'
run "$S" install --from rel "${T[@]}" --root r-insecure --quiet --allow-downgrade
is "a verified release over it installs" "$rc" 0
run "$S" status --root r-insecure
not_contains "and status no longer warns" "$out" "not verified"
is "nor does the receipt" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("insecure"))' r-insecure/var/lib/airpack/sample-edge/receipt.json)" None
cp -r rel unsigned && rm unsigned/manifest.json.sig
run "$S" plan --from unsigned "${T[@]}"
isnt "an unsigned release is refused" "$rc" 0
contains "saying it is not signed" "$out" "is not signed"
run "$S" plan --from rel
is "no trust given and no trust folder: refused" "$rc" 6
contains "the refusal says how to trust it" "$out" "pass --trust KEY"
run "$S" install --from half "${T[@]}" --offline-dir /nonexistent/usb --root r-typo
isnt "a mistyped --offline-dir is an error" "$rc" 0
contains "it names the folder and does not fall back" "$out" "'/nonexistent/usb' does not exist"

# --- bundle ---------------------------------------------------------------------------
mkdir bdir && cp r11.tar bdir/
nginx_log_clear
run "$S" install --bundle bdir/r11.tar "${T[@]}" --mirror "$M" --root r-bundle --quiet
is "install from a bundle exits 0" "$rc" 0
is "a bundle needs no network" "$(nginx_requests)" 0
check "it installs the same files as the folder" diff -r r-local/opt r-bundle/opt
absent "no unpack folder is left behind" r-bundle/var/cache/airpack
# copy and run payloads are moved from the unpack folder into place, not copied
check "the copy component is the payload, byte for byte" \
	cmp rel/config.template.yaml r-bundle/opt/sample-edge/templates/config.template.yaml
check "so is the run payload" cmp rel/install-check.sh r-bundle/opt/sample-edge/install-check.sh
is "the copy component has its mode" \
	"$(stat -c %a r-bundle/opt/sample-edge/templates/config.template.yaml)" 644
is "the run payload has its mode" "$(stat -c %a r-bundle/opt/sample-edge/install-check.sh)" 755
run "$S" verify --root r-bundle
is "verify passes on the bundle install" "$rc" 0
run "$S" install --bundle bdir/r11.tar "${T[@]}" --root r-bundle-json --json
is "install --bundle --json exits 0" "$rc" 0
tsha=$(sha256_of rel/config.template.yaml)
contains "the copy component's file event has its sha256" "$out" \
	"\"event\":\"file\",\"verdict\":\"ok\",\"component\":\"config-template\",\"path\":\"opt/sample-edge/templates/config.template.yaml\",\"expected_sha256\":\"$tsha\",\"sha256\":\"$tsha\""
not_contains "and it was moved, not copied and re-hashed" "$out" \
	'"event":"check","verdict":"ok","component":"config-template"'
absent "no unpack folder is left behind (--json)" r-bundle-json/var/cache/airpack
check "the bundle is left as it was" cmp bdir/r11.tar r11.tar

# --- --json audit events ----------------------------------------------------------------
run "$S" install --from rel "${T[@]}" --root r-json --json
is "install --json exits 0" "$rc" 0
# The plan takes each local file on its size; the read that installs it
# hashes it, and its check event carries both hashes.
for f in "${files[@]}"; do
	contains "a plan check event for $f: found, not hashed yet" "$out" "\"file\":\"$f\",\"source\":\"rel/$f\",\"expected_size\":$(size_of rel/$f),\"size\":$(size_of rel/$f),\"expected_sha256\":\"$(sha256_of rel/$f)\",\"sha256\":null,\"verdict\":\"found\""
	contains "a check event with both hashes for $f, from the install's read" "$out" "\"expected_sha256\":\"$(sha256_of rel/$f)\",\"sha256\":\"$(sha256_of rel/$f)\",\"size\":$(size_of rel/$f)}"
done
contains "a result event" "$out" '"event":"result","product":"sample-edge","version":"1.1.0"'
contains "a copy payload from a folder is re-hashed while copied" "$out" \
	'"event":"check","verdict":"ok","component":"config-template"'

# --- verify, modify, uninstall ------------------------------------------------------------
echo tampered >> r-local/opt/sample-edge/moby/VERSION
run "$S" verify --root r-local
is "verify after modifying a file exits 10" "$rc" 10
contains "it names the modified file" "$out" "opt/sample-edge/moby/VERSION"
echo mine > r-local/opt/sample-edge/my-notes.txt
run "$S" verify --root r-local --json
contains "an added file is reported unexpected" "$out" '"verdict":"unexpected","path":"opt/sample-edge/my-notes.txt"'
run "$S" status --root r-local --json
contains "status shows the version" "$out" '"version":"1.1.0"'
run "$S" uninstall --root r-local
is "uninstall exits 0" "$rc" 0
exists "the user's file is left" r-local/opt/sample-edge/my-notes.txt
absent "the release's files are gone" r-local/opt/sample-edge/daemon
absent "the state is gone" r-local/var/lib/airpack/sample-edge
is "only the user's file remains under the prefix" \
	"$(cd r-local/opt/sample-edge && find . -type f | sort | tr '\n' ' ')" "./my-notes.txt "
run "$S" uninstall --root r-local
is "a second uninstall is a no-op" "$rc" 0

# --- versions: downgrade, previous install intact across kills -------------------------------
run "$S" install --from rel10 "${T[@]}" --root r-up --quiet
is "1.0.0 installs" "$rc" 0
run "$S" install --from rel "${T[@]}" --root r-up --quiet
is "1.1.0 installs over it" "$rc" 0
run "$S" install --from rel10 "${T[@]}" --root r-up --quiet
is "going back to 1.0.0 is refused (exit 9)" "$rc" 9
contains "it says how" "$out" "--allow-downgrade"
run "$S" install --from rel10 "${T[@]}" --root r-up --quiet --allow-downgrade
is "with --allow-downgrade it works" "$rc" 0
run "$S" status --root r-up --json
contains "status says 1.0.0" "$out" '"version":"1.0.0"'

if hooks "kills at the crash points (AP_TXN_CRASH_AT)"; then
for point in stage before-switch; do
	AP_TXN_CRASH_AT=$point run "$S" install --from rel "${T[@]}" --root r-up --quiet
	is "killed at $point: exit 137" "$rc" 137
	run "$S" status --root r-up --json
	contains "after a kill at $point the previous version is installed" "$out" '"version":"1.0.0"'
	run "$S" verify --root r-up
	is "and verify passes on it" "$rc" 0
done
fi
run "$S" install --from rel "${T[@]}" --root r-up --quiet
is "the rerun completes" "$rc" 0
run "$S" verify --root r-up
is "and verify passes" "$rc" 0
run "$S" status --root r-up --json
contains "on 1.1.0" "$out" '"version":"1.1.0"'

# a real kill -9 in the middle of a download
run "$S" install --from rel10 "${T[@]}" --root r-kill --quiet
mkdir -p www/slowsrc && cp rel/moby-engine.zip www/slowsrc/
mkdir kill && cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/config.template.yaml rel/install-check.sh kill/
nginx_log_clear
NGINX_SLOW=1 "$S" install --from kill "${T[@]}" --mirror "$M/crawl/slowsrc" --root r-kill --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do
	[ -s "$(cache r-kill)/moby-engine.zip.partial" ] && break
	sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
exists "the killed download left a .partial" "$(cache r-kill)/moby-engine.zip.partial"
run "$S" verify --root r-kill
is "after a kill during download the previous install verifies" "$rc" 0
nginx_log_clear
run "$S" install --from kill "${T[@]}" --mirror "$M/slowsrc" --root r-kill --quiet
is "the rerun completes" "$rc" 0
seen "rerun after kill -9 during a download"
is "and resumed with a Range request" "$(nginx_requests 'GET /slowsrc/moby-engine.zip 206')" 1
run "$S" status --root r-kill --json
contains "on 1.1.0" "$out" '"version":"1.1.0"'

run "$S" --help
contains "airpack-setup --help lists install" "$out" "install"
run "$S" --version
contains "--version shows the trust folder" "$out" "trust folder:"

done_testing
