#!/usr/bin/env bash
# A mirror received on a UDP socket (-i udp:ADDR:PORT): captures sent over
# loopback frame by frame, wrapped in TZSP as a MikroTik sniffer streams
# them and in VXLAN as a cloud's traffic mirroring sends them, give the
# calls and streams the capture file gives.  The probe stamps each
# datagram with its arrival, so what depends on time (jitter, timeouts)
# is not compared; what depends on the packets is.
. "$CW_TESTLIB"
set -e

WRAP=${CW_WRAPCAP:?CW_WRAPCAP not set}
SEND="$CW_TOP/tests/mirror_send.py"
command -v ss >/dev/null || fail "ss is required (Debian package iproute2)"

# A port nothing listens on, from a range no daemon of ours uses.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        [ -n "$(ss -Hlun "sport = :$p")" ] || { echo "$p"; return; }
    done
    echo 0
}

# listen SPEC LOG [ARGS]: starts callwatch on SPEC and waits for its socket.
listen() {
    local spec=$1 log=$2 port=${1##*:}
    shift 2
    "$CW_BIN" -i "$spec" --report json --web off "$@" >"$log.json" 2>"$log.err" &
    pid=$!
    for _ in $(seq 100); do
        [ -z "$(ss -Hlun "sport = :$port")" ] || return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    fail "$spec: callwatch did not listen ($(cat "$log.err"))"
}

# stop: SIGINT, as a person ends a live run; its exit status in rc.
stop() {
    kill -INT "$pid"
    set +e
    wait "$pid"
    rc=$?
    set -e
}

# What the packets decide: each call's outcome and code (a call that ended
# by a timeout ends when the probe's clock says so: its presence only),
# each stream's packets, loss and duplicates.
packets_view() {
    jq -S -c '[.calls[] | if .end_reason == "timeout" or .outcome == "active" then [.call_id]
                          else [.call_id, .outcome, .sip_code, .end_reason] end],
              [.streams[] | [.src, .dst, .ssrc, .codec, .packets, .lost, .duplicates]]' "$1"
}

"$CW_GENCAP" sip "$T/sip.pcap" "$T/sip.expected" >/dev/null
"$CW_GENCAP" rtp-sdp "$T/rtp-sdp.pcap" >/dev/null
tzsp=$(free_port)
vxlan=$(free_port)
printf '[probe]\ntzsp_ports = %s\nvxlan_ports = %s\n' "$tzsp" "$vxlan" >"$T/mirror.ini"

for f in "$T/sip.pcap" "$T/rtp-sdp.pcap"; do
    name=$(basename "$f" .pcap)
    run_cw -r "$f" --report json --web off
    echo "$out" >"$T/file.json"
    want=$(packets_view "$T/file.json")
    [ "$name" != sip ] || expect_match "sip: outcomes compared" "$want" '"answered".*"failed".*"cancelled"'
    for kind in tzsp vxlan; do
        if [ "$kind" = tzsp ]; then spec=udp:127.0.0.1:$tzsp host=127.0.0.1 port=$tzsp; else
            spec=udp:[::1]:$vxlan host=::1 port=$vxlan
        fi
        "$WRAP" payloads "$kind" "$f" "$T/$name.$kind" >/dev/null
        listen "$spec" "$T/live" -c "$T/mirror.ini"
        sent=$(python3 "$SEND" "$T/$name.$kind" "$host" "$port" | awk '{ print $2 }')
        sleep 0.5
        stop
        expect_eq "$name over $kind: exit" "$rc" 0
        live="$T/live.json"
        expect_eq "$name over $kind: datagrams received" "$(jq .capture.mirror.datagrams "$live")" "$sent"
        expect_eq "$name over $kind: none dropped" \
            "$(jq -c '.capture.mirror | [.dropped, .truncated, .errors]' "$live")" '[0,0,0]'
        expect_eq "$name over $kind: packets out of $kind" "$(jq ".capture.encapsulation.$kind" "$live")" "$sent"
        expect_eq "$name over $kind: malformed" "$(jq -c '.capture.malformed | del(.sip_unparseable)' "$live")" '{}'
        expect_eq "$name over $kind: source" "$(jq -r '.capture.files[0]' "$live")" "$spec"
        got=$(packets_view "$live")
        if [ "$got" = "$want" ]; then
            pass "$name over $kind: calls and streams as from the file"
        else
            fail "$name over $kind: $(diff <(echo "$want" | jq .) <(echo "$got" | jq .) | head -8)"
        fi
    done
done

# The default ports: TZSP on 37008, VXLAN on 4789, each on a loopback
# address of its own (127.0.0.0/8 is all loopback), which only a daemon
# bound to every address could hold already.
lo=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
for kind in tzsp vxlan; do
    port=37008
    [ "$kind" = tzsp ] || port=4789
    listen "udp:$lo:$port" "$T/def"
    sent=$(python3 "$SEND" "$T/sip.$kind" "$lo" "$port" | awk '{ print $2 }')
    sleep 0.5
    stop
    expect_eq "$kind on its default port $port: exit" "$rc" 0
    expect_eq "$kind on its default port $port: read as $kind" \
        "$(jq -c "[.capture.mirror.datagrams, .capture.encapsulation.$kind]" "$T/def.json")" \
        "[$sent,$sent]"
done

# A port that is neither TZSP's nor VXLAN's is refused before anything.
run_cw -i "udp:127.0.0.1:$(free_port)" --report json --web off
expect_eq "unknown port: exit" "$rc" 2
expect_match "unknown port: says so" "$err" "is in neither tzsp_ports nor vxlan_ports"
run_cw -i "udp:127.0.0.1:37008" -f "udp" --report json --web off
expect_eq "with a filter: exit" "$rc" 2
expect_match "with a filter: says so" "$err" "takes no capture filter"
run_cw -i "udp:nowhere" --report json --web off
expect_eq "bad spec: exit" "$rc" 2
expect_match "bad spec: says so" "$err" "udp:nowhere: not a mirror source"

finish
