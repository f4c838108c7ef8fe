#!/usr/bin/env bash
# check_install.sh - `meson install --destdir` puts exactly the expected files
# in place (tests/install/expected-files.txt, with @PREFIX@, @TRUST_DIR@ and
# @UNIT_DIR@ standing for the configured folders), with the right modes, and
# what it installs works: the man pages render, bash completes the commands,
# the unit runs the installed airpack-setup.  TAP output.
set -uo pipefail
: "${BUILDDIR:?}" "${SRCDIR:?}" "${AP_PREFIX:?}" "${AP_TRUST_DIR:?}" "${AP_UNIT_DIR:?}"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

echo "1..9"
if ! meson install -C "$BUILDDIR" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
	not_ok "meson install --destdir" "$(tail -n 5 "$tmp/install.log")"
	exit 1
fi
ok "meson install --destdir"

(cd "$dest" && find . -mindepth 1 \( -type f -o -type l -o -type d -empty \) | sed 's|^\.||' | LC_ALL=C sort) >"$tmp/got"
sed -e "s|@PREFIX@|$AP_PREFIX|g" -e "s|@TRUST_DIR@|$AP_TRUST_DIR|g" -e "s|@UNIT_DIR@|$AP_UNIT_DIR|g" \
	"$SRCDIR/tests/install/expected-files.txt" | grep -v '^#' | LC_ALL=C sort >"$tmp/want"
if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	ok "installed file list is tests/install/expected-files.txt"
else
	mapfile -t lines <"$tmp/diff"
	not_ok "installed file list is tests/install/expected-files.txt ('-' expected, '+' installed)" "${lines[@]}"
fi

trust=$dest$AP_TRUST_DIR
check "trust folder $AP_TRUST_DIR is an empty 0755 folder" \
	test -d "$trust" -a "$(stat -c %a "$trust")" = 755 -a -z "$(ls -A "$trust")"

bin=$dest$AP_PREFIX/bin
check "installed programs run" \
	bash -c "'$bin/airpack' --version | grep -q '^airpack ' && '$bin/airpack-setup' --version | grep -q 'trust folder: $AP_TRUST_DIR'"

render_ok=true
for page in man1/airpack.1 man1/airpack-setup.1 man5/airpack-manifest.5 man5/airpack-bundle.5; do
	f=$dest$AP_PREFIX/share/man/$page
	out=$(MANWIDTH=80 man -l "$f" 2>"$tmp/man.err") || render_ok=false
	[ -s "$tmp/man.err" ] && render_ok=false
	echo "$out" | grep -q '^NAME' || render_ok=false
done
check "man pages render without warnings" $render_ok

unit=$dest$AP_UNIT_DIR/airpack-firstboot.service
check "unit runs the installed airpack-setup firstboot" grep -qx "ExecStart=$AP_PREFIX/bin/airpack-setup firstboot" "$unit"
check "unit runs only while a product has pending actions" grep -qx "ConditionDirectoryNotEmpty=/var/lib/airpack/firstboot.d" "$unit"

complete_words() { # PROGRAM WORDS... -> the completions of the last word
	local prog=$1
	shift
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1/$2"; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "${COMP_WORDS[0]}" | sed -E "s/.*-F ([^ ]+).*/\1/")
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$dest$AP_COMPLETION_DIR" "$prog" "$@"
}
got=$(PATH=$bin:$PATH complete_words airpack-setup airpack-setup "" | LC_ALL=C sort | tr '\n' ' ')
want="--help --version firstboot install layout log plan provision status uninstall verify versions "
if [ "$got" = "$want" ]; then ok "airpack-setup <TAB> completes the commands"; else not_ok "airpack-setup <TAB> completes the commands" "want: $want" "got:  $got"; fi
got=$(PATH=$bin:$PATH complete_words airpack-setup airpack-setup install --all 2>&1 | tr '\n' ' ')
if [ "$got" = "--allow-downgrade " ]; then ok "airpack-setup install --all<TAB> completes an option from --help"; else not_ok "airpack-setup install --all<TAB> completes an option from --help" "got: $got"; fi
[ "$failed" -eq 0 ]
