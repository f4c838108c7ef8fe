#!/usr/bin/env bash
# flagship.sh - the flagship release (issue 11 §2): manifests/azure-iot-edge-1.1.json
# built from the seed's three files (what Deploy-IoTEdge -OfflineInstallationPath
# takes: Microsoft-Azure-IoTEdge.cab, vc_redist.x64.exe, IoTEdgeSecurityDaemon.ps1)
# and the shipped config template; the Moby zips optional; every missing payload
# named at once; installed into an image root, where a Windows release's run
# action and service wait for firstboot on the device; provision filling the
# template as Initialize-IoTEdge -ManualConnectionString -ContainerOs Windows
# does; verify; uninstall.  The payloads are stand-ins under the real names: a
# real cab made by gcab, an .exe of bytes, a .ps1 text file.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
M=$SRCDIR/manifests/azure-iot-edge-1.1.json
TPL=$SRCDIR/payloads/azure-iot-edge
cd "$tmp"
"$A" keygen -o key.pem >/dev/null
T=(--trust key.pub.pem)

# The seed's folder, as downloaded: the cab with its architecture suffix.
mkdir -p seed cabsrc moby empty
printf 'iotedged stand-in\n' >cabsrc/iotedged.exe
printf 'iotedge stand-in\n' >cabsrc/iotedge.exe
(cd cabsrc && gcab -c -z ../seed/Microsoft-Azure-IoTEdge-amd64.cab iotedged.exe iotedge.exe)
{ printf 'MZ vc_redist stand-in\n'; head -c 8192 /dev/urandom; } >seed/vc_redist.x64.exe
printf 'function Deploy-IoTEdge { param([string] $OfflineInstallationPath) }\n' \
	>seed/IoTEdgeSecurityDaemon.ps1
python3 - <<'PY'
import zipfile
for name in ("moby-engine.zip", "moby-cli.zip"):
    with zipfile.ZipFile("moby/" + name, "w") as z:
        z.writestr(zipfile.ZipInfo("docker/" + name[:-4] + ".exe", (1980, 1, 1, 0, 0, 0)), "stand-in")
PY

# --- build: every missing payload at once --------------------------------------------------
run "$A" build "$M" --payloads empty --payloads "$TPL" --key key.pem --layout none --quiet
is "build with none of the seed's files: exit 8 (missing)" "$rc" 8
contains "names the cab" "$out" "'Microsoft-Azure-IoTEdge.cab' (component 'security-daemon', or its aliases)"
contains "and vc_redist" "$out" "'vc_redist.x64.exe' (component 'vc-runtime')"
contains "and the script, in the same error" "$out" "'IoTEdgeSecurityDaemon.ps1' (component 'deploy-script')"
contains "counting three, in both folders" "$out" "3 payloads are missing in 'empty', '$TPL'"
not_contains "the optional Moby zips are not missing" "$out" "moby-engine.zip"
absent "nothing is written" none

mkdir -p partial && cp seed/vc_redist.x64.exe partial/
run "$A" build "$M" --payloads partial --payloads "$TPL" --key key.pem --layout none --quiet
is "with vc_redist only: exit 8" "$rc" 8
contains "two are named" "$out" "2 payloads are missing"
not_contains "the one present is not" "$out" "'vc_redist.x64.exe'"

run "$A" build "$M" --payloads seed --key key.pem --layout none --quiet
is "without the template's folder: exit 8" "$rc" 8
contains "the template is named" "$out" "'config.template.yaml' (component 'config-template')"

# --- build: the seed's three files and the template ----------------------------------------
run "$A" build "$M" --payloads seed --payloads "$TPL" --key key.pem --layout rel
is "the seed's three files build: exit 0" "$rc" 0
contains "the Moby engine is left out with a warning" "$out" \
	"optional component 'moby-engine': no 'moby-engine.zip' in 'seed', '$TPL': left out of the release"
contains "and the CLI" "$out" "optional component 'moby-cli'"
rel=$(cat rel/manifest.json)
not_contains "the release has no Moby component" "$rel" "\"name\": \"moby-"
contains "it has the script" "$rel" '"file": "IoTEdgeSecurityDaemon.ps1"'
contains "the cab under its manifest name" "$rel" '"file": "Microsoft-Azure-IoTEdge.cab"'
is "the cab found by its alias is the seed's" "$(sha256_of rel/Microsoft-Azure-IoTEdge.cab)" \
	"$(sha256_of seed/Microsoft-Azure-IoTEdge-amd64.cab)"
is "the template comes from the repository's payloads" "$(sha256_of rel/config.template.yaml)" \
	"$(sha256_of "$TPL/config.template.yaml")"

run "$A" build "$M" --payloads seed --payloads "$TPL" --payloads moby --key key.pem --layout full --quiet
is "with the Moby zips in a third folder: exit 0" "$rc" 0
contains "the release keeps them, optional" "$(cat full/manifest.json)" '"optional": true'

# --- plan: a device folder with only the seed's files --------------------------------------
mkdir usb
cp full/manifest.json full/manifest.json.sig usb/
cp seed/* "$TPL/config.template.yaml" usb/
run "$S" plan --from usb "${T[@]}" --offline
is "plan, offline, without the Moby zips: exit 0" "$rc" 0
contains "the cab is local by its alias" "$out" "usb/Microsoft-Azure-IoTEdge-amd64.cab"
contains "the Moby engine is named as skipped" "$out" "skipped   moby-engine"
contains "and the CLI" "$out" "skipped   moby-cli"
run "$S" plan --from usb "${T[@]}" --offline --json
contains "plan --json: moby-engine skipped" "$out" '"component":"moby-engine","file":"moby-engine.zip"'
cp moby/moby-engine.zip usb/
run "$S" plan --from usb "${T[@]}" --offline
contains "with the engine's zip present it is local" "$out" "usb/moby-engine.zip"
rm usb/moby-engine.zip

# --- install into an image root --------------------------------------------------------------
run "$S" install --from usb "${T[@]}" --offline --root img
is "install into an image root: exit 0" "$rc" 0
pfx="img/Program Files/iotedge"
exists "the daemon is extracted from the cab" "$pfx/iotedged.exe"
is "the script is copied, not run" "$(sha256_of "$pfx/IoTEdgeSecurityDaemon.ps1")" \
	"$(sha256_of seed/IoTEdgeSecurityDaemon.ps1)"
exists "the template is installed" "$pfx/config.template.yaml"
absent "the Moby zips were skipped" "$pfx/moby"
absent "nothing of systemd is written into a Windows image" img/etc/systemd
contains "the service waits for the device" "$out" "a release for another OS: firstboot registers it on the device"
contains "the summary sends vc_redist to the device" "$out" "1 action pending: a release for another OS; 'airpack-setup firstboot' runs it on the device"
not_contains "and offers no --run-in-root here" "$out" "--run-in-root"
absent "no systemd unit for a Windows program" img/etc/systemd/system/iotedge.service
receipt=$(cat img/var/lib/airpack/azure-iot-edge/receipt.json)
contains "the receipt keeps the platform" "$receipt" '"platform": "windows-amd64"'
contains "vc_redist is pending" "$receipt" '"pending": ['
contains "the service is not registered" "$receipt" '"registered": false'
run "$S" status --root img
contains "status: vc-runtime pending" "$out" "vc-runtime"
contains "status: the service waits for firstboot" "$out" "waits for firstboot"
run "$S" firstboot --root img --run-on-host
is "firstboot of a Windows release on this host: exit 2" "$rc" 2
contains "naming the platform" "$out" "is a release for 'windows-amd64'"
contains "vc_redist still pending after it" "$(cat img/var/lib/airpack/azure-iot-edge/receipt.json)" \
	'"pending": ['

# --- provision fills the template ----------------------------------------------------------
KEY=$(head -c 32 /dev/urandom | base64)
printf 'HostName=myhub.azure-devices.net;DeviceId=edge-01;SharedAccessKey=%s\n' "$KEY" >cs.txt
cfg=img/ProgramData/iotedge/config.yaml
run "$S" provision --root img --connection-string-file cs.txt --hostname edge-01.contoso.local
is "provision: exit 0" "$rc" 0
exists "the config is written where the release says" "$cfg"
conf=$(cat "$cfg")
contains "the connection string, normalized" "$conf" \
	"device_connection_string: \"HostName=myhub.azure-devices.net;DeviceId=edge-01;SharedAccessKey=$KEY\""
contains "manual provisioning" "$conf" 'source: "manual"'
contains "the hostname given" "$conf" 'hostname: "edge-01.contoso.local"'
contains "moby_runtime survives" "$conf" 'uri: "npipe://./pipe/iotedge_moby_engine"'
contains "the nat network survives" "$conf" 'network: "nat"'
contains "the agent image survives" "$conf" 'image: "mcr.microsoft.com/azureiotedge-agent:1.1"'
contains "the Windows workload socket survives" "$conf" 'workload_uri: "unix:///C:/ProgramData/iotedge/workload/sock"'
not_contains "no placeholder is left" "$conf" "<ADD"
is "mode 0600" "$(stat -c %a "$cfg")" 600

run "$S" provision --root img --connection-string-file cs.txt
is "provision again without --hostname: exit 0" "$rc" 0
contains "keeps the hostname the file has" "$(cat "$cfg")" 'hostname: "edge-01.contoso.local"'
run "$S" provision --root img --connection-string-file cs.txt --hostname 'bad_name'
is "a hostname that is not a DNS name: usage error" "$rc" 2
contains "naming the option" "$out" "--hostname"

# A fresh image without --hostname: the template's placeholder is not the device's name
# and an image root is not the device, so the hostname is left for the device.
run "$S" install --from usb "${T[@]}" --offline --root img2 --quiet
run "$S" provision --root img2 --connection-string-file cs.txt
is "provision of an image without --hostname: exit 0" "$rc" 0
contains "it says the hostname is left for the device" "$out" "hostname"
contains "the placeholder stays" "$(cat img2/ProgramData/iotedge/config.yaml)" 'hostname: "<ADD HOSTNAME HERE>"'

# --- verify, uninstall ------------------------------------------------------------------------
run "$S" verify --root img
is "verify: exit 0" "$rc" 0
printf 'tampered\n' >>"$pfx/IoTEdgeSecurityDaemon.ps1"
run "$S" verify --root img
is "a changed script: exit 10" "$rc" 10
contains "named" "$out" "IoTEdgeSecurityDaemon.ps1"
run "$S" uninstall --root img
is "uninstall: exit 0" "$rc" 0
absent "the prefix is gone" "$pfx"
absent "the configuration is removed" "$cfg"
run "$S" uninstall --root img2
is "uninstall of the second image: exit 0" "$rc" 0

done_testing
