#!/usr/bin/env bash
# bundles.sh - hostile bundles through BOTH `airpack verify` and
# `airpack-setup install`: one definition of a bundle, so both give the same
# verdict (exit 3 for a malformed bundle), name the same cause, and neither
# says "ok" to a bundle it refuses.  The bundles are made here from a good
# one with python's tarfile (and gzip for the compressed variants).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)
mkdir pay
for i in 1 2 3 4; do random_file pay/p$i.bin $((20000 + i * 1000)); done
cat >src.json <<'JSON'
{
  "format": "airpack/1", "product": "bundle-demo", "version": "1.0.0", "prefix": "opt/bundle-demo",
  "components": [
    { "name": "p1", "file": "p1.bin", "install": { "action": "copy" } },
    { "name": "p2", "file": "p2.bin", "install": { "action": "copy" } },
    { "name": "p3", "file": "p3.bin", "install": { "action": "copy" } },
    { "name": "p4", "file": "p4.bin", "install": { "action": "copy" } }
  ]
}
JSON
"$A" build src.json --payloads pay --key key.pem -o good.tar --compress none --quiet

# case name | expected exit of both | the cause both must name
cases=$(
	cat <<'EOF'
good|0|
truncated-in-payload|3|Truncated tar archive
truncated-at-entry|3|truncated
truncated-in-header|3|Truncated tar archive
extra-entry-at-end|3|which the manifest does not name
extra-entry-in-middle|3|which the manifest does not name
second-manifest|3|second 'manifest.json'
second-signature|3|second 'manifest.json.sig'
symlink-entry|3|not a regular file
hardlink-entry|3|not a regular file
chardev-entry|3|not a regular file
blockdev-entry|3|not a regular file
fifo-entry|3|not a regular file
dir-entry|3|unsafe entry
out-of-order|3|manifest order
name-with-slash|3|unsafe entry
name-dotdot|3|unsafe entry
name-absolute|3|unsafe entry
missing-payload|3|lacks 'p4.bin'
missing-middle-payload|3|manifest order
payload-twice|3|twice
gz-out-of-order|3|manifest order
gz-extra-entry|3|which the manifest does not name
EOF
)

python3 - <<'PY'
import gzip, io, os, tarfile

src = tarfile.open("good.tar")
members = src.getmembers()
data = {m.name: src.extractfile(m).read() for m in members}
src.close()
head = members[:2]
pays = members[2:]

def info(name, size=0, type_=tarfile.REGTYPE, link=""):
    t = tarfile.TarInfo(name)
    t.size = size
    t.type = type_
    t.linkname = link
    t.mode = 0o644
    t.mtime = 0
    return t

def write(path, entries, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            if isinstance(e, tarfile.TarInfo):
                t.addfile(e, io.BytesIO(b"") if e.size == 0 else None)
            else:
                name, body = e
                t.addfile(info(name, len(body)), io.BytesIO(body))
    raw = buf.getvalue()
    if gz:
        raw = gzip.compress(raw, mtime=0)
    with open(path, "wb") as f:
        f.write(raw)

def regular(names):
    return [(n, data[n]) for n in names]

H = ["manifest.json", "manifest.json.sig"]
P = [m.name for m in pays]
ok = H + P

write("good-again.tar", regular(ok))
raw = open("good.tar", "rb").read()
# the payload area of the last entry, its end, the middle of a header
last = pays[-1]
open("truncated-in-payload.tar", "wb").write(raw[: last.offset_data + last.size // 2])
open("truncated-at-entry.tar", "wb").write(raw[: last.offset_data + ((last.size + 511) // 512) * 512])
open("truncated-in-header.tar", "wb").write(raw[: last.offset + 100])
write("extra-entry-at-end.tar", regular(ok) + [("evil.sh", b"#!/bin/sh\necho owned\n")])
write("extra-entry-in-middle.tar", regular(H + P[:2]) + [("evil.sh", b"x")] + regular(P[2:]))
write("second-manifest.tar", regular(ok) + [("manifest.json", data["manifest.json"])])
write("second-signature.tar", regular(H + P[:1]) + [("manifest.json.sig", data["manifest.json.sig"])] + regular(P[1:]))
write("symlink-entry.tar", regular(H + P[:1]) + [info("p2.bin", 0, tarfile.SYMTYPE, "/etc/passwd")] + regular(P[2:]))
write("hardlink-entry.tar", regular(H + P[:1]) + [info("p2.bin", 0, tarfile.LNKTYPE, "p1.bin")] + regular(P[2:]))
cd = info("p2.bin", 0, tarfile.CHRTYPE); cd.devmajor, cd.devminor = 1, 3
write("chardev-entry.tar", regular(H + P[:1]) + [cd] + regular(P[2:]))
bd = info("p2.bin", 0, tarfile.BLKTYPE); bd.devmajor, bd.devminor = 8, 0
write("blockdev-entry.tar", regular(H + P[:1]) + [bd] + regular(P[2:]))
write("fifo-entry.tar", regular(H + P[:1]) + [info("p2.bin", 0, tarfile.FIFOTYPE)] + regular(P[2:]))
write("dir-entry.tar", regular(H + P[:1]) + [info("p2.bin", 0, tarfile.DIRTYPE)] + regular(P[2:]))
write("out-of-order.tar", regular(H + [P[0], P[2], P[1], P[3]]))
write("name-with-slash.tar", regular(H + P[:1]) + [("sub/p2.bin", data["p2.bin"])] + regular(P[2:]))
write("name-dotdot.tar", regular(H + P[:1]) + [("../p2.bin", data["p2.bin"])] + regular(P[2:]))
write("name-absolute.tar", regular(H + P[:1]) + [("/tmp/p2.bin", data["p2.bin"])] + regular(P[2:]))
write("missing-payload.tar", regular(H + P[:3]))
write("missing-middle-payload.tar", regular(H + [P[0], P[2], P[3]]))
write("payload-twice.tar", regular(H + P[:2] + [P[1]] + P[2:]))
write("gz-out-of-order.tar", regular(H + [P[0], P[2], P[1], P[3]]), gz=True)
write("gz-extra-entry.tar", regular(ok) + [("evil.sh", b"x")], gz=True)
PY
cp good.tar good.tar.bak

n=0
while IFS='|' read -r name want cause; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	b=$name.tar
	[ "$name" = good ] && b=good-again.tar
	mkdir -p "c$n" && cp "$b" "c$n/b.tar"
	run "$A" verify "c$n/b.tar" "${T[@]}"
	vrc=$rc vout=$out
	run "$S" install --bundle "c$n/b.tar" "${T[@]}" --root "root$n" --offline --quiet
	irc=$rc iout=$out
	is "$name: airpack verify exits $want" "$vrc" "$want"
	is "$name: airpack-setup install exits $want" "$irc" "$want"
	if [ "$want" = 0 ]; then
		exists "$name: installed" "root$n/opt/bundle-demo/p4.bin"
		continue
	fi
	contains "$name: verify names the cause" "$vout" "$cause"
	contains "$name: install names the same cause" "$iout" "$cause"
	not_contains "$name: verify gives no component count as its verdict" "$vout" \
		"components failed"
	absent "$name: nothing installed" "root$n/opt/bundle-demo"
done <<<"$cases"

# A payload whose bytes differ (same size): a bundle that is well formed
# but wrong.  Both refuse and name the component; verify reports it as a
# difference (10), install as an integrity failure (4): docs/exit-codes.md.
python3 - <<'PY'
import io, tarfile
src = tarfile.open("good.tar")
ms = src.getmembers()
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
    for m in ms:
        body = bytearray(src.extractfile(m).read())
        if m.name == "p3.bin":
            body[100] ^= 0xFF
        t.addfile(m, io.BytesIO(bytes(body)))
open("flipped.tar", "wb").write(out.getvalue())
PY
mkdir cf && cp flipped.tar cf/b.tar
run "$A" verify cf/b.tar "${T[@]}"
is "flipped byte: airpack verify exits 10" "$rc" 10
contains "flipped byte: verify names p3" "$out" "FAILED  p3"
run "$S" install --bundle cf/b.tar "${T[@]}" --root rootf --offline --quiet
is "flipped byte: install exits 4" "$rc" 4
contains "flipped byte: install names p3" "$out" "component 'p3'"
absent "flipped byte: nothing installed" rootf/opt/bundle-demo

run "$A" verify out-of-order.tar "${T[@]}" --json
is "verify --json on a malformed bundle exits 3" "$rc" 3
contains "its JSON verdict is the bundle's, with the cause" "$out" \
	'{"check":"bundle","verdict":"fail","error":"bundle","problem":"bundle '"'"'out-of-order.tar'"'"' holds'

# Publish reads bundles the same way.
run "$A" publish --mirror M out-of-order.tar --key key.pem --quiet
is "publish refuses an out-of-order bundle (exit 3)" "$rc" 3
contains "naming the cause" "$out" "manifest order"
run "$A" publish --mirror M extra-entry-at-end.tar --key key.pem --quiet
is "publish refuses an extra entry (exit 3)" "$rc" 3
absent "and leaves no manifest for the version" M/1.0.0/manifest.json

done_testing
