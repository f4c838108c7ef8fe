#!/usr/bin/env bash
# output.sh - the output conventions (airpack(1), airpack-setup(1) OUTPUT):
# with --json every command writes only JSON to standard output, one object
# or JSON Lines as its man page says, when it succeeds and when it fails;
# messages and errors go to standard error; no escape sequences (colour or
# progress drawing) reach a pipe, with or without NO_COLOR.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?AIRPACK not set}
S=${AIRPACK_SETUP:?AIRPACK_SETUP not set}
cd "$tmp"

# jrun MODE WHAT CMD... : run CMD, then check its standard output is only
# JSON: "object" (one JSON object, maybe laid out on several lines), "lines"
# (one JSON object per line), or "lines?" (JSON Lines, maybe none: a failure).
jrun() {
	local mode=$1 what=$2
	shift 2
	"$@" >stdout.txt 2>stderr.txt
	rc=$?
	if python3 - "$mode" stdout.txt >check.txt 2>&1 <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
if mode == "object":
    doc = json.loads(text)
    assert isinstance(doc, dict), "not one JSON object"
else:
    lines = [l for l in text.split("\n") if l.strip()]
    if mode == "lines":
        assert lines, "no JSON lines"
    for n, l in enumerate(lines, 1):
        assert isinstance(json.loads(l), dict), "line %d is not a JSON object" % n
PY
	then
		ok "$what: only JSON on standard output ($mode)"
	else
		not_ok "$what: only JSON on standard output ($mode)" "$(cat check.txt)" \
			"stdout: $(head -c 400 stdout.txt)"
	fi
}

no_escapes() { # WHAT FILE...
	local what=$1
	shift
	if grep -q $'\033' "$@"; then
		not_ok "$what: no escape sequences" "found ESC in $*"
	else
		ok "$what: no escape sequences"
	fi
}

# --- airpack ---------------------------------------------------------------------
jrun object "airpack keygen --json" "$A" keygen -o key.pem --json
is "keygen --json exits 0" "$rc" 0
jrun object "airpack build --json" "$A" build "$SRCDIR/manifests/sample-release.json" \
	--payloads "$SRCDIR/payloads/sample" --key key.pem -o b.tar --layout lay --json
is "build --json exits 0" "$rc" 0
jrun "lines?" "airpack build --json, failing" "$A" build "$SRCDIR/manifests/sample-release.json" \
	--payloads "$SRCDIR/payloads" --key key.pem -o b2.tar --json
is "build with payloads missing fails (8)" "$rc" 8
contains "and says why on standard error" "$(cat stderr.txt)" "error:"
jrun object "airpack inspect --json" "$A" inspect b.tar --json
jrun object "airpack inspect --sbom" "$A" inspect b.tar --sbom
jrun lines "airpack verify --json" "$A" verify b.tar --trust key.pub.pem --json
is "verify --json exits 0" "$rc" 0
"$A" keygen -o other.pem >/dev/null
jrun "lines?" "airpack verify --json, untrusted" "$A" verify b.tar --trust other.pub.pem --json
is "verify against another key fails (6)" "$rc" 6
jrun object "airpack publish --json" "$A" publish --mirror mirror b.tar --key key.pem --json
is "publish --json exits 0" "$rc" 0

# --- airpack-setup -----------------------------------------------------------------
T=(--trust key.pub.pem)
jrun lines "airpack-setup plan --json" "$S" plan --from lay "${T[@]}" --root R --json
jrun lines "airpack-setup install --json" "$S" install --from lay "${T[@]}" --root R --no-run --json
is "install --json exits 0" "$rc" 0
jrun "lines?" "airpack-setup install --json, untrusted" "$S" install --from lay --trust other.pub.pem \
	--root R2 --json
is "install from an untrusted release fails (6)" "$rc" 6
contains "and says why on standard error" "$(cat stderr.txt)" "error:"
jrun lines "airpack-setup status --json" "$S" status --root R --json
jrun object "airpack-setup status --sbom" "$S" status --root R --sbom
jrun lines "airpack-setup verify --json" "$S" verify --root R --json
jrun lines "airpack-setup layout --json" "$S" layout --dir lay2 --from lay "${T[@]}" --json
jrun lines "airpack-setup versions --json" "$S" versions --mirror "file://$tmp/mirror" "${T[@]}" --json
is "versions --json from a file:// mirror exits 0" "$rc" 0
key=$(openssl rand -base64 32)
jrun lines "airpack-setup provision --json" "$S" provision --root R \
	--connection-string "HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=$key" --json
is "provision --json exits 0" "$rc" 0
not_contains "the key is not shown" "$(cat stdout.txt stderr.txt)" "$key"
jrun lines "airpack-setup firstboot --json" "$S" firstboot --root R --json
jrun lines "airpack-setup log --json" "$S" log --root R --json
jrun lines "airpack-setup uninstall --json" "$S" uninstall --root R --json
jrun "lines?" "airpack-setup status --json, nothing installed" "$S" status --root R --json
is "status with nothing installed exits 8" "$rc" 8

# --- no escape sequences on a pipe, NO_COLOR or not ------------------------------------
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem -o b3.tar >o1.txt 2>e1.txt
NO_COLOR=1 "$S" install --from lay "${T[@]}" --root R3 --no-run >o2.txt 2>e2.txt
"$S" verify --root R3 -v >o3.txt 2>e3.txt
no_escapes "build, install and verify text output" o1.txt e1.txt o2.txt e2.txt o3.txt e3.txt

done_testing
