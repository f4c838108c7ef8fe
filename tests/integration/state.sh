#!/usr/bin/env bash
# state.sh - one owner for the on-disk state, tried with real concurrent
# processes: two installs of one product into one root at once, readers
# during an install, two installs sharing one --cache, a signed prefix that
# takes another product's folder or airpack's own, and kill -9 during a
# provision followed by uninstall --purge.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50
T=(--trust key.pub.pem)
"$A" keygen -o key.pem >/dev/null

# A release of product $1, version $2, prefix $3, with two 12 MiB payloads
# of its own: layout lay-$1-$2, bundle $1-$2.tar.
release() {
	local p=$1 v=$2 prefix=$3
	mkdir -p "pay-$p-$v"
	random_file "pay-$p-$v/big1.bin" $((12 * 1024 * 1024))
	random_file "pay-$p-$v/big2.bin" $((12 * 1024 * 1024))
	cat >"src-$p-$v.json" <<EOF
{
  "format": "airpack/1", "product": "$p", "version": "$v", "channel": "lts",
  "platform": "linux-amd64", "prefix": "$prefix",
  "components": [
    { "name": "big1", "file": "big1.bin", "install": { "action": "copy", "to": "big1.bin", "mode": "0644" } },
    { "name": "big2", "file": "big2.bin", "install": { "action": "copy", "to": "data/big2.bin", "mode": "0644" } }
  ]
}
EOF
	"$A" build "src-$p-$v.json" --payloads "pay-$p-$v" --key key.pem --layout "lay-$p-$v" \
		-o "$p-$v.tar" --quiet
}
release race 1.0.0 opt/race
release race 2.0.0 opt/race

# The installed files of root $1 are exactly release $2's payloads.
is_release() {
	[ "$(sha256_of "$1/opt/race/big1.bin")" = "$(sha256_of "pay-race-$2/big1.bin")" ] &&
		[ "$(sha256_of "$1/opt/race/data/big2.bin")" = "$(sha256_of "pay-race-$2/big2.bin")" ]
}
installed_version() {
	sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$1/var/lib/airpack/race/manifest.json" | head -n 1
}

# --- a loser names the holder and touches nothing -----------------------------------
# The holder: an install downloading from a slow mirror holds the lock for
# seconds; its lock.owner appears once it holds it.
mkdir -p www/slow only2
cp lay-race-2.0.0/* www/slow/
cp lay-race-2.0.0/manifest.json lay-race-2.0.0/manifest.json.sig only2/
NGINX_SLOW_RATE=3m nginx_start "$tmp/www"
M=$NGINX_URL
"$S" install --from only2 "${T[@]}" --mirror "$M/slow/slow" --root H --quiet >holder.out 2>&1 &
hpid=$!
for _ in $(seq 1 200); do
	[ -f H/var/lib/airpack/race/lock.owner ] && break
	sleep 0.05
done
exists "the holder records itself beside the lock" H/var/lib/airpack/race/lock.owner
run "$S" install --bundle race-1.0.0.tar "${T[@]}" --root H --allow-downgrade --quiet
is "a second install of the product into the root exits 9" "$rc" 9
contains "saying an install is in progress" "$out" "busy: an install is in progress"
contains "naming the holder's pid and command" "$out" "locked by pid $hpid (airpack-setup install)"
absent "the loser unpacked nothing (no work folder of its own)" H/var/cache/airpack/race/.unpack-*
run "$S" verify --root H
is "verify during the install exits 9" "$rc" 9
contains "saying busy" "$out" "busy: an install is in progress"
run "$S" status --root H --product race
is "status during the install exits 9" "$rc" 9
run "$S" uninstall --root H --product race
is "uninstall during the install exits 9" "$rc" 9
wait "$hpid"
is "the holder finishes (exit 0)" "$?" 0
run "$S" verify --root H
is "verify passes on the holder's release" "$rc" 0
check "the holder's release is installed, byte for byte" is_release H 2.0.0
absent "no lock.owner is left once the lock is gone" H/var/lib/airpack/race/lock.owner
nginx_stop

# --- two bundle installs at once: one release, never a mix ----------------------------
rounds=6 overlap=0 bad_rc=0 bad_tree=0 bad_msg=0 left_work=0 both_ok=0
for i in $(seq 1 "$rounds"); do
	R=race$i
	"$S" install --bundle race-1.0.0.tar "${T[@]}" --root "$R" --allow-downgrade --quiet \
		>a.out 2>&1 &
	pa=$!
	"$S" install --bundle race-2.0.0.tar "${T[@]}" --root "$R" --allow-downgrade --quiet \
		>b.out 2>&1 &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	case "$ra/$rb" in
	0/9 | 9/0) overlap=$((overlap + 1)) ;;
	0/0) both_ok=$((both_ok + 1)) ;;
	*) bad_rc=$((bad_rc + 1)); diag "round $i: exits $ra and $rb"; cat a.out b.out | sed 's/^/# /' ;;
	esac
	for f in a b; do
		r=$ra
		[ $f = b ] && r=$rb
		if [ "$r" = 9 ] && ! grep -q "busy: an install is in progress: 'race' is locked by pid [0-9]* (airpack-setup install)" $f.out; then
			bad_msg=$((bad_msg + 1))
			sed 's/^/# /' $f.out
		fi
	done
	v=$(installed_version "$R")
	# Only a winner's release may be there, whole.
	if ! "$S" verify --root "$R" >/dev/null 2>&1 || ! is_release "$R" "$v"; then
		bad_tree=$((bad_tree + 1))
		diag "round $i: $v installed, exits $ra and $rb"
	fi
	{ [ "$v" = 1.0.0 ] && [ "$ra" = 0 ]; } || { [ "$v" = 2.0.0 ] && [ "$rb" = 0 ]; } ||
		bad_tree=$((bad_tree + 1))
	ls -d "$R"/var/cache/airpack/race/.unpack* >/dev/null 2>&1 && left_work=$((left_work + 1))
done
diag "$rounds rounds: $overlap with one install busy, $both_ok where they ran one after the other"
is "every install exits 0 or 9 (busy)" "$bad_rc" 0
is "every busy install names the holder (pid, command)" "$bad_msg" 0
is "the root always holds exactly one winner's release and verifies" "$bad_tree" 0
is "no work folder is left behind" "$left_work" 0

# --- verify while installs run: exit 0 or 9, never a false difference ------------------
"$S" install --bundle race-1.0.0.tar "${T[@]}" --root V --quiet >/dev/null 2>&1
(
	for v in 2.0.0 1.0.0 2.0.0 1.0.0; do
		"$S" install --bundle "race-$v.tar" "${T[@]}" --root V --allow-downgrade --quiet \
			>>inst.out 2>&1 || echo "install $v: $?" >>inst.fail
	done
) &
ipid=$!
n0=0 n9=0 nbad=0
for _ in $(seq 1 400); do
	kill -0 "$ipid" 2>/dev/null || break
	"$S" verify --root V >ver.out 2>&1
	case $? in
	0) n0=$((n0 + 1)) ;;
	9) n9=$((n9 + 1))
	   grep -q "busy: an install is in progress" ver.out ||
		{ nbad=$((nbad + 1)); sed 's/^/# /' ver.out | head -n 5; } ;;
	*) nbad=$((nbad + 1)); sed 's/^/# /' ver.out | head -n 5 ;;
	esac
done
wait "$ipid"
diag "verify during 4 installs: $n0 times 0, $n9 times 9 (busy)"
is "verify during installs never reports a difference (only 0 or 9)" "$nbad" 0
absent "every install waited for the readers and succeeded" inst.fail
run "$S" verify --root V
is "verify afterwards passes" "$rc" 0
check "the last release is installed" is_release V 1.0.0

# --- two installs sharing one --cache (different roots) ------------------------------
mkdir -p www2/slow only1
cp lay-race-1.0.0/* www2/slow/
cp lay-race-1.0.0/manifest.json lay-race-1.0.0/manifest.json.sig only1/
NGINX_SLOW_RATE=8m nginx_start "$tmp/www2"
M=$NGINX_URL
cbad=0
for i in 1 2 3; do
	rm -rf cache
	"$S" install --from only1 "${T[@]}" --mirror "$M/slow/slow" --cache cache --root C$i-a \
		--quiet >ca.out 2>&1 &
	pa=$!
	"$S" install --from only1 "${T[@]}" --mirror "$M/slow/slow" --cache cache --root C$i-b \
		--quiet >cb.out 2>&1 &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	if [ "$ra" != 0 ] || [ "$rb" != 0 ]; then
		cbad=$((cbad + 1))
		diag "round $i: exits $ra and $rb"
		sed 's/^/# /' ca.out cb.out
	fi
	for r in C$i-a C$i-b; do
		"$S" verify --root "$r" >/dev/null 2>&1 && is_release "$r" 1.0.0 || cbad=$((cbad + 1))
	done
	for f in big1.bin big2.bin; do
		[ "$(sha256_of cache/$f)" = "$(sha256_of pay-race-1.0.0/$f)" ] || cbad=$((cbad + 1))
	done
	[ -z "$(ls cache | grep -v '^big[12]\.bin$')" ] || { cbad=$((cbad + 1)); ls cache | sed 's/^/# /'; }
done
is "two installs sharing a cache both succeed, verify, and leave only whole files" "$cbad" 0

# A process killed while downloading under a name of its own (another held
# the file's lock) leaves FILE.<pid>.download.partial: the next holder of
# the lock removes it once that process is gone, and nothing else.
rm -rf cache
mkdir cache
sh -c 'exit 0' &
dead=$!
wait "$dead"
printf 'half' >"cache/big1.bin.$dead.download.partial"
printf 'half' >"cache/big2.bin.$dead.download"
printf 'live' >"cache/big1.bin.$$.download.partial"
printf 'mine' >cache/big1.bin.notes
run "$S" install --from only1 "${T[@]}" --mirror "$M/slow/slow" --cache cache --root C4 --quiet
is "an install with a killed process's leftovers in the cache succeeds" "$rc" 0
absent "a dead process's private partial download is removed" "cache/big1.bin.$dead.download.partial"
absent "so is its private download" "cache/big2.bin.$dead.download"
exists "a live process's is kept" "cache/big1.bin.$$.download.partial"
exists "and so is a file of another name" cache/big1.bin.notes
nginx_stop

# --- a signed prefix may not take another product's folder or airpack's own ----------
"$S" install --bundle race-1.0.0.tar "${T[@]}" --root P --quiet >/dev/null 2>&1
for pre in opt/race opt opt/race/daemon var/log/airpack var/cache var/cache/airpack/x; do
	d=other-$(printf '%s' "$pre" | tr / _)
	mkdir -p "pay-$d"
	printf 'x\n' >"pay-$d/x.txt"
	cat >"src-$d.json" <<EOF
{
  "format": "airpack/1", "product": "other", "version": "1.0.0", "channel": "lts",
  "platform": "linux-amd64", "prefix": "$pre",
  "components": [
    { "name": "x", "file": "x.txt", "install": { "action": "copy", "to": "x.txt", "mode": "0644" } }
  ]
}
EOF
	"$A" build "src-$d.json" --payloads "pay-$d" --key key.pem --layout "lay-$d" --quiet \
		>/dev/null 2>&1
	run "$S" install --from "lay-$d" "${T[@]}" --root P --quiet
	is "prefix '$pre': refused with exit 3" "$rc" 3
	case $pre in
	opt*) contains "naming the JSON path and the other product" "$out" "prefix: '$pre' overlaps 'opt/race', the prefix of 'race' 1.0.0" ;;
	*) contains "naming airpack's folder" "$out" "overlaps airpack's own folder" ;;
	esac
done
absent "nothing of the other product was installed" P/var/lib/airpack/other/receipt.json
run "$S" verify --root P --product race
is "the first product still verifies" "$rc" 0

if hooks "two installs at once, the first stopped (AP_TXN_STOP_AT)"; then
# --- two products with overlapping prefixes installed at the same moment ------------
# The first install is stopped (AP_TXN_STOP_AT=stage) after it checked that
# no other product holds its prefix, before it commits; a second product
# whose prefix lies inside it is installed meanwhile.  Without the root's
# install lock both checks pass and both install; with it the second is
# told the root is busy and installs nothing.
release inner 1.0.0 opt/race/inner
AP_TXN_STOP_AT=stage "$S" install --bundle race-1.0.0.tar "${T[@]}" --root X --quiet \
	>x1.out 2>&1 &
px=$!
wait_stopped "$px"
is "the first install stopped after its checks" "$stopped" 1
run "$S" install --bundle inner-1.0.0.tar "${T[@]}" --root X --quiet
kill -CONT "$px" 2>/dev/null
wait "$px"
rx=$?
is "the second product is refused while the first installs (exit 9)" "$rc" 9
contains "naming the product being installed into the root" "$out" "busy: 'race' is being installed into 'X'"
is "the first install then completes" "$rx" 0
absent "nothing of the second product was installed" X/opt/race/inner/big1.bin
absent "nor its receipt" X/var/lib/airpack/inner/receipt.json
run "$S" install --bundle inner-1.0.0.tar "${T[@]}" --root X --quiet
is "afterwards its prefix is refused for what it is (exit 3)" "$rc" 3
contains "naming the other product" "$out" "overlaps 'opt/race', the prefix of 'race' 1.0.0"
run "$S" verify --root X --product race
is "the first product verifies" "$rc" 0
absent "the root's install lock names no holder once the install is done" X/var/lib/airpack/.install.owner
run "$S" uninstall --root X --product race
is "uninstalling the only product exits 0" "$rc" 0
absent "and removes its state" X/var/lib/airpack/race
fi

if hooks "killed installs' work folders (AP_TXN_CRASH_AT)"; then
# --- a killed install's work folder goes with the next run and with uninstall --purge --
"$S" install --bundle race-1.0.0.tar "${T[@]}" --root W --quiet >/dev/null 2>&1
AP_TXN_CRASH_AT=stage "$S" install --bundle race-2.0.0.tar "${T[@]}" --root W --quiet \
	>/dev/null 2>&1
is "the crash hook kills the install while staging" "$?" 137
n=$(ls -d W/var/cache/airpack/race/.unpack-* 2>/dev/null | wc -l)
is "it left its work folder" "$n" 1
run "$S" verify --root W
is "verify recovers and passes on the old release" "$rc" 0
AP_TXN_CRASH_AT=stage "$S" install --bundle race-2.0.0.tar "${T[@]}" --root W --quiet \
	>/dev/null 2>&1
stale=$(ls -d W/var/cache/airpack/race/.unpack-*)
run "$S" install --bundle race-2.0.0.tar "${T[@]}" --root W --quiet
is "the next install exits 0" "$rc" 0
absent "and removed the killed run's work folder" "$stale"
absent "and its own" W/var/cache/airpack
AP_TXN_CRASH_AT=stage "$S" install --bundle race-1.0.0.tar "${T[@]}" --root W --allow-downgrade \
	--quiet >/dev/null 2>&1
exists "another killed run left a work folder" W/var/cache/airpack/race
run "$S" uninstall --root W --purge
is "uninstall --purge exits 0" "$rc" 0
absent "it removed the work folder (and the payloads in it)" W/var/cache/airpack
fi

if hooks "kills at each write of a provision (AP_PROVISION_CRASH_AT)"; then
# --- kill -9 at each write of a first provision, then uninstall --purge -------------
# The record is written before the file holding the key, so a key airpack
# wrote is always named by a record and goes with the uninstall.
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout sample --quiet
for at in record write config; do
	R=prov-$at
	"$S" install --from sample "${T[@]}" --root "$R" --offline --quiet >/dev/null 2>&1
	key=$(openssl rand -base64 32)
	printf 'HostName=hub1.azure-devices.net;DeviceId=dev-%s;SharedAccessKey=%s\n' "$at" "$key" \
		>"cs-$at.txt"
	AP_PROVISION_CRASH_AT=$at "$S" provision --root "$R" --quiet \
		--connection-string-file "cs-$at.txt" >/dev/null 2>&1
	is "provision killed at '$at' (kill -9 hook)" "$?" 137
	exists "the provision record is there (written first)" \
		"$R/var/lib/airpack/sample-edge/provision.json"
	if [ "$at" = record ]; then
		run "$S" provision --root "$R" --quiet --connection-string-file "cs-$at.txt"
		is "a rerun after a kill at 'record' provisions (exit 0)" "$rc" 0
	fi
	run "$S" uninstall --root "$R" --purge
	is "uninstall --purge after a kill at '$at' exits 0" "$rc" 0
	if grep -rqF -- "$key" "$R"; then
		not_ok "no key is left under the root after a kill at '$at'"
		grep -rlF -- "$key" "$R" | sed 's/^/# /'
	else
		ok "no key is left under the root after a kill at '$at'"
	fi
	absent "the configuration is gone" "$R/etc/sample-edge/config.yaml"
done
fi

done_testing
