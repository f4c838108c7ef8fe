#!/usr/bin/env bash
# trust.sh - the cost of the trust checks (docs/trust.md), as ratios against
# `openssl pkeyutl -verify` run in the same session:
#
#   bench/trust.sh [--builddir DIR] [--steps N] [--releases M] [--runs R]
#
# ap-trust-bench (tests/tools/trust_bench.c) times, in process, walking a
# chain of N root rotations (default 100) and checking a signed mirror index
# of M releases (default 1000: signature, parse, resolve latest); this script
# times one `openssl pkeyutl -verify -rawin` process over a small manifest, the
# check a user would script by hand, and prints each figure over it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$top/build
steps=100 releases=1000 runs=9
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--releases) releases=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: bench/trust.sh [--builddir DIR] [--steps N] [--releases M] [--runs R]" >&2; exit 2 ;;
	esac
done
tool=$builddir/tests/ap-trust-bench
[ -x "$tool" ] || { echo "bench/trust.sh: build first (ninja -C $builddir)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
openssl genpkey -algorithm ed25519 -out k.pem 2>/dev/null
openssl pkey -in k.pem -pubout -out k.pub.pem
printf '{"a small manifest": true}\n' >m.json
openssl pkeyutl -sign -inkey k.pem -rawin -in m.json -out m.json.sig
ms() { python3 -c 'import sys,time,subprocess
a=sys.argv[2:]; n=int(sys.argv[1]); t=[]
for i in range(n):
    s=time.perf_counter(); subprocess.run(a,check=True,stdout=subprocess.DEVNULL); t.append((time.perf_counter()-s)*1000)
t.sort(); print("%.2f" % t[n//2])' "$@"; }
ossl=$(ms "$runs" openssl pkeyutl -verify -pubin -inkey k.pub.pem -rawin -in m.json -sigfile m.json.sig)
out=$("$tool" "$steps" "$releases" "$runs")
chain=$(awk '/^chain/ {print $2}' <<<"$out")
index=$(awk '/^index/ {print $2}' <<<"$out")
ibytes=$(awk '/^index/ {print $3}' <<<"$out" | tr -d '(')
verify=$(awk '/^verify/ {print $2}' <<<"$out")
ratio() { python3 -c "print('%.3g' % ($1 / $2))"; }
echo "| check | time (ms, median of $runs) | / openssl pkeyutl -verify ($ossl ms) |"
echo "|---|---:|---:|"
echo "| walk a chain of $steps root rotations (2 signatures each) | $chain | $(ratio "$chain" "$ossl") |"
echo "| check an index of $releases releases ($ibytes bytes): signature, parse, resolve | $index | $(ratio "$index" "$ossl") |"
echo "| one Ed25519 verify in process | $verify | $(ratio "$verify" "$ossl") |"
