#!/usr/bin/env bash
# deps.sh - install what airpack needs to build and test, from Debian's
# packages, when something is missing.  Run as root on a fresh Debian 12.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config
	libarchive-dev zlib1g-dev libssl-dev libcjson-dev libcurl4-openssl-dev libyaml-dev
	openssl ca-certificates gcab nginx-light zip unzip python3 python3-yaml time
	scdoc bash-completion man-db
	cmake make dpkg-dev file
	docker-registry skopeo apache2-utils
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# node and npm run the SBOM validators (tools/sbom-validators.sh); any
# installed node will do, Debian's packages when there is none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
	exec "$(dirname "$0")/sbom-validators.sh"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The nginx package starts a system server on port 80; the tests start their
# own on 127.0.0.1 and do not need it.
# docker-registry likewise starts one on port 5000; tests/integration/oci.sh
# starts its own.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
	systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
"$(dirname "$0")/sbom-validators.sh"
