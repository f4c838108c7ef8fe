#!/usr/bin/env bash
# static.sh - the self-contained Linux setup (docs/static.md): the static
# stub has no dynamic dependencies, is stripped and small; a setup built from
# it installs, verifies and uninstalls the sample release inside a chroot
# that holds nothing but the setup (no /lib, no /proc, no shell); airpack
# build picks the stub by the manifest's platform and refuses one for another
# platform; airpack-setup refuses a release for another platform into this
# host's root without --force-platform and warns into an image root.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
# tools/test.sh builds it (tools/build-linux-static) and names it here: a
# stub named that is not there is a failure, not a skip.
if [ -n "${AIRPACK_STATIC_SETUP:-}" ]; then
	ST=$AIRPACK_STATIC_SETUP
	if [ ! -f "$ST" ]; then
		not_ok "the static setup stub '$ST' was built" "tools/build-linux-static failed"
		done_testing
	fi
else
	ST=$SRCDIR/build-static/installer/airpack-setup
	[ -f "$ST" ] || skip_all "no static setup stub ($ST): run tools/build-linux-static"
fi
[ "$(id -u)" -eq 0 ] || skip_all "the chroot needs root"
cd "$tmp"

# --- the stub itself -------------------------------------------------------
run ldd "$ST"
contains "ldd: the stub is not a dynamic executable" "$out" "not a dynamic executable"
run file -b "$ST"
contains "file: statically linked" "$out" "statically linked"
contains "file: stripped" "$out" ", stripped"
not_contains "file: not 'not stripped'" "$out" "not stripped"
size=$(size_of "$ST")
diag "static stub: $size bytes"
check "the stub is at most 6 MiB ($size bytes)" test "$size" -le 6291456

# --- a setup from it, run in an empty chroot -------------------------------
"$A" keygen -o key.pem >/dev/null
keyfpr=$(openssl pkey -pubin -in key.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-64)
# The sample release less its run action: the chroot has no shell to run
# install-check.sh with.
python3 - "$SRCDIR/manifests/sample-release.json" >sample.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["components"] = [c for c in m["components"] if c["install"]["action"] != "run"]
json.dump(m, sys.stdout, indent=2)
PY
run "$A" build sample.json --payloads "$SRCDIR/payloads/sample" --key key.pem \
	--sfx out/setup --sfx-stub "$ST"
is "build --sfx with the static stub exits 0" "$rc" 0
contains "and says which stub and platform" "$out" "linux-amd64"
check "the setup is executable" test -x out/setup

R=$tmp/chroot
# Nothing from this host reaches the setup: no environment but TMPDIR.
CHROOT=$(command -v chroot)
in_root() { run env -i TMPDIR=/tmp "$CHROOT" "$R" "$@"; }
mkdir -p "$R/tmp"
chmod 1777 "$R/tmp"
cp out/setup "$R/setup"
run find "$R" -mindepth 1
is "the chroot holds the setup and an empty tmp, nothing else" \
	"$(printf '%s\n' "$out" | sed "s|^$R||" | sort | tr '\n' ' ')" "/setup /tmp "
in_root /setup --trust-key-id "$keyfpr"
is "the setup installs in the empty chroot (exit 0)" "$rc" 0
contains "and says so" "$out" "installed sample-edge 1.1.0 into /"
not_contains "a linux-amd64 release gets no platform warning" "$out" "is for platform"
exists "the daemon is in the chroot's prefix" "$R/opt/sample-edge/daemon/iotedged.exe"
exists "and the receipt" "$R/var/lib/airpack/sample-edge/receipt.json"
in_root /setup verify
is "verify in the chroot exits 0" "$rc" 0
in_root /setup uninstall
is "uninstall in the chroot exits 0" "$rc" 0
absent "the prefix is gone" "$R/opt/sample-edge/daemon"

# --- the stub follows the manifest's platform ------------------------------
sed 's/"platform": "linux-amd64"/"platform": "windows-amd64"/' sample.json >win.json
run "$A" build win.json --payloads "$SRCDIR/payloads/sample" --key key.pem \
	--sfx out/win-setup --sfx-stub "$ST"
is "a Linux stub for a windows-amd64 release is refused (exit 2)" "$rc" 2
contains "naming --sfx-stub" "$out" "--sfx-stub"
contains "and both platforms" "$out" "linux-amd64"
contains "the release's too" "$out" "windows-amd64"
absent "no setup was written" out/win-setup

# An installed packager: airpack in bin/, the stubs in lib/airpack/stubs/.
mkdir -p pkg/bin pkg/lib/airpack/stubs
cp "$A" pkg/bin/airpack
cp "$ST" pkg/lib/airpack/stubs/airpack-setup
run pkg/bin/airpack build sample.json --payloads "$SRCDIR/payloads/sample" --key key.pem \
	--sfx out/auto-setup --json
is "without --sfx-stub a linux-amd64 release gets the packaged stub" "$rc" 0
contains "the static one" "$out" "\"sfx_stub\":\"$tmp/pkg/bin/../lib/airpack/stubs/airpack-setup\""
check "the setup starts with the static stub's bytes" \
	cmp -n "$(size_of "$ST")" "$ST" out/auto-setup
run pkg/bin/airpack build win.json --payloads "$SRCDIR/payloads/sample" --key key.pem \
	--sfx out/auto-win
is "a windows-amd64 release with no Windows stub packaged: not found (exit 8)" "$rc" 8
contains "naming the platform wanted" "$out" "no airpack-setup stub for platform 'windows-amd64'"
contains "and what was found" "$out" "(linux-amd64)"
if [ -n "${AIRPACK_SETUP_EXE:-}" ] && [ -f "$AIRPACK_SETUP_EXE" ]; then
	cp "$AIRPACK_SETUP_EXE" pkg/lib/airpack/stubs/airpack-setup.exe
	run pkg/bin/airpack build win.json --payloads "$SRCDIR/payloads/sample" --key key.pem \
		--sfx out/auto-win --json
	is "with setup.exe packaged too, the Windows release gets it" "$rc" 0
	contains "setup.exe" "$out" '"sfx_stub_platform":"windows-amd64"'
fi

# --- installing a release for another platform -----------------------------
"$A" build win.json --payloads "$SRCDIR/payloads/sample" --key key.pem --layout winrel --quiet
mkdir -p "$R/rel"
cp winrel/* "$R/rel/"
cp key.pub.pem "$R/key.pub.pem"
in_root /setup install --from /rel --offline \
	--trust /key.pub.pem
is "a windows-amd64 release into this host's root is refused (exit 2)" "$rc" 2
contains "naming --force-platform" "$out" "--force-platform"
contains "and both platforms" "$out" "'windows-amd64', this host is 'linux-amd64'"
absent "nothing was installed" "$R/opt/sample-edge"
run "$S" install --from winrel --offline --trust key.pub.pem --root "$tmp/img"
is "into an image root it is installed (exit 0)" "$rc" 0
contains "with a warning" "$out" "warning: sample-edge 1.1.0 is for platform 'windows-amd64'"
exists "the image has it" "$tmp/img/opt/sample-edge/daemon/iotedged.exe"
in_root /setup install --from /rel --offline \
	--trust /key.pub.pem --force-platform
is "--force-platform installs it into this host's root" "$rc" 0
contains "with a warning" "$out" "warning: sample-edge 1.1.0 is for platform 'windows-amd64'"

done_testing
