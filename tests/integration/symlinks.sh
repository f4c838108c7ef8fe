#!/usr/bin/env bash
# symlinks.sh - a symlink planted inside an install root (a folder of the
# prefix, or one above it, replaced by a symlink to a folder outside the
# root) is never followed by airpack-setup: install, verify, uninstall and
# uninstall --purge refuse with exit 3 naming the path, and nothing outside
# the root is created, changed or removed (docs/threat-model.md).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
T=(--trust key.pub.pem)
"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel --quiet

# What is under a folder outside the root: path, type, size, sha256.
listing() {
	(cd "$1" && find . -printf '%p %y %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

# plant ROOT REL OUT: OUT becomes a copy of ROOT/REL (same names, same
# bytes) plus a sentinel, and ROOT/REL a symlink to it.
plant() {
	rm -rf "$3" && mkdir -p "$3" && cp -a "$1/$2/." "$3/" && echo keep >"$3/sentinel"
	rm -rf "${1:?}/$2" && ln -s "$3" "$1/$2"
}

run "$S" install --from rel "${T[@]}" --offline --root R --quiet
is "the release installs" "$rc" 0
plant R opt/sample-edge/moby "$tmp/out-moby"
before=$(listing out-moby)

run "$S" verify --root R
is "verify with a symlinked folder in the prefix: exit 3" "$rc" 3
contains "it names the path" "$out" "'opt/sample-edge/moby' under the root"
contains "and says it is a symlink" "$out" "is a symlink"

run "$S" uninstall --root R --quiet
is "uninstall through a symlinked folder is refused: exit 3" "$rc" 3
contains "naming the path" "$out" "'opt/sample-edge/moby' under the root"
exists "the file outside with the installed bytes is still there" out-moby/dockerd.exe
is "nothing outside the root changed" "$(listing out-moby)" "$before"
exists "the receipt stays, so uninstall can be rerun" R/var/lib/airpack/sample-edge/receipt.json

rm R/opt/sample-edge/moby
run "$S" uninstall --root R --quiet
is "without the symlink, uninstall completes" "$rc" 0
is "and the folder outside is whole" "$(listing out-moby)" "$before"

# uninstall --purge of a data folder whose parent is a symlink out of the root.
run "$S" install --from rel "${T[@]}" --offline --root P --quiet
is "installed again, into P" "$rc" 0
mkdir -p out-data/moby && echo data >out-data/moby/keep
rm -rf P/var/lib/sample-edge && ln -s "$tmp/out-data" P/var/lib/sample-edge
run "$S" uninstall --root P --purge --quiet
is "uninstall --purge through a symlinked data folder's parent: exit 3" "$rc" 3
contains "naming it" "$out" "'var/lib/sample-edge' under the root"
exists "the data outside the root is not removed" out-data/moby/keep

# A fresh install whose prefix's parent is a symlink out of the root.
mkdir -p F out-opt && ln -s "$tmp/out-opt" F/opt
run "$S" install --from rel "${T[@]}" --offline --root F --quiet
is "install under a symlinked parent of the prefix: exit 3" "$rc" 3
contains "naming it" "$out" "'opt' under the root"
is "nothing was created outside the root" "$(ls -A out-opt)" ""
absent "nothing is recorded as installed" F/var/lib/airpack/sample-edge/receipt.json

done_testing
