#!/usr/bin/env bash
# build.sh - the packager end to end: keygen, build (bundle, layout, setup),
# inspect, verify; interop with stock openssl, tar and sha256sum;
# reproducibility; and the failure paths.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?AIRPACK not set}
cd "$tmp"

# --- payloads and a source manifest made here --------------------------------
mkdir -p pay tree/daemon/bin
random_file pay/blob.bin 300000
python3 -c "print('config line\n' * 20000, end='')" > pay/notes.txt
echo 'daemon' > tree/daemon/bin/iotedged
echo 'cli' > tree/daemon/bin/iotedge
(cd tree && tar --sort=name --mtime=@0 --owner=0 --group=0 -czf ../pay/app.tar.gz daemon)
cat > src.json <<'JSON'
{
  "format": "airpack/1",
  "product": "demo-product",
  "version": "2.0.1",
  "channel": "stable",
  "prefix": "opt/demo",
  "components": [
    { "name": "app", "file": "app.tar.gz", "aliases": ["app-amd64.tar.gz"],
      "install": { "action": "extract", "to": "app" } },
    { "name": "blob", "file": "blob.bin", "install": { "action": "copy" } },
    { "name": "notes", "file": "notes.txt", "install": { "action": "copy", "mode": "0644" } }
  ]
}
JSON

# --- keygen -------------------------------------------------------------------
run "$A" keygen -o key.pem
is "keygen exits 0" "$rc" 0
exists "keygen writes the private key" key.pem
exists "keygen writes KEY.pub.pem" key.pub.pem
is "private key mode is 0600" "$(stat -c %a key.pem)" 600
keyid=$(echo "$out" | sed -n 's/^key id: *//p')
check "keygen prints a 16-hex-digit key id" grep -Eq '^[0-9a-f]{16}$' <<<"$keyid"
want_id=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-16)
is "key id = first 16 hex of sha256(public key DER), as openssl computes it" "$keyid" "$want_id"
before=$(sha256_of key.pem)
run "$A" keygen -o key.pem
is "keygen refuses to overwrite (exit 1)" "$rc" 1
contains "the refusal names the file and --force" "$out" "key.pem' exists: use --force"
is "the refused keygen left the key alone" "$(sha256_of key.pem)" "$before"
run "$A" keygen -o other.pem
other_id=$(echo "$out" | sed -n 's/^key id: *//p')

# --- build --------------------------------------------------------------------
run "$A" build src.json --payloads pay --key key.pem -o one/demo.tar --layout lay --json
is "build exits 0" "$rc" 0
contains "build --json names the key id" "$out" "\"key_id\":\"$keyid\""
is "tar -tf lists manifest, signature, then payloads in manifest order" \
	"$(tar -tf one/demo.tar | tr '\n' ' ')" "manifest.json manifest.json.sig app.tar.gz blob.bin notes.txt "
mkdir x && tar -xf one/demo.tar -C x
check "the bundle's signature verifies with openssl pkeyutl -rawin" \
	openssl pkeyutl -verify -pubin -inkey key.pub.pem -rawin -in x/manifest.json \
	-sigfile x/manifest.json.sig
for f in app.tar.gz blob.bin notes.txt; do
	want=$(python3 -c "import json,sys; m=json.load(open('x/manifest.json')); print([c['sha256'] for c in m['components'] if c['file']=='$f'][0])")
	is "sha256sum of extracted $f equals the manifest's" "$(sha256sum "x/$f" | cut -d' ' -f1)" "$want"
	is "extracted $f equals its source" "$(sha256_of "x/$f")" "$(sha256_of "pay/$f")"
done
is "the release manifest records the signer's key id" \
	"$(python3 -c "import json; print(json.load(open('x/manifest.json'))['key_id'])")" "$keyid"
is "the release manifest records sizes" \
	"$(python3 -c "import json; print(json.load(open('x/manifest.json'))['components'][1]['size'])")" 300000
check "the layout's manifest is byte-identical to the bundle's" cmp lay/manifest.json x/manifest.json
check "the layout holds the payloads" cmp lay/blob.bin pay/blob.bin

# --- reproducible ---------------------------------------------------------------
run "$A" build src.json --payloads pay --key key.pem -o two/demo.tar --quiet
check "two builds into different folders are byte-identical (none)" cmp one/demo.tar two/demo.tar
run "$A" build src.json --payloads pay --key key.pem -o g1/demo.tar.gz --compress gzip --quiet
run "$A" build src.json --payloads pay --key key.pem -o g2/demo.tar.gz --compress gzip --quiet
check "two gzip builds are byte-identical" cmp g1/demo.tar.gz g2/demo.tar.gz
is "gzip header has no timestamp (bytes 4-7 are zero)" "$(od -An -tx1 -j4 -N4 g1/demo.tar.gz | tr -d ' ')" "00000000"
is "tar -tzf lists the gzip bundle in order" \
	"$(tar -tzf g1/demo.tar.gz | tr '\n' ' ')" "manifest.json manifest.json.sig app.tar.gz blob.bin notes.txt "
mkdir gx && tar -xzf g1/demo.tar.gz -C gx
check "gzip bundle payloads extract intact" cmp gx/blob.bin pay/blob.bin
SOURCE_DATE_EPOCH=1700000000 run "$A" build src.json --payloads pay --key key.pem -o e1/d.tar --quiet
SOURCE_DATE_EPOCH=1700000000 run "$A" build src.json --payloads pay --key key.pem -o e2/d.tar --quiet
check "same SOURCE_DATE_EPOCH, same bytes" cmp e1/d.tar e2/d.tar
is "SOURCE_DATE_EPOCH is the entries' mtime" \
	"$(tar --full-time -tvf e1/d.tar | head -n1 | awk '{print $4" "$5}')" "2023-11-14 22:13:20"
run "$A" build src.json --payloads pay --key key.pem -o g9/d.tar.gz --compress gzip:9 --quiet
is "--compress gzip:9 builds" "$rc" 0
run "$A" build src.json --payloads pay --key key.pem -o gz/d.tar --compress zstd
is "--compress zstd is a usage error (exit 2)" "$rc" 2
contains "the usage error names --compress" "$out" "--compress: expected none, gzip"

# --- compress auto ----------------------------------------------------------------
mkdir -p comp
cp pay/app.tar.gz comp/ && random_file comp/blob.bin 300000 && cp pay/notes.txt comp/
run "$A" build src.json --payloads comp --key key.pem -o auto1/d.tar --json
contains "auto picks gzip when text dominates" "$out" '"compress":"gzip"'
mkdir -p comp2 && cp pay/app.tar.gz pay/blob.bin comp2/ && printf 'x' > comp2/notes.txt
run "$A" build src.json --payloads comp2 --key key.pem -o auto2/d.tar --json
contains "auto picks none for random and already-compressed payloads" "$out" '"compress":"none"'

# --- inspect ----------------------------------------------------------------------
run "$A" inspect one/demo.tar --json
is "inspect exits 0" "$rc" 0
contains "inspect --json shows the product" "$out" '"product":"demo-product"'
contains "inspect --json shows the key id" "$out" "\"key_id\":\"$keyid\""
contains "inspect --json shows each component's sha256" "$out" "\"sha256\":\"$(sha256_of pay/blob.bin)\""
contains "inspect --json shows the install action" "$out" '"action":"extract"'
run "$A" inspect lay
contains "inspect reads an offline folder" "$out" "offline folder"
contains "inspect text shows channel" "$out" "channel:   stable"

# --- verify -----------------------------------------------------------------------
run "$A" verify one/demo.tar --trust key.pub.pem
is "verify of a good bundle exits 0" "$rc" 0
contains "verify reports the key id" "$out" "key id $keyid"
run "$A" verify lay --trust key.pub.pem
is "verify of a good layout exits 0" "$rc" 0
mkdir trustdir && cp other.pub.pem key.pub.pem trustdir/
run "$A" verify one/demo.tar --trust trustdir
is "verify against a folder of keys exits 0" "$rc" 0
run "$A" verify one/demo.tar --trust other.pub.pem
is "verify with an untrusted key exits 6" "$rc" 6
contains "it says the signer is not trusted, with the key id" "$out" "signed by a key you do not trust (key id $keyid)"
cp -r lay lay-bad
# Flip every bit of one byte (the payload is random: writing a fixed byte
# would leave it unchanged one time in 256).
python3 -c "import sys; f=open('lay-bad/blob.bin','r+b'); f.seek(1000); b=f.read(1); f.seek(1000); f.write(bytes([b[0]^0xff]))"
run "$A" verify lay-bad --trust key.pub.pem
isnt "verify of a tampered payload fails" "$rc" 0
contains "the failure line names the component and the sha256" "$out" "FAILED  blob (blob.bin): 'blob.bin' has sha256"
rm lay-bad/notes.txt
run "$A" verify lay-bad --trust key.pub.pem
contains "a missing payload is named" "$out" "FAILED  notes (notes.txt): 'notes.txt' is missing"
cp -r lay lay-sig && sed -i 's/"demo-product"/"demo-producT"/' lay-sig/manifest.json
run "$A" verify lay-sig --trust key.pub.pem
is "a changed manifest byte is a bad signature (exit 5)" "$rc" 5
contains "it says bad signature" "$out" "bad signature"

# openssl signs, airpack verifies
cp -r lay lay-ossl
openssl genpkey -algorithm ed25519 -out ossl.pem 2>/dev/null
openssl pkey -in ossl.pem -pubout -out ossl.pub.pem
python3 - <<'PY'
import json
m = json.load(open('lay-ossl/manifest.json'))
del m['key_id']
open('lay-ossl/manifest.json', 'w').write(json.dumps(m, indent=2) + '\n')
PY
openssl pkeyutl -sign -inkey ossl.pem -rawin -in lay-ossl/manifest.json -out lay-ossl/manifest.json.sig
run "$A" verify lay-ossl --trust ossl.pub.pem
is "a signature made by openssl pkeyutl -sign -rawin verifies in airpack" "$rc" 0

# --- failure paths of build ---------------------------------------------------------
sed 's/"blob.bin", "install"/"blob.bin", "sha256": "'"$(printf '%064d' 0)"'", "install"/' src.json > pinned.json
run "$A" build pinned.json --payloads pay --key key.pem -o pin/d.tar
is "a pinned sha256 that differs fails (exit 4)" "$rc" 4
contains "the error names both values" "$out" "has sha256 $(sha256_of pay/blob.bin), the source manifest pins $(printf '%064d' 0)"
absent "nothing is left under the output name" pin/d.tar
is "no temp files are left either" "$(ls pin 2>/dev/null | wc -l)" 0
sed 's/"blob.bin", "install"/"blob.bin", "size": 12, "install"/' src.json > pinsize.json
run "$A" build pinsize.json --payloads pay --key key.pem -o pin/d.tar
contains "a pinned size that differs names both sizes" "$out" "is 300000 bytes, the source manifest pins 12"
mkdir -p pay-missing && cp pay/app.tar.gz pay/notes.txt pay-missing/
run "$A" build src.json --payloads pay-missing --key key.pem -o miss/d.tar
is "a missing payload fails (exit 8)" "$rc" 8
contains "the error names the component and file" "$out" "1 payload is missing in 'pay-missing': 'blob.bin' (component 'blob')"
mkdir -p pay-alias && cp pay/blob.bin pay/notes.txt pay-alias/ && cp pay/app.tar.gz pay-alias/app-amd64.tar.gz
run "$A" build src.json --payloads pay-alias --key key.pem -o alias/d.tar
is "a payload found under an alias builds" "$rc" 0
is "it is stored under its file name" "$(tar -tf alias/d.tar | sed -n 3p)" "app.tar.gz"
printf '{"format":"airpack/1","product":"p","version":"1","prefix":"x","components":[{"name":"a","file":"../a","install":{"action":"copy"}}]}' > bad.json
run "$A" build bad.json --payloads pay --key key.pem -o bad/d.tar
is "an invalid source manifest fails (exit 3)" "$rc" 3
contains "the error names the JSON path" "$out" "components[0].file"
run "$A" build src.json --payloads pay --key key.pub.pem -o k/d.tar
isnt "a public key is not a signing key" "$rc" 0
run "$A" build src.json --payloads pay --key key.pem
is "build with no output is a usage error" "$rc" 2
run "$A" build --help
contains "build --help shows usage" "$out" "usage: airpack build"
run "$A" --version
contains "airpack --version" "$out" "airpack "

done_testing
