#!/usr/bin/env bash
# sbom.sh - the release's SBOM: written into the signed manifest by airpack
# build (SPDX 2.3, or CycloneDX 1.5 with --sbom-format cyclonedx), printed by
# airpack inspect --sbom and airpack-setup status --sbom, checked by the
# validators tools/sbom-validators.sh installs (tests/sbom/validate.js),
# reproducible, and covered by the signature.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?AIRPACK not set}
S=${AIRPACK_SETUP:?AIRPACK_SETUP not set}
V=$SRCDIR/tests/sbom/validate.js
export NODE_PATH=$SRCDIR/.cache/sbom-validators/node_modules
if [ ! -d "$NODE_PATH/@cyclonedx/cyclonedx-library" ] || [ ! -d "$NODE_PATH/spdx-expression-parse" ]; then
	not_ok "the SBOM validators are installed" "missing: $NODE_PATH (run tools/deps.sh)"
	done_testing
fi
cd "$tmp"
sample=$SRCDIR/manifests/sample-release.json
pay=$SRCDIR/payloads/sample

run "$A" keygen -o key.pem
is "keygen exits 0" "$rc" 0

export SOURCE_DATE_EPOCH=1700000000
run "$A" build "$sample" --payloads "$pay" --key key.pem -o b.tar --layout lay --quiet
is "build of the sample release exits 0" "$rc" 0
"$A" inspect --sbom b.tar >spdx.json 2>err.txt
is "inspect --sbom exits 0" "$?" 0
is "and writes nothing to standard error" "$(cat err.txt)" ""
run node "$V" spdx spdx.json
is "the sample's SPDX SBOM validates" "$rc" 0
[ "$rc" -eq 0 ] || diag "$out"
"$A" inspect --sbom lay >spdx-lay.json
check "the offline folder carries the same SBOM" cmp spdx.json spdx-lay.json
check "it is inside the signed manifest" python3 -c '
import json, sys
m = json.load(open("lay/manifest.json"))
assert m["sbom"] == json.load(open("spdx.json"))'

# What it says, against the payloads themselves.
check "one package per component, plus the release" python3 - "$pay" <<'PY'
import hashlib, json, os, sys
d = json.load(open("spdx.json"))
pay = sys.argv[1]
pk = {p["name"]: p for p in d["packages"]}
assert len(d["packages"]) == 5, len(d["packages"])
assert pk["sample-edge"]["versionInfo"] == "1.1.0"
for name, f in [("security-daemon", "iotedge-daemon.cab"), ("moby-engine", "moby-engine.zip"),
                ("config-template", "config.template.yaml"), ("install-check", "install-check.sh")]:
    p = pk[name]
    data = open(os.path.join(pay, f), "rb").read()
    assert p["packageFileName"] == f, p
    assert p["checksums"] == [{"algorithm": "SHA256", "checksumValue": hashlib.sha256(data).hexdigest()}], name
    assert "size %d bytes" % len(data) in p["comment"], name
m = pk["moby-engine"]
assert m["versionInfo"] == "1.1.0" and m["licenseDeclared"] == "MIT", m
assert m["supplier"] == "Organization: airpack sample payloads", m
assert pk["config-template"]["licenseDeclared"] == "NOASSERTION"
PY
check "the zip's files, each with its own sha256" python3 - "$pay" <<'PY'
import hashlib, json, sys, zipfile
d = json.load(open("spdx.json"))
z = zipfile.ZipFile(sys.argv[1] + "/moby-engine.zip")
want = {"./" + i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}
ids = {r["relatedSpdxElement"] for r in d["relationships"] if r["spdxElementId"] == "SPDXRef-Component-2"}
got = {f["fileName"]: f["checksums"][0]["checksumValue"] for f in d["files"] if f["SPDXID"] in ids}
assert want and got == want, (want, got)
PY
check "the cab's files are listed too" python3 -c '
import json
d = json.load(open("spdx.json"))
assert any(r["spdxElementId"] == "SPDXRef-Component-1" and r["relatedSpdxElement"].startswith("SPDXRef-File-1-") for r in d["relationships"])'

# Reproducible.
run "$A" build "$sample" --payloads "$pay" --key key.pem -o b2.tar --quiet
check "the same inputs give the same bundle, SBOM included" cmp b.tar b2.tar
SOURCE_DATE_EPOCH=1700000001 "$A" build "$sample" --payloads "$pay" --key key.pem -o b3.tar --quiet
"$A" inspect --sbom b3.tar >spdx3.json
is "another SOURCE_DATE_EPOCH changes only the creation time" \
	"$(diff spdx.json spdx3.json | grep -c '^[<>]')" 2
contains "to that time" "$(grep created spdx3.json)" "2023-11-14T22:13:21Z"

# CycloneDX.
run "$A" build "$sample" --payloads "$pay" --key key.pem -o c.tar --sbom-format cyclonedx --quiet
is "build --sbom-format cyclonedx exits 0" "$rc" 0
"$A" inspect --sbom c.tar >cdx.json
run node "$V" cyclonedx cdx.json
is "the sample's CycloneDX SBOM validates against the CycloneDX 1.5 schema" "$rc" 0
[ "$rc" -eq 0 ] || diag "$out"
sed 's/"SHA-256"/"SHA256"/' cdx.json >cdx-bad.json
run node "$V" cyclonedx cdx-bad.json
is "the validator refuses a wrong hash algorithm name" "$rc" 1
sed 's/"licenseDeclared": "MIT"/"licenseDeclared": "MIT license"/' spdx.json >spdx-bad.json
run node "$V" spdx spdx-bad.json
is "and an SPDX license that is not an expression" "$rc" 1
run "$A" build "$sample" --payloads "$pay" --key key.pem -o x.tar --sbom-format spdx-2.2
is "an unknown --sbom-format is a usage error" "$rc" 2
run "$A" inspect --sbom --json b.tar
is "inspect --sbom --json is a usage error" "$rc" 2

# The IoT Edge release, with stand-in payloads under its real file names.
mkdir -p iot/src
echo 'iotedged' >iot/src/iotedged.exe
(cd iot/src && gcab -c ../Microsoft-Azure-IoTEdge.cab iotedged.exe)
head -c 4096 /dev/urandom >iot/vc_redist.x64.exe
printf 'function Deploy-IoTEdge {}\n' >iot/IoTEdgeSecurityDaemon.ps1
cp "$SRCDIR/payloads/azure-iot-edge/config.template.yaml" iot/
python3 - <<'PY'
import zipfile
for name, files in [("moby-engine.zip", ["docker/dockerd.exe"]), ("moby-cli.zip", ["docker/docker.exe"])]:
    with zipfile.ZipFile("iot/" + name, "w") as z:
        for f in files:
            z.writestr(zipfile.ZipInfo(f, (1980, 1, 1, 0, 0, 0)), f + " stand-in")
PY
for fmt in spdx cyclonedx; do
	run "$A" build "$SRCDIR/manifests/azure-iot-edge-1.1.json" --payloads iot --key key.pem \
		-o iot-$fmt.tar --sbom-format $fmt --quiet
	is "build of the IoT Edge release ($fmt) exits 0" "$rc" 0
	"$A" inspect --sbom iot-$fmt.tar >iot-$fmt.json
	run node "$V" $fmt iot-$fmt.json
	is "its $fmt SBOM validates" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$out"
done
contains "with the stated license of the VC++ runtime" "$(cat iot-spdx.json)" \
	'"licenseDeclared": "LicenseRef-Microsoft-Visual-Cpp-Redistributable"'
contains "and the download location of the daemon" "$(cat iot-spdx.json)" \
	'"downloadLocation": "https://github.com/Azure/azure-iotedge/releases/download/1.1.13/Microsoft-Azure-IoTEdge-amd64.cab"'

# Covered by the signature: a changed SBOM is a changed manifest.
cp -r lay tampered
python3 - <<'PY'
p = "tampered/manifest.json"
s = open(p).read()
i = s.index('"checksumValue": "', s.index('"sbom"')) + len('"checksumValue": "')
s = s[:i] + ("0" if s[i] != "0" else "1") + s[i + 1:]
open(p, "w").write(s)
PY
run "$A" verify tampered --trust key.pub.pem
is "airpack verify refuses a release whose SBOM was changed (bad signature)" "$rc" 5
run "$S" install --from tampered --trust key.pub.pem --root r-bad --quiet
is "airpack-setup refuses to install it" "$rc" 5

# The installed SBOM.
run "$S" install --from lay --trust key.pub.pem --root r --no-run --quiet
is "install of the sample exits 0" "$rc" 0
"$S" status --root r --sbom >installed.json 2>err.txt
is "status --sbom exits 0" "$?" 0
is "and writes nothing to standard error" "$(cat err.txt)" ""
check "status --sbom prints the SBOM of the installed release" cmp spdx.json installed.json
run "$S" status --root r --sbom --json
is "status --sbom --json is a usage error" "$rc" 2
run "$S" status --root empty --sbom
is "status --sbom with nothing installed: not found" "$rc" 8

# The manifest cap: an archive of 32,000 files would give an SBOM that puts
# the manifest over the 16 MiB every reader accepts.  The build refuses it
# before writing anything; --sbom-files none builds it, listing components.
mkdir many
python3 - many/many.tar <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    for i in range(32000):
        ti = tarfile.TarInfo("d%02d/file-%05d.txt" % (i % 50, i))
        t.addfile(ti, io.BytesIO(b""))
PY
cat >many.json <<'JSON'
{"format": "airpack/1", "product": "many", "version": "1.0.0", "prefix": "opt/many",
 "components": [{"name": "files", "file": "many.tar", "install": {"action": "extract"}}]}
JSON
run "$A" build many.json --payloads many --key key.pem -o many.tar --layout manylay --quiet
is "a release whose manifest would pass 16 MiB is refused: exit 3" "$rc" 3
contains "naming the size, the count and the way out" "$out" "its SBOM lists 32000 archived files (--sbom-files none"
absent "no bundle is written" many.tar
absent "no offline folder is written" manylay
run "$A" build many.json --payloads many --key key.pem -o many.tar --sbom-files none --quiet
is "build --sbom-files none exits 0" "$rc" 0
"$A" inspect --sbom many.tar >many.sbom.json
is "its SBOM lists no files, only the release and its one component" \
	"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j.get("files", [])), len(j["packages"]))' many.sbom.json)" "0 2"
run "$A" build many.json --payloads many --key key.pem -o x.tar --sbom-files some
is "--sbom-files some is a usage error" "$rc" 2

done_testing
