#!/usr/bin/env bash
# hooks.sh - the test-only hooks (lib/airpack/testhook.h) are read only by a
# build configured with -Dtest_hooks=true.  airpack-setup-release is
# airpack-setup's own objects linked as a release build links them (the
# hooks left out): with every crash, stop and switch hook set it installs,
# repairs and provisions as if they were not.  The hooks build, given the
# same variable, dies where it says (so the checks can tell the two apart).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
R=${AIRPACK_SETUP_RELEASE:?}
cd "$tmp"
T=(--trust key.pub.pem)
"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout rel --quiet

# A fresh install passes stage and before-switch; a repair (the prefix is
# there) passes after-exchange, or mid-fallback without the exchange.
for point in stage before-switch; do
	AP_TXN_CRASH_AT=$point AP_TXN_STOP_AT=stage run "$R" install --from rel \
		"${T[@]}" --offline --root "r-$point" --quiet
	is "release build: AP_TXN_CRASH_AT=$point (and AP_TXN_STOP_AT=stage) ignored: exit 0" "$rc" 0
	run "$R" verify --root "r-$point"
	is "release build: the install after AP_TXN_CRASH_AT=$point verifies" "$rc" 0
done
AP_TXN_CRASH_AT=after-exchange run "$R" install --from rel "${T[@]}" --offline --root r-stage \
	--repair --quiet
is "release build: AP_TXN_CRASH_AT=after-exchange ignored by a repair: exit 0" "$rc" 0
AP_TXN_CRASH_AT=mid-fallback AP_TXN_NO_EXCHANGE=1 run "$R" install --from rel "${T[@]}" \
	--offline --root r-stage --repair --quiet
is "release build: AP_TXN_NO_EXCHANGE with mid-fallback ignored: exit 0" "$rc" 0
absent "release build: no stage left behind" r-stage/opt/.sample-edge.airpack-stage
run "$R" verify --root r-stage
is "release build: the repaired install verifies" "$rc" 0

key=$(openssl rand -base64 32)
printf 'HostName=hub1.azure-devices.net;DeviceId=dev-h;SharedAccessKey=%s\n' "$key" >cs.txt
AP_PROVISION_CRASH_AT=write run "$R" provision --root r-stage --quiet \
	--connection-string-file cs.txt
is "release build: AP_PROVISION_CRASH_AT=write ignored: provision exits 0" "$rc" 0

if hooks "the hooks build dies at the points the variables name"; then
	AP_TXN_CRASH_AT=stage run "$S" install --from rel "${T[@]}" --offline --root h-stage --quiet
	is "hooks build: AP_TXN_CRASH_AT=stage kills the install (137)" "$rc" 137
	AP_TXN_CRASH_AT=after-exchange run "$S" install --from rel "${T[@]}" --offline \
		--root r-before-switch --repair --quiet
	is "hooks build: AP_TXN_CRASH_AT=after-exchange kills a repair (137)" "$rc" 137
	AP_PROVISION_CRASH_AT=write run "$S" provision --root r-before-switch --quiet \
		--connection-string-file cs.txt
	is "hooks build: AP_PROVISION_CRASH_AT=write kills provision (137)" "$rc" 137
fi

done_testing
