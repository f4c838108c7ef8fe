#!/usr/bin/env bash
# provision.sh - the device lifecycle on the sample release: install offline,
# provision (argument, standard input, file), status, log, verify,
# uninstall and --purge; connection strings good and bad; kill -9 during the
# write; and the key never anywhere but config.yaml.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
cd "$tmp"

if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "Bail out! python3 has no yaml module (apt-get install python3-yaml)"
	exit 1
fi

# The value at a dotted path of a YAML file; "INVALID ..." (exit 3) when the
# file does not parse, "ABSENT" (exit 4) when the path is not there.
yget() {
	python3 - "$1" "$2" <<'PY'
import sys, yaml
try:
    with open(sys.argv[1]) as f:
        d = yaml.safe_load(f)
except Exception as e:
    print("INVALID", type(e).__name__)
    sys.exit(3)
for k in sys.argv[2].split("."):
    if not isinstance(d, dict) or k not in d:
        print("ABSENT")
        sys.exit(4)
    d = d[k]
print(d)
PY
}

# Every output is kept: at the end none may hold a key.
prun() {
	run "$@"
	printf '%s\n' "$out" >>"$tmp/outputs.log"
}

fingerprint() {
	printf %s "$1" | sha256sum | cut -c1-8
}

# True when TEXT holds any 6-character run of KEY.
leaks() {
	local text=$1 key=$2 i

	for ((i = 0; i + 6 <= ${#key}; i++)); do
		case "$text" in
		*"${key:i:6}"*) return 0 ;;
		esac
	done
	return 1
}

newkey() {
	openssl rand -base64 32
}

K1=$(newkey) K2=$(newkey) K3=$(newkey) KA=$(newkey) KB=$(newkey) KV=$(newkey) KX=$(newkey)
all_keys=("$K1" "$K2" "$K3" "$KA" "$KB" "$KV" "$KX")
HUB=hub1.azure-devices.net
CFG=R/etc/sample-edge/config.yaml
REC=R/var/lib/airpack/sample-edge/provision.json
HIST=R/var/log/airpack/history.jsonl

# --- the sample release, installed offline ---------------------------------------
"$A" keygen -o key.pem >/dev/null
"$A" build "$SRCDIR/manifests/sample-release.json" --payloads "$SRCDIR/payloads/sample" \
	--key key.pem --layout lay --quiet
prun "$S" install --from lay --trust key.pub.pem --root R --offline
is "install offline exits 0" "$rc" 0

prun "$S" status --root R
contains "before provisioning, status says so" "$out" "provisioning: no (no device configuration yet: run 'airpack-setup provision')"
contains "and names the config file from the release" "$out" "config:      /etc/sample-edge/config.yaml"

# --- from an argument --------------------------------------------------------------
cs1="HostName=$HUB;DeviceId=dev-1;SharedAccessKey=$K1"
prun "$S" provision --root R --connection-string "$cs1"
is "provision from an argument exits 0" "$rc" 0
contains "the output names the hub" "$out" "hub:         $HUB"
contains "and the device" "$out" "device id:   dev-1"
contains "and shows the key as ****" "$out" "SharedAccessKey=**** (sha256 $(fingerprint "$K1")...)"
contains "warns that an argument is visible" "$out" "kept in shell history"
not_contains "the key is not in the output" "$out" "$K1"
exists "config.yaml is written" "$CFG"
is "config.yaml has mode 0600" "$(stat -c %a "$CFG")" 600
contains "the output says how it is protected" "$out" "etc/sample-edge/config.yaml (mode 0600)"
chmod 0644 "$CFG"
run "$S" status --root R
contains "status names a configuration with secrets that others can read" "$out" \
	"holds secrets but is not private (expected mode 0600)"
chmod 0600 "$CFG"
run "$S" status --root R
not_contains "and says nothing once it is private again" "$out" "not private"
check "the connection string is one double-quoted YAML line" \
	grep -Fxq "  device_connection_string: \"$cs1\"" "$CFG"
is "YAML: provisioning.source" "$(yget "$CFG" provisioning.source)" manual
is "YAML: provisioning.device_connection_string" \
	"$(yget "$CFG" provisioning.device_connection_string)" "$cs1"
is "template key hostname survives" "$(yget "$CFG" hostname)" "<ADD HOSTNAME HERE>"
is "template key connect.management_uri survives" "$(yget "$CFG" connect.management_uri)" \
	"unix:///var/run/iotedge/mgmt.sock"
is "template key moby_runtime.network survives" "$(yget "$CFG" moby_runtime.network)" \
	"azure-iot-edge"
is "template key agent.config.image survives" "$(yget "$CFG" agent.config.image)" \
	"mcr.microsoft.com/azureiotedge-agent:1.1"
exists "the provision record is written" "$REC"
is "the record holds the sha256 of config.yaml" \
	"$(python3 -c "import json,sys; print(json.load(open('$REC'))['config_sha256'])")" \
	"$(sha256_of "$CFG")"
is "the record holds the fingerprint" \
	"$(python3 -c "import json,sys; print(json.load(open('$REC'))['key_fingerprint'])")" \
	"$(fingerprint "$K1")"

# --- from standard input: the second replaces the first -----------------------------
cs2="HostName=$HUB;DeviceId=dev-2;SharedAccessKey=$K2"
prun "$S" provision --root R --connection-string - <<<"$cs2"
is "provision from standard input exits 0" "$rc" 0
not_contains "no argument warning for standard input" "$out" "shell history"
is "the second string replaced the first" "$(yget "$CFG" provisioning.device_connection_string)" "$cs2"
check_fails "the first key is gone from config.yaml" grep -qF -- "$K1" "$CFG"
is "still mode 0600" "$(stat -c %a "$CFG")" 600
is "no temporary files are left beside it" "$(ls -A R/etc/sample-edge | tr '\n' ' ')" "config.yaml "
is "hostname still survives" "$(yget "$CFG" hostname)" "<ADD HOSTNAME HERE>"

# --- from a file with CRLF and quotes ------------------------------------------------
cs3="HostName=$HUB;DeviceId=dev-3;SharedAccessKey=$K3"
printf '  "%s"\r\n\r\n' "$cs3" >cs3.txt
prun "$S" provision --root R --connection-string-file cs3.txt --json
is "provision from a CRLF file with quotes exits 0" "$rc" 0
contains "it warns that quotes were stripped" "$out" "wrapped in quotes: they were removed"
is "the unquoted, trimmed string is written" "$(yget "$CFG" provisioning.device_connection_string)" "$cs3"
json_line=$(printf '%s\n' "$out" | grep '^{')
is "--json: the redacted string" \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["connection_string"])' "$json_line")" \
	"HostName=$HUB;DeviceId=dev-3;SharedAccessKey=****"
is "--json: the fingerprint" \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key_fingerprint"])' "$json_line")" \
	"$(fingerprint "$K3")"
is "--json: quotes_stripped" \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["quotes_stripped"])' "$json_line")" True

# --- files saved by Windows tools: a UTF-8 BOM, UTF-16LE (PowerShell 5.1 '>') ----------
printf '\357\273\277%s\r\n' "$cs3" >cs-bom.txt
prun "$S" provision --root R --connection-string-file cs-bom.txt
is "a UTF-8 file with a BOM is accepted" "$rc" 0
is "and its string is written" "$(yget "$CFG" provisioning.device_connection_string)" "$cs3"
printf '\377\376' >cs-u16.txt
printf '%s\r\n' "$cs2" | iconv -f UTF-8 -t UTF-16LE >>cs-u16.txt
prun "$S" provision --root R --connection-string-file cs-u16.txt
is "a UTF-16LE file with a BOM is accepted" "$rc" 0
is "and decoded" "$(yget "$CFG" provisioning.device_connection_string)" "$cs2"
prun "$S" provision --root R --connection-string - <cs-u16.txt
is "UTF-16LE on standard input too" "$rc" 0
printf '%s' "$cs3" | iconv -f UTF-8 -t UTF-16LE >cs-u16-nobom.txt
prun "$S" provision --root R --connection-string-file cs-u16-nobom.txt
is "UTF-16 without a BOM: exit 3" "$rc" 3
contains "the encoding problem is named" "$out" "looks like UTF-16 without a byte order mark"
printf '%s' "$cs3" | iconv -f UTF-8 -t UTF-16BE >cs-u16be.txt
prun "$S" provision --root R --connection-string-file cs-u16be.txt
is "UTF-16BE without a BOM: exit 3" "$rc" 3
printf 'HostName=h\351b.azure-devices.net;DeviceId=d;SharedAccessKey=%s' "$K3" >cs-latin1.txt
prun "$S" provision --root R --connection-string-file cs-latin1.txt
is "Latin-1 bytes: exit 3" "$rc" 3
contains "named as not UTF-8, with the byte" "$out" "not UTF-8 (byte 11 is 0xe9)"
is "the last good string is still there" "$(yget "$CFG" provisioning.device_connection_string)" "$cs2"

# --- standard input on a terminal: a prompt, no echo ----------------------------------
# A pty: the prompt comes first, then the string is typed; with the echo on,
# the terminal would send the typed key back.
ptyrun() {
	python3 - "$@" <<'PY'
import os, pty, select, sys, time
cs = os.environ["PTY_INPUT"]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
def read_until(pred, limit):
    global out
    end = time.time() + limit
    while time.time() < end and not pred(out):
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                b = os.read(fd, 4096)
            except OSError:
                return
            if not b:
                return
            out += b
read_until(lambda o: b"end with Enter" in o, 20)
os.write(fd, cs.encode() + b"\n")
read_until(lambda o: False, 20)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
PY
}
out=$(PTY_INPUT=$cs1 ptyrun "$S" provision --root R --connection-string - 2>&1)
rc=$?
printf '%s\n' "$out" >>"$tmp/outputs.log"
is "provision reading a terminal exits 0" "$rc" 0
contains "it prompts for the string" "$out" "device connection string (HostName=...;DeviceId=...;SharedAccessKey=...)"
contains "and says how to end the input" "$out" "not shown as you type or paste it; end with Enter"
not_contains "the typed key is not echoed" "$out" "$K1"
is "the typed string is written" "$(yget "$CFG" provisioning.device_connection_string)" "$cs1"
out=$(PTY_INPUT="HostName=$HUB;DeviceId=dev-1" ptyrun "$S" provision --root R --connection-string - 2>&1)
is "a bad string typed at the terminal: exit 3" "$?" 3
contains "named" "$out" "missing SharedAccessKey"

# --- registry credentials and proxy; other settings survive ------------------------
printf 'custom:\n  keep: "me"\n' >>"$CFG"
prun "$S" status --root R
contains "status sees the hand edit" "$out" "file:        changed since provisioning"
PW='s3cr:et"pa#ss'
printf '%s\n' "$PW" >pw.txt
prun "$S" provision --root R --connection-string-file cs3.txt \
	--agent-image myreg.azurecr.io/azureiotedge-agent:1.1 --registry-user edgeuser \
	--registry-password-file pw.txt --proxy http://puser:ppass@proxy.example:3128
is "provision with registry credentials and a proxy exits 0" "$rc" 0
is "agent.config.image" "$(yget "$CFG" agent.config.image)" "myreg.azurecr.io/azureiotedge-agent:1.1"
is "agent.config.auth.serveraddress from the image" "$(yget "$CFG" agent.config.auth.serveraddress)" "myreg.azurecr.io"
is "agent.config.auth.username" "$(yget "$CFG" agent.config.auth.username)" edgeuser
is "agent.config.auth.password, quotes and # intact, line break dropped" "$(yget "$CFG" agent.config.auth.password)" "$PW"
is "agent.env.https_proxy" "$(yget "$CFG" agent.env.https_proxy)" "http://puser:ppass@proxy.example:3128"
is "a key the operator added survives" "$(yget "$CFG" custom.keep)" me
not_contains "the password is not in the output" "$out" "s3cr:et"
not_contains "the proxy password is not in the output" "$out" "ppass"
contains "the proxy is shown redacted" "$out" "http://****@proxy.example:3128"
prun "$S" provision --root R --connection-string - --registry-user u --registry-password-file - <<<"$cs3"
is "string and password both from standard input: usage error" "$rc" 2
contains "saying why" "$out" "cannot both come from standard input"
prun "$S" provision --root R --connection-string-file cs3.txt --registry-user u
is "a user without a password file: usage error" "$rc" 2
prun "$S" provision --root R --connection-string-file cs3.txt --proxy 'ftp://x'
is "a bad proxy URL: usage error" "$rc" 2
contains "naming --proxy" "$out" "--proxy"
prun "$S" provision --root R
is "no connection string: usage error" "$rc" 2

# --- status ----------------------------------------------------------------------
prun "$S" status --root R
is "status exits 0" "$rc" 0
contains "status: provisioned" "$out" "provisioning: yes"
contains "status: hub" "$out" "hub:         $HUB"
contains "status: device id" "$out" "device id:   dev-3"
contains "status: key fingerprint only" "$out" "SharedAccessKey=**** (sha256 $(fingerprint "$K3")...)"
contains "status: the config matches what provision wrote" "$out" "file:        matches what provision wrote"
prun "$S" status --root R --json
is "status --json: provisioning section" \
	"$(python3 -c 'import json,sys; p=json.loads(sys.argv[1])["provisioning"]; print(p["provisioned"], p["device_id"], p["config_state"], p["config_path"])' "$out")" \
	"True dev-3 matches etc/sample-edge/config.yaml"
printf '# edited\n' >>"$CFG"
prun "$S" status --root R --json
is "status --json: a changed config is detected" \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["provisioning"]["config_state"])' "$out")" changed
mv "$CFG" cfg.saved
prun "$S" status --root R
contains "status: a missing config is detected" "$out" "file:        missing (provision wrote it)"
contains "and it is not provisioned then" "$out" "provisioning: no (the configuration provision wrote is missing)"
mv cfg.saved "$CFG"

# --- broken or odd existing files are refused, the file left alone --------------------
cp "$CFG" cfg.good
printf 'agent:\n  config: [1, 2\n' >"$CFG"
before=$(sha256_of "$CFG")
prun "$S" provision --root R --connection-string-file cs3.txt
is "broken YAML in the existing file: exit 9 (state)" "$rc" 9
contains "the error names the file and the line" "$out" "config.yaml': existing configuration: invalid YAML at line"
is "the broken file is left as it was" "$(sha256_of "$CFG")" "$before"
rm "$CFG" && mkdir "$CFG"
prun "$S" provision --root R --connection-string-file cs3.txt
is "a folder where config.yaml goes: exit 9" "$rc" 9
contains "refusing to replace it" "$out" "is not a regular file"
rmdir "$CFG" && cp cfg.good "$CFG" && chmod 600 "$CFG"

# --- connection strings through the CLI ----------------------------------------------
# Valid ones: given -> what is written (normalized).
norm="HostName=$HUB;DeviceId=dev-v;SharedAccessKey=$KV"
valid=(
	"HostName=$HUB;DeviceId=dev-v;SharedAccessKey=$KV"
	"DeviceId=dev-v;HostName=$HUB;SharedAccessKey=$KV"
	"SharedAccessKey=$KV;DeviceId=dev-v;HostName=$HUB"
	"HostName=$HUB;DeviceId=dev-v;SharedAccessKey=$KV;"
	"\"HostName=$HUB;DeviceId=dev-v;SharedAccessKey=$KV\""
	"'DeviceId=dev-v;SharedAccessKey=$KV;HostName=$HUB'"
	"$(printf ' \t HostName=%s;DeviceId=dev-v;SharedAccessKey=%s \r\n' "$HUB" "$KV")"
)
i=0
for cs in "${valid[@]}"; do
	i=$((i + 1))
	if [ $((i % 2)) -eq 0 ]; then
		prun "$S" provision --root R --quiet --connection-string - <<<"$cs"
	else
		prun "$S" provision --root R --quiet --connection-string "$cs"
	fi
	is "valid string $i is accepted" "$rc" 0
	is "valid string $i is written normalized" "$(yget "$CFG" provisioning.device_connection_string)" "$norm"
done
prun "$S" provision --root R --connection-string "HostName=$HUB;DeviceId=dev-g;SharedAccessKey=$KV;GatewayHostName=edgegw"
is "GatewayHostName is accepted" "$rc" 0
is "and kept in the normalized string" "$(yget "$CFG" provisioning.device_connection_string)" \
	"HostName=$HUB;DeviceId=dev-g;SharedAccessKey=$KV;GatewayHostName=edgegw"
odd_id="a.b-c_d:e@f\$g(h)!i*j?k,l=m%n'o"
prun "$S" provision --root R --connection-string - <<<"HostName=$HUB;DeviceId=$odd_id;SharedAccessKey=$KV"
is "a device id with every allowed punctuation mark is accepted" "$rc" 0
is "and comes back intact from YAML" "$(yget "$CFG" provisioning.device_connection_string)" \
	"HostName=$HUB;DeviceId=$odd_id;SharedAccessKey=$KV"

# Invalid ones: the string | what the message must name.  Each carries a key.
long_id=$(printf 'd%.0s' $(seq 129))
short_key=$(head -c 8 /dev/urandom | base64)
invalid=(
	"HostName=$HUB;DeviceId=dev-x|missing SharedAccessKey"
	"DeviceId=dev-x;SharedAccessKey=$KX|missing HostName"
	"HostName=$HUB;SharedAccessKey=$KX|missing DeviceId"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=$KX;DeviceId=dev-y|duplicate DeviceId (parts 2 and 4)"
	"HostName=$HUB;DeviceId=;SharedAccessKey=$KX|DeviceId: empty value"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=|SharedAccessKey: empty value"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=${KX%?}!|SharedAccessKey:"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=${KX:1}|SharedAccessKey:"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=$short_key|SharedAccessKey: decodes to 8 bytes"
	"HostName=$HUB;DeviceId=$long_id;SharedAccessKey=$KX|DeviceId: 129 characters, at most 128"
	"HostName=$HUB;DeviceId=dev#x;SharedAccessKey=$KX|DeviceId: character 4 is '#'"
	"HostName=$HUB;DeviceId=dev+x;SharedAccessKey=$KX|DeviceId: character 4 is '+'"
	"HostName=hub_1.azure-devices.net;DeviceId=dev-x;SharedAccessKey=$KX|HostName:"
	"HostName=hub;DeviceId=dev-x;SharedAccessKey=$KX|HostName: a single label"
	"HostName=$HUB;DeviceId;SharedAccessKey=$KX|part 2 'DeviceId' has no '='"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=$KX;garbage|part 4 'garbage' has no '='"
	"hostname=$HUB;DeviceId=dev-x;SharedAccessKey=$KX|wrong case key 'hostname' in part 1"
	"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=$KX;Foo=bar|unknown key 'Foo' in part 4"
	"HostName=$HUB;DeviceId=dev-x;ModuleId=m;SharedAccessKey=$KX|ModuleId:"
	"HostName=$HUB;SharedAccessKeyName=owner;SharedAccessKey=$KX|SharedAccessKeyName:"
	"HostName=$HUB;DeviceId=dev x;SharedAccessKey=$KX|DeviceId: contains whitespace"
	"\"HostName=$HUB;DeviceId=dev-x;SharedAccessKey=$KX'|mismatched quotes"
	"HostName=$HUB;;DeviceId=dev-x;SharedAccessKey=$KX|part 2 is empty"
	"HostName=$HUB;DeviceId=dev-x;$KX|not shown"
)
before=$(sha256_of "$CFG")
i=0
for entry in "${invalid[@]}"; do
	i=$((i + 1))
	cs=${entry%|*}
	want=${entry##*|}
	if [ $((i % 2)) -eq 0 ]; then
		prun "$S" provision --root R --connection-string - <<<"$cs"
	else
		prun "$S" provision --root R --connection-string "$cs"
	fi
	is "invalid string $i ($want) exits 3 (invalid input)" "$rc" 3
	contains "invalid string $i: the message names the part" "$out" "$want"
	if leaks "$out" "$KX"; then
		not_ok "invalid string $i: the message shows no part of the key" "$out"
	else
		ok "invalid string $i: the message shows no part of the key"
	fi
done
is "refused strings left config.yaml alone" "$(sha256_of "$CFG")" "$before"
is "${#invalid[@]} invalid and $((${#valid[@]} + 2)) valid strings were tried" \
	"$(( ${#invalid[@]} + ${#valid[@]} + 2 >= 20 ))" 1

# --- kill -9 during the write --------------------------------------------------------
csa="HostName=$HUB;DeviceId=dev-a;SharedAccessKey=$KA"
csb="HostName=$HUB;DeviceId=dev-b;SharedAccessKey=$KB"
printf '%s\n' "$csa" >csa.txt
printf '%s\n' "$csb" >csb.txt
prun "$S" provision --root R --quiet --connection-string-file csa.txt
good=$(sha256_of "$CFG")
if hooks "a provision killed halfway through its write (AP_PROVISION_CRASH_AT)"; then
AP_PROVISION_CRASH_AT=write "$S" provision --root R --quiet --connection-string-file csb.txt \
	>/dev/null 2>&1
is "the crash hook dies in the middle of the write" "$?" 137
is "a write killed halfway leaves config.yaml as it was" "$(sha256_of "$CFG")" "$good"
tmpf=$(ls R/etc/sample-edge | grep -c '^config\.yaml\.tmp-')
is "the half-written temporary file is beside it" "$tmpf" 1
is "and has mode 0600 too" "$(stat -c %a R/etc/sample-edge/config.yaml.tmp-*)" 600
fi
# Kill at random moments across one provision's whole run time, measured here.
t0=$(date +%s%N)
"$S" provision --root R --quiet --connection-string-file csa.txt >/dev/null 2>&1
span=$(( ($(date +%s%N) - t0) / 1000000 * 3 / 2 + 1 ))
diag "one provision takes about $((span * 2 / 3)) ms; killing within ${span} ms"
bad=0 killed=0 seen_b=0
for i in $(seq 30); do
	f=csa.txt
	[ $((i % 2)) -eq 0 ] && f=csb.txt
	"$S" provision --root R --quiet --connection-string-file "$f" >/dev/null 2>&1 &
	pid=$!
	ms=$((RANDOM % span))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	[ $? -eq 137 ] && killed=$((killed + 1))
	v=$(yget "$CFG" provisioning.device_connection_string)
	m=$(stat -c %a "$CFG")
	[ "$v" = "$csb" ] && seen_b=$((seen_b + 1))
	if [ "$m" != 600 ] || { [ "$v" != "$csa" ] && [ "$v" != "$csb" ]; }; then
		bad=$((bad + 1))
		diag "run $i: mode $m, value '${v:0:40}...'"
	fi
done
diag "$killed of 30 provisions were killed before they finished; config.yaml held dev-b after $seen_b"
is "kill -9 at random moments: config.yaml is always one complete version, mode 0600" "$bad" 0
prun "$S" provision --root R --quiet --connection-string-file csa.txt
is "a provision after the kills exits 0" "$rc" 0
is "and removes the temporary files they left" "$(ls -A R/etc/sample-edge | tr '\n' ' ')" "config.yaml "
is "and writes the value" "$(yget "$CFG" provisioning.device_connection_string)" "$csa"

# --- verify, log -----------------------------------------------------------------------
prun "$S" verify --root R
is "verify passes after provisioning (the config is not a release file)" "$rc" 0
prun "$S" log --root R
is "log exits 0" "$rc" 0
contains "log: the install, with where components came from" "$out" " install sample-edge 1.1.0 ok: 4 components (4 local), 9 files"
contains "log: the provisions" "$out" " provision sample-edge 1.1.0 ok: device 'dev-1' on hub '$HUB'"
contains "log: the verify" "$out" " verify sample-edge 1.1.0 ok: 9 files"
check "log lines start with an ISO time" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z install ' <<<"$out"
prun "$S" log --root R -v
contains "log -v: each component's source" "$out" "security-daemon: local:$tmp/lay/iotedge-daemon.cab"
prun "$S" log --root R --json
check "log --json: every line is a JSON object" python3 -c '
import json, sys
for l in sys.argv[1].splitlines():
    assert isinstance(json.loads(l), dict)' "$out"
is "log --json: one install event" "$(grep -c '"event":"install"' <<<"$out")" 1
check "log --json: the install records the local path of each component" grep -qF \
	"\"moby-engine\":\"local:$tmp/lay/moby-engine.zip\"" <<<"$out"

printf 'not json\n' >>"$HIST"
prun "$S" log --root R
is "log with a malformed line still exits 0" "$rc" 0
contains "and warns about it" "$out" "skipped 1 malformed line in R/var/log/airpack/history.jsonl"
contains "after showing the good lines" "$out" " verify sample-edge 1.1.0 ok"
prun "$S" log --root empty-root
contains "log without history says so" "$out" "no history under empty-root"

# --- the key is nowhere but config.yaml -----------------------------------------------
is "the current key is in exactly one file under the root: config.yaml" \
	"$(grep -rlF -- "$KA" R | tr '\n' ' ')" "$CFG "
for k in "${all_keys[@]}"; do
	[ "$k" = "$KA" ] && continue
	if grep -rqF -- "$k" R; then
		not_ok "an earlier key is nowhere under the root" "$(grep -rlF -- "$k" R)"
	else
		ok "an earlier key is nowhere under the root"
	fi
done
check_fails "the registry password is only in config.yaml" \
	sh -c "grep -rlF -- 's3cr:et' R | grep -v '^$CFG\$'"
n_leak=0
for k in "${all_keys[@]}"; do
	grep -qF -- "$k" "$HIST" "$REC" R/var/lib/airpack/sample-edge/receipt.json && n_leak=$((n_leak + 1))
	grep -qF -- "$k" outputs.log && n_leak=$((n_leak + 1))
done
is "no key in the history, the record, the receipt or any output" "$n_leak" 0
check_fails "no password in the history" grep -qF 's3cr:et' "$HIST"

# --- uninstall removes what provision wrote; --purge the data ---------------------------
mkdir -p R/var/lib/sample-edge/moby/x
if hooks "an interrupted provision before uninstall (AP_PROVISION_CRASH_AT)"; then
AP_PROVISION_CRASH_AT=write "$S" provision --root R --quiet --connection-string-file csb.txt \
	>/dev/null 2>&1
is "an interrupted provision left a temporary file before uninstall" \
	"$(ls R/etc/sample-edge | grep -c '^config\.yaml\.tmp-')" 1
fi
prun "$S" uninstall --root R
is "uninstall exits 0" "$rc" 0
contains "it reports removing the configuration" "$out" "removed the device configuration /etc/sample-edge/config.yaml written by provision"
absent "config.yaml is removed" "$CFG"
absent "the folders provision created are removed" R/etc
absent "the provision record is removed" "$REC"
exists "without --purge the data folder stays" R/var/lib/sample-edge/moby/x
exists "the history survives uninstall" "$HIST"
n_left=0
for k in "${all_keys[@]}"; do
	grep -rqF -- "$k" R && n_left=$((n_left + 1))
done
is "after uninstall no key is left anywhere under the root (temporary files included)" "$n_left" 0
prun "$S" log --root R
contains "log: the uninstall" "$out" " uninstall sample-edge 1.1.0 ok: removed 9 files"
contains "log: still the install before it" "$out" " install sample-edge 1.1.0 ok"

prun "$S" provision --root R --connection-string-file csa.txt
is "provision with nothing installed: exit 8" "$rc" 8
contains "saying so" "$out" "no product is installed under 'R': install a release, then provision it"

# The data folder the first install's product wrote existed before this
# install: --purge would keep it (tests/integration/bounds.sh), so start clean.
rm -rf R/var/lib/sample-edge
prun "$S" install --from lay --trust key.pub.pem --root R --offline --quiet
mkdir -p R/var/lib/sample-edge/moby/x
prun "$S" provision --root R --quiet --connection-string-file csa.txt
prun "$S" uninstall --root R --purge --json
is "uninstall --purge exits 0" "$rc" 0
is "--json names the removed configuration" \
	"$(python3 -c 'import json,sys; r=[json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")][-1]; print(r["config_removed"], r["purged"])' "$out")" \
	"etc/sample-edge/config.yaml 1"
absent "--purge removes the data folder" R/var/lib/sample-edge/moby
absent "and the configuration" "$CFG"

# --- releases without a config section, and a tampered template ------------------------
python3 - "$SRCDIR/manifests/sample-release.json" >noconf.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["config"]
print(json.dumps(m, indent=2))
PY
"$A" build noconf.json --payloads "$SRCDIR/payloads/sample" --key key.pem --layout lay-noconf --quiet
prun "$S" install --from lay-noconf --trust key.pub.pem --root R2 --offline --quiet
prun "$S" provision --root R2 --connection-string-file csa.txt
is "a release without a config section: exit 3" "$rc" 3
contains "saying there is nothing to provision" "$out" "declares no device configuration"
prun "$S" status --root R2
contains "status: the release declares none" "$out" "provisioning: no (the release declares no device configuration)"

prun "$S" install --from lay --trust key.pub.pem --root R3 --offline --quiet
printf 'evil: true\n' >>R3/opt/sample-edge/templates/config.template.yaml
prun "$S" provision --root R3 --connection-string-file csa.txt
is "a modified installed template: exit 4 (integrity)" "$rc" 4
contains "naming the template and what to do" "$out" "install --repair"
absent "nothing was written" R3/etc/sample-edge/config.yaml

done_testing
