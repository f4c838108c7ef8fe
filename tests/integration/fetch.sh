#!/bin/bash
# fetch.sh - lib/fetch.c against a real nginx, through tests/tools/fetch_tool.c.
# Every scenario checks the tool's verdict, the files left behind, and what
# nginx's access log says was requested and sent.
. "$(dirname "$0")/lib.sh"

T=${AP_FETCH_TOOL:?AP_FETCH_TOOL must name the ap-fetch-tool binary}
export AP_FETCH_RETRY_MS=20

MIB=1048576
SIZE=$((4 * MIB))
HALF=$((SIZE / 2))

www=$tmp/www
mkdir -p "$www" "$tmp/dl"
random_file "$www/a.bin" "$SIZE"
random_file "$www/other.bin" "$SIZE"
random_file "$www/big.bin" $((20 * MIB))
random_file "$www/small.bin" 1000
A=$(sha256_of "$www/a.bin")
OTHER=$(sha256_of "$www/other.bin")
SMALL=$(sha256_of "$www/small.bin")

# /crawlfirst/: a request without Range crawls (200 bytes/s, below any
# low-speed limit), one with Range is served at full speed, so a first try
# fails mid-transfer and its retry completes; the -norange variant then
# ignores the retry's Range and sends the whole file again.
crawlfirst="alias $www/; sendfile off; output_buffers 1 1k; limit_rate \$ap_rate;"
# For single requests (ap_http_request): /up/ takes PUT uploads into
# $tmp/up (WebDAV), /teapot answers 418, /registry answers 401 with the
# headers a registry sends, /echo shows the request headers it got.
mkdir -p "$tmp/up"
NGINX_TLS=1 nginx_start "$www" "
		set \$ap_rate 0;
		if (\$http_range = \"\") {
			set \$ap_rate 200;
		}
		location /crawlfirst/ { $crawlfirst }
		location /crawlfirst-norange/ { $crawlfirst max_ranges 0; }
		location /up/ {
			alias $tmp/up/;
			dav_methods PUT;
			client_max_body_size 64m;
		}
		location = /teapot {
			default_type text/plain;
			return 418 \"short and stout\";
		}
		location = /registry {
			add_header Docker-Content-Digest sha256:$A always;
			add_header WWW-Authenticate 'Bearer realm=\"https://auth.invalid/token\",service=\"reg\"' always;
			add_header Location /v2/next always;
			default_type application/json;
			return 401 '{\"errors\":[]}';
		}
		location = /echo {
			default_type text/plain;
			return 200 \"accept=\$http_accept auth=\$http_authorization\";
		}"
U=$NGINX_URL
d=$tmp/dl

# show_log: the access log of the case that just ran, as TAP comments
show_log() {
	if [ -s "$NGINX_LOG" ]; then
		nginx_wait_requests "$(nginx_requests)"
		diag "$(sed 's/^/nginx: /' "$NGINX_LOG")"
	fi
}

# fresh_case NAME: empty download folder and access log
fresh_case() {
	show_log
	rm -f "$d"/*
	nginx_log_clear
	diag "--- $1"
}

# ---- full download ------------------------------------------------------
fresh_case "full download"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "full: result" "$out" "ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=200"
is "full: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "full: no .partial left" "$d/a.bin.partial"
is "full: one request" "$(nginx_requests)" 1
is "full: one plain 200 without range" "$(nginx_requests "^GET /a.bin 200 $SIZE -$")" 1
is "full: bytes sent = size" "$(nginx_bytes)" "$SIZE"

# ---- nothing to do -------------------------------------------------------
fresh_case "complete .partial"
cp "$www/a.bin" "$d/a.bin.partial"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "complete partial: result" "$out" "ok bytes=0 resumed=0 restarted=0 attempts=0 status=0"
is "complete partial: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "complete partial: .partial renamed" "$d/a.bin.partial"
is "complete partial: no request at all" "$(nginx_requests)" 0

# ---- resume ---------------------------------------------------------------
fresh_case "resume"
head -c "$HALF" "$www/a.bin" >"$d/a.bin.partial"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "resume: result" "$out" "ok bytes=$HALF resumed=1 restarted=0 attempts=1 status=206"
is "resume: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "resume: no .partial left" "$d/a.bin.partial"
is "resume: one request" "$(nginx_requests)" 1
is "resume: a 206 for the range after the partial" \
	"$(nginx_requests "^GET /a.bin 206 $HALF bytes=$HALF-$")" 1
is "resume: bytes sent = the missing half" "$(nginx_bytes)" "$HALF"
head -c "$HALF" "$www/a.bin" >"$d/p.bin.partial"
AP_FETCH_PROGRESS=1 run "$T" get "$U/a.bin" "$d/p.bin" "$SIZE" "$A"
first=$(printf '%s\n' "$out" | sed -n 's/^progress calls=[0-9]* first=\([0-9]*\) .*/\1/p')
contains "progress: ends at the whole file" "$out" " last=$SIZE/$SIZE"
ok_first=0
[ -n "$first" ] && [ "$first" -gt "$HALF" ] && [ "$first" -le "$SIZE" ] && ok_first=1
is "progress: counts the bytes already in the .partial (first=$first)" "$ok_first" 1

# ---- the server ignores Range ---------------------------------------------
fresh_case "server ignores Range"
head -c "$HALF" "$www/a.bin" >"$d/a.bin.partial"
run "$T" get "$U/norange/a.bin" "$d/a.bin" "$SIZE" "$A"
is "norange: result (restarted in the same transfer)" "$out" \
	"ok bytes=$SIZE resumed=0 restarted=1 attempts=1 status=200"
is "norange: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "norange: no .partial left" "$d/a.bin.partial"
is "norange: one request, asked for a range, got a 200" \
	"$(nginx_requests "^GET /norange/a.bin 200 $SIZE bytes=$HALF-$")" 1
is "norange: only that request" "$(nginx_requests)" 1

# ---- a .partial holding wrong bytes ----------------------------------------
fresh_case "wrong bytes in the .partial"
head -c "$HALF" "$www/other.bin" >"$d/a.bin.partial"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "bad partial: result" "$out" \
	"ok bytes=$((HALF + SIZE)) resumed=1 restarted=1 attempts=2 status=200"
is "bad partial: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "bad partial: no .partial left" "$d/a.bin.partial"
is "bad partial: two requests" "$(nginx_requests)" 2
is "bad partial: first the resume" "$(nginx_requests "^GET /a.bin 206 $HALF bytes=$HALF-$")" 1
is "bad partial: then from zero" "$(nginx_requests "^GET /a.bin 200 $SIZE -$")" 1

# ---- a retry continues the running hash -------------------------------------
# The hash is taken while writing: after a transfer cut short, the retry must
# continue it with exactly the bytes in the .partial, or the verdict would be
# a mismatch and a restart from zero.
fresh_case "retry after a transfer cut short"
AP_FETCH_LOW_SPEED_TIME=1 run "$T" get "$U/crawlfirst/a.bin" "$d/a.bin" "$SIZE" "$A"
is "cut short: result (resumed, no restart, every byte fetched once)" "$out" \
	"ok bytes=$SIZE resumed=1 restarted=0 attempts=2 status=206"
is "cut short: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "cut short: no .partial left" "$d/a.bin.partial"
nginx_wait_requests 2
is "cut short: first a plain request" "$(nginx_requests "^GET /crawlfirst/a.bin 200 [0-9]+ -$")" 1
is "cut short: then the rest" \
	"$(nginx_requests "^GET /crawlfirst/a.bin 206 [0-9]+ bytes=[1-9][0-9]*-$")" 1

fresh_case "retry after a transfer cut short, answered from zero"
AP_FETCH_LOW_SPEED_TIME=1 run "$T" get "$U/crawlfirst-norange/a.bin" "$d/a.bin" "$SIZE" "$A"
is "cut short, then 200: exit status" "$rc" 0
contains "cut short, then 200: restarted in the second transfer" "$out" \
	" resumed=0 restarted=1 attempts=2 status=200"
is "cut short, then 200: file hash" "$(sha256_of "$d/a.bin")" "$A"
absent "cut short, then 200: no .partial left" "$d/a.bin.partial"
nginx_wait_requests 2
is "cut short, then 200: the retry asked for the rest and got it all" \
	"$(nginx_requests "^GET /crawlfirst-norange/a.bin 200 $SIZE bytes=[1-9][0-9]*-$")" 1

# ---- a complete .partial holding wrong bytes -------------------------------
fresh_case "complete .partial with wrong bytes"
cp "$www/other.bin" "$d/a.bin.partial"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "bad complete partial: result" "$out" \
	"ok bytes=$SIZE resumed=0 restarted=1 attempts=1 status=200"
is "bad complete partial: file hash" "$(sha256_of "$d/a.bin")" "$A"
is "bad complete partial: one request from zero" \
	"$(nginx_requests "^GET /a.bin 200 $SIZE -$")" 1

# ---- 416: the .partial already covers the server's whole (shorter) file ------
fresh_case "416"
head -c 2000 /dev/zero >"$d/s.bin.partial"
run "$T" get "$U/small.bin" "$d/s.bin" 4000 "$SMALL"
is "416: exit status digest" "$rc" 4
contains "416: digest error" "$out" "error digest: sha256 mismatch for '$U/small.bin'"
contains "416: names the actual hash of the 1000 bytes" "$out" "got $SMALL (1000 bytes)"
absent "416: no file" "$d/s.bin"
absent "416: no .partial" "$d/s.bin.partial"
is "416: the resume got 416" "$(nginx_requests "^GET /small.bin 416 [0-9]+ bytes=2000-$")" 1
is "416: then one try from zero" "$(nginx_requests "^GET /small.bin 200 1000 -$")" 1
is "416: nothing else" "$(nginx_requests)" 2

# ---- 404 with an HTML body ----------------------------------------------------
fresh_case "404"
run "$T" get "$U/missing/a.bin" "$d/a.bin" "$SIZE" "$A"
is "404: exit status notfound" "$rc" 8
is "404: message" "$out" \
	"error notfound: downloading '$U/missing/a.bin' failed: HTTP 404 Not Found"
absent "404: no file" "$d/a.bin"
absent "404: no .partial (the HTML never saved)" "$d/a.bin.partial"
is "404: one request, no retries" "$(nginx_requests "^GET /missing/a.bin 404 ")" 1
is "404: only that request" "$(nginx_requests)" 1
head -c "$HALF" "$www/a.bin" >"$d/a.bin.partial"
run "$T" get "$U/missing/a.bin" "$d/a.bin" "$SIZE" "$A"
is "404 on resume: exit status notfound" "$rc" 8
is "404 on resume: the .partial is untouched" "$(sha256_of "$d/a.bin.partial")" \
	"$(head -c "$HALF" "$www/a.bin" | sha256sum | cut -c1-64)"
is "404 on resume: the request asked for the rest" \
	"$(nginx_requests "^GET /missing/a.bin 404 [0-9]+ bytes=$HALF-$")" 1

# ---- 503: retried, then given up ------------------------------------------------
fresh_case "503"
run "$T" get "$U/unavailable/a.bin" "$d/a.bin" "$SIZE" "$A"
is "503: exit status fetch" "$rc" 7
contains "503: message" "$out" \
	"error fetch: downloading '$U/unavailable/a.bin' failed after 4 attempts: HTTP 503"
absent "503: no .partial" "$d/a.bin.partial"
is "503: 1 try + 3 retries" "$(nginx_requests "^GET /unavailable/a.bin 503 ")" 4

# ---- wrong bytes served ------------------------------------------------------
fresh_case "wrong bytes served"
cp "$www/other.bin" "$www/liar.bin"
run "$T" get "$U/liar.bin" "$d/a.bin" "$SIZE" "$A"
is "digest: exit status" "$rc" 4
want="error digest: sha256 mismatch for '$U/liar.bin': expected $A ($SIZE bytes),"
is "digest: message names url, expected and actual" "$out" "$want got $OTHER ($SIZE bytes)"
absent "digest: no file" "$d/a.bin"
absent "digest: no .partial" "$d/a.bin.partial"
is "digest: one request (no retry from zero after a fresh download)" "$(nginx_requests)" 1
is "digest: bytes sent" "$(nginx_bytes)" "$SIZE"

# ---- more bytes than expected ---------------------------------------------------
fresh_case "too big (Content-Length)"
run "$T" get "$U/big.bin" "$d/a.bin" "$MIB" "$A"
is "toobig: exit status" "$rc" 4
is "toobig: message" "$out" \
	"error toobig: '$U/big.bin' sent more than the expected $MIB bytes"
absent "toobig: no file" "$d/a.bin"
absent "toobig: no .partial" "$d/a.bin.partial"
nginx_wait_requests 1
sent=$(nginx_bytes)
diag "nginx sent $sent of $((20 * MIB)) bytes before the abort"
ok_small=0
[ "$sent" -lt $((20 * MIB)) ] && ok_small=1
is "toobig: the transfer stopped early" "$ok_small" 1
is "toobig: one request" "$(nginx_requests)" 1

fresh_case "too big (chunked, no Content-Length)"
run "$T" get "$U/chunked/big.bin" "$d/a.bin" "$MIB" "$A"
is "toobig chunked: message" "$out" \
	"error toobig: '$U/chunked/big.bin' sent more than the expected $MIB bytes"
absent "toobig chunked: no file" "$d/a.bin"
absent "toobig chunked: no .partial" "$d/a.bin.partial"
nginx_wait_requests 1
sent=$(nginx_bytes)
diag "nginx sent $sent of $((20 * MIB)) bytes (chunked) before the abort"
ok_small=0
[ "$sent" -lt $((20 * MIB)) ] && ok_small=1
is "toobig chunked: the transfer stopped early" "$ok_small" 1

# ---- connection refused ------------------------------------------------------------
fresh_case "connection refused"
closed=$(_free_port)
start=$(date +%s%N)
run "$T" get "http://127.0.0.1:$closed/a.bin" "$d/a.bin" "$SIZE" "$A"
ms=$((($(date +%s%N) - start) / 1000000))
diag "gave up after $ms ms"
is "refused: exit status fetch" "$rc" 7
contains "refused: message" "$out" \
	"error fetch: downloading 'http://127.0.0.1:$closed/a.bin' failed after 4 attempts:"
contains "refused: names the cause" "$out" "port $closed"
absent "refused: no .partial" "$d/a.bin.partial"
quick=0
[ "$ms" -lt 5000 ] && quick=1
is "refused: backoff bounded (20+40+80 ms)" "$quick" 1

# ---- an interrupted download resumes ------------------------------------------------
fresh_case "killed download resumes"
"$T" get "$U/slow/a.bin" "$d/a.bin" "$SIZE" "$A" >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do
	[ -s "$d/a.bin.partial" ] && [ "$(size_of "$d/a.bin.partial")" -ge 100000 ] && break
	sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
have=$(size_of "$d/a.bin.partial" 2>/dev/null || echo 0)
diag "killed with $have bytes in the .partial"
exists "killed: .partial kept" "$d/a.bin.partial"
run "$T" get "$U/a.bin" "$d/a.bin" "$SIZE" "$A"
is "killed: rerun resumes from the .partial" "$out" \
	"ok bytes=$((SIZE - have)) resumed=1 restarted=0 attempts=1 status=206"
is "killed: file hash" "$(sha256_of "$d/a.bin")" "$A"
is "killed: the rerun asked for exactly the rest" \
	"$(nginx_requests "^GET /a.bin 206 $((SIZE - have)) bytes=$have-$")" 1

# ---- too slow ------------------------------------------------------------------------
fresh_case "below the low-speed limit"
start=$(date +%s%N)
AP_FETCH_LOW_SPEED_TIME=1 AP_FETCH_RETRIES=1 run "$T" get "$U/crawl/a.bin" "$d/a.bin" "$SIZE" "$A"
ms=$((($(date +%s%N) - start) / 1000000))
diag "gave up after $ms ms"
is "slow: exit status fetch" "$rc" 7
contains "slow: message" "$out" \
	"error fetch: downloading '$U/crawl/a.bin' failed after 2 attempts: Operation too slow"
nginx_wait_requests 2
is "slow: two tries" "$(nginx_requests "^GET /crawl/a.bin ")" 2
is "slow: the retry resumed what the first try wrote" \
	"$(nginx_requests "^GET /crawl/a.bin 206 [0-9]+ bytes=[1-9][0-9]*-$")" 1
exists "slow: .partial kept for a later resume" "$d/a.bin.partial"

# ---- TLS ------------------------------------------------------------------------------
fresh_case "https"
run "$T" get "$NGINX_TLS_URL/a.bin" "$d/a.bin" "$SIZE" "$A"
is "tls: unknown CA refused" "$rc" 7
contains "tls: message names the certificate problem" "$out" "SSL certificate problem"
absent "tls: no .partial" "$d/a.bin.partial"
AP_FETCH_CACERT=$NGINX_CA run "$T" get "$NGINX_TLS_URL/a.bin" "$d/a.bin" "$SIZE" "$A"
is "tls: with the CA file" "$out" "ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=200"
is "tls: file hash" "$(sha256_of "$d/a.bin")" "$A"
rm -f "$d/a.bin"
AP_FETCH_CACERT=$NGINX_CA run "$T" get "https://localhost:${NGINX_TLS_URL##*:}/a.bin" \
	"$d/a.bin" "$SIZE" "$A"
is "tls: the name localhost is in the certificate too" "$rc" 0
is "tls: one refused handshake, two downloads" "$(nginx_requests "^GET /a.bin 200 $SIZE -$")" 2

# ---- proxy ----------------------------------------------------------------------------
# nginx answers an absolute-form request ("GET http://host/a.bin") from its
# default server, which makes it a stand-in proxy for a host that does not exist
fresh_case "proxy"
AP_FETCH_PROXY=$U run "$T" get "http://airpack.invalid/a.bin" "$d/a.bin" "$SIZE" "$A"
is "proxy option: result" "$out" "ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=200"
is "proxy option: file hash" "$(sha256_of "$d/a.bin")" "$A"
rm -f "$d/a.bin"
http_proxy=$U no_proxy= NO_PROXY= run "$T" get "http://airpack.invalid/a.bin" "$d/a.bin" \
	"$SIZE" "$A"
is "proxy env: http_proxy honoured" "$out" \
	"ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=200"
is "proxy: both went through nginx" "$(nginx_requests "^GET /a.bin 200 $SIZE -$")" 2

# ---- file:// ----------------------------------------------------------------------
fresh_case "file://"
run "$T" get "file://$www/a.bin" "$d/a.bin" "$SIZE" "$A"
is "file: result" "$out" "ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=0"
is "file: file hash" "$(sha256_of "$d/a.bin")" "$A"
head -c "$HALF" "$www/a.bin" >"$d/b.bin.partial"
run "$T" get "file://$www/a.bin" "$d/b.bin" "$SIZE" "$A"
is "file: resume" "$out" "ok bytes=$HALF resumed=1 restarted=0 attempts=1 status=0"
is "file: resumed file hash" "$(sha256_of "$d/b.bin")" "$A"
head -c "$HALF" "$www/other.bin" >"$d/w.bin.partial"
run "$T" get "file://$www/a.bin" "$d/w.bin" "$SIZE" "$A"
is "file: wrong bytes in the .partial: resumed, then from zero" "$out" \
	"ok bytes=$((HALF + SIZE)) resumed=1 restarted=1 attempts=2 status=0"
is "file: wrong bytes in the .partial: file hash" "$(sha256_of "$d/w.bin")" "$A"
run "$T" get "file://$www/nothere.bin" "$d/c.bin" "$SIZE" "$A"
is "file: missing file is notfound" "$rc" 8
absent "file: missing file leaves no .partial" "$d/c.bin.partial"
run "$T" get "file://$www/big.bin" "$d/c.bin" "$MIB" "$A"
is "file: over the cap is toobig" "$rc" 4
absent "file: toobig leaves no .partial" "$d/c.bin.partial"
is "file: no http request" "$(nginx_requests)" 0

# ---- refused schemes and redirects ---------------------------------------------------
fresh_case "ftp:// refused"
run "$T" get "ftp://127.0.0.1:$NGINX_PORT/a.bin" "$d/a.bin" "$SIZE" "$A"
is "ftp: exit status fetch" "$rc" 7
contains "ftp: message" "$out" \
	"refusing to download 'ftp://127.0.0.1:$NGINX_PORT/a.bin': only http://, https:// and file://"
absent "ftp: no .partial" "$d/a.bin.partial"

fresh_case "redirect to file:// refused"
run "$T" get "$U/redirect-file/a.bin" "$d/a.bin" "$SIZE" "$A"
is "redirect file: exit status fetch" "$rc" 7
contains "redirect file: message" "$out" "downloading '$U/redirect-file/a.bin' failed:"
contains "redirect file: names the protocol" "$out" 'Protocol "file" not supported'
absent "redirect file: no file" "$d/a.bin"
absent "redirect file: no .partial" "$d/a.bin.partial"
is "redirect file: one request, the 302" "$(nginx_requests "^GET /redirect-file/a.bin 302 ")" 1
is "redirect file: only that request" "$(nginx_requests)" 1

fresh_case "http redirect followed"
run "$T" get "$U/redirect/a.bin" "$d/a.bin" "$SIZE" "$A"
is "redirect: result" "$out" "ok bytes=$SIZE resumed=0 restarted=0 attempts=1 status=200"
is "redirect: file hash" "$(sha256_of "$d/a.bin")" "$A"
is "redirect: 302 then 200" "$(nginx_requests "^GET /(redirect/a.bin 302|a.bin 200) ")" 2

# ---- documents into memory --------------------------------------------------------------
fresh_case "mem"
printf '{"hello": "world"}\n' >"$www/doc.json"
run "$T" mem "$U/doc.json" 1000
is "mem: body" "$out" '{"hello": "world"}'
run "$T" mem "$U/doc.json" 10
is "mem: over max is toobig" "$rc" 4
contains "mem: toobig message" "$out" "sent more than the expected 10 bytes"
run "$T" mem "$U/missing/doc.json" 1000
is "mem: 404 is notfound" "$rc" 8
not_contains "mem: no HTML printed" "$out" "<html>"
run "$T" mem "$U/chunked/doc.json" 10
is "mem: chunked over max is toobig" "$rc" 4

# ---- url join ------------------------------------------------------------------------
run "$T" join "http://h/base/" "a b+c%.bin"
is "join: encodes outside the unreserved set" "$out" "http://h/base/a%20b%2Bc%25.bin"
run "$T" join "http://h/base" "1.1.13/manifest.json"
is "join: adds one slash, keeps path separators" "$out" "http://h/base/1.1.13/manifest.json"
run "$T" escape "repository:a/b:pull,push"
is "escape: every reserved byte" "$out" "repository%3Aa%2Fb%3Apull%2Cpush"

# ---- single requests (ap_http_request) ---------------------------------------
fresh_case "req: status codes"
run "$T" req GET "$U/teapot" 1000
is "req 418: not an error" "$rc" 0
contains "req 418: status" "$out" "status=418 sent=0"
contains "req 418: body" "$out" "body=short and stout"
run "$T" req GET "$U/missing/x" 1000
contains "req 404: status, no error" "$out" "status=404 sent=0"
run "$T" req HEAD "$U/small.bin" 0
contains "req HEAD: 200" "$out" "status=200"
is "req HEAD: no body" "$(printf '%s\n' "$out" | sed -n 's/^body=//p')" ""
is "req HEAD: logged as HEAD" "$(nginx_requests "^HEAD /small.bin 200 ")" 1

fresh_case "req: headers"
run "$T" req GET "$U/registry" 0
contains "req 401: status" "$out" "status=401"
contains "req: Docker-Content-Digest captured" "$out" "digest=sha256:$A"
contains "req: WWW-Authenticate captured" "$out" 'authenticate=Bearer realm="https://auth.invalid/token",service="reg"'
contains "req: Location captured" "$out" "location=/v2/next"
contains "req: Content-Type captured" "$out" "content-type=application/json"
run "$T" req GET "$U/echo" 0 --header "Accept: application/x-test" --header "Authorization: Bearer t0k"
contains "req: header lines sent" "$out" "body=accept=application/x-test auth=Bearer t0k"

fresh_case "req: redirects"
run "$T" req GET "$U/redirect/small.bin" 0
contains "req no follow: the 302 itself" "$out" "status=302"
contains "req no follow: its Location" "$out" "location=$U/small.bin"
run "$T" req GET "$U/redirect/small.bin" 0 --follow
contains "req follow: 200" "$out" "status=200"
contains "req follow: the last response's headers only" "$out" "location="$'\n'
run "$T" req GET "$U/redirect-file/x" 0 --follow
is "req follow: file:// refused" "$rc" 7
contains "req follow: message names the request" "$out" "GET '$U/redirect-file/x' failed"

fresh_case "req: body cap"
run "$T" req GET "$U/small.bin" 100
is "req cap: toobig" "$rc" 4
contains "req cap: names the url and the cap" "$out" "the answer to GET '$U/small.bin' is over 100 bytes"
run "$T" req GET "$U/small.bin" 1000
contains "req cap: exactly max is fine" "$out" "status=200"
run "$T" req GET "file://$www/small.bin" 1000
is "req: file:// refused" "$rc" 7
contains "req: file:// message" "$out" "only http:// and https:// urls"

fresh_case "req: uploads"
run "$T" req PUT "$U/up/a.bin" 0 --file "$www/a.bin" --header "Content-Type: application/octet-stream"
contains "req upload from a file: created" "$out" "status=201 sent=$SIZE"
is "req upload from a file: the bytes arrived" "$(sha256_of "$tmp/up/a.bin")" "$A"
run "$T" req PUT "$U/up/doc.txt" 0 --data "hello registry"
contains "req upload from memory: created" "$out" "status=201 sent=14"
is "req upload from memory: the bytes arrived" "$(cat "$tmp/up/doc.txt")" "hello registry"

fresh_case "req: tls"
run "$T" req GET "$NGINX_TLS_URL/small.bin" 0
is "req tls without the CA: refused" "$rc" 7
contains "req tls without the CA: names the request" "$out" "GET '$NGINX_TLS_URL/small.bin' failed"
AP_FETCH_CACERT=$NGINX_CA run "$T" req GET "$NGINX_TLS_URL/small.bin" 0
contains "req tls with --cacert: 200" "$out" "status=200"
show_log

done_testing
