#!/usr/bin/env bash
# winnames.sh - names Windows treats specially (docs/windows.md, "Names"):
# a release for Windows whose archives or manifest name CON, nul.txt,
# "notes.", "a:b", or two names Windows sees as one, is refused by
# `airpack build` (exit 3, naming the entry; nothing written) and by
# `airpack-setup install` (exit 3, naming the entry and the field; nothing
# left in the root, so the next good install goes through).  A release for
# another platform builds with a warning.  Hostile manifests are re-signed
# by the stock openssl CLI, as an attacker holding the key would.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)

# zipof NAME ENTRY... : a zip whose entries are the given names.
zipof() {
	python3 - "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n in sys.argv[2:]:
        z.writestr(zipfile.ZipInfo(n, (2020, 1, 1, 0, 0, 0)), "data of " + n + "\n")
PY
}

# manifest PLATFORM TO : a source manifest of one extract component.
manifest() {
	cat <<EOF
{"format": "airpack/1", "product": "winapp", "version": "$3", "platform": "$1",
 "prefix": "Program Files/winapp",
 "components": [{"name": "app", "file": "app.zip",
                 "install": {"action": "extract", "to": "$2"}}]}
EOF
}

mkdir -p good bad collide
zipof good/app.zip bin/app.exe README.txt
zipof bad/app.zip bin/app.exe bin/CON
zipof collide/app.zip Docs/A.txt docs/a.txt

# --- airpack build ---------------------------------------------------------------
manifest windows-amd64 "" 1.0.0 >win.json
manifest linux-amd64 "" 1.0.0 >lin.json
run "$A" build win.json --payloads bad --key key.pem -o bad.airpack --quiet
is "build: a Windows release with CON in an archive is refused (exit 3)" "$rc" 3
contains "build: says unsafe name for Windows" "$out" "unsafe name for Windows"
contains "build: names the entry" "$out" "bin/CON"
contains "build: names the component" "$out" "component 'app'"
absent "build: no bundle written" bad.airpack
run "$A" build win.json --payloads collide --key key.pem -o collide.airpack --quiet
is "build: two entries Windows sees as one are refused (exit 3)" "$rc" 3
contains "build: names the second entry" "$out" "docs/a.txt"
run "$A" build lin.json --payloads bad --key key.pem -o lin.airpack --quiet
is "build: a Linux release with CON builds" "$rc" 0
contains "build: with a warning naming the entry" "$out" "warning: component 'app'"
contains "build: the warning says it is fine on its platform" "$out" "not on Windows"
manifest windows-amd64 "bin/aux" 1.0.0 >win-to.json
run "$A" build win-to.json --payloads good --key key.pem -o to.airpack --quiet
is "build: install.to naming aux is refused (exit 3)" "$rc" 3
contains "build: names the field" "$out" "components[0].install.to"
manifest windows-amd64 "" 1.0.0 >good.json
run "$A" build good.json --payloads good --key key.pem --layout good-rel -o good.airpack --quiet
is "build: a clean Windows release builds" "$rc" 0

# --- airpack-setup install of hostile re-signed releases ------------------------------
# resign DIR PYTHON: the good release folder, its manifest changed by PYTHON
# (m), signed again.
resign() {
	rm -rf "$1" && cp -r good-rel "$1" || return 1
	python3 - "$1/manifest.json" "$2" <<'PY' || return 1
import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(m, indent=2) + "\n")
PY
	openssl pkeyutl -sign -inkey key.pem -rawin -in "$1/manifest.json" \
		-out "$1/manifest.json.sig" 2>/dev/null
}

# The archive swapped for one with a reserved name, signed with its true
# hash, size and expanded figures: only the Windows rule can refuse it.
resign hostile-arc "pass"
cp bad/app.zip hostile-arc/app.zip
python3 - hostile-arc/manifest.json hostile-arc/app.zip <<'PY'
import hashlib, json, os, sys, zipfile
m = json.load(open(sys.argv[1]))
c = m["components"][0]
c["sha256"] = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
c["size"] = os.path.getsize(sys.argv[2])
z = zipfile.ZipFile(sys.argv[2])
c["install"]["expanded"] = {"size": sum(i.file_size for i in z.infolist()),
                            "files": len(z.infolist())}
open(sys.argv[1], "w").write(json.dumps(m, indent=2) + "\n")
PY
openssl pkeyutl -sign -inkey key.pem -rawin -in hostile-arc/manifest.json \
	-out hostile-arc/manifest.json.sig 2>/dev/null
run "$S" install --from hostile-arc "${T[@]}" --offline --root r1 --quiet
is "install: an archive entry CON in a Windows release is refused (exit 3)" "$rc" 3
contains "install: says unsafe name for Windows" "$out" "unsafe name for Windows"
contains "install: names the entry" "$out" "bin/CON"
leftovers=$(find r1 -name '*airpack-stage*' -o -name '*airpack-old*' 2>/dev/null)
is "install: nothing of the stage is left" "$leftovers" ""
absent "install: no prefix made" "r1/Program Files/winapp"
run "$S" install --from good-rel "${T[@]}" --offline --root r1 --quiet
is "install: the good release installs after the refusal" "$rc" 0
run "$S" verify --root r1 --product winapp
is "verify: the good release verifies" "$rc" 0

n=0
for case in "prefix|m['prefix'] = 'Program Files/nul'|prefix" \
	"to|m['components'][0]['install']['to'] = 'bin/Com1.txt'|components[0].install.to" \
	"dot|m['components'][0]['install']['to'] = 'bin.'|components[0].install.to" \
	"stream|m['data_dirs'] = ['ProgramData/winapp/x:y']|data_dirs[0]" \
	"config|m['config'] = {'path': 'ProgramData/winapp/CONOUT\$'}|config.path"; do
	n=$((n + 1))
	IFS='|' read -r label code field <<<"$case"
	resign "h$n" "$code"
	run "$S" install --from "h$n" "${T[@]}" --offline --root "r$n-m" --quiet
	is "install: $label unsafe for Windows is refused (exit 3)" "$rc" 3
	contains "install: $label: names the field" "$out" "$field"
	contains "install: $label: says unsafe name for Windows" "$out" "unsafe name for Windows"
	absent "install: $label: no prefix made" "r$n-m/Program Files"
done

# A Linux release is held to Windows' rules only on Windows.
resign linrel "m['platform'] = 'linux-amd64'; m['components'][0]['install']['to'] = 'aux'"
run "$S" install --from linrel "${T[@]}" --offline --root rl --quiet
is "install: a Linux release with a folder 'aux' installs on Linux" "$rc" 0

done_testing
