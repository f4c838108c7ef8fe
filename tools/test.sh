#!/usr/bin/env bash
# test.sh [--asan] - install dependencies, build with --werror, run every
# test (unit and integration), and end with "N passed, N failed".
# --asan builds and runs the suite under AddressSanitizer + UBSan instead.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$top/build
# The suite drives the test-only hooks (airpack/testhook.h); release builds
# leave them out.
opts=(-Dtest_hooks=true)
if [ "${1:-}" = "--asan" ]; then
	builddir=$top/build-asan
	opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
"$top/tools/deps.sh" || exit 1
# The self-contained Linux setup (docs/static.md), for tests/integration/
# static.sh: its dependency prefix is cached, so only the first run builds
# it, and it is built beside the main build (its configure steps use one
# core).  A failure here fails that test instead of skipping it.
stub_pid=
if [ "$(uname -m)" = x86_64 ] && [ "$(uname -s)" = Linux ]; then
	stub_out=$(mktemp)
	"$top/tools/build-linux-static" "$top/build-static" >"$stub_out" &
	stub_pid=$!
fi
"$top/tools/build.sh" "$builddir" "${opts[@]}" || {
	[ -n "$stub_pid" ] && wait "$stub_pid"
	echo "0 passed, 1 failed"
	exit 1
}
if [ -n "$stub_pid" ]; then
	if wait "$stub_pid"; then
		export AIRPACK_STATIC_SETUP=$(tail -n 1 "$stub_out")
	else
		echo "test.sh: tools/build-linux-static failed" >&2
		export AIRPACK_STATIC_SETUP=$top/build-static/not-built
	fi
	rm -f "$stub_out"
fi
meson test -C "$builddir" --no-rebuild --print-errorlogs --num-processes 2
status=$?
python3 "$top/tools/test-tally.py" 0 0 "$builddir/meson-logs/testlog.json"
exit $status
