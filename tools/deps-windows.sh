#!/usr/bin/env bash
# deps-windows.sh - install the Debian 12 packages that the Windows cross
# build and its tests under wine need, when something is missing.  Run as root.
set -euo pipefail

packages=(
	gcc-mingw-w64-x86-64 libz-mingw-w64-dev wine64 cmake make perl dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps-windows.sh: missing packages: ${missing[*]}" >&2
	echo "deps-windows.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps-windows.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
