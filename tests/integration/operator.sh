#!/usr/bin/env bash
# operator.sh - what operators tripped on (issue 11 §4): small output
# details (plurals, the prefix under the root, -q), the history's paths,
# listing every installed product, local files differing only in case,
# the download cache read back on a version switch and never written into
# an offline folder, and a run action's output kept out of --json.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)

# A one-component release: one file, one component.
mkdir -p one
printf 'hello\n' >one/hello.txt
cat >one.json <<'J'
{
  "format": "airpack/1", "product": "one", "version": "1.0.0", "prefix": "opt/one",
  "components": [
    { "name": "hello", "file": "hello.txt",
      "install": { "action": "copy", "to": "hello.txt", "mode": "0644" } }
  ]
}
J
run "$A" build one.json --payloads one --key key.pem --layout one-rel
is "build of a one-component release exits 0" "$rc" 0
contains "build says 1 component" "$out" "1.0.0: 1 component,"
run "$S" install --from one-rel "${T[@]}" --root R
is "install exits 0" "$rc" 0
contains "install says 1 file" "$out" "into R: 1 file,"
run "$S" verify --root R
contains "verify says 1 file" "$out" "verified 1 file ("
run "$S" status --root R
contains "status prints the prefix under the root" "$out" "prefix:       $tmp/R/opt/one"
run "$S" status --root R --json
contains "status --json: the path too" "$out" "\"path\":\"$tmp/R/opt/one\""
run "$S" install -q --from one-rel "${T[@]}" --root R2
is "install -q is accepted" "$rc" 0
is "and quiet" "$out" ""
check "the history keeps the release's absolute path" \
	grep -q "\"release\":\"$tmp/one-rel\"" R/var/log/airpack/history.jsonl
check "and where the component came from, absolute" \
	grep -q "\"hello\":\"local:$tmp/one-rel/hello.txt\"" R/var/log/airpack/history.jsonl
# --- build names every missing payload at once ------------------------------------
mkdir -p nopay
run "$A" build "$SRCDIR/manifests/sample-release.json" --payloads nopay --key key.pem --layout x
is "build with no payloads: exit 8" "$rc" 8
contains "it counts the missing payloads" "$out" "4 payloads are missing in 'nopay':"
for f in iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh; do
	contains "and names $f" "$out" "'$f' (component"
done

# --- optional components ---------------------------------------------------------------
mkdir -p optpay
printf 'base\n' >optpay/base.txt
printf 'extra payload\n' >optpay/extra.zip.txt
cat >opt.json <<'J'
{
  "format": "airpack/1", "product": "opt", "version": "1.0.0", "prefix": "opt/opt",
  "components": [
    { "name": "base", "file": "base.txt",
      "install": { "action": "copy", "to": "base.txt", "mode": "0644" } },
    { "name": "extra", "file": "extra.txt", "optional": true,
      "install": { "action": "copy", "to": "extra.txt", "mode": "0644" } }
  ]
}
J
run "$A" build opt.json --payloads optpay --key key.pem --layout opt-thin
is "an optional payload that is missing: build exits 0" "$rc" 0
contains "and warns it is left out" "$out" "optional component 'extra': no 'extra.txt' in 'optpay': left out of the release"
check_fails "the release does not name it" grep -q '"extra"' opt-thin/manifest.json
mv optpay/extra.zip.txt optpay/extra.txt
run "$A" build opt.json --payloads optpay --key key.pem --layout opt-full
is "with it present, build exits 0" "$rc" 0
check "the release marks it optional" grep -q '"optional": true' opt-full/manifest.json
mkdir opt-media && cp opt-full/manifest.json opt-full/manifest.json.sig opt-full/base.txt opt-media/
run "$S" plan --from opt-media "${T[@]}" --offline
is "plan with the optional payload absent, offline: exit 0" "$rc" 0
contains "plan names it as skipped" "$out" "skipped   extra"
run "$S" install --from opt-media "${T[@]}" --offline --root RO --quiet
is "install without it exits 0" "$rc" 0
exists "the required component is installed" RO/opt/opt/base.txt
absent "the optional one is not" RO/opt/opt/extra.txt
run "$S" install --from opt-full "${T[@]}" --offline --root RO2 --quiet
is "install with it present exits 0" "$rc" 0
exists "and installs it" RO2/opt/opt/extra.txt
mkdir -p www-opt && cp opt-full/extra.txt www-opt/
nginx_start "$tmp/www-opt"
run "$S" install --from opt-media "${T[@]}" --mirror "$NGINX_URL" --root RO3 --quiet
is "reachable on a mirror: installs" "$rc" 0
exists "downloaded and installed" RO3/opt/opt/extra.txt
run "$S" install --from opt-media "${T[@]}" --mirror "$NGINX_URL/nowhere" --root RO4
is "a failing download of an optional component: still exit 0" "$rc" 0
absent "it is left out" RO4/opt/opt/extra.txt
sed 's/"optional": true/"optional": "yes"/' opt.json >opt-bad.json
run "$A" build opt-bad.json --payloads optpay --key key.pem --layout x2
is "optional must be a boolean: exit 3" "$rc" 3
contains "naming the field" "$out" "components[1].optional: expected true or false"

# --- list: every product in a root ------------------------------------------------
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout sample-rel --quiet
run "$S" install --from sample-rel "${T[@]}" --root R --no-run --quiet
is "a second product in the root installs" "$rc" 0
run "$S" list --root R
is "list exits 0" "$rc" 0
contains "list names the first product" "$out" "one                  1.0.0"
contains "and the second, with its channel" "$out" "sample-edge          1.1.0        lts"
contains "and where each is" "$out" "$tmp/R/opt/sample-edge"
run "$S" status --root R
is "status without --product and two products exits 0" "$rc" 0
contains "and lists them" "$out" "$tmp/R/opt/one"
not_contains "instead of refusing" "$out" "name one"
run "$S" list --root R --json
is "list --json: one object with both" \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(p["product"] for p in d["products"]))')" \
	"one sample-edge"
run "$S" status --root R --product one
contains "status --product still shows one" "$out" "product:      one"
run "$S" list --root empty-root
is "list with nothing installed: exit 8" "$rc" 8
contains "saying so" "$out" "nothing installed under empty-root"

run "$S" uninstall --root R --product one
contains "uninstall says 1 file" "$out" "removed 1 file ("

# --- a local file differing only in case --------------------------------------------
mkdir -p winpay
printf 'runtime\n' >winpay/vc_redist.x64.exe
cat >win.json <<'J'
{
  "format": "airpack/1", "product": "winone", "version": "1.0.0", "prefix": "opt/winone",
  "platform": "windows-amd64",
  "components": [
    { "name": "vc-runtime", "file": "vc_redist.x64.exe",
      "install": { "action": "copy", "to": "vc_redist.x64.exe", "mode": "0644" } }
  ]
}
J
"$A" build win.json --payloads winpay --key key.pem --layout win-rel --quiet
mkdir media && cp win-rel/manifest.json win-rel/manifest.json.sig media/
cp winpay/vc_redist.x64.exe media/vc_redist.x64.EXE
run "$S" plan --from media "${T[@]}" --offline
is "a Windows release: plan finds vc_redist.x64.EXE" "$rc" 0
contains "as the local copy" "$out" "media/vc_redist.x64.EXE: size and sha256 match"
run "$S" install --from media "${T[@]}" --offline --root RW --quiet
is "and installs it offline" "$rc" 0
exists "under the manifest's name" RW/opt/winone/vc_redist.x64.exe

mkdir media2 && cp one-rel/manifest.json one-rel/manifest.json.sig media2/
cp one/hello.txt media2/HELLO.TXT
run "$S" plan --from media2 "${T[@]}" --offline
is "a Linux release: a name differing in case is not taken" "$rc" 8
contains "but plan names the near match" "$out" \
	"'HELLO.TXT' in media2 differs from 'hello.txt' only in letter case"

# --- a run action's output: captured, its end kept, never in --json ----------------
mkdir -p runpay
cat >runpay/act.sh <<'SH'
#!/bin/sh
echo "hello from the action"
echo "a warning on stderr" >&2
i=0
while [ $i -lt 200 ]; do echo "filler line $i"; i=$((i + 1)); done
echo "the last line"
exit "${ACT_EXIT:-0}"
SH
cat >run.json <<'J'
{
  "format": "airpack/1", "product": "runner", "version": "1.0.0", "prefix": "opt/runner",
  "components": [
    { "name": "act", "file": "act.sh",
      "install": { "action": "run", "mode": "0755" } }
  ]
}
J
"$A" build run.json --payloads runpay --key key.pem --layout run-rel --quiet
run "$S" install --from run-rel "${T[@]}" --root RR --run-on-host --quiet
is "an install whose action prints, --quiet: exit 0" "$rc" 0
is "--quiet prints nothing, not even the action's output" "$out" ""
rec=RR/var/lib/airpack/runner/receipt.json
is "the receipt keeps the end of the output" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["actions"][0]["output"].splitlines()[-1])' "$rec")" \
	"the last line"
is "at most 2048 bytes of it" \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["actions"][0]["output"]) <= 2048)' "$rec")" True
check "the history keeps it too" grep -q '"run_output":"act: .*the last line' RR/var/log/airpack/history.jsonl
"$S" install --from run-rel "${T[@]}" --root RJ --run-on-host --json >stdout.txt 2>stderr.txt
is "--json: exit 0" "$?" 0
check "--json: standard output is JSON lines only" \
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' stdout.txt
not_contains "--json: the action's output is in neither stream" "$(cat stdout.txt stderr.txt)" "hello from the action"
ACT_EXIT=3 run "$S" install --from run-rel "${T[@]}" --root RF --run-on-host
is "a failing action: exit 11" "$rc" 11
contains "the error quotes the output's last line" "$out" "its output ended with 'the last line'"
not_contains "but not the output itself" "$out" "filler line 5"

done_testing
