#!/usr/bin/env bash
# windows.sh - the Windows setup.exe, built on Linux from the cross build's
# airpack-setup.exe and run under wine: a self-extracting install into a
# folder under Z:\tmp, verify, the run action's declared exit code, a
# non-ASCII payload name and archive entry names, repair, uninstall; a
# truncated setup.exe refusing; and a detached setup.exe that takes what
# lies beside it and downloads exactly the rest from nginx on 127.0.0.1.
#
# Needs AIRPACK (Linux packager), AIRPACK_SETUP_EXE (the cross-built
# installer), AP_ARGV_TOOL_EXE (the cross-built tests/tools/argv_tool.c, the
# release's run action) and AP_WINE_RUN (tools/wine-run).
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
EXE=${AIRPACK_SETUP_EXE:-}
TOOL=${AP_ARGV_TOOL_EXE:-}
W=${AP_WINE_RUN:-$SRCDIR/tools/wine-run}
[ -f "$EXE" ] || skip_all "no Windows build ($EXE): run tools/build-windows"
[ -f "$TOOL" ] || skip_all "no cross-built ap-argv-tool.exe ($TOOL)"
[ -x /usr/lib/wine/wine64 ] || skip_all "wine64 is not installed (tools/deps-windows.sh)"
cd "$tmp"
export AP_FETCH_RETRY_MS=50
# Each wine start costs about a second; installs are bounded all the same.
export RUN_TIMEOUT=300

# The Windows form of a Linux path: wine maps / to Z:.
winpath() { printf 'Z:%s' "$1" | tr '/' '\\'; }

cafe=$'caf\xc3\xa9-\xc3\xbc.txt'
mkdir pay
cp "$SRCDIR/payloads/sample/iotedge-daemon.cab" "$SRCDIR/payloads/sample/moby-engine.zip" pay/
printf 'Grüße aus dem Café\r\n' >"pay/$cafe"
cp "$TOOL" pay/install-check.exe
# A zip whose entry names are not ASCII (zipfile marks them UTF-8).
python3 - "$tmp/pay/extra.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("docs/na\u00efve-\u00fc/\u20ac-\u4e2d.txt", "euro\n")
    z.writestr("plain.txt", "plain\n")
PY
ran=$(winpath "$tmp/ran.txt")
# JSON strings: backslashes doubled.
ran_json=${ran//\\/\\\\}
cat >win-release.json <<EOF
{
  "format": "airpack/1",
  "product": "sample-win",
  "version": "1.1.0",
  "platform": "windows-amd64",
  "description": "The sample release for Windows: a cab, a zip, a file with a non-ASCII name and a run action whose exit code 1638 is declared a success.",
  "prefix": "Program Files/sample-win",
  "components": [
    { "name": "security-daemon", "file": "iotedge-daemon.cab",
      "install": { "action": "extract", "to": "daemon" } },
    { "name": "moby-engine", "file": "moby-engine.zip",
      "install": { "action": "extract", "to": "moby" } },
    { "name": "extra", "file": "extra.zip",
      "install": { "action": "extract", "to": "extra" } },
    { "name": "greeting", "file": "$cafe",
      "install": { "action": "copy", "to": "notes/$cafe" } },
    { "name": "install-check", "file": "install-check.exe",
      "install": { "action": "run",
        "args": [ "$ran_json", "1638", "--require", "daemon/iotedged.exe", "a \"quoted\" arg\\\\" ],
        "ok_exit_codes": [ 0, 1638 ] } }
  ]
}
EOF

"$A" keygen -o key.pem >/dev/null
keyfpr=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-64)
run "$A" build win-release.json --payloads pay --key key.pem --sfx out/setup.exe \
	--sfx-stub "$EXE" --layout rel
is "airpack build --sfx with airpack-setup.exe exits 0" "$rc" 0
diag "setup.exe: $(size_of out/setup.exe) bytes (airpack-setup.exe alone: $(size_of "$EXE"))"
is "setup.exe starts with airpack-setup.exe's PE header" "$(head -c 2 out/setup.exe)" "MZ"
run "$A" inspect out/setup.exe --json
contains "airpack inspect reads the Windows setup" "$out" '"kind":"self-extracting setup"'

# The exe's manifest and version resource (installer/win/).
check "airpack-setup.exe carries a manifest asking for an administrator" \
	grep -aq 'requestedExecutionLevel level="requireAdministrator"' "$EXE"
check "longPathAware" grep -aq '>true</longPathAware>' "$EXE"
check "the UTF-8 code page" grep -aq '>UTF-8</activeCodePage>' "$EXE"
check "and Windows 10's supportedOS id" grep -aq '8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a' "$EXE"
ver=$("$A" --version | grep -o '[0-9][0-9.]*' | head -n 1)
check "a version resource naming airpack's version $ver" python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
u = lambda s: s.encode("utf-16-le")
sys.exit(0 if u("ProductVersion") + b"\0\0" + u(sys.argv[2]) in d else 1)' "$EXE" "$ver"

mkdir dev && cp out/setup.exe dev/setup.exe
run "$W" dev/setup.exe --version
is "setup.exe --version exits 0 under wine" "$rc" 0
contains "it finds the release inside itself (GetModuleFileNameW)" "$out" "carries: sample-win 1.1.0 for windows-amd64"
run "$W" dev/setup.exe '/?'
is "setup.exe /? exits 0" "$rc" 0
contains "and prints the help" "$out" "usage: airpack-setup"

run "$W" dev/setup.exe plan --trust-key-id "$keyfpr"
is "setup.exe plan exits 0" "$rc" 0
contains "plan takes the cab from the setup" "$out" "bundle    security-daemon"

root1=$(winpath "$tmp/root1")
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-in-root
is "setup.exe --run-in-root is refused on Windows (exit 2)" "$rc" 2
contains "saying there is no chroot" "$out" "--run-in-root is not available on windows"
absent "and installs nothing" root1/ProgramData/airpack/state/sample-win/receipt.json
# An image root: the run action is run here only when asked (--run-on-host).
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-on-host
is "setup.exe installs into $root1" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
inst="root1/Program Files/sample-win"
mkdir -p ref/daemon ref/moby ref/notes ref/extra
(cd ref/daemon && gcab -x "$SRCDIR/payloads/sample/iotedge-daemon.cab")
(cd ref/moby && unzip -q "$SRCDIR/payloads/sample/moby-engine.zip")
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
	pay/extra.zip ref/extra
cp "pay/$cafe" ref/notes/
cp pay/install-check.exe ref/
check "the installed tree is byte for byte the payloads' contents" diff -r ref "$inst"
exists "the non-ASCII name arrived as the same UTF-8 name" "$inst/notes/$cafe"
exists "so did the zip's non-ASCII entry names" "$inst/extra/docs/na"$'\xc3\xaf'"ve-"$'\xc3\xbc'"/"$'\xe2\x82\xac'"-"$'\xe4\xb8\xad'".txt"
is "with its exact bytes" "$(sha256_of "$inst/notes/$cafe")" "$(sha256_of "pay/$cafe")"
is "the run action got every argument as written" "$(cat ran.txt 2>/dev/null)" \
	"$(printf '%s\n' "--require" "daemon/iotedged.exe" 'a "quoted" arg\')"
receipt=$(cat root1/ProgramData/airpack/state/sample-win/receipt.json 2>/dev/null)
contains "the receipt records the run action's exit code 1638" "$receipt" '"exit_code": 1638'
contains "as a declared success" "$receipt" '"ok": true'

run "$W" dev/setup.exe verify --root "$root1"
is "setup.exe verify passes" "$rc" 0
printf 'tampered' >>"$inst/notes/$cafe"
run "$W" dev/setup.exe verify --root "$root1"
isnt "verify notices a changed file" "$rc" 0
contains "and names it" "$out" "$cafe"
printf 'mine' >"$inst/notes/mine.txt"
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-on-host
is "a second run repairs it (the two-rename switch: Windows has no atomic exchange)" "$rc" 0
is "a file the user added is kept across it (CreateHardLinkW)" "$(cat "$inst/notes/mine.txt")" mine
is "no staging or old tree is left beside the install" "$(ls "root1/Program Files")" sample-win
rm "$inst/notes/mine.txt"
run "$W" dev/setup.exe verify --root "$root1"
is "verify passes again" "$rc" 0
run "$W" dev/setup.exe status --root "$root1" --json
contains "status shows the release" "$out" '"version":"1.1.0"'

run "$W" dev/setup.exe --extract "$(winpath "$tmp/usb")" --trust-key-id "$keyfpr" --quiet
is "setup.exe --extract writes an offline folder" "$rc" 0
check "with the payloads as they were, the non-ASCII name included" cmp "usb/$cafe" "pay/$cafe"
run "$A" verify usb --trust key.pub.pem
is "the folder setup.exe extracted verifies on Linux" "$rc" 0

# A file of the installed release held open by a running program (a
# service's exe): the repair refuses before the switch (exit 9, naming it),
# the installed release stays whole; once the program ends, it goes through.
printf 'tampered' >>"$inst/notes/$cafe"
rm -f held.ready
"$W" "$TOOL" --hold "$(winpath "$tmp/$inst/daemon/iotedged.exe")" "$(winpath "$tmp/held.ready")" 60 \
	>/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 60); do
	[ -f held.ready ] && break
	sleep 1
done
exists "a program holds daemon\\iotedged.exe open" held.ready
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-on-host
is "a repair while a release file is in use is refused (exit 9)" "$rc" 9
contains "naming the file" "$out" "daemon/iotedged.exe"
contains "and saying it is in use" "$out" "in use by another program"
is "the installed tree is still there" "$(cat "$inst/daemon/iotedged.exe" | wc -c)" \
	"$(cat ref/daemon/iotedged.exe | wc -c)"
is "no staging or old tree is left" "$(ls "root1/Program Files")" sample-win
run "$W" dev/setup.exe status --root "$root1" --json
contains "status still shows the installed release" "$out" '"version":"1.1.0"'
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
"${WINESERVER:-/usr/lib/wine/wineserver64}" -k >/dev/null 2>&1 || true
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-on-host
is "once the program ends, the repair goes through" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
check "and the tree is the payloads' again" diff -r ref "$inst"

# Files a user (or an msys/WSL tool) leaves in the prefix with names Windows
# treats specially: the repair, verify and uninstall handle them through
# "\\?\" paths, keep them and finish.
printf 'user nul' >"$inst/notes/nul"
printf 'user dot' >"$inst/notes/notes."
mkdir -p "$inst/x. " && printf 'deep' >"$inst/x. /kept.txt"
run "$W" dev/setup.exe --root "$root1" --trust-key-id "$keyfpr" --quiet --run-on-host
is "a repair with user files named nul, 'notes.' and 'x. ' in the prefix exits 0" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
is "the user's nul is kept" "$(cat "$inst/notes/nul" 2>/dev/null)" "user nul"
is "the user's 'notes.' is kept" "$(cat "$inst/notes/notes." 2>/dev/null)" "user dot"
is "the user's folder 'x. ' is kept" "$(cat "$inst/x. /kept.txt" 2>/dev/null)" "deep"
is "no staging or old tree is left" "$(ls "root1/Program Files")" sample-win
run "$W" dev/setup.exe verify --root "$root1"
is "verify reads them (exit 10: files the release does not have)" "$rc" 10
contains "naming the user's nul as unexpected" "$out" "unexpected verify: Program Files/sample-win/notes/nul"
not_contains "no device error" "$out" "Bad device"

run "$W" dev/setup.exe uninstall --root "$root1"
is "setup.exe uninstall exits 0" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
absent "the release's files are gone" "$inst/notes/$cafe"
is "the user's files are kept" \
	"$(cat "$inst/notes/nul" "$inst/notes/notes." "$inst/x. /kept.txt" 2>/dev/null)" \
	"user nuluser dotdeep"
absent "the product's state is gone" root1/ProgramData/airpack/state/sample-win/receipt.json
is "the setup's folder is left as it was" "$(ls dev)" "setup.exe"

# No --root: the system drive's root (C: under wine, %SystemDrive%), not
# the drive setup.exe was started from (Z:), and the state under
# ProgramData\airpack; status from anywhere finds it.
wp=${AIRPACK_WINEPREFIX:-/tmp/airpack-wine-$(id -u)}
rm -f ran.txt
run "$W" dev/setup.exe --trust-key-id "$keyfpr"
is "setup.exe without --root, started on Z:, installs" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
contains "it says where: the system drive" "$out" 'C:\'
exists "into C:\\Program Files" "$wp/drive_c/Program Files/sample-win/notes/$cafe"
exists "with the state in C:\\ProgramData\\airpack\\state" \
	"$wp/drive_c/ProgramData/airpack/state/sample-win/receipt.json"
exists "C: is the host's root: the run action ran" ran.txt
run "$W" "$EXE" status --product sample-win --json
contains "status without --root finds it" "$out" '"version":"1.1.0"'
run "$W" "$EXE" uninstall --product sample-win
is "uninstall without --root removes it" "$rc" 0
absent "from C:\\Program Files" "$wp/drive_c/Program Files/sample-win/notes/$cafe"

# On Windows the installer holds every release to Windows' names, whatever
# platform it names: a Linux release with aux.txt in a zip, or with A.txt
# and a.txt, built with a warning on Linux, is refused (exit 3).
mkdir -p wn/aux wn/case
python3 - wn/aux/app.zip wn/case/app.zip <<'PY'
import sys, zipfile
for path, names in ((sys.argv[1], ["bin/app.exe", "bin/aux.txt"]),
                    (sys.argv[2], ["Docs/A.txt", "docs/a.txt"])):
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(zipfile.ZipInfo(n, (2020, 1, 1, 0, 0, 0)), n + "\n")
PY
cat >wn/rel.json <<EOF
{"format": "airpack/1", "product": "wn", "version": "1.0.0", "platform": "linux-amd64",
 "prefix": "opt/wn",
 "components": [{"name": "app", "file": "app.zip", "install": {"action": "extract"}}]}
EOF
for k in aux case; do
	run "$A" build wn/rel.json --payloads "wn/$k" --key key.pem --layout "wn/$k-rel" --quiet
	is "wn $k: a Linux release builds on Linux" "$rc" 0
	contains "wn $k: with a warning" "$out" "unsafe name for Windows"
	run "$W" "$EXE" install --from "$(winpath "$tmp/wn/$k-rel")" \
		--trust "$(winpath "$tmp/key.pub.pem")" --offline --root "$(winpath "$tmp/wn/r-$k")" \
		--quiet
	is "wn $k: airpack-setup.exe refuses it on Windows (exit 3)" "$rc" 3
	contains "wn $k: saying unsafe name for Windows" "$out" "unsafe name for Windows"
	absent "wn $k: nothing is installed" "wn/r-$k/opt/wn"
done

# Damage: one byte short.
size=$(size_of out/setup.exe)
cp out/setup.exe trunc.exe && truncate -s $((size - 1)) trunc.exe
run "$W" trunc.exe --root "$(winpath "$tmp/rt")" --trust key.pub.pem
isnt "a setup.exe truncated by one byte refuses" "$rc" 0
contains "saying it is truncated" "$out" "is truncated"
absent "and installs nothing" rt

# Detached: the cab, the extra zip and the greeting beside setup.exe, the
# rest (the other zip and the run action's program) on nginx.
run "$A" build win-release.json --payloads pay --key key.pem --sfx thin/setup.exe \
	--sfx-detached --sfx-stub "$EXE"
is "build --sfx-detached exits 0" "$rc" 0
mkdir -p www dev2
cp rel/* www/
cp thin/setup.exe dev2/setup.exe
cp pay/iotedge-daemon.cab pay/extra.zip "pay/$cafe" dev2/
nginx_start "$tmp/www"
run "$W" dev2/setup.exe plan --trust key.pub.pem --mirror "$NGINX_URL"
contains "plan takes the cab from beside setup.exe" "$out" "local     security-daemon"
contains "and the non-ASCII name too" "$out" "local     greeting"
contains "and will download the zip" "$out" "will download from $NGINX_URL/moby-engine.zip"
nginx_log_clear
root2=$(winpath "$tmp/root2")
run "$W" dev2/setup.exe --root "$root2" --trust key.pub.pem --mirror "$NGINX_URL" --quiet
is "the detached setup.exe installs" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
is "exactly the two missing payloads were requested" "$(nginx_requests)" 2
is "the zip" "$(nginx_requests 'GET /moby-engine.zip 200')" 1
is "and the run action's program" "$(nginx_requests 'GET /install-check.exe 200')" 1
is "bytes sent = bytes missing" "$(nginx_bytes)" \
	$(($(size_of pay/moby-engine.zip) + $(size_of pay/install-check.exe)))
check "the same files as the whole setup.exe installed" diff -r ref "root2/Program Files/sample-win"

# Services (docs/services.md): on the host's root (C: under wine) the
# Service Control Manager registers the release's service and starts it
# (the test tool runs as a real service: ap-argv-tool --service); status
# asks the manager; uninstall stops and deletes it.  In an image root the
# registration waits for firstboot.  A service of that name airpack did not
# register is left alone.
svcname=airpack-test-svc
ready=$(winpath "$tmp/svc-ready.txt")
mkdir -p svcpay
cp "$TOOL" svcpay/svcd.exe
svc_release() { # service-name
	cat <<EOF
{ "format": "airpack/1", "product": "svc-win", "version": "1.0.0", "platform": "windows-amd64",
  "prefix": "Program Files/svc-win",
  "components": [ { "name": "svcd", "file": "svcd.exe", "install": { "action": "copy",
    "to": "bin/svcd.exe", "service": { "name": "$1",
      "args": [ "--service", "$1", "${ready//\\/\\\\}" ], "description": "airpack test service" } } } ] }
EOF
}
svc_release "$svcname" >svc.json
run "$A" build svc.json --payloads svcpay --key key.pem --layout svcrel --quiet
is "services: a Windows release with a service builds" "$rc" 0
svcrel=$(winpath "$tmp/svcrel")
wtrust=$(winpath "$tmp/key.pub.pem")
run "$W" "$EXE" install --from "$svcrel" --trust "$wtrust" --offline
is "services: the install into C: exits 0" "$rc" 0
[ "$rc" = 0 ] || diag "$out"
contains "services: it says the service is registered and started" "$out" "registered and started"
exists "services: the service ran (wrote its ready file)" svc-ready.txt
run "$W" sc query "$svcname"
contains "services: sc query says RUNNING" "$out" "RUNNING"
run "$W" "$EXE" status --product svc-win
contains "services: status asks the manager" "$out" "$svcname     running (svcd)"
run "$W" "$EXE" install --from "$svcrel" --trust "$wtrust" --offline --root "$(winpath "$tmp/svcimg")"
is "services: an image root install exits 0" "$rc" 0
contains "services: the registration waits for firstboot" "$out" "firstboot registers it on the device"
run "$W" "$EXE" status --product svc-win --root "$(winpath "$tmp/svcimg")"
contains "services: status of the image says so" "$out" "waits for firstboot"
run "$W" "$EXE" uninstall --product svc-win
is "services: uninstall exits 0" "$rc" 0
contains "services: it stops and removes the service" "$out" "stopped and removed"
run "$W" sc query "$svcname"
not_contains "services: the service is gone" "$out" "RUNNING"
isnt "services: sc query of it fails (it does not exist)" "$rc" 0
run "$W" sc create airpack-foreign-svc binPath= 'C:\windows\system32\notepad.exe'
svc_release airpack-foreign-svc >svc2.json
"$A" build svc2.json --payloads svcpay --key key.pem --layout svcrel2 --quiet
run "$W" "$EXE" install --from "$(winpath "$tmp/svcrel2")" --trust "$wtrust" --offline
is "services: a service of that name airpack did not register: exit 1" "$rc" 1
contains "services: named, and left as it is" "$out" "was not registered by airpack-setup for 'svc-win': left as it is"
absent "services: refused before the switch" "$wp/drive_c/Program Files/svc-win"
run "$W" sc query airpack-foreign-svc
contains "services: the other service is still there" "$out" "airpack-foreign-svc"
"$W" sc delete airpack-foreign-svc >/dev/null 2>&1

done_testing
