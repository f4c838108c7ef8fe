#!/usr/bin/env bash
# faults.sh - the network faults docs/downloads.md and docs/mirrors.md
# promise to survive, against real servers on 127.0.0.1: nginx answering 500
# until a bounded background step repairs it, and faultsrv.py, a small
# Python server that drops a connection halfway through a body once and
# answers garbage for mirror indexes.  The servers' logs are the proof of
# how many requests were made and that a retry resumed with Range.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
# The documented test hook (lib/airpack/fetch.h): a short first backoff.
export AP_FETCH_RETRY_MS=50
unset SOURCE_DATE_EPOCH

"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel -o r11.tar --quiet
T=(--trust key.pub.pem)
mkdir -p www only && cp rel/* www/
cp rel/manifest.json rel/manifest.json.sig only/
# a folder with just the signed manifest (downloads land beside it: each case
# gets its own)
manifest_only() {
	rm -rf "$1" && mkdir -p "$1" && cp rel/manifest.json rel/manifest.json.sig "$1/"
}
ZIP=moby-engine.zip
ZIPSIZE=$(size_of rel/$ZIP)

# --- faultsrv.py: a real server with scripted faults ----------------------------
pylog=$tmp/faultsrv.log
: >"$pylog"
python3 "$(dirname "$0")/faultsrv.py" "$tmp/www" "$tmp/faultsrv.port" "$pylog" &
pypid=$!
trap '_st=$?; kill "$pypid" 2>/dev/null; wait "$pypid" 2>/dev/null; (exit $_st); _lib_cleanup' EXIT
for i in $(seq 100); do
	[ -s "$tmp/faultsrv.port" ] && break
	sleep 0.1
done
[ -s "$tmp/faultsrv.port" ] || { echo "Bail out! faultsrv.py did not start"; exit 1; }
P=http://127.0.0.1:$(cat "$tmp/faultsrv.port")
pyreq() { grep -cE -- "${1:-.}" "$pylog"; }

# --- install: a 500, then a body cut halfway, then the rest with Range -------------
manifest_only m1
run "$S" install --manifest m1/manifest.json "${T[@]}" --mirror "$P/flaky" --root r1 --quiet
is "install through a 500 and a dropped connection exits 0" "$rc" 0
diag "$out"
diag "$(cat "$pylog")"
is "the zip took exactly three requests (500, cut 200, 206)" "$(pyreq "^GET /flaky/$ZIP ")" 3
is "the first answer was a 500" "$(sed -n "\|^GET /flaky/$ZIP |{p;q}" "$pylog" | cut -d' ' -f3)" 500
is "the third request resumed with Range from where the cut body ended" \
	"$(pyreq "^GET /flaky/$ZIP 206 bytes=$((ZIPSIZE / 2))-\$")" 1
is "every other payload took three requests too" "$(pyreq '^GET /flaky/')" 12
check "the zip's files are installed" test -f r1/opt/sample-edge/moby/dockerd.exe
run "$S" verify --root r1
is "verify passes after the faulty downloads" "$rc" 0

# --- layout --mirror: the same faults, the same recovery ---------------------------
: >"$pylog"
manifest_only m2
run "$S" layout --dir L --manifest m2/manifest.json "${T[@]}" --mirror "$P/flaky2" --quiet
is "layout --mirror through a 500 and a dropped connection exits 0" "$rc" 0
diag "$(cat "$pylog")"
is "layout: three requests per payload" "$(pyreq '^GET /flaky2/')" 12
is "layout: the zip resumed with Range" "$(pyreq "^GET /flaky2/$ZIP 206 bytes=$((ZIPSIZE / 2))-\$")" 1
for f in iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh; do
	check "layout wrote $f" cmp "L/$f" "rel/$f"
done

# --- nginx: 500 until a bounded background step repairs the mirror ----------------
mkdir -p www2 && cp rel/* www2/
touch broken
NGINX_TLS=1 nginx_start "$tmp/www2" "
		location /fixlater/ {
			if (-f $tmp/broken) {
				return 500;
			}
			alias $tmp/www2/;
		}"
M=$NGINX_URL
# the repair: once nginx has answered one 500, remove the fault (at most 20 s)
(
	for i in $(seq 200); do
		if grep -q ' 500 ' "$NGINX_LOG" 2>/dev/null; then
			rm -f "$tmp/broken"
			exit 0
		fi
		sleep 0.1
	done
	rm -f "$tmp/broken"
) &
fixer=$!
manifest_only m3
AP_FETCH_RETRY_MS=1000 run "$S" layout --dir L2 --manifest m3/manifest.json "${T[@]}" \
	--mirror "$M/fixlater" --quiet
wait "$fixer"
is "layout against a mirror answering 500 until repaired exits 0" "$rc" 0
diag "$out"
diag "$(cat "$NGINX_LOG")"
fives=$(nginx_requests ' 500 ')
oks=$(nginx_requests '^GET /fixlater/[^ ]* 200 ')
is "every payload was served once after the repair" "$oks" 4
if [ "$fives" -ge 1 ] && [ "$fives" -le 3 ]; then
	ok "the first file was retried after 1 to 3 answers of 500 ($fives)"
else
	not_ok "the first file was retried after 1 to 3 answers of 500" "got $fives"
fi
for f in iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh; do
	check "layout (after 500s) wrote $f" cmp "L2/$f" "rel/$f"
done

# --- a mirror that keeps answering 500: four attempts, then a clear error ---------
touch broken
nginx_log_clear
manifest_only m4
run "$S" install --manifest m4/manifest.json "${T[@]}" --mirror "$M/fixlater" --root r500 --quiet
rm -f broken
isnt "a mirror that keeps answering 500 fails the install" "$rc" 0
contains "the error counts the attempts" "$out" "failed after 4 attempts: HTTP 500"
is "1 try + 3 retries for the first file, then it stops" "$(nginx_requests ' 500 ')" 4

# --- mirror trees answering garbage: fail over to the next mirror ----------------
"$A" publish --mirror www2/tree r11.tar --key key.pem --quiet
for t in badman badsig; do
	cp -a www2/tree "www2/tree-$t"
done
printf '<html><body>Welcome to our portal</body></html>\n' >www2/tree-badman/1.1.0/manifest.json
printf 'garbage' >www2/tree-badsig/1.1.0/manifest.json.sig
V=(--version 1.1.0)
for bad in "$P/html" "$P/badjson" "$M/tree-badman" "$M/tree-badsig" "$M/missing/tree"; do
	name=${bad##*/}
	[ "$name" = tree ] && name=404
	: >"$pylog"
	nginx_log_clear
	run "$S" install --mirror "$bad" --mirror "$M/tree" "${V[@]}" "${T[@]}" --root "r-$name" --quiet
	is "first mirror $name, second good: install exits 0" "$rc" 0
	diag "$out"
	contains "the warning names the failed mirror's answer ($name)" "$out" "trying the next mirror"
	check "the release from the second mirror is installed ($name)" \
		test -f "r-$name/opt/sample-edge/moby/dockerd.exe"
	is "manifest, signature and every payload came from the second mirror ($name)" \
		"$(nginx_requests '^GET /tree/1.1.0/[^ ]* 200 ')" 6
done
contains "an HTML index is reported with its URL" "$(cat "$pylog" >/dev/null; \
	"$S" versions --mirror "$P/html" "${T[@]}" 2>&1)" "mirror index '$P/html/index.json'"

: >"$pylog"
run "$S" install --mirror "$P/html" --mirror "$P/badjson" --mirror "$M/tree-badsig" "${V[@]}" "${T[@]}" --root r-none
isnt "every mirror answering garbage fails the install" "$rc" 0
contains "the error says every mirror failed" "$out" "every mirror failed: '$P/html': "
contains "naming the second mirror" "$out" "; '$P/badjson': "
contains "and the third, with its cause" "$out" "; '$M/tree-badsig': "
absent "nothing was installed" r-none/opt/sample-edge
is "each garbage mirror was asked for its index once" "$(pyreq 'index.json ')" 2

run "$S" versions --mirror "$P/badjson" --mirror "$M/tree" "${T[@]}"
is "versions fails over from an invalid index too" "$rc" 0
contains "and lists the good mirror's releases" "$out" "1.1.0"

# --- HTTPS on a machine without CA certificates (a bare Debian 12) -------------------
# A private mount namespace hides /etc/ssl/certs behind an empty tmpfs: libcurl's
# CA bundle is then missing exactly as on a machine without ca-certificates.
NS=()
if unshare -m sh -c 'mount -t tmpfs none /etc/ssl/certs' 2>/dev/null; then
	NS=(unshare -m)
elif unshare -rm sh -c 'mount -t tmpfs none /etc/ssl/certs' 2>/dev/null; then
	NS=(unshare -rm)
fi
if [ ${#NS[@]} -gt 0 ]; then
	nocerts=("${NS[@]}" sh -c 'mount -t tmpfs none /etc/ssl/certs && exec "$@"' sh)
	manifest_only m5
	run "${nocerts[@]}" "$S" install --manifest m5/manifest.json "${T[@]}" --mirror "$NGINX_TLS_URL" \
		--root r-noca --quiet
	isnt "https without CA certificates fails" "$rc" 0
	contains "saying no CA certificates are installed" "$out" "no CA certificates are installed"
	contains "naming the missing bundle" "$out" "/etc/ssl/certs/ca-certificates.crt' is missing"
	contains "and --cacert" "$out" "pass --cacert FILE"
	not_contains "not libcurl's words" "$out" "error setting certificate file"
	run "${nocerts[@]}" "$S" install --manifest m5/manifest.json "${T[@]}" --mirror "$NGINX_TLS_URL" \
		--cacert "$NGINX_CA" --root r-noca --quiet
	is "--cacert is enough without a system CA store" "$rc" 0
	run "${nocerts[@]}" "$S" versions --mirror "$NGINX_TLS_URL/tree" "${T[@]}"
	contains "versions says the same" "$out" "no CA certificates are installed"
	run "${nocerts[@]}" "$S" versions --mirror "$NGINX_TLS_URL/tree" "${T[@]}" --cacert "$NGINX_CA"
	is "versions --cacert works too" "$rc" 0
else
	ok "# SKIP no mount namespace to hide /etc/ssl/certs in"
fi
run "$S" versions --mirror "$NGINX_TLS_URL/tree" "${T[@]}" --cacert "$tmp/no-such-ca.pem"
isnt "an unreadable --cacert fails" "$rc" 0
contains "naming the file" "$out" "--cacert '$tmp/no-such-ca.pem' cannot be read"

done_testing
