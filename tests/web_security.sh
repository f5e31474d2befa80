#!/usr/bin/env bash
# The web server's defences and limits: path traversal in every spelling,
# the Host check, oversized requests, basic authentication (yescrypt and
# sha512crypt users made with mkpasswd), TLS (a self-signed certificate made
# here with openssl), IPv6, errors at start, a live capture, and a load run
# with wrk.
. "$CW_TESTLIB"
. "$CW_WEBLIB"
set -e

export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
"$CW_GENCAP" sip "$T/sip.pcap" "$T/expected.json" >/dev/null
ncalls=$(jq length "$T/expected.json")
start_cw "$T/sip.log" -r "$T/sip.pcap" --web 127.0.0.1:0

# ---------------------------------------------------------------- path traversal
# However it is spelt, a path never leaves the embedded files.
for p in \
    "/../../../../etc/passwd" "/static/../../../../etc/passwd" "/static/..%2f..%2f..%2fetc%2fpasswd" \
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd" "/static/%2e%2e/%2e%2e/web/server.c" "/static/%252e%252e/%252e%252e/etc/passwd" \
    "/static/..%252f..%252fetc%252fpasswd" "/static/..\\..\\..\\etc\\passwd" "/static/%5c..%5c..%5cetc%5cpasswd" \
    "/static/app.js%00.html" "/static/%00" "/api/calls/%00" "/api/calls/..%2f..%2f..%2fetc%2fpasswd" \
    "/static//etc/passwd" "/static/.%2e/.%2e/configure.ac" "/graph/..%2f..%2fetc%2fpasswd.png" \
    "/static/app.js/../../../etc/passwd" "/index.html/../../etc/passwd" "/static/.." "/web/static/app.js"; do
    get "$p"
    case $code in
    400 | 404) ;;
    *) fail "$p: status $code" ;;
    esac
    if grep -qE '^root:|#include|AC_INIT|callwatch_a_SOURCES' "$T/body"; then
        fail "$p: served a file from outside web/static"
    else
        pass "$p: $code, nothing served"
    fi
done

# A raw NUL byte in the request line (no client library sends one): the
# path ends at the NUL, so at worst it names another embedded file.
port=$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' <<<"$URL")
get /static/app.js
cp "$T/body" "$T/app.js"
for raw_path in '/static/app.js\0/../../../etc/passwd' '/static/\0../../../etc/passwd' '/api/calls/\0../../etc/passwd'; do
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf "GET $raw_path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
    timeout 5 cat <&3 >"$T/raw" || true
    exec 3<&-
    status=$(head -1 "$T/raw" | tr -d '\r')
    sed '1,/^\r$/d' "$T/raw" >"$T/raw.body"
    case $status in
    "HTTP/1.1 4"*) pass "raw NUL ($raw_path): $status" ;;
    "HTTP/1.1 200 OK") if cmp -s "$T/raw.body" "$T/app.js"; then pass "raw NUL ($raw_path): the embedded app.js, nothing else"; else fail "raw NUL ($raw_path): 200 with something else"; fi ;;
    *) fail "raw NUL ($raw_path): $status" ;;
    esac
    if grep -q '^root:' "$T/raw.body"; then fail "raw NUL: served /etc/passwd"; fi
done

get /api/status -H "Host: attacker.example"
expect_eq "foreign Host header (DNS rebinding): 403" "$code" 403
get /api/status -H "Host: localhost:1"
expect_eq "Host localhost: 200" "$code" 200
get /api/status -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)"
case $code in 4??|000) pass "70 kB of headers refused ($code)" ;; *) fail "70 kB of headers: status $code" ;; esac
get /api/calls -X POST --data-binary @"$T/sip.pcap"
expect_eq "a request body: 405 before it is read" "$code" 405
stop_cw TERM

# ---------------------------------------------------------------- errors at start
start_cw "$T/busy.log" -r "$T/sip.pcap" --web 127.0.0.1:0
busy_port=$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' <<<"$URL")
run_cw -r "$T/sip.pcap" --web "127.0.0.1:$busy_port"
expect_eq "port in use: exit 1" "$rc" 1
expect_match "port in use: says so" "$err" "127\.0\.0\.1:$busy_port: Address already in use"
stop_cw TERM
printf 'alice\n' >"$T/bad-users"
printf '[web]\nlisten = 127.0.0.1:0\nusers = %s\n' "$T/bad-users" >"$T/bad-users.ini"
run_cw -c "$T/bad-users.ini" -r "$T/sip.pcap"
expect_eq "bad users file: exit 2" "$rc" 2
expect_match "bad users file: file:line" "$err" "bad-users:1: expected name:hash"
printf '[web]\nlisten = 127.0.0.1\n' >"$T/bad-listen.ini"
run_cw -c "$T/bad-listen.ini" -r "$T/sip.pcap"
expect_eq "bad listen: exit 2" "$rc" 2
expect_match "bad listen: file:line" "$err" 'bad-listen.ini:2: listen: "127.0.0.1" is not ADDR:PORT'

# ---------------------------------------------------------------- basic auth
yes_hash=$(printf 'correct horse' | mkpasswd -s -m yescrypt)
sha_hash=$(printf 'battery staple' | mkpasswd -s -m sha512crypt)
expect_match "mkpasswd made a yescrypt hash" "$yes_hash" '^\$y\$'
printf '# callwatch users\nalice:%s\n\nbob:%s\n' "$yes_hash" "$sha_hash" >"$T/users"
printf '[web]\nlisten = 127.0.0.1:0\nusers = %s\n' "$T/users" >"$T/auth.ini"
start_cw "$T/auth.log" -c "$T/auth.ini" -r "$T/sip.pcap"
get /api/status
expect_eq "auth: no credentials: 401" "$code" 401
expect_match "auth: challenge" "$(header www-authenticate)" '^Basic realm="callwatch"'
expect_eq "auth: the challenge is JSON" "$(jq -r .error "$T/body")" "authentication required"
expect_status "auth: dashboard too" / 401
expect_status "auth: /metrics too" /metrics 401
expect_status "auth: wrong password" /api/status 401 -u "alice:correct horsE"
expect_status "auth: unknown user" /api/status 401 -u "mallory:correct horse"
expect_status "auth: yescrypt user" /api/status 200 -u "alice:correct horse"
expect_status "auth: sha512crypt user" "/api/calls?limit=1" 200 -u "bob:battery staple"
expect_status "auth: one user's password for another" /api/status 401 -u "bob:correct horse"
expect_status "auth: garbage header" /api/status 401 -H "Authorization: Basic %%%"
stop_cw TERM

# ---------------------------------------------------------------- TLS
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
printf '[web]\nlisten = 127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n' "$T/cert.pem" "$T/key.pem" >"$T/tls.ini"
start_cw "$T/tls.log" -c "$T/tls.ini" -r "$T/sip.pcap"
expect_match "TLS: an https URL" "$URL" '^https://127\.0\.0\.1:'
get /api/status --cacert "$T/cert.pem"
expect_eq "TLS: verified request" "$code" 200
expect_eq "TLS: real data" "$(jq .database.calls "$T/body")" "$ncalls"
get / --cacert "$T/cert.pem"
expect_match "TLS: CSP too" "$(header content-security-policy)" "default-src 'self'"
plain=${URL/https:/http:}
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$plain" || true)
if [ "$code" = 200 ]; then fail "TLS port answers plain HTTP"; else pass "TLS port refuses plain HTTP ($code)"; fi
stop_cw TERM
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other" -keyout "$T/key2.pem" -out "$T/cert2.pem" 2>/dev/null
printf '[web]\nlisten = 127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n' "$T/cert.pem" "$T/key2.pem" >"$T/tls-bad.ini"
run_cw -c "$T/tls-bad.ini" -r "$T/sip.pcap"
expect_eq "TLS: mismatched key: exit 2" "$rc" 2
expect_match "TLS: mismatched key: says so" "$err" 'tls_cert .*tls_key'

# ---------------------------------------------------------------- IPv6
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
    start_cw "$T/v6.log" -r "$T/sip.pcap" --web "[::1]:0"
    expect_match "IPv6: bracketed URL" "$URL" '^http://\[::1\]:[0-9]+/$'
    code=$(curl -s -g -o "$T/body" -w '%{http_code}' "${URL}api/calls?limit=1" || true)
    expect_eq "IPv6: served" "$code" 200
    stop_cw TERM
else
    echo "note: this kernel has no ::1; the IPv6 listener was not checked"
fi

# ---------------------------------------------------------------- live mode
# A live capture: the server is up while it runs, and a call still ringing
# is listed from the status snapshot.  Packet sockets do not see loopback
# traffic on every kernel, so the call crosses a veth pair into a network
# namespace of the test's own.
ns=cwweb$$
veth=cww$$
net=198.18.$(($$ % 250)).
ip netns add "$ns"
NETNS_CLEANUP="ip link del ${veth}a; ip netns del $ns"
ip link add "${veth}a" type veth peer name "${veth}b"
ip link set "${veth}b" netns "$ns"
ip addr add "${net}1/30" dev "${veth}a"
ip link set "${veth}a" up
ip netns exec "$ns" ip addr add "${net}2/30" dev "${veth}b"
ip netns exec "$ns" ip link set "${veth}b" up
WAIT_FOR=dashboard start_cw "$T/live.log" -i "${veth}a" -f "udp port 5060" -d "$T/live" --web 127.0.0.1:0
get /api/status
expect_eq "live: status" "$code" 200
expect_eq "live: mode" "$(jq -r .capture.mode "$T/body")" live
printf 'INVITE sip:bob@%s2 SIP/2.0\r\nVia: SIP/2.0/UDP %s1:5062;branch=z9hG4bK-live-%s\r\nMax-Forwards: 70\r\nFrom: "Live Caller" <sip:carol@%s1>;tag=l1\r\nTo: <sip:bob@%s2>\r\nCall-ID: live-call-%s\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@%s1:5062>\r\nContent-Length: 0\r\n\r\n' \
    "$net" "$net" $$ "$net" "$net" $$ "$net" >"$T/invite.txt"
found=0
for i in $(seq 1 40); do
    # One write, one datagram (retransmissions of the same INVITE).
    cat "$T/invite.txt" >"/dev/udp/${net}2/5060" 2>/dev/null || true
    get "/api/calls?state=active&limit=100"
    if [ "$(jq --arg id "live-call-$$" '[.calls[] | select(.call_id == $id)] | length' "$T/body" 2>/dev/null)" = 1 ]; then
        found=1
        break
    fi
    sleep 0.25
done
expect_eq "live: the ringing call is listed as active" "$found" 1
get "/api/calls/live-call-$$"
expect_eq "live: the call's page" "$(jq -r '.from_display' "$T/body")" "Live Caller"
get /api/status
expect_eq "live: packets counted" "$(jq '.capture.packets > 0' "$T/body")" true
get /metrics
expect_match "live: /metrics counts the attempt" "$(body)" 'callwatch_call_attempts_total\{site="[^"]*"\} 1'
stop_cw TERM
expect_eq "live: SIGTERM exit 0" "$stop_rc" 0

# ---------------------------------------------------------------- load
# 64 connections for 3 s against /api/calls: every answer a 2xx, no
# socket errors.
start_cw "$T/load.log" -r "$T/sip.pcap" --web 127.0.0.1:0
wrk -t2 -c64 -d3s --timeout 5s "${URL}api/calls" >"$T/wrk.txt" 2>&1 || true
reqs=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$T/wrk.txt")
expect_match "wrk: requests were made ($reqs)" "${reqs:-0}" '^[1-9][0-9]+$'
if grep -Eq 'Non-2xx|Socket errors' "$T/wrk.txt"; then
    fail "wrk: errors under load: $(grep -E 'Non-2xx|Socket errors' "$T/wrk.txt")"
else
    pass "wrk: no non-2xx answers and no socket errors at 64 connections"
fi
get "/api/calls?limit=1000"
expect_eq "after the load: still right" "$(jq .total "$T/body")" "$ncalls"
stop_cw TERM
expect_eq "after the load: exit 0" "$stop_rc" 0

finish
