#!/usr/bin/env bash
# run.sh - airpack measured against the tools a user would use instead.
#
#   bench/run.sh [--builddir DIR] [--quick] [--runs N] [--only LIST] [--out FILE]
#                [--hyperfine]
#
# Every figure is a RATIO of two runs made in the same session on the same
# inputs (airpack / baseline), because absolute times say more about the
# machine than about airpack.  Sections (--only takes a comma list):
#
#   hash      airpack-setup plan hashing a local payload vs openssl dgst, sha256sum
#   pack      airpack build --compress none (bundle and offline folder) vs tar -cf, cp
#   gzip      airpack build --compress gzip vs tar -czf, on mixed data
#   download  ap-fetch-tool and airpack-setup install from nginx on 127.0.0.1
#             vs curl -o; a resumed download vs a full one
#   install   airpack-setup install of a copy component from an offline folder
#             and from a bundle vs cp, tar -xf
#   extract   airpack-setup install of a tar.gz / zip of many files vs tar -xzf / unzip
#   many      airpack-setup install of a tar of many small files vs tar -xf && sync
#             (each run's output moved aside, not removed, until both sides are
#             measured), and its uninstall vs rm -rf && sync; peak RSS at a tenth
#             and all of the files
#   parallel  airpack-setup install of N files from nginx capping each connection
#             (limit_rate): --parallel 4 vs --parallel 1 vs curl over the files
#             one after the other
#   sfx       airpack build --sfx (a self-extracting setup) vs build -o
#   rss       peak RSS (/usr/bin/time -v) for a small and a big payload
#
# Sizes (MiB) come from the environment: BENCH_BIG_MIB (1024), BENCH_GZ_MIB
# (200), BENCH_SMALL_MIB (10), BENCH_TREE_FILES (3000), BENCH_TREE_MIB (48),
# BENCH_MANY_FILES (25000 files of 512 bytes; BENCH_MANY_BYTES; the peak RSS
# row at BENCH_MANY_RSS_FILES, default the same; BENCH_MANY_SBOM all or none,
# the releases' per-file SBOM, none by default past 25000), BENCH_PAR_FILES
# files of BENCH_PAR_MIB (8 of 32) at BENCH_PAR_RATE per connection (nginx
# limit_rate, 32m).
# --quick shrinks them (a smoke run of the harness, not a measurement).
# Work files (about 5 GiB with the default sizes) go to a temp folder under
# $TMPDIR (default /var/tmp), removed at the end.  The whole run is bounded
# by BENCH_TIMEOUT seconds (default 3600); a full run takes about 20 minutes
# on 2 cores.
# Timing: the commands of a section run in interleaved rounds (a warmup
# round, then --runs rounds, default 5 or BENCH_RUNS) and each one's median
# is taken, so a busy spell on a shared machine slows both sides of a ratio
# alike.  With
# --hyperfine, hyperfine (apt-get install hyperfine) times each command in a
# block of runs instead.  Each table row also shows both sides' spread,
# (max - min) / median.  Nothing here is part of the test suite.

set -u

if [ -z "${_AIRPACK_BENCH_BOUNDED:-}" ]; then
	export _AIRPACK_BENCH_BOUNDED=1
	exec timeout --kill-after=30 "${BENCH_TIMEOUT:-3600}" bash "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=${BUILDDIR:-$srcdir/build}
runs=
only=all
outfile=
quick=0
timer=interleaved

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--out) outfile=$(realpath -m "$2"); shift 2 ;;
	--quick) quick=1; shift ;;
	--hyperfine) timer=hyperfine; shift ;;
	-h | --help) usage 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done

if [ "$quick" = 1 ]; then
	big_mib=${BENCH_BIG_MIB:-64}
	gz_mib=${BENCH_GZ_MIB:-16}
	small_mib=${BENCH_SMALL_MIB:-4}
	tree_files=${BENCH_TREE_FILES:-300}
	tree_mib=${BENCH_TREE_MIB:-4}
	many_files=${BENCH_MANY_FILES:-2000}
	runs=${runs:-${BENCH_RUNS:-2}}
else
	big_mib=${BENCH_BIG_MIB:-1024}
	gz_mib=${BENCH_GZ_MIB:-200}
	small_mib=${BENCH_SMALL_MIB:-10}
	tree_files=${BENCH_TREE_FILES:-3000}
	tree_mib=${BENCH_TREE_MIB:-48}
	many_files=${BENCH_MANY_FILES:-25000}
	runs=${runs:-${BENCH_RUNS:-5}}
fi
many_bytes=${BENCH_MANY_BYTES:-512}
# The peak RSS row's bigger count (the issue's goal is stated at 100,000).
many_rss_files=${BENCH_MANY_RSS_FILES:-$many_files}
# The many-files releases' SBOM: every archived file listed (all) or the
# components only (none).  More than about 28,000 files of SBOM entries
# do not fit in a manifest the installer accepts (16 MiB), so past 25,000
# files the default is none.
many_sbom=${BENCH_MANY_SBOM:-$([ "$many_files" -gt 25000 ] || [ "$many_rss_files" -gt 25000 ] &&
	echo none || echo all)}
par_files=${BENCH_PAR_FILES:-8}
par_mib=${BENCH_PAR_MIB:-$([ "$quick" = 1 ] && echo 4 || echo 32)}
par_rate=${BENCH_PAR_RATE:-32m}
warmup=1

builddir=$(cd "$builddir" 2>/dev/null && pwd) || {
	echo "run.sh: no build folder '$builddir' (meson setup build && ninja -C build)" >&2
	exit 2
}
A=$builddir/packager/airpack
S=$builddir/installer/airpack-setup
F=$builddir/tests/ap-fetch-tool
for p in "$A" "$S" "$F"; do
	[ -x "$p" ] || { echo "run.sh: '$p' is not built (ninja -C $builddir)" >&2; exit 2; }
done
for p in openssl sha256sum tar cp curl unzip zip gzip python3 /usr/bin/time; do
	command -v "$p" >/dev/null || { echo "run.sh: '$p' is needed" >&2; exit 2; }
done
export A S F

# The integration harness gives a temp folder ($tmp, removed on exit) and
# nginx.  It is made inside a folder of our own, so that nobody cleaning up
# leftover test folders (/tmp/airpack-it.*) removes it under a running bench.
bench_parent=$(mktemp -d "${TMPDIR:-/var/tmp}/airpack-bench.XXXXXX") || exit 1
TMPDIR=$bench_parent . "$srcdir/tests/integration/lib.sh"
trap '_st=$?; nginx_stop; rm -rf "$bench_parent"; exit $_st' EXIT
cd "$tmp" || exit 1
res=$tmp/results
mkdir -p "$res" out
bench_failed=0
if [ "$timer" = hyperfine ] && ! command -v hyperfine >/dev/null; then
	echo "run.sh: --hyperfine: hyperfine is not installed (apt-get install hyperfine)" >&2
	exit 2
fi
cur_section=

want() {
	[ "$only" = all ] || [[ ",$only," == *",$1,"* ]]
}

note() {
	printf '[bench] %s\n' "$*" >&2
}

load1() {
	cut -d' ' -f1 /proc/loadavg
}

# section NAME TEXT: start a table; its heading shows the load average
# (1 minute) when its measurements started and ended.
section() {
	cur_section=$1
	note "$2"
	load1 >"$res/load.$1"
}

# ---- timing ----------------------------------------------------------------

# measure ID PREPARE CMD: queue CMD (a sh command line run in $tmp) for the
# next run_group; PREPARE (untimed, may be "") runs before each of its runs.
g_ids=() g_preps=() g_cmds=()
measure() {
	g_ids+=("$1")
	g_preps+=("$2")
	g_cmds+=("$3")
}

# The result of one command: "median min max" seconds in $res/ID, or FAIL.
finish_one() {
	local id=$1 cmd=$2

	if [ "$(cat "$res/$id")" = FAIL ]; then
		bench_failed=1
		note "$id FAILED: $cmd"
		sed 's/^/    /' "$res/$id.log" | tail -n 20 >&2
	else
		note "$(printf '%-16s %8.3f s (min %.3f, max %.3f)  %s' "$id" \
			$(cat "$res/$id") "$cmd")"
	fi
}

# Run the queued commands.  Default: interleaved rounds (one warmup round,
# then $runs rounds; each round runs every command once, starting one
# further along each time), so a slow spell of a shared machine hits every
# command of a comparison alike, and the median of each is taken.  With
# --hyperfine: hyperfine runs each command $runs times in a row.
run_group() {
	local n=${#g_ids[@]} r i k id t0 t1

	if [ ! -d "$res" ]; then
		echo "run.sh: the work folder $tmp vanished: was it cleaned up by someone?" >&2
		exit 1
	fi

	if [ "$timer" = hyperfine ]; then
		for ((i = 0; i < n; i++)); do
			id=${g_ids[i]}
			local args=(--style none --runs "$runs" --warmup "$warmup"
				--export-json "$res/$id.json")
			[ -n "${g_preps[i]}" ] && args+=(--prepare "${g_preps[i]}")
			if hyperfine "${args[@]}" "${g_cmds[i]}" >"$res/$id.log" 2>&1; then
				python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.6f %.6f %.6f" % (r["median"], r["min"], r["max"]))' "$res/$id.json" >"$res/$id"
			else
				echo FAIL >"$res/$id"
			fi
			finish_one "$id" "${g_cmds[i]}"
		done
	else
		for ((i = 0; i < n; i++)); do
			: >"$res/${g_ids[i]}.times"
			rm -f "$res/${g_ids[i]}"
		done
		for ((r = 0; r < runs + warmup; r++)); do
			for ((k = 0; k < n; k++)); do
				i=$(((k + r) % n))
				id=${g_ids[i]}
				[ -e "$res/$id" ] && continue
				[ -n "${g_preps[i]}" ] && sh -c "${g_preps[i]}" >/dev/null 2>&1
				t0=$EPOCHREALTIME
				if ! sh -c "${g_cmds[i]}" >"$res/$id.log" 2>&1; then
					echo FAIL >"$res/$id"
					continue
				fi
				t1=$EPOCHREALTIME
				if [ "$r" -ge "$warmup" ]; then
					awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' \
						>>"$res/$id.times"
				fi
			done
		done
		for ((i = 0; i < n; i++)); do
			id=${g_ids[i]}
			if [ ! -e "$res/$id" ]; then
				sort -g "$res/$id.times" | awk '{ v[NR] = $1 }
					END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
					      printf "%.6f %.6f %.6f\n", m, v[1], v[NR] }' >"$res/$id"
			fi
			finish_one "$id" "${g_cmds[i]}"
		done
	fi
	g_ids=() g_preps=() g_cmds=()
	[ -n "$cur_section" ] && load1 >>"$res/load.$cur_section"
}

median_of() {
	cut -d' ' -f1 "$res/$1"
}

ok_id() {
	[ -s "$res/$1" ] && [ "$(cat "$res/$1")" != FAIL ]
}

# row TABLE LABEL AIRPACK_ID BASELINE_LABEL BASELINE_ID: one line of a ratio
# table: the medians, each side's spread, (max - min) / median, to judge the
# noise, the ratio of the medians and the ratio of the fastest runs.
row() {
	local table=$1 label=$2 a=$3 blabel=$4 b=$5 r rmin sa sb

	if ok_id "$a" && ok_id "$b"; then
		r=$(awk -v x="$(median_of "$a")" -v y="$(median_of "$b")" \
			'BEGIN { printf "%.2f", x / y }')
		rmin=$(awk -v x="$(cut -d' ' -f2 "$res/$a")" -v y="$(cut -d' ' -f2 "$res/$b")" \
			'BEGIN { printf "%.2f", x / y }')
		sa=$(spread_of "$a")
		sb=$(spread_of "$b")
		printf '| %s | %s | %.3f | %.3f | %s / %s | **%s** | %s |\n' "$label" "$blabel" \
			"$(median_of "$a")" "$(median_of "$b")" "$sa" "$sb" "$r" "$rmin" \
			>>"$res/table.$table"
	else
		printf '| %s | %s | - | - | - | failed | - |\n' "$label" "$blabel" \
			>>"$res/table.$table"
	fi
}

spread_of() {
	awk '{ printf "%.0f%%", ($3 - $2) / $1 * 100 }' "$res/$1"
}

# ---- inputs ----------------------------------------------------------------

"$A" keygen -o key.pem >/dev/null || exit 1
T=(--trust key.pub.pem)

# release DIR FILE ACTION: a one-component source manifest for DIR/pay/FILE.
release() {
	cat >"$1/src.json" <<EOF
{
  "format": "airpack/1", "product": "bench-$(basename "$1")", "version": "1.0.0",
  "prefix": "opt/bench",
  "components": [
    { "name": "payload", "file": "$2", "install": { "action": "$3" } }
  ]
}
EOF
}

# layout DIR [BUILD-ARG...]: DIR/rel, the signed offline folder, and DIR/monly,
# its manifest alone.
layout() {
	local d=$1
	shift
	"$A" build "$d/src.json" --payloads "$d/pay" --key key.pem --compress none \
		--layout "$d/rel" --quiet "$@" || exit 1
	mkdir -p "$d/monly"
	cp "$d/rel/manifest.json" "$d/rel/manifest.json.sig" "$d/monly/"
}

need_big=0 need_small=0 need_mixed=0 need_tree=0 need_many=0
want hash && need_big=1
want pack && need_big=1
want download && { need_big=1; need_small=1; }
want install && need_big=1
want rss && { need_big=1; need_small=1; need_mixed=1; }
want gzip && need_mixed=1
want extract && need_tree=1
want many && need_many=1
want sfx && need_big=1

if [ "$need_big" = 1 ]; then
	note "writing a ${big_mib} MiB random payload"
	mkdir -p big/pay
	head -c "$((big_mib << 20))" /dev/urandom >big/pay/blob.bin
	release big blob.bin copy
	layout big
	if want install; then
		"$A" build big/src.json --payloads big/pay --key key.pem --compress none \
			-o big/b.tar --quiet || exit 1
	fi
	big_size=$(size_of big/pay/blob.bin)
	big_sha=$(openssl dgst -sha256 -r big/pay/blob.bin | cut -d' ' -f1)
fi
if [ "$need_small" = 1 ]; then
	mkdir -p small/pay
	head -c "$((small_mib << 20))" /dev/urandom >small/pay/blob.bin
	release small blob.bin copy
	layout small
	small_size=$(size_of small/pay/blob.bin)
	small_sha=$(openssl dgst -sha256 -r small/pay/blob.bin | cut -d' ' -f1)
fi
if [ "$need_mixed" = 1 ]; then
	note "writing ${gz_mib} MiB of mixed data"
	mkdir -p mixed/pay
	python3 "$here/mktree.py" --mixed mixed/pay/mixed.bin "$gz_mib" || exit 1
	release mixed mixed.bin copy
fi
if [ "$need_tree" = 1 ]; then
	note "writing a tree of $tree_files files (${tree_mib} MiB) and its tar.gz and zip"
	python3 "$here/mktree.py" tree "$tree_files" "$tree_mib" || exit 1
	mkdir -p tgz/pay zip/pay
	tar -czf tgz/pay/tree.tar.gz -C tree . || exit 1
	(cd tree && zip -qr -6 ../zip/pay/tree.zip .) || exit 1
	release tgz tree.tar.gz extract
	release zip tree.zip extract
	layout tgz
	layout zip
fi
if [ "$need_many" = 1 ]; then
	note "writing $many_files files of $many_bytes bytes and their tar (and a tenth of them)"
	python3 "$here/mktree.py" --many many/tree "$many_files" "$many_bytes" || exit 1
	mkdir -p many/pay many10/pay
	tar -cf many/pay/tree.tar -C many/tree . || exit 1
	(cd many/tree && ls | head -n $(((many_files / 400 + 9) / 10)) |
		tar -cf ../../many10/pay/tree.tar -T -) || exit 1
	release many tree.tar extract
	release many10 tree.tar extract
	layout many --sbom-files "$many_sbom"
	layout many10 --sbom-files "$many_sbom"
	if [ "$many_rss_files" != "$many_files" ]; then
		note "writing $many_rss_files files of $many_bytes bytes for the peak RSS row"
		python3 "$here/mktree.py" --many manyrss/tree "$many_rss_files" "$many_bytes" ||
			exit 1
		mkdir -p manyrss/pay
		tar -cf manyrss/pay/tree.tar -C manyrss/tree . || exit 1
		rm -rf manyrss/tree
		release manyrss tree.tar extract
		layout manyrss --sbom-files "$many_sbom"
	fi
fi
# Everything read from here on is in the page cache (the machine has the
# memory for it); everything written is new.
sync
cat big/pay/blob.bin big/rel/blob.bin big/b.tar mixed/pay/mixed.bin many/rel/tree.tar \
	>/dev/null 2>&1

# ---- hashing ---------------------------------------------------------------

if want hash; then
	section hash "hashing ${big_mib} MiB"
	measure hash_airpack "" "\"\$S\" plan --from big/rel --trust key.pub.pem --quiet"
	measure hash_openssl "" "openssl dgst -sha256 big/rel/blob.bin >/dev/null"
	measure hash_sha256sum "" "sha256sum big/rel/blob.bin >/dev/null"
	run_group
	row hash "airpack-setup plan (verifies a local ${big_mib} MiB payload)" hash_airpack \
		"openssl dgst -sha256" hash_openssl
	row hash "airpack-setup plan" hash_airpack "sha256sum" hash_sha256sum
	row hash "(context) sha256sum" hash_sha256sum "openssl dgst -sha256" hash_openssl
fi

# ---- packing ---------------------------------------------------------------

if want pack; then
	section pack "packing ${big_mib} MiB without compression"
	build_big="\"\$A\" build big/src.json --payloads big/pay --key key.pem --quiet"
	dgst_pay="openssl dgst -sha256 big/pay/blob.bin >/dev/null"
	measure pack_airpack "rm -rf out/*; sync" "$build_big --compress none -o out/b.tar"
	measure pack_auto "rm -rf out/*; sync" "$build_big --compress auto -o out/b.tar"
	measure pack_layout "rm -rf out/*; sync" "$build_big --compress none --layout out/lay"
	measure pack_tar "rm -rf out/*; sync" "tar -cf out/t.tar -C big/pay blob.bin"
	measure pack_tar_sync "rm -rf out/*; sync" \
		"tar -cf out/t.tar -C big/pay blob.bin && sync out/t.tar"
	measure pack_cp "rm -rf out/*; sync" "cp big/pay/blob.bin out/c.bin"
	measure pack_cp_sync "rm -rf out/*; sync" "cp big/pay/blob.bin out/c.bin && sync out/c.bin"
	measure pack_tar_hash "rm -rf out/*; sync" \
		"tar -cf out/t.tar -C big/pay blob.bin && sync out/t.tar && $dgst_pay"
	measure pack_cp_hash "rm -rf out/*; sync" \
		"cp big/pay/blob.bin out/c.bin && sync out/c.bin && $dgst_pay"
	run_group
	rm -rf out/*
	row pack "airpack build --compress none -o (${big_mib} MiB)" pack_airpack "tar -cf" pack_tar
	row pack "airpack build --compress none -o" pack_airpack "tar -cf && sync" pack_tar_sync
	row pack "airpack build --compress none -o" pack_airpack \
		"tar -cf && sync && openssl dgst" pack_tar_hash
	row pack "airpack build --compress none -o" pack_airpack "cp" pack_cp
	row pack "airpack build --compress none -o" pack_airpack "cp && sync" pack_cp_sync
	row pack "airpack build --compress auto -o (random data: picks none)" pack_auto \
		"airpack build --compress none -o" pack_airpack
	row pack "airpack build --layout (offline folder)" pack_layout "cp && sync" pack_cp_sync
	row pack "airpack build --layout" pack_layout "cp && sync && openssl dgst" pack_cp_hash
fi

# ---- gzip ------------------------------------------------------------------

if want gzip; then
	section gzip "packing ${gz_mib} MiB of mixed data with gzip"
	measure gzip_airpack "rm -rf out/*; sync" \
		"\"\$A\" build mixed/src.json --payloads mixed/pay --key key.pem --quiet \
		 --compress gzip -o out/b.tgz"
	measure gzip_tar "rm -rf out/*; sync" "tar -czf out/t.tgz -C mixed/pay mixed.bin"
	measure gzip_tar_sync "rm -rf out/*; sync" \
		"tar -czf out/t.tgz -C mixed/pay mixed.bin && sync out/t.tgz"
	run_group
	"$A" build mixed/src.json --payloads mixed/pay --key key.pem --quiet --compress gzip \
		-o out/b.tgz && tar -czf out/t.tgz -C mixed/pay mixed.bin
	gz_size_ratio=$(awk -v a="$(size_of out/b.tgz)" -v b="$(size_of out/t.tgz)" \
		'BEGIN { printf "%.3f", a / b }')
	gz_of_input=$(awk -v a="$(size_of out/b.tgz)" -v b="$(size_of mixed/pay/mixed.bin)" \
		'BEGIN { printf "%.3f", a / b }')
	rm -f out/*
	row gzip "airpack build --compress gzip (level 6, ${gz_mib} MiB mixed)" gzip_airpack \
		"tar -czf" gzip_tar
	row gzip "airpack build --compress gzip" gzip_airpack "tar -czf && sync" gzip_tar_sync
fi

# ---- downloading -----------------------------------------------------------

if want download; then
	section download "downloading ${big_mib} MiB from nginx on 127.0.0.1"
	mkdir -p www dl
	ln -f big/pay/blob.bin www/blob.bin
	nginx_start "$tmp/www"
	export URL=$NGINX_URL/blob.bin
	half=$((big_size / 2))
	fetch="\"\$F\" get \"\$URL\" dl/blob.bin $big_size $big_sha >/dev/null"
	measure dl_fetch "rm -f dl/*; sync" "$fetch"
	measure dl_resume "rm -f dl/*; head -c $half big/pay/blob.bin >dl/blob.bin.partial; sync" \
		"$fetch"
	measure dl_curl "rm -f dl/*; sync" "curl -sf -o dl/c.bin \"\$URL\""
	measure dl_curl_resume "rm -f dl/*; head -c $half big/pay/blob.bin >dl/c.bin; sync" \
		"curl -sf -C - -o dl/c.bin \"\$URL\""
	measure dl_curl_verify "rm -f dl/*; sync" \
		"curl -sf -o dl/c.bin \"\$URL\" && sync dl/c.bin && openssl dgst -sha256 dl/c.bin >/dev/null"
	measure dl_install "rm -rf r-dl cache-dl; sync" \
		"\"\$S\" install --manifest big/monly/manifest.json --trust key.pub.pem \
		 --mirror \"\$NGINX_URL\" --cache cache-dl --root r-dl --quiet"
	measure dl_curl_install "rm -rf dl/* r-cp; mkdir -p r-cp; sync" \
		"curl -sf -o dl/c.bin \"\$URL\" && sync dl/c.bin && \
		 openssl dgst -sha256 dl/c.bin >/dev/null && \
		 cp dl/c.bin r-cp/blob.bin && sync r-cp/blob.bin"
	run_group
	# bytes on the wire for one resumed download
	rm -f dl/*
	head -c "$half" big/pay/blob.bin >dl/blob.bin.partial
	nginx_log_clear
	"$F" get "$URL" dl/blob.bin "$big_size" "$big_sha" >"$res/resume.out"
	nginx_wait_requests 1
	resume_bytes=$(nginx_bytes)
	resume_want=$((big_size - half))
	rm -rf dl/* r-dl cache-dl r-cp
	nginx_stop
	row download "ap-fetch-tool get (${big_mib} MiB, verified)" dl_fetch "curl -o" dl_curl
	row download "ap-fetch-tool get" dl_fetch "curl -o && sync && openssl dgst" dl_curl_verify
	row download "airpack-setup install --mirror (download, verify, install)" dl_install \
		"curl -o && sync && openssl dgst && cp && sync" dl_curl_install
	row download "airpack-setup install --mirror" dl_install "curl -o" dl_curl
	row download "ap-fetch-tool resuming from half" dl_resume "ap-fetch-tool full" dl_fetch
	row download "(context) curl -C - resuming from half" dl_curl_resume "curl -o full" dl_curl
fi

# ---- several downloads at once ---------------------------------------------

if want parallel; then
	section parallel "downloading $par_files files of ${par_mib} MiB, each connection capped at $par_rate/s"
	mkdir -p par/pay par/www
	{
		printf '{ "format": "airpack/1", "product": "bench-par", "version": "1.0.0",\n'
		printf '  "prefix": "opt/bench", "components": [\n'
		for ((i = 1; i <= par_files; i++)); do
			head -c "$((par_mib << 20))" /dev/urandom >"par/pay/f$i.bin"
			ln -f "par/pay/f$i.bin" "par/www/f$i.bin"
			printf '    { "name": "f%d", "file": "f%d.bin", "install": { "action": "copy" } }%s\n' \
				"$i" "$i" "$([ "$i" -lt "$par_files" ] && echo ,)"
		done
		printf '] }\n'
	} >par/src.json
	layout par
	cat par/pay/*.bin >/dev/null
	nginx_start "$tmp/par/www" "
		location /capped/ {
			alias $tmp/par/www/;
			limit_rate $par_rate;
		}"
	export PURL=$NGINX_URL/capped
	for n in 4 1; do
		measure "par_$n" "rm -rf r-par cache-par; sync" \
			"\"\$S\" install --manifest par/monly/manifest.json --trust key.pub.pem \
			 --mirror \"\$PURL\" --cache cache-par --root r-par --parallel $n --quiet"
	done
	measure par_curl "rm -rf dl-par; mkdir -p dl-par; sync" \
		"for i in \$(seq $par_files); do curl -sf -o dl-par/f\$i.bin \"\$PURL/f\$i.bin\" || exit 1; done"
	run_group
	rm -rf r-par cache-par dl-par
	nginx_stop
	row parallel "install --parallel 4 ($par_files x ${par_mib} MiB)" par_4 "install --parallel 1" par_1
	row parallel "install --parallel 4" par_4 "curl -o, one file after another" par_curl
	row parallel "install --parallel 1" par_1 "curl -o, one file after another" par_curl
fi

# ---- install from an offline folder ---------------------------------------

if want install; then
	section install "installing a ${big_mib} MiB copy component from an offline folder"
	dgst_rel="openssl dgst -sha256 big/rel/blob.bin >/dev/null"
	cp_rel="cp big/rel/blob.bin r-cp/blob.bin && sync r-cp/blob.bin"
	measure inst_airpack "rm -rf r-loc; sync" \
		"\"\$S\" install --from big/rel --trust key.pub.pem --root r-loc --quiet"
	measure inst_bundle "rm -rf r-loc; sync" \
		"\"\$S\" install --bundle big/b.tar --trust key.pub.pem --root r-loc --quiet"
	measure inst_tar_x "rm -rf r-cp; mkdir -p r-cp; sync" \
		"tar -xf big/b.tar -C r-cp blob.bin && sync r-cp/blob.bin"
	measure inst_cp_sync "rm -rf r-cp; mkdir -p r-cp; sync" \
		"$cp_rel"
	measure inst_verify_cp "rm -rf r-cp; mkdir -p r-cp; sync" \
		"$dgst_rel && $cp_rel"
	measure inst_verify2_cp "rm -rf r-cp; mkdir -p r-cp; sync" \
		"$dgst_rel && $dgst_rel && $cp_rel"
	run_group
	rm -rf r-loc r-cp
	row install "airpack-setup install --from (${big_mib} MiB copy component)" inst_airpack \
		"cp && sync" inst_cp_sync
	row install "airpack-setup install --from" inst_airpack \
		"openssl dgst && cp && sync" inst_verify_cp
	row install "airpack-setup install --from" inst_airpack \
		"openssl dgst twice && cp && sync" inst_verify2_cp
	row install "airpack-setup install --bundle (${big_mib} MiB, tar bundle)" inst_bundle \
		"tar -xf (the payload only) && sync" inst_tar_x
	row install "airpack-setup install --bundle" inst_bundle "airpack-setup install --from" \
		inst_airpack
fi

# ---- extraction ------------------------------------------------------------

if want extract; then
	section extract "extracting $tree_files files"
	measure ex_airpack_tgz "rm -rf r-x; sync" \
		"\"\$S\" install --from tgz/rel --trust key.pub.pem --root r-x --quiet"
	measure ex_tar "rm -rf x; mkdir x; sync" "tar -xzf tgz/rel/tree.tar.gz -C x"
	measure ex_tar_sync "rm -rf x; mkdir x; sync" \
		"tar -xzf tgz/rel/tree.tar.gz -C x && find x -type f -exec sync {} +"
	measure ex_airpack_zip "rm -rf r-x; sync" \
		"\"\$S\" install --from zip/rel --trust key.pub.pem --root r-x --quiet"
	measure ex_unzip "rm -rf x; mkdir x; sync" "unzip -q zip/rel/tree.zip -d x"
	measure ex_unzip_sync "rm -rf x; mkdir x; sync" \
		"unzip -q zip/rel/tree.zip -d x && find x -type f -exec sync {} +"
	run_group
	rm -rf r-x x
	row extract "airpack-setup install, tar.gz of $tree_files files (${tree_mib} MiB)" \
		ex_airpack_tgz "tar -xzf" ex_tar
	row extract "airpack-setup install, tar.gz" ex_airpack_tgz \
		"tar -xzf && fsync every file" ex_tar_sync
	row extract "airpack-setup install, zip of $tree_files files" ex_airpack_zip "unzip" ex_unzip
	row extract "airpack-setup install, zip" ex_airpack_zip \
		"unzip && fsync every file" ex_unzip_sync
fi

# ---- many small files ------------------------------------------------------

if want many; then
	section many "installing and uninstalling $many_files files of $many_bytes bytes"
	inst_many="\"\$S\" install --from many/rel --trust key.pub.pem --quiet"
	# The installs' outputs are moved aside, not removed, until both sides
	# are measured: on this ext4 (no journal) an inode freed in the last
	# few minutes is passed over when a new one is allocated, after a read
	# of its inode table block, so creating files just after removing tens
	# of thousands of them costs whichever side lands in those groups up to
	# 6 times more (tar -xf && sync took 1.2 s or 8.7 s in the same round).
	mkdir -p aside
	measure many_airpack "[ ! -d r-m ] || mv r-m \"\$(mktemp -d -p aside)\"; sync" \
		"$inst_many --root r-m"
	measure many_tar "[ ! -d x-m ] || mv x-m \"\$(mktemp -d -p aside)\"; mkdir x-m; sync" \
		"tar -xf many/rel/tree.tar -C x-m && sync"
	run_group
	rm -rf aside r-m x-m
	sync
	measure many_uninst "rm -rf r-u; $inst_many --root r-u; sync" \
		"\"\$S\" uninstall --root r-u --product bench-many --quiet"
	measure many_rm "rm -rf x-u; mkdir x-u; tar -xf many/rel/tree.tar -C x-u; sync" \
		"rm -rf x-u && sync"
	run_group
	rm -rf r-u x-u
	row many "airpack-setup install, tar of $many_files files of $many_bytes B (extract)" \
		many_airpack "tar -xf && sync" many_tar
	row many "airpack-setup uninstall of those files" many_uninst "rm -rf && sync" many_rm
fi

# ---- self-extracting setup --------------------------------------------------

if want sfx; then
	section sfx "writing a self-extracting setup of ${big_mib} MiB"
	build_big="\"\$A\" build big/src.json --payloads big/pay --key key.pem --quiet"
	measure sfx_airpack "rm -rf out/*; sync" "$build_big --compress none --sfx out/setup"
	measure sfx_bundle "rm -rf out/*; sync" "$build_big --compress none -o out/b.tar"
	measure sfx_tar_sync "rm -rf out/*; sync" \
		"tar -cf out/t.tar -C big/pay blob.bin && sync out/t.tar"
	run_group
	rm -rf out/*
	row sfx "airpack build --sfx (${big_mib} MiB)" sfx_airpack "airpack build -o" sfx_bundle
	row sfx "airpack build --sfx" sfx_airpack "tar -cf && sync" sfx_tar_sync
fi

# ---- peak memory -----------------------------------------------------------

# rss ID CMD...: peak RSS in KiB of one run into $res/rss.ID (FAIL on error).
rss() {
	local id=$1

	shift
	if /usr/bin/time -v -o "$res/rss.$id.time" "$@" >"$res/rss.$id.log" 2>&1; then
		awk -F': ' '/Maximum resident set size/ { print $2 }' "$res/rss.$id.time" \
			>"$res/rss.$id"
	else
		echo FAIL >"$res/rss.$id"
		bench_failed=1
		note "rss $id FAILED: $*"
		tail -n 20 "$res/rss.$id.log" >&2
	fi
	note "$(printf 'rss %-20s %s KiB' "$id" "$(cat "$res/rss.$id")")"
}

# rss_row LABEL SMALL_ID SMALL_LABEL BIG_ID BIG_LABEL
rss_row() {
	local s b r

	s=$(cat "$res/rss.$2")
	b=$(cat "$res/rss.$4")
	if [ "$s" != FAIL ] && [ "$b" != FAIL ]; then
		r=$(awk -v x="$b" -v y="$s" 'BEGIN { printf "%.2f", x / y }')
	else
		r=failed
	fi
	printf '| %s | %s: %s KiB | %s: %s KiB | **%s** |\n' "$1" "$3" "$s" "$5" "$b" "$r" \
		>>"$res/table.rss"
}

if want rss; then
	note "peak RSS"
	for sz in small big; do
		rss "build_none_$sz" "$A" build "$sz/src.json" --payloads "$sz/pay" --key key.pem \
			--quiet --compress none -o "out/$sz.tar"
		rm -f out/*
		rss "build_layout_$sz" "$A" build "$sz/src.json" --payloads "$sz/pay" --key key.pem \
			--quiet --compress none --layout "out/lay-$sz"
		rm -rf out/*
		rss "install_$sz" "$S" install --from "$sz/rel" "${T[@]}" --root "r-rss-$sz" --quiet
		rm -rf "r-rss-$sz"
	done
	rss build_gzip_small "$A" build small/src.json --payloads small/pay --key key.pem \
		--quiet --compress gzip -o out/s.tgz
	rss build_gzip_mixed "$A" build mixed/src.json --payloads mixed/pay --key key.pem \
		--quiet --compress gzip -o out/m.tgz
	rm -f out/*
	mkdir -p www dl
	ln -f big/pay/blob.bin www/big.bin
	ln -f small/pay/blob.bin www/small.bin
	nginx_start "$tmp/www"
	rss fetch_small "$F" get "$NGINX_URL/small.bin" dl/small.bin "$small_size" "$small_sha"
	rss fetch_big "$F" get "$NGINX_URL/big.bin" dl/big.bin "$big_size" "$big_sha"
	nginx_stop
	rm -rf dl/*
	rss_row "airpack build --compress none -o" build_none_small "${small_mib} MiB" \
		build_none_big "${big_mib} MiB"
	rss_row "airpack build --layout" build_layout_small "${small_mib} MiB" \
		build_layout_big "${big_mib} MiB"
	rss_row "airpack build --compress gzip -o" build_gzip_small "${small_mib} MiB random" \
		build_gzip_mixed "${gz_mib} MiB mixed"
	rss_row "airpack-setup install --from (copy)" install_small "${small_mib} MiB" \
		install_big "${big_mib} MiB"
	rss_row "ap-fetch-tool get (libcurl)" fetch_small "${small_mib} MiB" fetch_big \
		"${big_mib} MiB"
fi
if want many; then
	rss many_tenth "$S" install --from many10/rel "${T[@]}" --root r-rss-m10 --quiet
	rss_rel=many/rel
	[ "$many_rss_files" != "$many_files" ] && rss_rel=manyrss/rel
	rss many_all "$S" install --from "$rss_rel" "${T[@]}" --root r-rss-m --quiet
	rm -rf r-rss-m10 r-rss-m
	rss_row "airpack-setup install (extract, $many_bytes B files, SBOM $many_sbom)" \
		many_tenth "$(tar -tf many10/pay/tree.tar | grep -vc '/$') files" many_all \
		"$many_rss_files files"
fi

# ---- report ----------------------------------------------------------------

buildtype=$(python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] in ("buildtype", "b_sanitize"):
        print("%s=%s" % (o["name"], o["value"]), end=" ")' \
	"$builddir/meson-info/intro-buildoptions.json" 2>/dev/null | sed 's/ *$//')

report() {
	local t

	echo "## airpack benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $(nproc) cpus, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
		"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "- file system of the work folder:" \
		"$(findmnt -no FSTYPE -T "$tmp" 2>/dev/null || stat -f -c %T "$tmp")," \
		"load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- tools: $(openssl version | cut -d' ' -f1-2), $(tar --version | head -n1)," \
		"$(curl --version | head -n1 | cut -d' ' -f1-2), $(unzip -v | head -n1 | cut -d' ' -f1-2)," \
		"$("$NGINX" -v 2>&1 | cut -d' ' -f3)," \
		"$(command -v hyperfine >/dev/null && hyperfine --version)"
	echo "- airpack build: $builddir ($buildtype)"
	echo "- sizes: big ${big_mib} MiB random, gzip input ${gz_mib} MiB mixed," \
		"small ${small_mib} MiB, tree $tree_files files / ${tree_mib} MiB," \
		"many $many_files files of $many_bytes B (peak RSS at $many_rss_files," \
		"SBOM $many_sbom);" \
		"median of $runs runs after $warmup warmup, timer: $timer$([ "$quick" = 1 ] &&
			echo ' (QUICK: a smoke run, not a measurement)')"
	echo "- inputs are in the page cache; outputs are new files (a prepare step" \
		"removes the last output and runs sync before each run)"
	echo
	for t in hash pack gzip download parallel install extract many sfx; do
		[ -s "$res/table.$t" ] || continue
		echo "### $t (load average $(paste -sd' ' "$res/load.$t" | sed 's/ / -> /g'))"
		echo
		echo "| airpack | baseline | airpack s | baseline s | spread | ratio | min ratio |"
		echo "|---|---|---|---|---|---|---|"
		cat "$res/table.$t"
		echo
		case $t in
		gzip)
			echo "Bundle size / tar.gz size: **$gz_size_ratio**;" \
				"bundle size / input size: $gz_of_input."
			echo ;;
		download)
			echo "Resumed download from half: nginx sent $resume_bytes bytes," \
				"the missing part is $resume_want bytes."
			echo ;;
		esac
	done
	if [ -s "$res/table.rss" ]; then
		echo "### peak RSS (/usr/bin/time -v)"
		echo
		echo "| command | small | big | big / small |"
		echo "|---|---|---|---|"
		cat "$res/table.rss"
		echo
	fi
	[ "$bench_failed" = 1 ] && echo "**Some measurements failed: see the log above.**"
}

report >"$res/report.md"
cat "$res/report.md"
[ -n "$outfile" ] && cp "$res/report.md" "$outfile"
exit "$bench_failed"
