#!/usr/bin/env bash
# symlinks.sh - a symlink planted inside an install root (a folder of the
# prefix, or one above it, replaced by a symlink to a folder outside the
# root) is never followed by airpack-setup: install, verify, uninstall and
# uninstall --purge refuse with exit 3 naming the path, and nothing outside
# the root is created, changed or removed (docs/threat-model.md).  Also
# when the link is planted after the plan, while the installer is stopped
# just before staging (AP_TXN_STOP_AT=stage): the stage is extracted into
# relative to the root's folder fd and never through the link.  Every case
# runs twice: with openat2 where the kernel has it, and with the openat
# walk (AP_FSX_NO_OPENAT2=1).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
T=(--trust "$tmp/key.pub.pem")
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

# install_stopped ROOT CMD...: install into ROOT with AP_TXN_STOP_AT=stage
# (the installer stops itself after planning, the stage folder made), run
# CMD while it is stopped, then let it go on; sets rc, out and stopped.
install_stopped() {
	local root=$1 pid
	shift
	AP_TXN_STOP_AT=stage "$S" install --from "$tmp/rel" "${T[@]}" --offline --root "$root" \
		--quiet >stopped.out 2>&1 &
	pid=$!
	wait_stopped "$pid"
	"$@"
	kill -CONT "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	out=$(cat stopped.out)
}

# stopped_cases: links planted between plan and stage.
stopped_cases() {
	# The stage folder itself replaced by a link to a folder outside.
	mkdir -p out-stage
	install_stopped S1 sh -c 'rm -rf S1/opt/.sample-edge.airpack-stage &&
		ln -s "$PWD/out-stage" S1/opt/.sample-edge.airpack-stage'
	is "$1: the installer stopped before staging" "$stopped" 1
	is "$1: the stage replaced by a symlink after the plan: exit 3" "$rc" 3
	contains "$1: naming it" "$out" "'opt/.sample-edge.airpack-stage' under the root"
	is "$1: nothing was written through it" "$(ls -A out-stage)" ""
	absent "$1: nothing is installed" S1/var/lib/airpack/sample-edge/receipt.json

	# A folder above the stage (opt) replaced by a link to a copy outside.
	rm -rf out-opt2
	install_stopped S2 sh -c 'cp -a S2/opt out-opt2 && rm -rf S2/opt &&
		ln -s "$PWD/out-opt2" S2/opt'
	is "$1: opt replaced by a symlink after the plan: exit 3" "$rc" 3
	contains "$1: naming it" "$out" "'opt' under the root"
	is "$1: nothing was extracted outside the root" \
		"$(find out-opt2 -mindepth 1 -not -type d | wc -l)" 0

	# Control: stopped and resumed with nothing planted.
	install_stopped S3 true
	is "$1: resumed with nothing planted, the install succeeds" "$rc" 0
}

cases() {
	run "$S" install --from "$tmp/rel" "${T[@]}" --offline --root R --quiet
	is "$1: the release installs" "$rc" 0
	plant R opt/sample-edge/moby "$PWD/out-moby"
	before=$(listing out-moby)

	run "$S" verify --root R
	is "$1: verify with a symlinked folder in the prefix: exit 3" "$rc" 3
	contains "$1: it names the path" "$out" "'opt/sample-edge/moby' under the root"
	contains "$1: and says it is a symlink" "$out" "is a symlink"

	run "$S" uninstall --root R --quiet
	is "$1: uninstall through a symlinked folder is refused: exit 3" "$rc" 3
	contains "$1: naming the path" "$out" "'opt/sample-edge/moby' under the root"
	exists "$1: the file outside with the installed bytes is still there" out-moby/dockerd.exe
	is "$1: nothing outside the root changed" "$(listing out-moby)" "$before"
	exists "$1: the receipt stays, so uninstall can be rerun" R/var/lib/airpack/sample-edge/receipt.json

	rm R/opt/sample-edge/moby
	run "$S" uninstall --root R --quiet
	is "$1: without the symlink, uninstall completes" "$rc" 0
	is "$1: and the folder outside is whole" "$(listing out-moby)" "$before"

	# uninstall --purge of a data folder whose parent is a symlink out of the root.
	run "$S" install --from "$tmp/rel" "${T[@]}" --offline --root P --quiet
	is "$1: installed again, into P" "$rc" 0
	mkdir -p out-data/moby && echo data >out-data/moby/keep
	rm -rf P/var/lib/sample-edge && ln -s "$PWD/out-data" P/var/lib/sample-edge
	run "$S" uninstall --root P --purge --quiet
	is "$1: uninstall --purge through a symlinked data folder's parent: exit 3" "$rc" 3
	contains "$1: naming it" "$out" "'var/lib/sample-edge' under the root"
	exists "$1: the data outside the root is not removed" out-data/moby/keep

	# A fresh install whose prefix's parent is a symlink out of the root.
	mkdir -p F out-opt && ln -s "$PWD/out-opt" F/opt
	run "$S" install --from "$tmp/rel" "${T[@]}" --offline --root F --quiet
	is "$1: install under a symlinked parent of the prefix: exit 3" "$rc" 3
	contains "$1: naming it" "$out" "'opt' under the root"
	is "$1: nothing was created outside the root" "$(ls -A out-opt)" ""
	absent "$1: nothing is recorded as installed" F/var/lib/airpack/sample-edge/receipt.json
	if hooks "$1: symlinks planted while the installer is stopped (AP_TXN_STOP_AT)"; then
		stopped_cases "$1"
	fi
}

top=$tmp
mkdir -p "$top/openat2" "$top/walk"
cd "$top/openat2" && cases openat2
if hooks "the openat walk (AP_FSX_NO_OPENAT2)"; then
	export AP_FSX_NO_OPENAT2=1
	cd "$top/walk" && cases walk
	unset AP_FSX_NO_OPENAT2
fi

done_testing
