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
"$top/tools/build.sh" "$native" || {
	echo "0 passed, 1 failed"
	exit 1
}
meson configure "$native" -Dwindows_build="$win" >/dev/null

status=0
meson test -C "$win" --no-rebuild --print-errorlogs --num-processes 1 || status=1
cp "$win/meson-logs/testlog.json" "$win/meson-logs/testlog-wine.json"
meson test -C "$native" --print-errorlogs windows || status=1
echo "test-windows.sh: tests took $(($(date +%s) - t1)) s"
python3 - "$win/meson-logs/testlog-wine.json" "$native/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for name in sys.argv[1:]:
    with open(name) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
WINEPREFIX=$AIRPACK_WINEPREFIX /usr/lib/wine/wineserver64 -k 2>/dev/null
[ -n "$own_prefix" ] && rm -rf "$own_prefix"
exit $status
