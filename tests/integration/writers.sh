#!/usr/bin/env bash
# writers.sh - the offline-folder writer (lib/layout.c) under real kill -9
# and failing payloads: no old signed manifest ever stands beside new
# payloads; a rerun removes the temporaries a killed run left (build -o,
# --sfx, --layout, airpack-setup layout, publish) and nothing else; a
# component may not be named like the folder's own files.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)

# Two releases of one product with the same file names and other bytes.
# The payloads are big enough that a kill lands inside the run.
MB=${WRITERS_PAYLOAD_MB:-24}
mkdir -p v1 v2
for i in 1 2 3 4; do
	random_file v1/p$i.bin 4096
	random_file v2/p$i.bin $((MB * 1024 * 1024))
done
src() {
	cat <<JSON
{
  "format": "airpack/1", "product": "kill-demo", "version": "$1", "prefix": "opt/kill-demo",
  "components": [
    { "name": "p1", "file": "p1.bin", "install": { "action": "copy" } },
    { "name": "p2", "file": "p2.bin", "install": { "action": "copy" } },
    { "name": "p3", "file": "p3.bin", "install": { "action": "copy" } },
    { "name": "p4", "file": "p4.bin", "install": { "action": "copy" } }
  ]
}
JSON
}
src 1.0.0 >src1.json
src 2.0.0 >src2.json

# Wait (bounded) until a file matching the glob exists; 0 when it does.
wait_for() {
	local i
	for ((i = 0; i < 3000; i++)); do
		compgen -G "$1" >/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

# The folder's claim: no manifest, or one that verifies with every payload.
claim_holds() {
	local d=$1 out rc
	[ -e "$d/manifest.json" ] || return 0
	out=$("$A" verify "$d" "${T[@]}" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	echo "$out"
	return 1
}

# --- build --layout over an older release, killed at several points ---------
points=("L/p1.bin.tmp-*" "L/p2.bin.tmp-*" "L/p3.bin.tmp-*" "L/p4.bin.tmp-*")
killed=0
for pt in "${points[@]}"; do
	rm -rf L
	"$A" build src1.json --payloads v1 --key key.pem --layout L --quiet
	"$A" build src2.json --payloads v2 --key key.pem --layout L --quiet &
	pid=$!
	if wait_for "$pt" "$pid"; then
		kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	fi
	wait "$pid" 2>/dev/null
	check "build --layout killed at '$pt': no old signed manifest beside new payloads" \
		claim_holds L
	absent "killed at '$pt': the old manifest is gone" L/manifest.json
done
# And at instants nobody chose.
for delay in 0.05 0.2 0.4 0.8; do
	rm -rf L
	"$A" build src1.json --payloads v1 --key key.pem --layout L --quiet
	"$A" build src2.json --payloads v2 --key key.pem --layout L --quiet &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	check "build --layout killed after ${delay}s: the folder's claim holds" claim_holds L
done
diag "build --layout: $killed of $((${#points[@]} + 4)) runs killed mid-way"
is "at least the four chosen points were reached and killed" "$([ "$killed" -ge 4 ] && echo yes)" yes
touch L/p9.bin.tmp-Zz9Zz9
echo notes >L/notes.tmp-abc
run "$A" build src2.json --payloads v2 --key key.pem --layout L --quiet
is "a rerun of build --layout exits 0" "$rc" 0
is "it leaves no temporaries" "$(compgen -G 'L/*.tmp-??????' | tr '\n' ' ')" ""
exists "it keeps a user's file outside the pattern" L/notes.tmp-abc
run "$A" verify L "${T[@]}"
is "and the folder verifies as release 2.0.0" "$rc" 0
contains "verify names 2.0.0" "$out" "kill-demo 2.0.0"

# --- a failing payload: the old manifest is gone, nothing half-claimed --------
rm -rf L
"$A" build src1.json --payloads v1 --key key.pem --layout L --quiet
bad=$(sha256_of v1/p3.bin)
python3 - "$bad" src2.json >src2-pinned.json <<'PY'
import json, sys
m = json.load(open(sys.argv[2]))
m["components"][2]["sha256"] = sys.argv[1]
json.dump(m, sys.stdout, indent=2)
PY
run "$A" build src2-pinned.json --payloads v2 --key key.pem --layout L --quiet
is "build --layout with a payload that fails its pinned sha256 exits 4" "$rc" 4
contains "it names the component" "$out" "component 'p3'"
absent "the older release's manifest is gone" L/manifest.json
absent "and its signature" L/manifest.json.sig
check "p1 and p2 were already replaced (the case the old order got wrong)" cmp L/p1.bin v2/p1.bin
run "$A" verify L "${T[@]}"
isnt "verify no longer accepts the half-written folder" "$rc" 0
is "no temporaries left" "$(compgen -G 'L/*.tmp-*' | tr '\n' ' ')" ""

# --- build -o and --sfx: temporaries of a killed run ----------------------------
mkdir -p out
echo mine >out/b.tar.tmp-notes
echo mine >out/other.tar.tmp-abcdef
"$A" build src2.json --payloads v2 --key key.pem -o out/b.tar --quiet &
pid=$!
wait_for "out/b.tar.tmp-??????" "$pid" && kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exists "a killed build -o leaves OUT.tmp-XXXXXX" "$(compgen -G 'out/b.tar.tmp-??????' | head -1)"
run "$A" build src2.json --payloads v2 --key key.pem -o out/b.tar --quiet
is "a rerun of build -o exits 0" "$rc" 0
is "it removes what the killed run left" "$(compgen -G 'out/b.tar.tmp-??????' | tr '\n' ' ')" ""
exists "but not a name outside the pattern" out/b.tar.tmp-notes
exists "nor another output's temporary" out/other.tar.tmp-abcdef

# The setup is written in one pass (its bundle streamed into it): a killed
# run leaves only SETUP.tmp-XXXXXX.  Earlier versions also left the
# intermediate bundle's SETUP.bundle.tmp-XXXXXX, which a rerun still removes.
"$A" build src2.json --payloads v2 --key key.pem --sfx out/setup --sfx-stub "$S" --quiet &
pid=$!
wait_for "out/setup.tmp-??????" "$pid" && kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exists "a killed build --sfx leaves SETUP.tmp-XXXXXX" "$(compgen -G 'out/setup.tmp-??????' | head -1)"
is "and no intermediate bundle's temporary" \
	"$(compgen -G 'out/setup.bundle.tmp-??????' | tr '\n' ' ')" ""
echo old >out/setup.bundle.tmp-x1y2z3
run "$A" build src2.json --payloads v2 --key key.pem --sfx out/setup --sfx-stub "$S" --quiet
is "a rerun of build --sfx exits 0" "$rc" 0
is "it removes the setup's temporaries and an earlier version's bundle ones" \
	"$(compgen -G 'out/setup*.tmp-*' | tr '\n' ' ')" ""
absent "and never leaves an intermediate bundle" out/setup.bundle
run "$A" verify out/setup "${T[@]}"
is "the rebuilt setup verifies" "$rc" 0

# --- airpack-setup layout and publish: temporaries of a killed run ------------
"$A" build src2.json --payloads v2 --key key.pem -o r2.tar --quiet
"$S" layout --dir L2 --bundle r2.tar "${T[@]}" --offline --quiet &
pid=$!
wait_for "L2/p*.bin.tmp-*" "$pid" && kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exists "a killed layout leaves a temporary" "$(compgen -G 'L2/*.tmp-*' | head -1)"
run "$S" layout --dir L2 --bundle r2.tar "${T[@]}" --offline --quiet
is "a rerun of layout exits 0" "$rc" 0
is "it removes the temporaries" "$(compgen -G 'L2/*.tmp-*' | tr '\n' ' ')" ""
run "$A" verify L2 "${T[@]}"
is "the layout verifies" "$rc" 0
is "a payload unpacked from a bundle gets the folder's mode, as a copied one does" \
	"$(stat -c %a L2/p1.bin) $(stat -c %a L/p1.bin)" "644 644"

"$A" build src1.json --payloads v1 --key key.pem -o r1.tar --quiet
"$A" publish --mirror M r1.tar --key key.pem --quiet
"$A" publish --mirror M r2.tar --key key.pem --quiet &
pid=$!
wait_for "M/2.0.0/p*.bin.tmp-*" "$pid" && kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exists "a killed publish leaves a temporary" "$(compgen -G 'M/2.0.0/*.tmp-*' | head -1)"
# What a kill between the index's two renames leaves (planted: the window
# is a few instructions wide).
touch M/index.json.tmp-Aa1Bb2 M/index.json.sig.tmp-Cc3Dd4
run "$A" publish --mirror M r2.tar --key key.pem --quiet
is "a rerun of publish exits 0" "$rc" 0
is "it removes the version folder's temporaries" "$(compgen -G 'M/2.0.0/*.tmp-*' | tr '\n' ' ')" ""
is "and the index's" "$(compgen -G 'M/*.tmp-*' | tr '\n' ' ')" ""
run "$A" verify M/2.0.0 "${T[@]}"
is "the published version verifies" "$rc" 0

# --- publish --force over another manifest: the writer's order --------------
"$A" build src1.json --payloads v1 --key key.pem -o r1b.tar --quiet
sed 's/"1.0.0"/"2.0.0"/' src1.json >src1as2.json
"$A" build src1as2.json --payloads v1 --key key.pem -o r1as2.tar --quiet
mv M/2.0.0/p3.bin M/2.0.0/p3.keep && mkdir M/2.0.0/p3.bin
run "$A" publish --mirror M r1as2.tar --key key.pem --force --quiet
isnt "publish --force whose payload cannot be written fails" "$rc" 0
absent "the replaced version's manifest is gone first" M/2.0.0/manifest.json
rmdir M/2.0.0/p3.bin && mv M/2.0.0/p3.keep M/2.0.0/p3.bin
run "$A" publish --mirror M r1as2.tar --key key.pem --force --quiet
is "a rerun of publish --force exits 0" "$rc" 0
run "$A" verify M/2.0.0 "${T[@]}"
is "and the version folder verifies" "$rc" 0

# --- a component named like the folder's own files -----------------------------
for name in manifest.json manifest.json.sig Manifest.JSON index.json INDEX.JSON.SIG; do
	mkdir -p rv && cp v1/p1.bin "rv/$name"
	python3 - "$name" src1.json >reserved.json <<'PY'
import json, sys
m = json.load(open(sys.argv[2]))
m["components"][0]["file"] = sys.argv[1]
json.dump(m, sys.stdout)
PY
	for out_opt in "-o rv.tar" "--layout rvL"; do
		run "$A" build reserved.json --payloads rv --key key.pem $out_opt --quiet
		is "build $out_opt with a component file '$name' exits 3" "$rc" 3
		contains "it names the JSON path" "$out" "components[0].file"
	done
	rm -rf rv
done
absent "no bundle was written" rv.tar
absent "no folder was written" rvL/manifest.json

done_testing
