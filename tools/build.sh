#!/usr/bin/env bash
# build.sh [BUILDDIR [MESON-OPTIONS...]] - configure (once) and build airpack.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" "$top" --werror "$@" >/dev/null
fi
ninja -C "$builddir" >/dev/null
