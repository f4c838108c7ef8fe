# lib.sh - the harness every tests/integration/*.sh script sources.
#
#   . "$(dirname "$0")/lib.sh"
#
# It gives a script a private temp folder, TAP assertions, and a real nginx
# on a free 127.0.0.1 port whose access log the assertions can read.
# Everything is bounded and cleans up after itself: the EXIT trap stops
# nginx and removes the temp folder, whatever way the script ends.
#
# Temp folder
#   $tmp                       created by mktemp -d; removed on exit
#                              (set AP_KEEP_TMP=1 to keep it for a post-mortem)
#
# TAP (plan printed at the end; the script's exit status is non-zero when
# anything failed)
#   ok NAME                    a passing test
#   not_ok NAME [DIAG...]      a failing test, with diagnostic lines
#   check NAME CMD [ARG...]    passes when CMD exits 0 (its output is shown when not)
#   check_fails NAME CMD...    passes when CMD exits non-zero
#   is NAME GOT WANT           string equality, both shown on failure
#   isnt NAME GOT UNWANTED     string inequality
#   contains NAME HAYSTACK NEEDLE / not_contains NAME HAYSTACK NEEDLE
#   exists NAME PATH / absent NAME PATH    a path is there / is not (not even a dangling link)
#   diag TEXT...               a "# " comment line per line of TEXT
#   skip_all REASON            nothing to test here: plan 1..0 and exit 0
#   done_testing               print the plan "1..N" and exit (0 only when all passed)
#
# Running programs
#   run CMD [ARG...]           runs CMD with stdout+stderr captured in $out and the
#                              exit status in $rc, bounded by $RUN_TIMEOUT seconds
#                              (default 120; a timeout gives rc 124)
#
# Files
#   random_file PATH SIZE      SIZE random bytes
#   sha256_of PATH             prints the file's SHA-256 (lowercase hex)
#   size_of PATH               prints the file's size in bytes
#
# nginx (/usr/sbin/nginx or $NGINX)
#   nginx_start DOCROOT [EXTRA]  serve DOCROOT; EXTRA is added inside the server
#                              block (e.g. "location /x/ { return 500; }").  Call it in
#                              the script's own shell, not inside $(...).  Sets:
#       NGINX_URL              http://127.0.0.1:PORT
#       NGINX_PORT, NGINX_LOG  the port and the access log path
#     Locations besides "/" (which serves DOCROOT with ranges):
#       /norange/...           DOCROOT with ranges ignored (max_ranges 0: always 200)
#       /slow/...              DOCROOT at $NGINX_SLOW_RATE bytes/s (default 256k)
#       /crawl/...             DOCROOT at 200 bytes/s (below any low-speed limit)
#       /chunked/...           DOCROOT chunked, without Content-Length (sub_filter)
#       /missing/...           404 with an HTML body
#       /unavailable/...       503 with a text body
#       /redirect/NAME         302 to /NAME on the same server
#       /redirect-file/...     302 to file:///etc/passwd
#     With NGINX_TLS=1 set before nginx_start, the same locations are also served
#     over TLS on a second port, with a certificate for 127.0.0.1 from a CA made
#     for this run:
#       NGINX_TLS_URL          https://127.0.0.1:PORT2
#       NGINX_CA               the CA certificate (PEM) that verifies it
#   nginx_stop                 stop it (also done on exit)
#   nginx_log_clear            empty the access log (start a new measurement)
#   nginx_requests [REGEX]     count access log lines (matching the extended REGEX)
#   nginx_bytes [REGEX]        sum the body bytes sent over those lines
#   nginx_wait_requests N      wait (at most 5 s) until the log has N lines; nginx
#                              logs a request when it ends, a client abort included
#   Each access log line reads: METHOD URI STATUS BODY_BYTES_SENT RANGE
#   where RANGE is the request's Range header or "-".
#
# Proxy variables are neutralised for 127.0.0.1 and localhost (no_proxy), so
# a proxy configured on the CI machine never sees the tests' requests.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/airpack-it.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}

export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

_tap_n=0
_tap_failed=0
_nginx_pid=
NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_SLOW_RATE=${NGINX_SLOW_RATE:-256k}

_lib_cleanup() {
	local status=$?

	nginx_stop
	if [ "${AP_KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	exit "$status"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- TAP ---------------------------------------------------------------

diag() {
	local line

	printf '%s\n' "$*" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

ok() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$1"
}

not_ok() {
	local line

	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$1"
	shift
	for line in "$@"; do
		[ -n "$line" ] && diag "$line"
	done
	return 0
}

check() {
	local name=$1 output status

	shift
	output=$("$@" 2>&1)
	status=$?
	if [ "$status" -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "command failed with exit status $status: $*" "$output"
	fi
}

check_fails() {
	local name=$1 output status

	shift
	output=$("$@" 2>&1)
	status=$?
	if [ "$status" -ne 0 ]; then
		ok "$name"
	else
		not_ok "$name" "command succeeded but should have failed: $*" "$output"
	fi
}

is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:  '$2'" "want: '$3'"
	fi
}

isnt() {
	if [ "$2" != "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got '$2', which it must not be"
	fi
}

contains() {
	case "$2" in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1" "looked for: '$3'" "in: '$2'" ;;
	esac
}

not_contains() {
	case "$2" in
	*"$3"*) not_ok "$1" "found: '$3'" "in: '$2'" ;;
	*) ok "$1" ;;
	esac
}

exists() {
	if [ -e "$2" ] || [ -L "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "missing: $2"
	fi
}

absent() {
	if [ -e "$2" ] || [ -L "$2" ]; then
		not_ok "$1" "present but should not be: $2"
	else
		ok "$1"
	fi
}

# hooks NAME: true when the programs under test read the test-only hooks
# (meson -Dtest_hooks=true, as tools/test.sh builds them).  Otherwise prints
# one TAP skip for the checks NAME stands for and returns 1:
#   if hooks "crash points"; then ... fi
hooks() {
	[ "${AP_TEST_HOOKS:-0}" = 1 ] && return 0
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - # SKIP %s: this build has no test hooks (meson -Dtest_hooks=true)\n' \
		"$_tap_n" "$1"
	return 1
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 0
}

done_testing() {
	printf '1..%d\n' "$_tap_n"
	if [ "$_tap_failed" -gt 0 ]; then
		diag "$_tap_failed of $_tap_n tests failed"
		exit 1
	fi
	exit 0
}

# ---- programs and files ------------------------------------------------

run() {
	out=$(timeout "${RUN_TIMEOUT:-120}" "$@" 2>&1)
	rc=$?
}

random_file() {
	head -c "$2" /dev/urandom >"$1"
}

sha256_of() {
	local h

	h=$(sha256sum <"$1") || return 1
	printf '%s\n' "${h%% *}"
}

size_of() {
	wc -c <"$1" | tr -d ' '
}

# ---- nginx ---------------------------------------------------------------

_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

_port_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_nginx_conf() {
	local docroot=$1 port=$2 extra=$3 tls_port=$4 dir=$tmp/nginx tls=

	if [ -n "$tls_port" ]; then
		tls="		listen 127.0.0.1:$tls_port ssl;
		ssl_certificate $dir/tls/server.pem;
		ssl_certificate_key $dir/tls/server.key;"
	fi

	if [ "$(id -u)" -eq 0 ]; then
		echo "user root;"
	fi
	cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events {
	worker_connections 64;
}
http {
	default_type application/octet-stream;
	client_body_temp_path $dir/client_body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	log_format airpack '\$request_method \$uri \$status \$body_bytes_sent \$http_range';
	access_log $dir/access.log airpack;
	sendfile on;
	keepalive_timeout 10s;
	server {
		listen 127.0.0.1:$port;
$tls
		server_name localhost;
		root $docroot;
		location / {
		}
		location /norange/ {
			alias $docroot/;
			max_ranges 0;
		}
		location /slow/ {
			alias $docroot/;
			limit_rate $NGINX_SLOW_RATE;
		}
		location /crawl/ {
			alias $docroot/;
			sendfile off;
			output_buffers 1 1k;
			limit_rate 200;
		}
		location /chunked/ {
			alias $docroot/;
			sub_filter_types *;
			sub_filter airpack-never-matches x;
		}
		location /missing/ {
			default_type text/html;
			return 404 "<html><head><title>404 Not Found</title></head><body>not here</body></html>\n";
		}
		location /unavailable/ {
			default_type text/plain;
			return 503 "busy, try later\n";
		}
		location /redirect/ {
			rewrite ^/redirect/(.*)\$ /\$1 redirect;
		}
		location /redirect-file/ {
			return 302 file:///etc/passwd;
		}
$extra
	}
}
EOF
}

# A CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
_nginx_make_tls() {
	local t=$1

	mkdir -p "$t"
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$t/ca.key" -out "$t/ca.pem" -days 2 -subj "/CN=airpack test CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >"$t/openssl.log" 2>&1 ||
		! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$t/server.key" -out "$t/server.pem" -days 2 -subj "/CN=127.0.0.1" \
		-CA "$t/ca.pem" -CAkey "$t/ca.key" \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-addext basicConstraints=critical,CA:FALSE \
		-addext extendedKeyUsage=serverAuth >>"$t/openssl.log" 2>&1; then
		echo "Bail out! making the test TLS certificates failed"
		diag "$(cat "$t/openssl.log")"
		exit 1
	fi
}

nginx_start() {
	local docroot extra=${2:-} dir=$tmp/nginx try i port tls_port

	docroot=$(cd "$1" && pwd) || {
		echo "Bail out! nginx_start: no such folder '$1'"
		exit 1
	}
	if [ ! -x "$NGINX" ]; then
		echo "Bail out! nginx not found at $NGINX (apt-get install nginx)"
		exit 1
	fi
	nginx_stop
	mkdir -p "$dir"
	if [ "${NGINX_TLS:-0}" = 1 ] && [ ! -f "$dir/tls/server.pem" ]; then
		_nginx_make_tls "$dir/tls"
	fi
	# a free port can be taken between probing and binding: try a few
	for try in 1 2 3 4 5; do
		port=$(_free_port) || break
		tls_port=
		if [ "${NGINX_TLS:-0}" = 1 ]; then
			tls_port=$(_free_port) || break
		fi
		_nginx_conf "$docroot" "$port" "$extra" "$tls_port" >"$dir/nginx.conf"
		: >"$dir/access.log"
		"$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
			</dev/null >"$dir/stdout.log" 2>&1 &
		_nginx_pid=$!
		for i in $(seq 50); do
			if _port_answers "$port" && { [ -z "$tls_port" ] || _port_answers "$tls_port"; }
			then
				NGINX_PORT=$port
				NGINX_URL=http://127.0.0.1:$port
				NGINX_LOG=$dir/access.log
				export NGINX_PORT NGINX_URL NGINX_LOG
				if [ -n "$tls_port" ]; then
					NGINX_TLS_URL=https://127.0.0.1:$tls_port
					NGINX_CA=$dir/tls/ca.pem
					export NGINX_TLS_URL NGINX_CA
				fi
				return 0
			fi
			if ! kill -0 "$_nginx_pid" 2>/dev/null; then
				break
			fi
			sleep 0.1
		done
		nginx_stop
	done
	echo "Bail out! nginx did not start; its error log says:"
	diag "$(tail -n 20 "$dir/error.log" "$dir/stdout.log" 2>/dev/null)"
	exit 1
}

# wait_stopped PID: wait (at most 60 s) until process PID has stopped itself
# (AP_TXN_STOP_AT); sets stopped to 1 when it did, 0 when it ended first.
wait_stopped() {
	local pid=$1 st i
	stopped=0
	for i in $(seq 1 1200); do
		st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
		if [ "$st" = T ] || [ "$st" = t ]; then
			stopped=1
			return 0
		fi
		{ [ -z "$st" ] || [ "$st" = Z ]; } && return 0
		sleep 0.05
	done
}

nginx_stop() {
	local i

	if [ -z "$_nginx_pid" ]; then
		return 0
	fi
	kill -TERM "$_nginx_pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$_nginx_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$_nginx_pid" 2>/dev/null
	wait "$_nginx_pid" 2>/dev/null
	_nginx_pid=
}

nginx_log_clear() {
	: >"$NGINX_LOG"
}

nginx_requests() {
	grep -cE -- "${1:-.}" "$NGINX_LOG"
}

nginx_bytes() {
	grep -E -- "${1:-.}" "$NGINX_LOG" | awk '{ s += $4 } END { printf "%d\n", s }'
}

nginx_wait_requests() {
	local i

	for i in $(seq 50); do
		[ "$(nginx_requests)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
