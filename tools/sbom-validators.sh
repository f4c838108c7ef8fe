#!/usr/bin/env bash
# sbom-validators.sh - install the SBOM validators the tests use
# (tests/sbom/validate.js) from the npm registry into .cache/sbom-validators:
# the CycloneDX project's library (its JSON Schema validator for 1.5, with
# ajv) and spdx-expression-parse.  Versions are pinned; a rerun with them in
# place does nothing.  Needs node and npm (tools/deps.sh installs them).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$top/.cache/sbom-validators
pkgs=(@cyclonedx/cyclonedx-library@10.3.0 ajv@8.17.1 ajv-formats@3.0.1
	ajv-formats-draft2019@1.6.1 spdx-expression-parse@4.0.0)
stamp=$dest/installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${pkgs[*]}" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "sbom-validators.sh: npm is missing (tools/deps.sh installs it)" >&2
	exit 1
fi
mkdir -p "$dest"
echo "sbom-validators.sh: installing ${pkgs[*]}"
npm install --prefix "$dest" --no-audit --no-fund --no-save --loglevel=error "${pkgs[@]}" >/dev/null
echo "${pkgs[*]}" >"$stamp"
