#!/usr/bin/env bash
# build.sh [BUILDDIR [MESON-OPTIONS...]] - configure (once; the options are
# applied to an existing folder too) and build airpack.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" "$top" --werror "$@" >/dev/null
elif [ $# -gt 0 ]; then
	# An existing build folder gets the options too (-Dtest_hooks=true),
	# also one configured before the option existed.
	meson setup --reconfigure "$builddir" "$top" --werror "$@" >/dev/null
fi
ninja -C "$builddir" >/dev/null
