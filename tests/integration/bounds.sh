#!/usr/bin/env bash
# bounds.sh - a signed manifest may be hostile, but it may not take what is
# not its own (docs/threat-model.md): data folders and configuration paths
# naming system folders, airpack's own folders or another product's files
# are refused (exit 3, naming the JSON path); uninstall --purge removes only
# the data folders the product created; run actions of an image root never
# run on the build host unless asked (--run-on-host, --run-in-root).
# Hostile manifests are re-signed with the test key by the stock openssl CLI,
# as an attacker holding a signing key would.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

skip() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel -o rel.tar --quiet
T=(--trust key.pub.pem)

# resign DIR PYTHON: copy the release folder rel to DIR, change its manifest
# with PYTHON (m is the parsed manifest), and sign it again with key.pem.
resign() {
	local dir=$1 code=$2

	rm -rf "$dir" && cp -r rel "$dir" || return 1
	python3 - "$dir/manifest.json" "$code" <<'PY' || return 1
import json, sys
path, code = sys.argv[1], sys.argv[2]
m = json.load(open(path))
exec(code)
open(path, "w").write(json.dumps(m, indent=2, ensure_ascii=False) + "\n")
PY
	openssl pkeyutl -sign -inkey key.pem -rawin -in "$dir/manifest.json" \
		-out "$dir/manifest.json.sig" 2>/dev/null
}

# A root holding another vendor's files, system files and airpack's history.
make_root() {
	rm -rf "$1"
	mkdir -p "$1/etc" "$1/opt/other-vendor" "$1/var/log/airpack"
	echo "root:x:0:0:root:/root:/bin/sh" >"$1/etc/passwd"
	echo "theirs" >"$1/opt/other-vendor/keep"
	echo '{"event":"earlier"}' >"$1/var/log/airpack/history.jsonl"
}

intact() {
	is "$1: /etc/passwd untouched" "$(cat "$2/etc/passwd" 2>/dev/null)" "root:x:0:0:root:/root:/bin/sh"
	is "$1: the other vendor's file untouched" "$(cat "$2/opt/other-vendor/keep" 2>/dev/null)" theirs
	contains "$1: the install history kept" "$(cat "$2/var/log/airpack/history.jsonl" 2>/dev/null)" earlier
}

# --- hostile data folders and configuration paths: refused, exit 3 -------------------
n=0
for case in 'etc|m["data_dirs"] = ["etc"]|data_dirs[0]: "etc" is a top-level folder' \
	'opt|m["data_dirs"] = ["var/lib/sample-edge/moby", "opt"]|data_dirs[1]: "opt" is a top-level folder' \
	'airpack log|m["data_dirs"] = ["var/log/airpack"]|data_dirs[0]: "var/log/airpack" is, holds or lies in one of airpack'"'"'s own folders' \
	'usr/lib64|m["data_dirs"] = ["usr/lib64"]|data_dirs[0]: "usr/lib64" is a system folder' \
	'config /etc/passwd|m["config"]["path"] = "etc/passwd"|config.path: "etc/passwd" is a file directly in a system folder' \
	'config in airpack state|m["config"]["path"] = "var/lib/airpack/sample-edge/receipt.json"|config.path: "var/lib/airpack/sample-edge/receipt.json" is, holds or lies in one of airpack'"'"'s own folders'; do
	IFS='|' read -r name code want <<<"$case"
	n=$((n + 1))
	resign "h$n" "$code" || not_ok "re-sign the hostile manifest ($name)"
	make_root "R$n"
	run "$S" install --from "h$n" "${T[@]}" --root "R$n" --offline --quiet
	is "hostile signed manifest, $name: exit 3" "$rc" 3
	contains "$name: the message names the JSON path and the folder" "$out" "$want"
	absent "$name: nothing installed" "R$n/opt/sample-edge"
	intact "$name" "R$n"
done

# The re-signing itself is sound: a harmless change signed the same way installs.
resign benign 'm["description"] = "re-signed by the test"'
run "$S" install --from benign "${T[@]}" --root Rbenign --offline --quiet
is "a harmlessly changed manifest re-signed the same way installs (exit 0)" "$rc" 0

# --- another product's files ---------------------------------------------------------
resign other 'm["product"] = "other-edge"; m["prefix"] = "opt/other-edge"; m["data_dirs"] = ["var/lib/other-edge"]; m["config"]["path"] = "etc/other-edge/config.yaml"'
make_root RO
run "$S" install --from other "${T[@]}" --root RO --offline --quiet
is "another product installs (exit 0)" "$rc" 0
mkdir -p RO/var/lib/other-edge && echo "their data" >RO/var/lib/other-edge/db
for case in 'its data folder|m["data_dirs"] = ["var/lib/other-edge"]|data_dirs[0]: '"'"'var/lib/other-edge'"'"' overlaps data folder '"'"'var/lib/other-edge'"'"' of the installed '"'"'other-edge'"'"'' \
	'a folder in its data folder|m["data_dirs"] = ["var/lib/other-edge/cache"]|data_dirs[0]: '"'"'var/lib/other-edge/cache'"'"' overlaps data folder' \
	'a folder in its prefix|m["data_dirs"] = ["opt/other-edge/data"]|data_dirs[0]: '"'"'opt/other-edge/data'"'"' overlaps prefix '"'"'opt/other-edge'"'"'' \
	'its configuration|m["config"]["path"] = "etc/other-edge/config.yaml"|config.path: '"'"'etc/other-edge/config.yaml'"'"' overlaps configuration' \
	'a configuration in its prefix|m["config"]["path"] = "opt/other-edge/etc/c.yaml"|config.path: '"'"'opt/other-edge/etc/c.yaml'"'"' overlaps prefix'; do
	IFS='|' read -r name code want <<<"$case"
	n=$((n + 1))
	resign "h$n" "$code" || not_ok "re-sign the hostile manifest ($name)"
	run "$S" install --from "h$n" "${T[@]}" --root RO --offline --quiet
	is "another product's $name: exit 3" "$rc" 3
	contains "another product's $name: named with the JSON path" "$out" "$want"
	absent "another product's $name: nothing installed" RO/opt/sample-edge
done
is "the other product's data is untouched" "$(cat RO/var/lib/other-edge/db)" "their data"
run "$S" verify --root RO --product other-edge
is "and it still verifies" "$rc" 0

# --- purge: only what the product created ----------------------------------------------
make_root RP
run "$S" install --from rel "${T[@]}" --root RP --offline --quiet
is "install into a root with other vendors' files" "$rc" 0
contains "the receipt records the data folder as created" \
	"$(cat RP/var/lib/airpack/sample-edge/receipt.json)" '"created_data_dirs": [
    "var/lib/sample-edge/moby"'
mkdir -p RP/var/lib/sample-edge/moby/images && echo layer >RP/var/lib/sample-edge/moby/images/l1
run "$S" uninstall --root RP --purge
is "uninstall --purge exits 0" "$rc" 0
contains "it says it purged one data folder" "$out" "purged 1 data folder"
absent "the data folder the product created is purged" RP/var/lib/sample-edge/moby
intact "purge" RP
contains "the history records the uninstall" "$(cat RP/var/log/airpack/history.jsonl)" '"uninstall"'

# A data folder that existed before the install is kept.
make_root RK
mkdir -p RK/var/lib/sample-edge/moby && echo "older" >RK/var/lib/sample-edge/moby/db
run "$S" install --from rel "${T[@]}" --root RK --offline --quiet
run "$S" uninstall --root RK --purge
is "uninstall --purge over a data folder that existed: exit 0" "$rc" 0
contains "it says the folder is kept and why" "$out" "var/lib/sample-edge/moby (kept: it existed before the install)"
is "the folder that existed is kept" "$(cat RK/var/lib/sample-edge/moby/db)" older

# A receipt written before the fix, naming etc, opt and airpack's history as data
# folders (the bug: purge deleted all of them), purges nothing and says so.
make_root RB
run "$S" install --from rel "${T[@]}" --root RB --offline --quiet
python3 - RB/var/lib/airpack/sample-edge/receipt.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["data_dirs"] = ["etc", "opt", "var/log/airpack"]
del r["created_data_dirs"]
open(sys.argv[1], "w").write(json.dumps(r, indent=2) + "\n")
PY
run "$S" uninstall --root RB --purge
is "uninstall --purge with a receipt from before the record: exit 0" "$rc" 0
contains "it says it cannot tell what it created" "$out" "does not record whether this install created it"
contains "and counts the folders kept" "$out" "kept 3 data folders"
intact "old receipt purge" RB
# Even a receipt that claims to have created them keeps them.
make_root RC
run "$S" install --from rel "${T[@]}" --root RC --offline --quiet
python3 - RC/var/lib/airpack/sample-edge/receipt.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["data_dirs"] = r["created_data_dirs"] = ["etc", "opt", "var/log/airpack"]
open(sys.argv[1], "w").write(json.dumps(r, indent=2) + "\n")
PY
run "$S" uninstall --root RC --purge
is "uninstall --purge with a receipt claiming system folders: exit 0" "$rc" 0
contains "it names why the folder is kept" "$out" "etc (kept: it is a top-level folder)"
intact "tampered receipt purge" RC

# --- run actions: never on the build host by surprise -----------------------------------
export AIRPACK_SAMPLE_LOG=$tmp/host.log
run "$S" install --from rel "${T[@]}" --root img --offline
is "install --root DIR exits 0" "$rc" 0
absent "the run action did not run on this host" host.log
contains "it is reported pending" "$out" "pending"
contains "and says where it will run" "$out" "'airpack-setup firstboot' runs it on the device"
run "$S" status --root img --json
is "the receipt lists it pending" "$(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["pending"]))' "$out")" install-check
run "$S" firstboot --root img
is "firstboot --root DIR without --run-in-root/--run-on-host: exit 2" "$rc" 2
contains "naming both options" "$out" "pass --run-in-root (chroot into the root) or --run-on-host"
absent "and nothing ran on this host" host.log
run "$S" firstboot --root img --run-on-host
is "firstboot --run-on-host exits 0" "$rc" 0
is "the pending action ran once, on this host" "$(wc -l <host.log)" 1
contains "in the image's prefix" "$(cat host.log)" "img/opt/sample-edge"
run "$S" firstboot --root img --run-on-host
contains "a second firstboot finds nothing pending" "$out" "nothing pending under img"
is "and runs nothing again" "$(wc -l <host.log)" 1
rm -f host.log

run "$S" install --from rel "${T[@]}" --root img2 --offline --quiet --run-on-host
is "install --run-on-host exits 0" "$rc" 0
is "install --run-on-host ran the action once on this host" "$(wc -l <host.log 2>/dev/null)" 1
rm -f host.log
run "$S" install --from rel "${T[@]}" --root img3 --offline --no-run --run-on-host
is "--no-run with --run-on-host: exit 2" "$rc" 2
run "$S" install --from rel "${T[@]}" --root img3 --offline --run-in-root --run-on-host
is "--run-in-root with --run-on-host: exit 2" "$rc" 2
absent "and nothing was installed" img3/opt

# The same from a bundle and from a self-extracting setup.
run "$S" install --bundle rel.tar "${T[@]}" --root img4 --offline --quiet
is "install --bundle --root DIR exits 0" "$rc" 0
absent "the bundle's run action did not run on this host" host.log
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --sfx setup --sfx-stub "$S" --quiet
cp key.pub.pem trusted.pem
run ./setup --trust trusted.pem --root img5 --offline --quiet
is "the setup with --root DIR exits 0" "$rc" 0
exists "it installed" img5/opt/sample-edge/install-check.sh
absent "the setup's run action did not run on this host" host.log

# --run-in-root: a minimal root with /bin/sh, dirname and their libraries.
chroot_add() {
	local f lib

	for f in "$@"; do
		f=$(command -v "$f") || return 1
		cp -L --parents "$f" "$ROOTFS" || return 1
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$lib" ] && { cp -L --parents "$lib" "$ROOTFS" || return 1; }
		done
	done
}
if [ "$(id -u)" != 0 ]; then
	for t in "install --run-in-root ran the action inside the root" \
		"not on this host" "firstboot --run-in-root ran it inside the root"; do
		skip "$t" "--run-in-root needs root privilege (chroot) and this test runs as $(id -un)"
	done
	run "$S" install --from rel "${T[@]}" --root img6 --offline --run-in-root
	is "--run-in-root without root privilege: exit 2" "$rc" 2
	contains "saying it needs root privilege" "$out" "needs root privilege"
elif ! command -v ldd >/dev/null; then
	for t in "install --run-in-root ran the action inside the root" \
		"not on this host" "firstboot --run-in-root ran it inside the root"; do
		skip "$t" "no ldd to build a minimal root"
	done
else
	ROOTFS=$tmp/img6
	mkdir -p "$ROOTFS"
	chroot_add sh dirname || not_ok "build a minimal root"
	mkdir -p "$ROOTFS/bin" && [ -e "$ROOTFS/bin/sh" ] || cp -L "$(command -v sh)" "$ROOTFS/bin/sh"
	export AIRPACK_SAMPLE_LOG=/run.log
	run "$S" install --from rel "${T[@]}" --root img6 --offline --quiet --run-in-root
	is "install --run-in-root exits 0" "$rc" 0
	is "install --run-in-root ran the action inside the root" "$(cat img6/run.log 2>/dev/null)" \
		"install-check ran in /opt/sample-edge"
	absent "not on this host" /run.log
	ROOTFS=$tmp/img7
	mkdir -p "$ROOTFS"
	chroot_add sh dirname
	mkdir -p "$ROOTFS/bin" && [ -e "$ROOTFS/bin/sh" ] || cp -L "$(command -v sh)" "$ROOTFS/bin/sh"
	run "$S" install --from rel "${T[@]}" --root img7 --offline --quiet
	absent "an image install leaves it pending" img7/run.log
	run "$S" firstboot --root img7 --run-in-root
	is "firstboot --run-in-root exits 0" "$rc" 0
	is "firstboot --run-in-root ran it inside the root" "$(cat img7/run.log 2>/dev/null)" \
		"install-check ran in /opt/sample-edge"
	run "$S" status --root img7
	not_contains "nothing is pending any more" "$out" "pending first-boot actions"
	# Without root privilege --run-in-root is a clear error before anything is
	# installed (run as nobody where setpriv can drop the privilege).
	if command -v setpriv >/dev/null &&
		setpriv --reuid=65534 --regid=65534 --clear-groups "$S" --version >/dev/null 2>&1; then
		mkdir -m 777 unpriv && cp -r rel key.pub.pem unpriv/ && chmod -R a+rX unpriv &&
			chmod 755 "$tmp"
		cd unpriv
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$S" install --from rel \
			--trust key.pub.pem --root img --offline --run-in-root
		cd "$tmp"
		is "--run-in-root without root privilege: exit 2" "$rc" 2
		contains "saying it needs root privilege" "$out" "--run-in-root needs root privilege"
		absent "and nothing was installed" unpriv/img/opt/sample-edge
	else
		skip "--run-in-root without root privilege: exit 2" "setpriv cannot drop privileges here"
	fi
fi

done_testing
