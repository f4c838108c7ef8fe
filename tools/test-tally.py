#!/usr/bin/env python3
# test-tally.py PASSED FAILED TESTLOG.json... - the last line of tools/test.sh
# and tools/test-windows.sh: "N passed, N failed[, N skipped]", counting each
# meson testlog.json result on top of PASSED and FAILED counted elsewhere.
import json
import sys

passed, failed, skipped = int(sys.argv[1]), int(sys.argv[2]), 0
for name in sys.argv[3:]:
    with open(name) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
