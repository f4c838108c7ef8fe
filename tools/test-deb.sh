#!/usr/bin/env bash
# test-deb.sh - build the Debian packages (dpkg-buildpackage -us -uc -b) from
# a copy of the tree, check them with lintian (no errors), install them on
# this machine, run the demo against the installed programs, check what got
# installed (man pages, completion, unit, trust folder), then remove them
# again.  Run as root on Debian 12 (CI runs it from .ci/run).  Ends with
# "N passed, N failed"; keeps its build folder on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
step() { # NAME CMD...: run one check, count it
	local name=$1
	shift
	if "$@" >"$work/step.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok - $name"
	else
		fail=$((fail + 1))
		echo "not ok - $name"
		sed 's/^/# /' "$work/step.log" | tail -n 40
	fi
}
finish() {
	echo "${pass} passed, ${fail} failed"
	[ "$fail" -eq 0 ] && rm -rf "$work"
	[ "$fail" -eq 0 ]
	exit
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test-deb.sh: run as root (it installs packages)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
"$top/tools/deps.sh" || { echo "0 passed, 1 failed"; exit 1; }
need=()
for p in debhelper dpkg-dev lintian fakeroot; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "test-deb.sh: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ echo "0 passed, 1 failed"; exit 1; }
fi

work=$(mktemp -d /tmp/airpack-deb.XXXXXX)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$work/airpack-$version
# The tree as git knows it (tracked and new files), without build output.
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$top" && xargs -0 cp --parents -t "$src" 2>/dev/null) 
start=$(date +%s)
# debhelper builds with one job unless told otherwise.
step "dpkg-buildpackage -us -uc -b" sh -c \
	"cd '$src' && DEB_BUILD_OPTIONS='parallel=$(nproc)' dpkg-buildpackage -us -uc -b"
echo "# dpkg-buildpackage took $(($(date +%s) - start)) s"
debs=("$work"/airpack_"$version"_*.deb "$work"/airpack-setup_"$version"_*.deb)
if [ ! -f "${debs[0]}" ] || [ ! -f "${debs[1]}" ]; then
	fail=$((fail + 1))
	echo "not ok - two binary packages, airpack and airpack-setup"
	finish
fi
step "two binary packages, airpack and airpack-setup" true
changes=("$work"/airpack_"$version"_*.changes)
lintian --fail-on error --tag-display-limit 0 "${changes[0]}" >"$work/lintian.txt" 2>&1
lrc=$?
sed 's/^/# lintian: /' "$work/lintian.txt"
step "lintian reports no errors" test "$lrc" -eq 0

step "apt-get install ./airpack*.deb" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${debs[@]}"
step "dpkg -L lists the programs, man pages, completion, unit and trust folder" sh -c '
	l=$(dpkg -L airpack airpack-setup)
	for f in /usr/bin/airpack /usr/bin/airpack-setup /usr/share/man/man1/airpack.1.gz \
		/usr/share/man/man1/airpack-setup.1.gz /usr/share/man/man5/airpack-manifest.5.gz \
		/usr/share/man/man5/airpack-bundle.5.gz /usr/share/bash-completion/completions/airpack \
		/usr/share/bash-completion/completions/airpack-setup \
		/lib/systemd/system/airpack-firstboot.service /etc/airpack/trusted.d \
		/usr/share/doc/airpack/manifest.md.gz; do
		echo "$l" | grep -qx "$f" || { echo "missing: $f"; exit 1; }
	done'
step "man airpack-setup shows the page" sh -c 'MANWIDTH=80 man airpack-setup 2>&1 | grep -q "airpack-setup - verify and install"'
step "airpack-setup <TAB> completes the commands" bash -c '
	. /usr/share/bash-completion/bash_completion
	. /usr/share/bash-completion/completions/airpack-setup
	COMP_WORDS=(airpack-setup ""); COMP_CWORD=1; COMP_LINE="airpack-setup "; COMP_POINT=${#COMP_LINE}
	_airpack_setup airpack-setup "" airpack-setup
	printf "%s\n" "${COMPREPLY[@]}" | grep -qx install'
step "the trust folder is 0755 and empty" sh -c \
	'[ "$(stat -c %a /etc/airpack/trusted.d)" = 755 ] && [ -z "$(ls -A /etc/airpack/trusted.d)" ]'
step "the installed airpack-setup knows its trust folder" sh -c \
	'/usr/bin/airpack-setup --version | grep -qx "trust folder: /etc/airpack/trusted.d"'
step "the demo runs against the installed programs" \
	env AIRPACK=/usr/bin/airpack AIRPACK_SETUP=/usr/bin/airpack-setup NO_COLOR=1 bash "$top/tools/demo.sh"
step "apt-get purge airpack airpack-setup" env DEBIAN_FRONTEND=noninteractive \
	apt-get purge -y -qq airpack airpack-setup
step "nothing is left behind" sh -c '! [ -e /usr/bin/airpack ] && ! [ -e /usr/bin/airpack-setup ] && ! [ -e /lib/systemd/system/airpack-firstboot.service ]'
echo "# installed file list:"
dpkg-deb -c "${debs[0]}" | awk '{print "#   airpack: " $NF}'
dpkg-deb -c "${debs[1]}" | awk '{print "#   airpack-setup: " $NF}'
finish
