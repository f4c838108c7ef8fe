#!/usr/bin/env bash
# parallel.sh - several components downloaded at once (--parallel, docs/downloads.md)
# against a real nginx on 127.0.0.1: the downloads overlap, each keeps its
# mirror fallback, verdict and resume, and the --json stream stays one JSON
# object per line.  No assertion is about time: overlap is read from the
# order of the --json events.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
export AP_FETCH_RETRY_MS=50
unset SOURCE_DATE_EPOCH
SIZE=$((512 * 1024))

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)
mkdir -p pay
for i in 1 2 3 4; do
	random_file "pay/p$i.bin" "$SIZE"
done
cat >src.json <<JSON
{
  "format": "airpack/1", "product": "par-test", "version": "1.0.0",
  "platform": "linux-amd64", "prefix": "opt/par",
  "components": [
    { "name": "c1", "file": "p1.bin", "install": { "action": "copy", "to": "p1.bin", "mode": "0644" } },
    { "name": "c2", "file": "p2.bin", "install": { "action": "copy", "to": "p2.bin", "mode": "0644" } },
    { "name": "c3", "file": "p3.bin", "install": { "action": "copy", "to": "p3.bin", "mode": "0644" } },
    { "name": "c4", "file": "p4.bin", "install": { "action": "copy", "to": "p4.bin", "mode": "0644" } }
  ]
}
JSON
"$A" build src.json --payloads pay --key key.pem --layout rel --quiet || {
	echo "Bail out! airpack build failed"
	exit 1
}
# the served trees: all of it; a first mirror without p2; one whose p3 has other bytes
mkdir -p www m1 bad
cp rel/*.bin www/
cp rel/p1.bin rel/p3.bin rel/p4.bin m1/
cp rel/*.bin bad/ && random_file bad/p3.bin "$SIZE"
manifest_only() {
	rm -rf "$1" && mkdir -p "$1" && cp rel/manifest.json rel/manifest.json.sig "$1/"
}
nginx_start "$tmp/www" "
		location /m1/ {
			alias $tmp/m1/;
		}
		location /bad/ {
			alias $tmp/bad/;
		}"
U=$NGINX_URL

# every stdout line one JSON object; prints the download events as "phase component"
json_events() {
	python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(line)
    except ValueError:
        print("not-json line %d: %r" % (n, line))
        continue
    if not isinstance(o, dict):
        print("not-object line %d" % n)
    elif o.get("event") == "download":
        print(o["phase"], o["component"])' "$1"
}

installed_all() {
	local root=$1 i
	for i in 1 2 3 4; do
		cmp -s "$root/opt/par/p$i.bin" "rel/p$i.bin" || return 1
	done
}

# --- four components at once, at a capped rate: their downloads overlap ------------
manifest_only m
timeout 120 "$S" install --manifest m/manifest.json "${T[@]}" --mirror "$U/slow" \
	--root r4 --cache c4 --parallel 4 --json >r4.json 2>r4.err
rc=$?
is "install --parallel 4 exits 0" "$rc" 0
diag "$(cat r4.err)"
ev=$(json_events r4.json)
not_contains "--json: every stdout line is a JSON object" "$ev" "not-"
is "four downloads started" "$(grep -c '^start ' <<<"$ev")" 4
is "four downloads finished" "$(grep -c '^done ' <<<"$ev")" 4
first_done=$(grep -n '^done ' <<<"$ev" | head -n1 | cut -d: -f1)
last_start=$(grep -n '^start ' <<<"$ev" | tail -n1 | cut -d: -f1)
if [ -n "$first_done" ] && [ -n "$last_start" ] && [ "$last_start" -lt "$first_done" ]; then
	ok "all four were in flight before the first finished"
else
	not_ok "all four were in flight before the first finished" "$ev"
fi
contains "progress events name the component" "$ev" "progress c"
check "every payload is installed" installed_all r4
is "each payload was served once" "$(nginx_requests '^GET /slow/p[0-9].bin 200 ')" 4

# --- --parallel 1: one at a time (each starts after the last finished) ------------
manifest_only m
timeout 120 "$S" install --manifest m/manifest.json "${T[@]}" --mirror "$U" \
	--root r1 --cache c1 --parallel 1 --json >r1.json 2>r1.err
rc=$?
is "install --parallel 1 exits 0" "$rc" 0
is "--parallel 1: start and done alternate" \
	"$(json_events r1.json | grep -v '^progress' | cut -d' ' -f1 | tr '\n' ' ')" \
	"start done start done start done start done "
check "--parallel 1 installs every payload" installed_all r1

# --- one file missing on mirror 1 comes from mirror 2 -------------------------------
nginx_log_clear
manifest_only m
run "$S" install --manifest m/manifest.json "${T[@]}" --mirror "$U/m1" --mirror "$U" \
	--root rf --cache cf --parallel 4
is "a file missing on mirror 1: install exits 0" "$rc" 0
diag "$out"
is "mirror 1 was asked for p2 (404)" "$(nginx_requests '^GET /m1/p2.bin 404 ')" 1
is "mirror 2 served p2" "$(nginx_requests '^GET /p2.bin 200 ')" 1
is "mirror 1 served the other three" "$(nginx_requests '^GET /m1/p[134].bin 200 ')" 3
is "mirror 2 served nothing else" "$(nginx_requests '^GET /p[134].bin ')" 0
check "the fallback install has every payload" installed_all rf

# --- a hash mismatch on one file: the install fails naming it; the rest is cached -
manifest_only m
run "$S" install --manifest m/manifest.json "${T[@]}" --mirror "$U/bad" \
	--root rb --cache cb --parallel 4
isnt "a wrong p3 fails the install" "$rc" 0
diag "$out"
contains "the error names the component" "$out" "component 'c3'"
contains "the error says sha256" "$out" "sha256 mismatch"
absent "nothing was installed" rb/opt/par
absent "no p3 in the cache" cb/p3.bin
is "no .partial is left" "$(find cb -name '*.partial' | wc -l)" 0
for i in 1 2 4; do
	check "p$i stays in the cache, verified" cmp cb/p$i.bin rel/p$i.bin
done

# --- a .partial is resumed under --parallel -------------------------------------------
mkdir -p cr
head -c $((SIZE / 2)) rel/p2.bin >cr/p2.bin.partial
nginx_log_clear
manifest_only m
run "$S" install --manifest m/manifest.json "${T[@]}" --mirror "$U" --root rr --cache cr \
	--parallel 4
is "install with a .partial present exits 0" "$rc" 0
is "p2 resumed with Range from its .partial's end" \
	"$(nginx_requests "^GET /p2.bin 206 [0-9]+ bytes=$((SIZE / 2))-\$")" 1
is "p2 took the rest only" "$(nginx_bytes '^GET /p2.bin ')" $((SIZE / 2))
check "the resumed install has every payload" installed_all rr

# --- the flag: 1-64, refused otherwise, naming it ------------------------------------
for bad in 0 65 abc -1 ""; do
	run "$S" install --manifest m/manifest.json "${T[@]}" --root rx --parallel "$bad"
	is "--parallel '$bad' is a usage error" "$rc" 2
	contains "--parallel '$bad': the error names the flag" "$out" "--parallel"
done
absent "a refused --parallel did nothing" rx
run "$S" plan --manifest m/manifest.json "${T[@]}" --mirror "$U" --root rx --parallel 8
is "plan accepts --parallel (it downloads nothing)" "$rc" 0
run "$S" layout --dir L --manifest m/manifest.json "${T[@]}" --mirror "$U" --parallel 2 --quiet
is "layout --parallel 2 exits 0" "$rc" 0
for i in 1 2 3 4; do
	check "layout wrote p$i.bin" cmp L/p$i.bin rel/p$i.bin
done

done_testing
