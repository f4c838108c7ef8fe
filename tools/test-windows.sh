#!/usr/bin/env bash
# test-windows.sh - build the Windows installer (tools/build-windows: static
# deps cached, cross build in build-win) and test it under wine: the unit
# tests that run on Windows (meson test -C build-win, through tools/wine-run)
# and tests/integration/windows.sh (setup.exe install, verify, uninstall,
# damage, offline-first) from the native build.  Ends with "N passed, N failed".
# AP_NATIVE_BUILD and AP_WIN_BUILD name other build folders (default build,
# build-win).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
native=${AP_NATIVE_BUILD:-$top/build}
win=${AP_WIN_BUILD:-$top/build-win}
own_prefix=
if [ -z "${AIRPACK_WINEPREFIX:-}" ]; then
	own_prefix=$(mktemp -d)
	export AIRPACK_WINEPREFIX=$own_prefix/wine
fi

t0=$(date +%s)
"$top/tools/deps.sh" && "$top/tools/deps-windows.sh" || {
	echo "0 passed, 1 failed"
	exit 1
}
if ! "$top/tools/build-windows" "$win"; then
	echo "test-windows.sh: the Windows build failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
t1=$(date +%s)
echo "test-windows.sh: deps and cross build took $((t1 - t0)) s;" \
	"airpack-setup.exe is $(stat -c %s "$win/installer/airpack-setup.exe") bytes"

# A reproducible, honest setup.exe: a second build from scratch in another
# folder gives the same bytes, and no path of this machine is inside.
repro_pass=0
repro_fail=0
check() {
	if "$@"; then
		repro_pass=$((repro_pass + 1))
	else
		repro_fail=$((repro_fail + 1))
	fi
}
exe=$win/installer/airpack-setup.exe
repro=$(mktemp -d)/build-win-again
if "$top/tools/build-windows" "$repro"; then
	check cmp "$exe" "$repro/installer/airpack-setup.exe"
	if [ "$repro_fail" -eq 0 ]; then
		echo "test-windows.sh: two builds of airpack-setup.exe are byte-identical"
	fi
else
	echo "test-windows.sh: the second Windows build failed" >&2
	repro_fail=$((repro_fail + 1))
fi
rm -rf "$(dirname "$repro")"
leaks() {
	local found
	found=$(grep -a -o -E "($top|$win|/var/cache/airpack|/usr/src|/build-)[^\"' ]*" "$exe" | sort -u)
	if [ -n "$found" ]; then
		echo "test-windows.sh: airpack-setup.exe names build paths:" >&2
		echo "$found" | head -n 5 >&2
		return 1
	fi
}
check leaks
"$top/tools/build.sh" "$native" || {
	echo "0 passed, 1 failed"
	exit 1
}
meson configure "$native" -Dwindows_build="$win" >/dev/null

status=0
meson test -C "$win" --no-rebuild --print-errorlogs --num-processes 1 || status=1
cp "$win/meson-logs/testlog.json" "$win/meson-logs/testlog-wine.json"
meson test -C "$native" --print-errorlogs windows || status=1
[ "$repro_fail" -eq 0 ] || status=1
echo "test-windows.sh: tests took $(($(date +%s) - t1)) s"
python3 "$top/tools/test-tally.py" "$repro_pass" "$repro_fail" "$win/meson-logs/testlog-wine.json" \
	"$native/meson-logs/testlog.json"
WINEPREFIX=$AIRPACK_WINEPREFIX /usr/lib/wine/wineserver64 -k 2>/dev/null
[ -n "$own_prefix" ] && rm -rf "$own_prefix"
exit $status
