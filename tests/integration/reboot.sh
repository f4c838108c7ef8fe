#!/usr/bin/env bash
# reboot.sh - a run action's reboot_exit_codes (issue 11 §3): an exit code
# declared there is a success that needs a restart, as vc_redist's 3010 is on
# Windows.  The install ends with a "restart required" line and exit 13
# (docs/exit-codes.md); the receipt, the history, status and --json record it.
# The manifest rules: run only, non-empty, no code twice, none also in
# ok_exit_codes.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)
mkdir -p p
# The payload exits with the code in the file beside the install (0 if none),
# so one release shows both outcomes.
codefile=$tmp/code
cat >p/finish.sh <<SH
#!/bin/sh
exit "\$(cat '$codefile' 2>/dev/null || echo 0)"
SH
chmod 0755 p/finish.sh

manifest() { # version install-object
	cat <<JSON
{ "format": "airpack/1", "product": "rb", "version": "$1", "platform": "linux-amd64",
  "prefix": "opt/rb",
  "components": [ { "name": "finish", "file": "finish.sh", "install": $2 } ] }
JSON
}

manifest 1.0.0 '{ "action": "run", "ok_exit_codes": [0], "reboot_exit_codes": [42, 194] }' >src.json
run "$A" build src.json --payloads p --key key.pem --layout rel --quiet
is "build accepts reboot_exit_codes on a run action" "$rc" 0
contains "the release manifest keeps them" "$(cat rel/manifest.json)" '"reboot_exit_codes"'

echo 42 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root r1 --run-on-host
is "an exit code from reboot_exit_codes: the install exits 13" "$rc" 13
contains "and ends with a 'restart required' line" "$out" "restart required: run action 'finish'"
receipt=$(cat r1/var/lib/airpack/rb/receipt.json)
contains "the receipt records the restart" "$receipt" '"restart_required": true'
contains "and the action's reboot codes" "$receipt" '"reboot_exit_codes"'
contains "the history names the action" "$(cat r1/var/log/airpack/history.jsonl)" \
	'"restart_required_by":"finish"'
run "$S" status --root r1 --product rb
is "status exits 0" "$rc" 0
contains "status says a restart is required" "$out" "run action ran (exit code 42): restart required"
run "$S" status --root r1 --product rb --json
contains "status --json: the component's state" "$out" '"state":"restart_required"'
run "$S" verify --root r1
is "the install verifies" "$rc" 0

echo 194 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root r2 --run-on-host --json
is "--json: exit 13 too" "$rc" 13
contains "--json result names the action" "$out" '"restart_required":"finish"'

echo 0 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root r3 --run-on-host
is "exit 0 from ok_exit_codes: exit 0" "$rc" 0
not_contains "and no restart line" "$out" "restart required"
not_contains "the receipt has no restart" "$(cat r3/var/lib/airpack/rb/receipt.json)" \
	'"restart_required"'
run "$S" install --from rel "${T[@]}" --offline --root r4 --run-on-host --json
contains "--json: restart_required is null" "$out" '"restart_required":null'

echo 7 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root r5 --run-on-host
is "a code in neither list fails the run action (exit 11)" "$rc" 11

# Pending in an image root, run by firstboot: the receipt and status say it.
echo 42 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root img
is "an image install leaves the action pending: exit 0" "$rc" 0
run "$S" firstboot --root img --run-on-host
is "firstboot: exit 13" "$rc" 13
contains "firstboot: the restart line" "$out" "restart required: run action 'finish'"
contains "firstboot: the run line says so" "$out" "(exit code 42: restart required)"
contains "firstboot: status shows the restart" \
	"$("$S" status --root img --product rb 2>&1)" "restart required"

echo 42 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root img2
run "$S" firstboot --root img2 --run-on-host --json
is "firstboot --json: exit 13" "$rc" 13
contains "firstboot --json: the run event says so" "$out" '"restart_required":true'
contains "firstboot --json: the result names the action" "$out" '"restart_required":"finish"'
echo 0 >"$codefile"
run "$S" install --from rel "${T[@]}" --offline --root img3
run "$S" firstboot --root img3 --run-on-host
is "firstboot without a restart: exit 0" "$rc" 0
not_contains "and no restart line" "$out" "restart required"

# Manifest rules, each naming the field.
bad() { # name install-object expected-message
	manifest 1.0.0 "$2" >bad.json
	run "$A" build bad.json --payloads p --key key.pem -o bad.tar --quiet
	is "$1: exit 3" "$rc" 3
	contains "$1: names the field" "$out" "$3"
}
bad "reboot_exit_codes on copy" '{ "action": "copy", "reboot_exit_codes": [3010] }' \
	'components[0].install.reboot_exit_codes: only allowed with action "run"'
bad "an empty reboot_exit_codes" '{ "action": "run", "reboot_exit_codes": [] }' \
	'components[0].install.reboot_exit_codes: expected a non-empty array'
bad "a code in both lists" '{ "action": "run", "ok_exit_codes": [0, 3010], "reboot_exit_codes": [3010] }' \
	'components[0].install.reboot_exit_codes[0]: 3010 is also in ok_exit_codes'
bad "a code listed twice" '{ "action": "run", "reboot_exit_codes": [3010, 1641, 3010] }' \
	'components[0].install.reboot_exit_codes[2]: 3010 is listed twice'
bad "a code that is not an integer" '{ "action": "run", "reboot_exit_codes": ["3010"] }' \
	'components[0].install.reboot_exit_codes[0]'

done_testing
