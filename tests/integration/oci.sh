#!/usr/bin/env bash
# oci.sh - releases in an OCI registry: airpack publish --oci pushes signed
# releases into a real registry (Debian's docker-registry, distribution 2.8,
# started here on 127.0.0.1), airpack-setup installs from it, and the
# registry's own access log is the proof of what was uploaded and fetched.
. "$(dirname "$0")/lib.sh"

A=${AIRPACK:?}
S=${AIRPACK_SETUP:?}
REGISTRY=${REGISTRY:-/usr/bin/docker-registry}
cd "$tmp"
export AP_FETCH_RETRY_MS=50
unset SOURCE_DATE_EPOCH DOCKER_CONFIG
export HOME=$tmp/home
mkdir -p "$HOME"

if [ ! -x "$REGISTRY" ]; then
	skip_all "docker-registry not found at $REGISTRY (tools/deps.sh installs it)"
fi

# --- the registry fixture --------------------------------------------------------
# registry_start NAME [AUTH [TLS]]: a registry with its storage in $tmp/NAME,
# AUTH (YAML lines) under its auth: key and, when TLS names a folder holding
# server.pem and server.key, serving HTTPS with that certificate;
# its log in $tmp/NAME.log; sets REG (HOST:PORT) and REG_DIR.  Each start
# waits at most 5 s; every registry started is stopped on exit.
_reg_pids=()
registry_stop_all() {
	local p
	for p in "${_reg_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	_reg_pids=()
}
trap 'st=$?; registry_stop_all; (exit $st); _lib_cleanup' EXIT

registry_start() {
	local name=$1 auth=${2:-} tls=${3:-} try i port pid
	REG_DIR=$tmp/$name
	mkdir -p "$REG_DIR/store"
	for try in 1 2 3 4 5; do
		port=$(_free_port) || break
		{
			echo "version: 0.1"
			echo "log: {level: info}"
			echo "storage:"
			echo "  filesystem: {rootdirectory: $REG_DIR/store}"
			echo "  delete: {enabled: true}"
			if [ -n "$tls" ]; then
				echo "http: {addr: 127.0.0.1:$port, tls: {certificate: $tls/server.pem, key: $tls/server.key}}"
			else
				echo "http: {addr: 127.0.0.1:$port}"
			fi
			if [ -n "$auth" ]; then
				echo "auth:"
				echo "$auth"
			fi
		} >"$REG_DIR/config.yml"
		"$REGISTRY" serve "$REG_DIR/config.yml" </dev/null >"$REG_DIR.log" 2>&1 &
		pid=$!
		_reg_pids+=("$pid")
		for i in $(seq 50); do
			if _port_answers "$port"; then
				REG=127.0.0.1:$port
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
	done
	echo "Bail out! docker-registry did not start; its log says:"
	diag "$(tail -n 20 "$REG_DIR.log")"
	exit 1
}

# requests METHOD REGEX: the registry's access log lines of METHOD whose
# path matches REGEX (one line per request).
requests() {
	grep -E "\"$1 [^ \"]*$2" "$REG_DIR.log" | grep -c -E '^127\.0\.0\.1 - '
}
json_get() {
	python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($2)" <<<"$1"
}

# --- releases: 1.0.0 and 1.1.0 share three of their four payloads -----------------
"$A" keygen -o key.pem >/dev/null
"$A" keygen -o stranger.pem >/dev/null
src11=$SRCDIR/manifests/sample-release.json
mkdir -p pay10 && cp "$SRCDIR"/payloads/sample/* pay10/
tr a b <"$SRCDIR/payloads/sample/config.template.yaml" >pay10/config.template.yaml
sed 's/"version": "1.1.0"/"version": "1.0.0"/' "$src11" >src10.json
"$A" build src10.json --payloads pay10 --key key.pem -o r10.tar --quiet
"$A" build "$src11" --payloads "$SRCDIR/payloads/sample" --key key.pem --layout rel11 --quiet
T=(--trust key.pub.pem)
shared=(iotedge-daemon.cab moby-engine.zip install-check.sh)

registry_start open
R=$REG/airpack/sample-edge
M=oci://$R
I=(--insecure-registry)

# --- publish ---------------------------------------------------------------------
run "$A" publish --oci "$R" "${I[@]}" r10.tar --key key.pem --channel latest
is "publish --oci of a bundle exits 0" "$rc" 0
contains "it uploads the empty config, manifest, signature and 4 payloads" "$out" "7 blobs uploaded"
contains "and tags version, channel and --channel" "$out" "tags: 1.0.0 lts latest"
run "$A" publish --oci "$R" "${I[@]}" --layout rel11 --key key.pem --channel latest --json
is "publish --oci of an offline folder exits 0" "$rc" 0
is "the second release uploads only its manifest, signature and changed payload" \
	"$(json_get "$out" "j['blobs_uploaded']")" 3
is "the three shared payloads and the config were already there" \
	"$(json_get "$out" "j['blobs_existing']")" 4
for f in "${shared[@]}"; do
	is "shared payload $f was uploaded once (registry log)" \
		"$(requests PUT "/blobs/uploads/[^ ]*digest=sha256(:|%3A)$(sha256_of "rel11/$f")")" 1
done
is "10 blob uploads in all (registry log)" "$(requests PUT /blobs/uploads/)" 10
n_data=$(find "$REG_DIR/store" -path '*/blobs/sha256/*' -name data | wc -l)
is "the registry stores 10 blobs and 2 OCI manifests" "$n_data" 12
puts0=$(requests PUT /blobs/uploads/)
run "$A" publish --oci "$REG/airpack/copy" "${I[@]}" r10.tar --key key.pem --mount-from airpack/sample-edge --json
is "publish --mount-from into another repository exits 0" "$rc" 0
is "every blob is mounted from the first repository" "$(json_get "$out" "j['blobs_mounted']")" 7
is "none is uploaded" "$(json_get "$out" "j['blobs_uploaded']")" 0
is "the registry saw no new blob upload" "$(requests PUT /blobs/uploads/)" "$puts0"
is "and 7 mount requests" "$(requests POST '/airpack/copy/blobs/uploads/\?mount=')" 7
run "$A" publish --oci "$R" "${I[@]}" r10.tar --key stranger.pem
is "publishing with a key that did not sign the release exits 6" "$rc" 6
run "$A" publish --oci "$R" "${I[@]}" --mirror www r10.tar --key key.pem
is "--oci with --mirror is a usage error" "$rc" 2
run "$A" publish --oci "$R" r10.tar --key key.pem
is "https to a plain HTTP registry fails (exit 7)" "$rc" 7

# --- what other tools see ----------------------------------------------------------
if command -v skopeo >/dev/null 2>&1; then
	run timeout 60 skopeo inspect --raw --tls-verify=false "docker://$R:1.1.0"
	is "skopeo inspect --raw reads what airpack pushed" "$rc" 0
	is "the artifactType is airpack's" "$(json_get "$out" "j['artifactType']")" \
		application/vnd.airpack.release.v1+json
	is "the first layer is the signed manifest, byte for byte" \
		"$(json_get "$out" "j['layers'][0]['digest']")" "sha256:$(sha256_of rel11/manifest.json)"
	is "payload layers are titled by file name" \
		"$(json_get "$out" "j['layers'][2]['annotations']['org.opencontainers.image.title']")" \
		iotedge-daemon.cab
	run timeout 60 skopeo inspect --tls-verify=false "docker://$R:1.1.0"
	isnt "skopeo inspect (without --raw) refuses an artifact (documented)" "$rc" 0
	run timeout 60 skopeo copy --src-tls-verify=false "docker://$R:1.1.0" "oci:$tmp/ocilayout:x"
	is "skopeo copy copies it into an OCI layout" "$rc" 0
	check "with the signed manifest as a blob" \
		cmp rel11/manifest.json "$tmp/ocilayout/blobs/sha256/$(sha256_of rel11/manifest.json)"
else
	ok "# SKIP skopeo not installed"
fi

# --- versions ----------------------------------------------------------------------
run "$S" versions --mirror "$M" "${I[@]}" "${T[@]}"
is "versions --mirror oci:// exits 0" "$rc" 0
contains "it lists each tag with the signed version" "$out" "latest           1.1.0"
contains "and says the signature is ok" "$out" "1.0.0            1.0.0            lts          62.7 KiB  ok"

# --- install by version and by channel ------------------------------------------------
lines0=$(wc -l <"$REG_DIR.log")
run "$S" install --mirror "$M" "${I[@]}" --version 1.0.0 "${T[@]}" --root root1 --no-run --cache c1
is "install --version 1.0.0 from the registry exits 0" "$rc" 0
contains "it installs 1.0.0" "$out" "installed sample-edge 1.0.0"
check "the changed payload is 1.0.0's" cmp root1/opt/sample-edge/templates/config.template.yaml pay10/config.template.yaml
blob_gets() { tail -n +"$((lines0 + 1))" "$REG_DIR.log" | grep -E '^127\.0\.0\.1 - ' | grep -c -E "\"GET [^ ]*/blobs/sha256:($1)"; }
payload_re() { local d=$1 f re=; for f in "${@:2}"; do re=${re:+$re|}$(sha256_of "$d/$f"); done; echo "$re"; }
all4=(iotedge-daemon.cab moby-engine.zip config.template.yaml install-check.sh)
is "4 payload blobs fetched (registry log)" "$(blob_gets "$(payload_re pay10 "${all4[@]}")")" 4

run "$S" install --mirror "$M" "${I[@]}" --version latest "${T[@]}" --root root1 --no-run --cache c1
is "install --version latest exits 0" "$rc" 0
contains "latest is 1.1.0" "$out" "installed sample-edge 1.1.0"
run "$S" status --root root1
contains "the concrete version is pinned" "$out" "pinned:       1.1.0"
run "$S" install --mirror "$M" "${I[@]}" --version latest --channel lts "${T[@]}" --root root2 --no-run
is "install --version latest --channel lts exits 0" "$rc" 0
contains "the channel's tag is 1.1.0" "$out" "installed sample-edge 1.1.0"
run "$S" install --mirror "$M" "${I[@]}" --version latest --channel edge "${T[@]}" --root root3 --no-run
is "a channel nobody tagged is not found (exit 8)" "$rc" 8
contains "and the message names the tag" "$out" "no release tagged 'edge'"

# --- half the payloads local: only the missing blobs are fetched -------------------
mkdir -p half && cp rel11/iotedge-daemon.cab rel11/config.template.yaml half/
lines0=$(wc -l <"$REG_DIR.log")
run "$S" install --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --offline-dir half --root root4 --no-run --cache c4
is "install with half the payloads local exits 0" "$rc" 0
is "no blob of a local payload is fetched" \
	"$(blob_gets "$(payload_re rel11 iotedge-daemon.cab config.template.yaml)")" 0
is "the two missing payload blobs are fetched, once each" \
	"$(blob_gets "$(payload_re rel11 moby-engine.zip install-check.sh)")" 2
run "$S" layout --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --offline-dir half --dir usb11
is "layout --mirror oci:// fills an offline folder" "$rc" 0
check "whose manifest is the signed one" cmp usb11/manifest.json rel11/manifest.json
check "with every payload" cmp usb11/moby-engine.zip rel11/moby-engine.zip
run "$S" layout --from "$M" "${I[@]}" --version 1.0.0 "${T[@]}" --dir usb10
is "layout --from oci:// fills an offline folder too" "$rc" 0
check "with 1.0.0's signed manifest" cmp usb10/manifest.json <(tar -xOf r10.tar manifest.json)
run "$A" publish --oci "$REG/site/sample-edge" "${I[@]}" --layout usb10 --key key.pem
is "and publish --oci --layout pushes that folder into another registry repository" "$rc" 0
run "$S" plan --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --offline-dir half --root root5
contains "plan says where each comes from" "$out" "will download from http://$REG/v2/airpack/sample-edge/blobs/sha256:"

# --- a blob download killed with -9 resumes with Range --------------------------------
# nginx in front of the registry trickles the answers, so the download can be
# killed halfway; the rerun goes to the registry itself.
mkdir -p www
nginx_start www "location /v2/ { proxy_pass http://$REG; limit_rate 4k; }"
zip=moby-engine.zip
"$S" install --mirror "oci://127.0.0.1:$NGINX_PORT/airpack/sample-edge" "${I[@]}" --version 1.1.0 "${T[@]}" \
	--offline-dir half --root rootK --no-run --cache cK >/dev/null 2>&1 &
pid=$!
for i in $(seq 200); do
	[ -s "cK/$zip.partial" ] && [ "$(size_of "cK/$zip.partial")" -ge 8000 ] && break
	sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
nginx_stop
have=$(size_of "cK/$zip.partial" 2>/dev/null || echo 0)
diag "killed with $have bytes of $zip in the .partial"
isnt "the killed install left part of $zip" "$have" 0
lines0=$(wc -l <"$REG_DIR.log")
run "$S" install --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --offline-dir half --root rootK --no-run --cache cK
is "the rerun exits 0" "$rc" 0
check "with $zip whole in the cache" cmp "cK/$zip" "rel11/$zip"
is "the rerun asked the registry for the rest only (206)" \
	"$(tail -n +"$((lines0 + 1))" "$REG_DIR.log" | grep -E '^127\.0\.0\.1 - ' |
		grep -c -E "\"GET [^ ]*/blobs/sha256:$(sha256_of "rel11/$zip") [^\"]*\" 206 $(( $(size_of "rel11/$zip") - have )) ")" 1

# --- the registry is not trusted -------------------------------------------------------
# A blob whose bytes are not its digest (the storage tampered with): refused by hash.
cab=$(sha256_of rel11/moby-engine.zip)
data=$REG_DIR/store/docker/registry/v2/blobs/sha256/${cab:0:2}/$cab/data
cp "$data" saved.data
head -c "$(size_of saved.data)" /dev/zero >"$data"
run "$S" install --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --root root6 --no-run --cache c6
is "a wrong blob is refused by its hash (exit 4)" "$rc" 4
contains "naming the sha256 mismatch" "$out" "sha256"
absent "nothing was installed" root6/opt/sample-edge
cp saved.data "$data"

# A tag pointing at another release: the signed manifest decides.
man10=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/airpack/sample-edge/manifests/1.0.0" | base64 -w0)
base64 -d <<<"$man10" >m10.json
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary @m10.json "http://$REG/v2/airpack/sample-edge/manifests/9.9.9")
is "a forged tag 9.9.9 is pushed to 1.0.0's manifest" "$code" 201
run "$S" install --mirror "$M" "${I[@]}" --version 9.9.9 "${T[@]}" --root root7 --no-run
is "installing a tag that points at another version is refused (exit 3)" "$rc" 3
contains "the message says what the tag points at" "$out" "points at sample-edge 1.0.0, not at version 9.9.9"
run "$S" install --mirror "$M" "${I[@]}" --version 1.1.0 --trust stranger.pub.pem --root root7 --no-run
is "a release signed by an untrusted key is refused (exit 6)" "$rc" 6

# A deleted tag (distribution deletes a manifest by digest, with its tags).
dig=sha256:$(sha256_of m10.json)
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/airpack/sample-edge/manifests/$dig")
is "1.0.0's manifest is deleted from the registry" "$code" 202
run "$S" install --mirror "$M" "${I[@]}" --version 1.0.0 "${T[@]}" --root root8 --no-run
is "installing a deleted tag exits 8" "$rc" 8
contains "naming the tag and the repository" "$out" "no release tagged '1.0.0' in '$R'"
run "$S" install --mirror "$M" "${I[@]}" --version 1.1.0 "${T[@]}" --root root8 --no-run --cache c8
is "the other release still installs" "$rc" 0

run "$S" install --mirror "$M" "${I[@]}" "${T[@]}" --root root9
is "--mirror oci:// without --version is a usage error" "$rc" 2

# --- a root of trust with a 2-of-2 release role: every signature travels ------------
kid() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-16; }
for k in r1 rel2 idx; do "$A" keygen -o $k.pem >/dev/null; done
"$A" root init -o rootT.json --root-key r1.pub.pem --release-key key.pub.pem --release-key rel2.pub.pem \
	--threshold release=2 --index-key idx.pub.pem >/dev/null
"$A" root sign rootT.json --key r1.pem >/dev/null
mkdir trustT && cp rootT.json trustT/airpack-root.json &&
	cp "rootT.json.sig.$(kid r1.pub.pem)" "trustT/airpack-root.json.sig.$(kid r1.pub.pem)"
"$A" publish --oci "$REG/airpack/rooted1" "${I[@]}" --layout rel11 --key key.pem --quiet
run "$S" install --mirror "oci://$REG/airpack/rooted1" "${I[@]}" --version 1.1.0 --trust trustT --root rootR --no-run
is "one signature of a 2-of-2 release role is refused (exit 5)" "$rc" 5
contains "counting them" "$out" "1 of the 2 required signatures verify"
cp -r rel11 relT
"$A" root sign relT/manifest.json --key rel2.pem >/dev/null
run "$A" publish --oci "$REG/airpack/rooted2" "${I[@]}" --layout relT --key key.pem --json
is "publishing an offline folder with a second signature exits 0" "$rc" 0
run timeout 60 curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/airpack/rooted2/manifests/1.1.0"
is "the second signature is a layer titled by its key id" \
	"$(json_get "$out" "j['layers'][2]['annotations']['org.opencontainers.image.title']")" \
	"manifest.json.sig.$(kid rel2.pub.pem)"
run "$S" install --mirror "oci://$REG/airpack/rooted2" "${I[@]}" --version 1.1.0 --trust trustT --root rootR --no-run
is "with both signatures in the registry the root's threshold is met" "$rc" 0
contains "and 1.1.0 is installed" "$out" "installed sample-edge 1.1.0"

# --- basic auth ------------------------------------------------------------------------
htpasswd -Bbc htpasswd alice 's3cret-pw' 2>/dev/null
registry_start auth "  htpasswd: {realm: airpack-test, path: $tmp/htpasswd}"
RA=$REG/fleet/sample-edge
run "$A" publish --oci "$RA" "${I[@]}" r10.tar --key key.pem
is "publishing without credentials exits 14" "$rc" 14
contains "saying the registry wants credentials" "$out" "registry '$REG' wants credentials and there are none"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf 'alice:wrong-pw' | base64 -w0)" >bad.json
run "$A" publish --oci "$RA" "${I[@]}" r10.tar --key key.pem --registry-auth bad.json
is "wrong credentials exit 14" "$rc" 14
contains "the message names the registry" "$out" "registry '$REG' refused the credentials"
not_contains "and never the password" "$out" "wrong-pw"
not_contains "nor its base64" "$out" "$(printf 'alice:wrong-pw' | base64 -w0)"
printf '{"auths": {"%s": {"username": "alice", "password": "s3cret-pw"}}}\n' "$REG" >good.json
run "$A" publish --oci "$RA" "${I[@]}" r10.tar --key key.pem --registry-auth good.json
is "publishing with --registry-auth exits 0" "$rc" 0
not_contains "without printing the password" "$out" "s3cret-pw"
mkdir -p "$HOME/.docker"
printf '{"auths": {"http://%s": {"auth": "%s"}}}\n' "$REG" "$(printf 'alice:s3cret-pw' | base64 -w0)" >"$HOME/.docker/config.json"
run "$S" install --mirror "oci://$RA" "${I[@]}" --version 1.0.0 "${T[@]}" --root rootA --no-run
is "install reads ~/.docker/config.json's auths and exits 0" "$rc" 0
contains "and installs 1.0.0" "$out" "installed sample-edge 1.0.0"
not_contains "never printing the credentials" "$out" "s3cret-pw"
run "$S" install --mirror "oci://$RA" "${I[@]}" --version 1.0.0 "${T[@]}" --root rootB --no-run --registry-auth bad.json
is "install with wrong credentials exits 14" "$rc" 14

# --- token auth: a Bearer challenge, a token server, a scoped token ----------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout tok.key -out tok.pem -days 1 \
	-subj /CN=airpack-token >/dev/null 2>&1
python3 "$SRCDIR/tests/integration/ocitoken.py" tok.port tok.key tok.pem 'bob:t0ken-pw' \
	airpack-svc airpack-issuer tok.log 240 </dev/null >tok.out 2>&1 &
_reg_pids+=("$!")
for i in $(seq 50); do
	[ -s tok.port ] && break
	sleep 0.1
done
if [ ! -s tok.port ]; then
	echo "Bail out! the token server did not start: $(cat tok.out)"
	exit 1
fi
registry_start token "  token: {realm: http://127.0.0.1:$(cat tok.port)/token, service: airpack-svc, issuer: airpack-issuer, rootcertbundle: $tmp/tok.pem}"
RT=$REG/fleet/sample-edge
run "$A" publish --oci "$RT" "${I[@]}" r10.tar --key key.pem
is "token auth without credentials exits 14" "$rc" 14
contains "naming the token endpoint's refusal" "$out" "registry '$REG' refused a token (HTTP 401)"
printf '{"auths": {"%s": {"username": "bob", "password": "t0ken-pw"}}}\n' "$REG" >tok.json
run "$A" publish --oci "$RT" "${I[@]}" r10.tar --key key.pem --registry-auth tok.json
is "publishing with a Bearer token exits 0" "$rc" 0
contains "and pushes every blob" "$out" "7 blobs uploaded"
contains "the token asked for pull and push on the repository" "$(cat tok.log)" "scope=repository:fleet/sample-edge:pull,push auth=ok"
run "$S" install --mirror "oci://$RT" "${I[@]}" --version 1.0.0 "${T[@]}" --root rootT --no-run --registry-auth tok.json
is "install with a Bearer token exits 0" "$rc" 0
contains "and installs 1.0.0" "$out" "installed sample-edge 1.0.0"
contains "asking only for pull" "$(cat tok.log)" "scope=repository:fleet/sample-edge:pull auth=ok"
not_contains "never printing the password" "$out" "t0ken-pw"

# --- HTTPS: the registry's certificate is checked against --cacert ------------------
# A CA made here signs the registry's certificate for 127.0.0.1; without
# --cacert (and without --insecure-registry) the system's CAs refuse it.
_nginx_make_tls "$tmp/regtls"
registry_start tls "" "$tmp/regtls"
RS=$REG/secure/sample-edge
C=(--cacert "$tmp/regtls/ca.pem")
run "$A" publish --oci "$RS" r10.tar --key key.pem
isnt "publish --oci to a registry whose CA is unknown fails" "$rc" 0
contains "naming the TLS failure" "$out" "certificate"
contains "and the registry" "$out" "$REG"
run "$A" publish --oci "$RS" "${C[@]}" r10.tar --key key.pem --channel latest
is "publish --oci --cacert over HTTPS exits 0" "$rc" 0
contains "and pushes every blob" "$out" "7 blobs uploaded"
run "$S" versions --mirror "oci://$RS" "${C[@]}" "${T[@]}"
is "versions --mirror oci:// --cacert exits 0" "$rc" 0
contains "and lists 1.0.0" "$out" "1.0.0"
run "$S" install --mirror "oci://$RS" --version 1.0.0 "${T[@]}" --root rootS --no-run
isnt "install over HTTPS without --cacert fails" "$rc" 0
absent "and installs nothing" rootS/opt/sample-edge
run "$S" install --mirror "oci://$RS" "${C[@]}" --version 1.0.0 "${T[@]}" --root rootS --no-run
is "install over HTTPS with --cacert exits 0" "$rc" 0
contains "and installs 1.0.0" "$out" "installed sample-edge 1.0.0"
run "$S" verify --root rootS
is "and the installed release verifies" "$rc" 0
run "$S" install --mirror "oci://$RS" --insecure-registry --version 1.0.0 "${T[@]}" --root rootS2 --no-run
isnt "--insecure-registry (plain HTTP) against the HTTPS registry fails" "$rc" 0

done_testing
