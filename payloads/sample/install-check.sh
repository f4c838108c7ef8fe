#!/bin/sh
# install-check.sh - the sample release's `run` action.
#
#   install-check.sh [--require PATH]... [--marker NAME]
#
# Checks that every --require PATH (relative to this script's folder, the
# install prefix) exists.  When AIRPACK_SAMPLE_LOG names a file, appends one
# line to it, so a test can count how often the action ran.  --marker NAME
# also writes NAME next to the script (the sample manifest does not use it:
# a file a run action writes into the prefix is not in the receipt, and
# `airpack-setup verify` reports it as unexpected).  Exit codes: 0 done,
# 2 bad arguments, 3 a required file is missing, 4 a file could not be written.
set -u

usage() {
	echo "usage: install-check.sh [--require PATH]... [--marker NAME]" >&2
	exit 2
}

dir=$(cd "$(dirname "$0")" && pwd) || exit 4
marker=
while [ $# -gt 0 ]; do
	case "$1" in
	--marker)
		[ $# -ge 2 ] || usage
		marker=$2
		case "$marker" in
		"" | */* | . | ..) usage ;;
		esac
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

if [ -n "${AIRPACK_SAMPLE_LOG:-}" ]; then
	echo "install-check ran in $dir" >>"$AIRPACK_SAMPLE_LOG" || exit 4
fi
if [ -n "$marker" ]; then
	printf 'sample-edge install check: ok\n' >"$dir/$marker.tmp" &&
		mv -f "$dir/$marker.tmp" "$dir/$marker" || exit 4
fi
echo "sample-edge install check: ok"
exit 0
