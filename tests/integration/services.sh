#!/usr/bin/env bash
# services.sh - install.service (issue 11 §3, docs/services.md), the Linux
# side: a release's service becomes a systemd unit in the root, enabled the
# way `systemctl enable` does it, checked with the real systemctl
# (`systemctl --root`, which reads a root without a running systemd); an
# upgrade keeps it, one that drops it removes it, uninstall removes it; a
# unit airpack did not write is never touched; the manifest rules.  The
# Windows side (the Service Control Manager) runs under wine in windows.sh.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"
"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)
mkdir -p p
printf '#!/bin/sh\nexec sleep 1000\n' >p/edged
chmod 0755 p/edged
mkdir -p tree/bin && cp p/edged tree/bin/moby-engine && tar -C tree -cf p/engine.tar bin

manifest() { # version components-json
	cat <<JSON
{ "format": "airpack/1", "product": "svc", "version": "$1", "platform": "linux-amd64",
  "prefix": "opt/svc", "components": [ $2 ] }
JSON
}
daemon='{ "name": "daemon", "file": "edged", "install": { "action": "copy", "to": "bin/edged",
  "mode": "0755", "service": { "name": "svc-edge", "args": ["--config", "/etc/svc 100%/x.yaml", "$HOME"],
  "description": "Sample edge daemon" } } }'
engine='{ "name": "engine", "file": "engine.tar", "install": { "action": "extract", "to": "moby",
  "service": { "name": "svc-moby", "program": "bin/moby-engine" } } }'

manifest 1.0.0 "$daemon, $engine" >v1.json
run "$A" build v1.json --payloads p --key key.pem --layout r1 --quiet
is "build accepts services on copy and extract" "$rc" 0
contains "the release manifest keeps them" "$(cat r1/manifest.json)" '"service": {'

run "$S" install --from r1 "${T[@]}" --offline --root img
is "install into an image root: exit 0" "$rc" 0
contains "the install says the service is enabled in the image" "$out" "enabled in the image"
unit=img/etc/systemd/system/svc-edge.service
exists "the unit is written into the root" "$unit"
contains "the unit says whose it is" "$(head -1 "$unit")" "# Written by airpack-setup for svc;"
contains "ExecStart: the program, absolute on the device, arguments quoted" "$(cat "$unit")" \
	'ExecStart="/opt/svc/bin/edged" "--config" "/etc/svc 100%%/x.yaml" "$$HOME"'
contains "the description" "$(cat "$unit")" "Description=Sample edge daemon"
contains "the extract component's program is under its folder" \
	"$(cat img/etc/systemd/system/svc-moby.service)" 'ExecStart="/opt/svc/moby/bin/moby-engine"'
is "enabled by a link, as systemctl enable makes it" \
	"$(readlink img/etc/systemd/system/multi-user.target.wants/svc-edge.service)" \
	/etc/systemd/system/svc-edge.service
if command -v systemctl >/dev/null; then
	is "systemctl --root says it is enabled" "$(systemctl --root img is-enabled svc-edge.service 2>&1)" enabled
	is "and the extract one" "$(systemctl --root img is-enabled svc-moby.service 2>&1)" enabled
else
	ok "# SKIP systemctl is not installed"
	ok "# SKIP systemctl is not installed"
fi
receipt=$(cat img/var/lib/airpack/svc/receipt.json)
contains "the receipt records the service" "$receipt" '"name": "svc-edge"'
contains "as registered" "$receipt" '"registered": true'
run "$S" status --root img --product svc
contains "status lists the service and its state" "$out" "svc-edge             enabled (starts at boot) (daemon)"
run "$S" status --root img --product svc --json
contains "status --json: the services" "$out" '"services":[{"name":"svc-edge","component":"daemon","registered":true,"state":"enabled (starts at boot)"}'
run "$S" verify --root img
is "verify: exit 0" "$rc" 0

# An upgrade that drops one service removes it and keeps the other.
manifest 1.1.0 "$daemon" >v2.json
"$A" build v2.json --payloads p --key key.pem --layout r2 --quiet
run "$S" install --from r2 "${T[@]}" --offline --root img
is "the upgrade: exit 0" "$rc" 0
contains "it says the dropped service is removed" "$out" "removed (not in this release)"
absent "the dropped unit is gone" img/etc/systemd/system/svc-moby.service
absent "and its link" img/etc/systemd/system/multi-user.target.wants/svc-moby.service
exists "the kept unit stays" "$unit"

# A unit airpack did not write is left alone: the install refuses it, before the switch.
mkdir -p other/etc/systemd/system
printf '[Unit]\nDescription=the operator'"'"'s own\n' >other/etc/systemd/system/svc-edge.service
run "$S" install --from r2 "${T[@]}" --offline --root other
is "a foreign unit of that name: exit 1 (a file in the way)" "$rc" 1
contains "the error names the unit and says it is left alone" "$out" "was not written by airpack-setup for 'svc': left as it is"
absent "refused before the switch: nothing installed" other/opt/svc
is "the operator's unit is unchanged" "$(cat other/etc/systemd/system/svc-edge.service)" \
	"$(printf '[Unit]\nDescription=the operator'"'"'s own')"

# A unit folder that is a link out of the root is refused.
mkdir -p linked/etc/systemd outside
ln -s "$tmp/outside" linked/etc/systemd/system
run "$S" install --from r2 "${T[@]}" --offline --root linked
isnt "etc/systemd/system a link out of the root: refused" "$rc" 0
contains "naming it" "$out" "is not a folder: no service unit is written through it"
is "nothing written outside the root" "$(ls outside | wc -l)" 0

# Uninstall removes the unit and its link.
run "$S" uninstall --root img --product svc
is "uninstall: exit 0" "$rc" 0
contains "it says the service is removed" "$out" "stopped and removed"
absent "the unit is gone" "$unit"
absent "and its link" img/etc/systemd/system/multi-user.target.wants/svc-edge.service

# Manifest rules, each naming the field.
bad() { # name components-json expected-message
	manifest 1.0.0 "$2" >bad.json
	run "$A" build bad.json --payloads p --key key.pem -o bad.tar --quiet
	is "$1: exit 3" "$rc" 3
	contains "$1: names the field" "$out" "$3"
}
bad "service on a run action" '{ "name": "d", "file": "edged", "install": { "action": "run", "service": { "name": "x" } } }' \
	'components[0].install.service: only allowed with action "extract" or "copy"'
bad "no name" '{ "name": "d", "file": "edged", "install": { "action": "copy", "service": { } } }' \
	'components[0].install.service.name: required field is missing'
bad "an unsafe name" '{ "name": "d", "file": "edged", "install": { "action": "copy", "service": { "name": "../x" } } }' \
	'components[0].install.service.name: unsafe service name'
bad "program on copy" '{ "name": "d", "file": "edged", "install": { "action": "copy", "service": { "name": "x", "program": "y" } } }' \
	'components[0].install.service.program: only allowed with action "extract"'
bad "extract without program" '{ "name": "e", "file": "engine.tar", "install": { "action": "extract", "service": { "name": "x" } } }' \
	'components[0].install.service.program: required field is missing'
bad "a program out of the folder" '{ "name": "e", "file": "engine.tar", "install": { "action": "extract", "service": { "name": "x", "program": "../../etc/passwd" } } }' \
	'components[0].install.service.program: unsafe relative path'
bad "two services of one name (any case)" "$daemon"', { "name": "e", "file": "engine.tar", "install": { "action": "extract", "service": { "name": "SVC-edge", "program": "bin/moby-engine" } } }' \
	'components[1].install.service.name: service "SVC-edge" is also registered by component daemon'
bad "an unknown field" '{ "name": "d", "file": "edged", "install": { "action": "copy", "service": { "name": "x", "start": "auto" } } }' \
	'components[0].install.service: unknown field "start"'

done_testing
