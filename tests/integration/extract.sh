#!/usr/bin/env bash
# extract.sh - what reaches the install root is what was signed: payloads
# changed between the plan and the stage (a stopped real install and a real
# second writer), archives whose entries or components conflict, archives
# that expand past what the manifest signed, and a full disk (a real tmpfs).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

mounts=()
_unmount_all() {
	local m

	for m in "${mounts[@]}"; do
		umount "$m" 2>/dev/null
	done
}
trap 'st=$?; _unmount_all; (exit $st); _lib_cleanup' EXIT

"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel -o r11.tar --quiet
T=(--trust key.pub.pem)

# Edit DIR/manifest.json with python code working on m (helpers: comp(name),
# refresh(name) takes the size and sha256 of the payload now in DIR), then
# sign it again with key.pem, as a publisher (or an attacker holding the key)
# would: stock openssl.
resign() {
	python3 - "$1/manifest.json" "$2" <<'PY'
import hashlib, json, os, sys
path, code = sys.argv[1], sys.argv[2]
m = json.load(open(path))
d = os.path.dirname(path)
def comp(name):
    return [c for c in m['components'] if c['name'] == name][0]
def refresh(name):
    c = comp(name)
    b = open(os.path.join(d, c['file']), 'rb').read()
    c['size'] = len(b)
    c['sha256'] = hashlib.sha256(b).hexdigest()
exec(code)
open(path, 'w').write(json.dumps(m, indent=2) + '\n')
PY
	openssl pkeyutl -sign -inkey key.pem -rawin -in "$1/manifest.json" -out "$1/manifest.json.sig"
}

# install_stopped ROOT FROM CMD...: install from FROM (a folder or a
# bundle) with AP_TXN_STOP_AT=stage, so the installer stops itself (SIGSTOP)
# after planning and verifying every payload, just before staging; run CMD
# while it is stopped, then let it go on.  Sets rc, out and stopped (1 when
# the installer was seen stopped).  Every wait is bounded.
install_stopped() {
	local root=$1 from=(--from "$2") pid
	shift 2
	case "${from[1]}" in *.tar) from=(--bundle "${from[1]}") ;; esac
	AP_TXN_STOP_AT=stage "$S" install "${from[@]}" "${T[@]}" --offline --root "$root" \
		--quiet >"$tmp/stopped.out" 2>&1 &
	pid=$!
	wait_stopped "$pid"
	"$@"
	kill -CONT "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	out=$(cat "$tmp/stopped.out")
}

# Nothing of the attacker's anywhere under the root.
no_attacker() {
	is "$1" "$(grep -rl ATTACKER "$2" 2>/dev/null | head -3)" ""
}

# --- the attacker's payloads ----------------------------------------------------
mkdir -p evil/zip evil/cab
printf 'ATTACKER dockerd\n' > evil/zip/dockerd.exe
printf 'ATTACKER docker\n' > evil/zip/docker.exe
(cd evil/zip && zip -qX ../moby-engine.zip dockerd.exe docker.exe)
printf 'ATTACKER iotedged\n' > evil/cab/iotedged.exe
gcab -c -n evil/iotedge-daemon.cab evil/cab/iotedged.exe
# Same size as the real ones, so only the hash can tell.
same_size() {
	local n

	n=$(size_of "$2")
	yes ATTACKER | head -c "$n" > "$1"
}
same_size evil/config.template.yaml rel/config.template.yaml
same_size evil/install-check.sh rel/install-check.sh

if hooks "payloads replaced while the installer is stopped (AP_TXN_STOP_AT)"; then
# --- control: stopped and resumed with nothing changed ------------------------------
cp -r rel rel-ctl
install_stopped r-ctl rel-ctl true
is "the installer stops itself at AP_TXN_STOP_AT=stage" "$stopped" 1
is "resumed with nothing changed, the install succeeds" "$rc" 0
run "$S" verify --root r-ctl
is "and verifies" "$rc" 0

# --- an offline folder's payload replaced after it was verified ------------------------
# zip: read through a private copy hashed on the way; cab: streamed through
# the hash; copy and run payloads: copied through the hash.
for f in moby-engine.zip iotedge-daemon.cab config.template.yaml install-check.sh; do
	rm -rf rel-swap "r-swap-$f"
	cp -r rel rel-swap
	install_stopped "r-swap-$f" rel-swap cp "evil/$f" "rel-swap/$f"
	is "$f replaced between plan and stage: the install fails with exit 4" "$rc" 4
	contains "$f: the error says the payload read differs from the signed manifest" "$out" \
		"payload read to install it differs from the signed manifest"
	contains "$f: and names the file" "$out" "rel-swap/$f"
	absent "$f: nothing was installed" "r-swap-$f/opt/sample-edge"
	no_attacker "$f: not one attacker byte under the root (stage included)" "r-swap-$f"
	absent "$f: no receipt" "r-swap-$f/var/lib/airpack/sample-edge/receipt.json"
done

# The same zip swapped between plan and stage, over an installed release:
# the previous install stays, and verify still passes.
rm -rf rel-swap
cp -r rel rel-swap
run "$S" install --from rel "${T[@]}" --offline --root r-upd --quiet
is "a release is installed" "$rc" 0
resign rel-swap "m['version'] = '1.1.1'"
install_stopped r-upd rel-swap cp evil/moby-engine.zip rel-swap/moby-engine.zip
is "an update whose zip is replaced during the install fails (exit 4)" "$rc" 4
check "the installed dockerd.exe is the signed one" cmp r-upd/opt/sample-edge/moby/dockerd.exe r-ctl/opt/sample-edge/moby/dockerd.exe
run "$S" verify --root r-upd
is "verify of the previous release passes" "$rc" 0
no_attacker "no attacker byte in the updated root" r-upd

# --- a bundle's unpacked payloads replaced before they are staged ----------------------
# The unpack folder is airpack's own; whatever is there when staging is
# hashed again where it lands.
swap_unpacked() {
	local p

	p=$(find "$1/var/cache" -name "$2" -type f 2>/dev/null | head -1)
	[ -n "$p" ] && cp "evil/$2" "$p"
}
for f in install-check.sh moby-engine.zip; do
	install_stopped "r-bswap-$f" r11.tar swap_unpacked "r-bswap-$f" "$f"
	is "bundle: $f replaced in the unpack folder: the install fails with exit 4" "$rc" 4
	contains "bundle: $f: the error says the payload changed" "$out" "payload read to install it differs from the signed manifest"
	contains "bundle: $f: and names it" "$out" "$f"
	absent "bundle: $f: nothing was installed" "r-bswap-$f/opt/sample-edge"
	no_attacker "bundle: $f: not one attacker byte under the root" "r-bswap-$f"
done

fi
# --- a second writer racing the install (no stop): whatever it changes is caught ------
rm -rf rel-race
cp -r rel rel-race
cp rel/moby-engine.zip good.zip
(
	for i in $(seq 1 400); do
		cp evil/moby-engine.zip rel-race/.m && mv rel-race/.m rel-race/moby-engine.zip
		cp good.zip rel-race/.m && mv rel-race/.m rel-race/moby-engine.zip
	done
) &
racer=$!
bad=0
for i in 1 2 3 4 5 6; do
	rm -rf r-race
	"$S" install --from rel-race "${T[@]}" --offline --root r-race --quiet >/dev/null 2>&1
	code=$?
	if [ "$code" = 0 ] && grep -rqs ATTACKER r-race; then
		bad=$((bad + 1))
	fi
	if [ "$code" != 0 ] && [ -d r-race/opt/sample-edge ]; then
		bad=$((bad + 1))
	fi
done
kill "$racer" 2>/dev/null
wait "$racer" 2>/dev/null
is "with a writer swapping the zip all along, no install succeeds with its bytes" "$bad" 0

# --- conflicting entries in one archive ---------------------------------------------------
# tar lets an archive hold the same name twice and a file below a file; each
# is a release signed with the right key.
mkdir -p cx/a cx/b
printf 'one\n' > cx/a/x
printf 'two\n' > cx/b/x
mkdir -p cx/c/x && printf 'below\n' > cx/c/x/y
tar -cf conf-twice.tar -C cx/a x -C ../b x
tar -cf conf-below.tar -C cx/a x -C ../c x/y
tar -cf conf-dirfile.tar -C cx/c x -C ../a x
for t in twice below dirfile; do
	rm -rf "rel-$t"
	cp -r rel "rel-$t"
	cp "conf-$t.tar" "rel-$t/moby-engine.zip"
	resign "rel-$t" "refresh('moby-engine'); comp('moby-engine')['install'].pop('expanded', None)"
	run "$S" install --from "rel-$t" "${T[@]}" --offline --root "r-$t" --quiet
	is "conflicting entries ($t): refused with exit 3" "$rc" 3
	contains "conflicting entries ($t): the error names the entry" "$out" "refusing entry 'x"
	absent "conflicting entries ($t): nothing installed" "r-$t/opt/sample-edge"
done
contains "the same file twice is named as such" \
	"$("$S" install --from rel-twice "${T[@]}" --offline --root r-twice2 2>&1)" \
	"the same file is earlier in the archive"
mkdir -p bpay && cp "$SRCDIR"/payloads/sample/* bpay/ && cp conf-below.tar bpay/moby-engine.zip
run "$A" build "$SRCDIR/manifests/sample-release.json" --payloads bpay --key key.pem --layout bl -o bl.tar --quiet
is "airpack build refuses an archive with conflicting entries (exit 3)" "$rc" 3
contains "naming the entry" "$out" "refusing entry 'x/y'"

# --- two components writing the same path ----------------------------------------------
python3 - "$SRCDIR/manifests/sample-release.json" > two.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = dict(m['components'][1])
c['name'] = 'moby-engine-2'
c['file'] = 'moby-engine-2.zip'
m['components'].insert(2, c)
print(json.dumps(m, indent=2))
PY
mkdir -p tpay && cp "$SRCDIR"/payloads/sample/* tpay/
mkdir -p two2 && printf 'another dockerd\n' > two2/dockerd.exe
(cd two2 && zip -qX ../tpay/moby-engine-2.zip dockerd.exe)
run "$A" build two.json --payloads tpay --key key.pem --layout rel-two --quiet
is "a release with two zips into one folder builds" "$rc" 0
run "$S" install --from rel-two "${T[@]}" --offline --root r-two --quiet
is "two components installing the same file: refused with exit 3" "$rc" 3
contains "the error names both components and the path" "$out" \
	"components 'moby-engine' and 'moby-engine-2' both install 'opt/sample-edge/moby/dockerd.exe'"
absent "nothing installed" r-two/opt/sample-edge
# A file of one component below a file of another.
rm -rf two2 && mkdir -p two2/dockerd.exe && printf 'x\n' > two2/dockerd.exe/inner
rm -f tpay/moby-engine-2.zip && (cd two2 && zip -qrX ../tpay/moby-engine-2.zip dockerd.exe)
run "$A" build two.json --payloads tpay --key key.pem --layout rel-two2 --quiet
run "$S" install --from rel-two2 "${T[@]}" --offline --root r-two2 --quiet
is "a component's file below another's file: refused with exit 3" "$rc" 3
contains "naming both" "$out" "'opt/sample-edge/moby/dockerd.exe/inner' of component 'moby-engine-2' is below 'opt/sample-edge/moby/dockerd.exe', a file of component 'moby-engine'"
# Disjoint files in one folder are fine, and verify passes right after.
rm -rf two2 && mkdir -p two2 && printf 'plugin\n' > two2/plugin.exe
rm -f tpay/moby-engine-2.zip && (cd two2 && zip -qX ../tpay/moby-engine-2.zip plugin.exe)
run "$A" build two.json --payloads tpay --key key.pem --layout rel-two3 --quiet
run "$S" install --from rel-two3 "${T[@]}" --offline --root r-two3 --quiet
is "two components with different files in one folder install" "$rc" 0
run "$S" verify --root r-two3
is "and verify passes right after" "$rc" 0

# --- expanded size and file count -------------------------------------------------------
m=$(cat rel/manifest.json)
want=$(python3 -c "import json,sys; m=json.load(open('rel/manifest.json')); x=[c for c in m['components'] if c['name']=='moby-engine'][0]['install']['expanded']; print(x['size'], x['files'])")
have=$(python3 -c "import zipfile; z=[i for i in zipfile.ZipFile('rel/moby-engine.zip').infolist() if not i.is_dir()]; print(sum(i.file_size for i in z), len(z))")
is "build records the zip's expanded size and file count (as python's zipfile counts them)" "$want" "$have"
contains "the release manifest carries install.expanded" "$m" '"expanded": {'

# A 40 MiB bomb of zeros: a zip of a few KiB.
mkdir -p bomb && head -c $((40 << 20)) /dev/zero > bomb/dockerd.exe
(cd bomb && zip -q9X ../bomb.zip dockerd.exe)
diag "bomb: $(size_of bomb.zip) bytes expanding to $((40 << 20))"
rm -rf rel-bomb && cp -r rel rel-bomb && cp bomb.zip rel-bomb/moby-engine.zip
resign rel-bomb "refresh('moby-engine'); comp('moby-engine')['install']['expanded'] = {'size': 4096, 'files': 1}"
run "$S" install --from rel-bomb "${T[@]}" --offline --root r-bomb --quiet
is "a zip expanding past its signed size stops (exit 4)" "$rc" 4
contains "the error says where it stopped and what was signed" "$out" "expands past 4096 bytes at 'dockerd.exe': the signed manifest says 4096 bytes in all"
absent "nothing installed" r-bomb/opt/sample-edge
stage_left=$(du -sk r-bomb 2>/dev/null | cut -f1)
check "no more than the signed size was written (du ${stage_left} KiB)" test "${stage_left:-0}" -lt 1024

resign rel-bomb "refresh('moby-engine'); comp('moby-engine')['install'].pop('expanded', None)"
run "$S" install --from rel-bomb "${T[@]}" --offline --root r-bomb2 --quiet
is "without install.expanded, a 40 MiB bomb passes no cap of 64 x its size / 16 MiB (exit 4)" "$rc" 4
contains "the error says the cap for manifests without expanded" "$out" 'a release manifest without "expanded" allows at most 16777216 bytes in all'

resign rel-bomb "refresh('moby-engine'); comp('moby-engine')['install']['expanded'] = {'size': $((40 << 20)), 'files': 2}"
run "$S" install --from rel-bomb "${T[@]}" --offline --root r-bomb3 --quiet
is "fewer files than signed: refused (exit 4)" "$rc" 4
contains "the error counts both" "$out" "expands to $((40 << 20)) bytes in 1 file, the signed manifest says $((40 << 20)) bytes in 2 files"
not_contains "and does not call the archive changed (it is the signed one)" "$out" "payload changed"
resign rel-bomb "refresh('moby-engine'); comp('moby-engine')['install']['expanded'] = {'size': $((40 << 20)), 'files': 0}"
run "$S" install --from rel-bomb "${T[@]}" --offline --root r-bomb4 --quiet
is "more files than signed: refused (exit 4)" "$rc" 4
contains "the error says so" "$out" "has more files than the signed manifest says: 0"
resign rel-bomb "refresh('moby-engine'); comp('moby-engine')['install']['expanded'] = {'size': $((40 << 20)), 'files': 1}"
run "$S" install --from rel-bomb "${T[@]}" --offline --root r-bomb5 --quiet
is "the same zip with its true expanded size signed installs" "$rc" 0
run "$S" verify --root r-bomb5
is "and verifies" "$rc" 0
rm -rf r-bomb5

# --- free space and a full disk (a real tmpfs) -------------------------------------------
small() {
	mkdir -p "$1"
	if mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null; then
		mounts+=("$tmp/$1")
		return 0
	fi
	return 1
}
if [ "$(id -u)" = 0 ] && small fs-space 8m; then
	run "$S" install --from rel-bomb "${T[@]}" --offline --root fs-space --quiet
	is "40 MiB to install on an 8 MiB file system: exit 1 before staging" "$rc" 1
	# Free: 8 MiB less the blocks the state and lock files already took.
	contains "the error says what is needed and what is free" "$out" "needs 41 MiB, "
	if [[ "$out" =~ needs\ 41\ MiB,\ ([0-9]+)\ MiB\ free\ on\ the\ file\ system\ of ]]; then
		ok "and the free space is the file system's (${BASH_REMATCH[1]} MiB of 8)"
	else
		not_ok "and the free space is the file system's" "$out"
	fi
	absent "nothing was staged" fs-space/opt/.sample-edge.airpack-stage

	if hooks "a disk filled while the installer is stopped (AP_TXN_STOP_AT)"; then
	# Room by the estimate, then another writer fills the disk while the
	# installer is stopped: extraction, then a copy, meet a full disk.
	small fs-full 2m
	install_stopped fs-full rel "sh" "-c" "cat /dev/zero > fs-full/filler 2>/dev/null; true"
	is "the disk fills before extracting: exit 1" "$rc" 1
	contains "the error says no space left on device" "$out" "no space left on device"
	not_contains "not libarchive's words" "$out" "Write failed"
	absent "nothing installed" fs-full/opt/sample-edge
	rm -f fs-full/filler

	python3 - "$SRCDIR/manifests/sample-release.json" > copyonly.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m['components'] = [c for c in m['components'] if c['install']['action'] == 'copy']
m.pop('config', None)
print(json.dumps(m, indent=2))
PY
	run "$A" build copyonly.json --payloads "$SRCDIR/payloads/sample" --key key.pem --layout rel-copy --quiet
	install_stopped fs-full rel-copy "sh" "-c" "cat /dev/zero > fs-full/filler 2>/dev/null; true"
	is "the disk fills before a copy: exit 1" "$rc" 1
	contains "the copy's error says no space left on device" "$out" "no space left on device"
	rm -f fs-full/filler
	fi

	# A bundle written to a full disk.
	small fs-out 64k
	run "$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
		--key key.pem -o fs-out/r.tar --quiet
	is "airpack build onto a full disk: exit 1" "$rc" 1
	contains "saying no space left on device" "$out" "no space left on device"
	diag "build onto a full disk: $out"

	# A download into a full cache.
	small fs-dl 16k
	mkdir -p half
	cp rel/manifest.json rel/manifest.json.sig rel/iotedge-daemon.cab rel/config.template.yaml \
		rel/install-check.sh half/
	nginx_start "$tmp/rel"
	run "$S" install --from half "${T[@]}" --mirror "$NGINX_URL" --cache fs-dl --root r-dl --quiet
	diag "download into a full cache: $out"
	is "a download into a full cache: exit 1" "$rc" 1
	contains "saying no space left on device" "$out" "no space left on device"
	absent "nothing installed" r-dl/opt/sample-edge
	nginx_stop
	_unmount_all
	mounts=()
else
	skip_all_tmpfs=1
	ok "# SKIP tmpfs needs root"
fi

done_testing
