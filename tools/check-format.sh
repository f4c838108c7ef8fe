#!/usr/bin/env bash
# check-format.sh [--werror] [SRCDIR] - clang-format in check mode over the C
# files of lib/ installer/ packager/ tests/, against the checked-in
# .clang-format.  Prints, as TAP, one line per file it would change and the
# total count of lines it would change.
#
# Without --werror it only reports; meson's 'format' test passes --werror,
# so any line clang-format would change fails it (format a file with
# `clang-format -i --style=file FILE`).
# Without clang-format the test is skipped (exit 77).
set -uo pipefail
werror=0
if [ "${1:-}" = "--werror" ]; then
	werror=1
	shift
fi
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
	echo "1..0 # SKIP clang-format not found"
	exit 77
fi
cd "$top" || exit 1
total=0
files=0
n=0
while IFS= read -r f; do
	n=$((n + 1))
	changed=$("$cf" --style=file "$f" | diff "$f" - | grep -c '^<')
	if [ "$changed" -gt 0 ]; then
		files=$((files + 1))
		total=$((total + changed))
		if [ "$werror" = 1 ]; then
			echo "not ok $n - $f: $changed lines differ from .clang-format"
		else
			echo "ok $n - $f: $changed lines differ from .clang-format (report only)"
		fi
	else
		echo "ok $n - $f"
	fi
done < <(find lib installer packager tests -name '*.[ch]' | LC_ALL=C sort)
echo "1..$n"
echo "# clang-format would change $total lines in $files of $n files"
if [ "$werror" = 1 ] && [ "$total" -gt 0 ]; then
	exit 1
fi
exit 0
