#!/usr/bin/env bash
# keys.sh - which keys may sign (airpack build and publish take Ed25519
# only, and say so naming the key's type), and the full fingerprints keygen
# and inspect print for --trust-key-id.  Keys come from the stock openssl CLI.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
cd "$tmp"
unset SOURCE_DATE_EPOCH
src=$SRCDIR/manifests/sample-release.json
pay=$SRCDIR/payloads/sample

fpr_of() { # PUBLIC-PEM: sha256 of the DER public key, as openssl computes it
	openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64
}

run "$A" keygen -o key.pem
is "keygen exits 0" "$rc" 0
want=$(fpr_of key.pub.pem)
is "keygen prints the full fingerprint (sha256 of the public key's DER)" \
	"$(sed -n 's/^fingerprint: *//p' <<<"$out")" "$want"
is "and the key id is its first 16 digits" "$(sed -n 's/^key id: *//p' <<<"$out")" "${want:0:16}"
"$A" build "$src" --payloads "$pay" --key key.pem -o good.tar --quiet
mkdir -p m && "$A" publish --mirror m good.tar --key key.pem --quiet

# P-256 used to fail 9 builds in 12 ("bundle head lengths changed"): ECDSA
# signatures vary in length.  Now every non-Ed25519 key is refused up front.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ED448 -out ed448.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ossl25519.pem 2>/dev/null
for k in "p256:ECDSA P-256" "rsa:RSA 2048-bit" "ed448:Ed448"; do
	f=${k%%:*}
	type=${k#*:}
	refused=0
	for i in 1 2 3 4; do
		run "$A" build "$src" --payloads "$pay" --key "$f.pem" -o "$f-$i.tar" --layout "$f-lay$i"
		[ "$rc" = 2 ] && refused=$((refused + 1))
	done
	is "build with a $type key is refused every time (exit 2)" "$refused" 4
	contains "naming the key file and its type ($type)" "$out" "key '$f.pem' is an $type key"
	contains "and what it takes instead ($type)" "$out" "Ed25519 keys only"
	not_contains "not the writer's internal error ($type)" "$out" "head lengths changed"
	absent "no bundle was written ($type)" "$f-4.tar"
	absent "no layout was written ($type)" "$f-lay4"
	run "$A" publish --mirror m good.tar --key "$f.pem"
	is "publish with a $type key is refused (exit 2)" "$rc" 2
	contains "naming its type ($type)" "$out" "is an $type key"
done
check "the mirror index still verifies with the Ed25519 key" \
	openssl pkeyutl -verify -pubin -inkey key.pub.pem -rawin -in m/index.json -sigfile m/index.json.sig

# An Ed25519 key from openssl signs bundles that are byte-identical run after run.
ok=0
for i in 1 2 3; do
	"$A" build "$src" --payloads "$pay" --key ossl25519.pem -o "e-$i.tar" --quiet && ok=$((ok + 1))
done
is "an openssl-made Ed25519 key builds every time" "$ok" 3
check "and the bundles are byte-identical" cmp e-1.tar e-3.tar

done_testing
