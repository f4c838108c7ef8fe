#!/bin/sh
# install-check.sh - the sample release's `run` action.
#
#   install-check.sh --marker NAME [--require PATH]...
#
# Writes the file NAME next to this script (the install prefix) to show the
# run action happened, after checking that every --require PATH (relative
# to the same folder) exists.  Exit codes: 0 done, 2 bad arguments,
# 3 a required file is missing, 4 the marker could not be written.
set -u

usage() {
	echo "usage: install-check.sh --marker NAME [--require PATH]..." >&2
	exit 2
}

dir=$(cd "$(dirname "$0")" && pwd) || exit 4
marker=
while [ $# -gt 0 ]; do
	case "$1" in
	--marker)
		[ $# -ge 2 ] || usage
		marker=$2
		shift 2
		;;
	--require)
		[ $# -ge 2 ] || usage
		if [ ! -e "$dir/$2" ]; then
			echo "install-check.sh: required file '$2' is missing" >&2
			exit 3
		fi
		shift 2
		;;
	*)
		usage
		;;
	esac
done
case "$marker" in
"" | */* | . | ..) usage ;;
esac

printf 'sample-edge install check: ok\n' >"$dir/$marker.tmp" &&
	mv -f "$dir/$marker.tmp" "$dir/$marker" || exit 4
exit 0
