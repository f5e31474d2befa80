#!/usr/bin/env bash
# callwatch network lab: a branch office in four Linux network namespaces.
#
#   lab.sh up                 build the lab (namespaces, veths, routes, the
#                             shaped uplink, firewall rules, snmpd in fw)
#   lab.sh run SCENARIO       run one scenario, bounded in time, recording the
#                             firewall's WAN link and its SNMP series into
#                             captures/lab/SCENARIO.{pcap,link.xml,cpu.xml,
#                             ini,expected.json} (or into $CWLAB_OUT)
#   lab.sh check SCENARIO     compare a recording with tshark's reading of it
#   lab.sh status             what is up
#   lab.sh down               remove everything (idempotent)
#
# Scenarios: clean loss jitter failed dropped incident (see README.md).
# Needs root, iproute2, iptables, ethtool, tcpdump, snmpd, snmp, sip-tester,
# rrdtool, jq, tshark (check), cc and libnetfilter-queue-dev.
#
# Topology (all addresses inside 10.66.0.0/16, no default route anywhere,
# nothing attached to the host's namespace):
#
#   office 10.66.10.11-14 --- 10.66.10.1 lan-ofc \
#                                                  fw --- wan0 10.66.0.1 ==512 kbit/s==>
#   classroom 10.66.20.17 --- 10.66.20.1 lan-cls /       10.66.0.2 inet:
#                                                        10.66.100.10 SIP callee
#                                                        10.66.100.11 echo service
#                                                        10.66.128.0/17 scan targets
#
# Copyright the callwatch authors.  GPL-2.0-or-later.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=${CWLAB_RUN:-/run/callwatch-lab}
OUT=${CWLAB_OUT:-$HERE}
LIFETIME=${CWLAB_LIFETIME:-3600} # servers started by `up` stop by themselves after this

NS_OFFICE=cwlab-office
NS_CLASS=cwlab-class
NS_FW=cwlab-fw
NS_INET=cwlab-inet
ALL_NS=("$NS_OFFICE" "$NS_CLASS" "$NS_FW" "$NS_INET")

LAB_NET=10.66.0.0/16
FW_WAN=10.66.0.1
INET_WAN=10.66.0.2
FW_OFFICE=10.66.10.1
FW_CLASS=10.66.20.1
PHONES=(10.66.10.11 10.66.10.12 10.66.10.13 10.66.10.14)
SCANNER=10.66.20.17
CALLEE=10.66.100.10
ECHO=10.66.100.11
SCAN_TARGETS=10.66.128.0/18   # swept by the scan (inside the routed /17)
TARGETS_ROUTE=10.66.128.0/17  # routed to inet
ANSWERING=10.66.128.0/28      # the few targets that answer with a SYN-ACK
WAN_IF=wan0
UPLINK_RATE=512kbit
COMMUNITY=cwlab
SNMP_PORT=161
AUDIO=/usr/share/sip-tester/g711a.pcap
POLL_INTERVAL=${CWLAB_POLL_INTERVAL:-2.5}
RRD_STEP=10

say() { printf 'lab: %s\n' "$*" >&2; }
die() {
    printf 'lab: %s\n' "$*" >&2
    exit 1
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"; }

need_tools() {
    local t missing=()
    for t in ip iptables ethtool tc tcpdump snmpd snmpget sipp rrdtool jq cc "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [ "${#missing[@]}" -eq 0 ] || die "missing tools: ${missing[*]} (see quickstart.sh TEST_PACKAGES)"
    [ -r "$AUDIO" ] || die "missing $AUDIO (Debian package sip-tester)"
}

nsx() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

is_up() { ip netns list 2>/dev/null | grep -qw "$NS_FW"; }

# in_lab ADDR: true when ADDR (a.b.c.d or a.b.c.d/len) lies inside 10.66.0.0/16.
in_lab() {
    local a=${1%/*} len=32
    [[ $1 == */* ]] && len=${1#*/}
    [[ $a =~ ^10\.66\.[0-9]{1,3}\.[0-9]{1,3}$ ]] && [[ $len =~ ^[0-9]+$ ]] && [ "$len" -ge 16 ] &&
        [ "$len" -le 32 ]
}

# ------------------------------------------------------------------ tools
build_tools() {
    mkdir -p "$RUN/bin"
    if [ ! -x "$RUN/bin/scan" ] || [ "$HERE/scan.c" -nt "$RUN/bin/scan" ]; then
        cc -O2 -Wall -Wextra -o "$RUN/bin/scan" "$HERE/scan.c"
    fi
    if [ ! -x "$RUN/bin/impair" ] || [ "$HERE/impair.c" -nt "$RUN/bin/impair" ]; then
        pkg-config --exists libnetfilter_queue 2>/dev/null ||
            die "libnetfilter-queue-dev is needed to build impair"
        # shellcheck disable=SC2046 # pkg-config's flags are words
        cc -O2 -Wall -Wextra -o "$RUN/bin/impair" "$HERE/impair.c" \
            $(pkg-config --cflags --libs libnetfilter_queue)
    fi
}

# ------------------------------------------------------------------ processes
# Every long-lived program is started as `ip netns exec NS PROG &` (so $! is
# the program) and its PID kept under $RUN/pids; `down` also ends whatever
# still runs inside the lab's namespaces (all of it started here).
remember() { echo "$2" >"$RUN/pids/$1.pid"; }

stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_named() {
    local f=$RUN/pids/$1.pid
    [ -f "$f" ] || return 0
    stop_pid "$(cat "$f")" "${2:-TERM}"
    rm -f "$f"
}

# ------------------------------------------------------------------ up / down
down() {
    local ns pid f
    for f in "$RUN"/pids/*.pid; do
        [ -e "$f" ] || continue
        stop_pid "$(cat "$f")"
        rm -f "$f"
    done
    for ns in "${ALL_NS[@]}"; do
        ip netns list 2>/dev/null | grep -qw "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    done
    sleep 0.3
    for ns in "${ALL_NS[@]}"; do
        ip netns list 2>/dev/null | grep -qw "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        # Deleting the namespace takes its veths, qdiscs and firewall rules.
        ip netns delete "$ns" 2>/dev/null || true
    done
    rm -rf "$RUN"
}

veth() { # veth NS_A IF_A NS_B IF_B: a pair created straight into the namespaces
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    # Checksum offload would leave wrong checksums in the captures.
    nsx "$1" ethtool -K "$2" tx off >/dev/null
    nsx "$3" ethtool -K "$4" tx off >/dev/null
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

up() {
    local ns p
    need_root
    need_tools pkg-config
    is_up && down
    mkdir -p "$RUN/pids" "$RUN/runs" "$RUN/snmp"
    build_tools
    # shellcheck disable=SC2154 # rc is set inside the trap
    trap 'rc=$?; if [ $rc -ne 0 ]; then say "up failed: removing the lab"; down; fi' EXIT
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        # IPv4 only: no IPv6 router or neighbour chatter in the recordings.
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        nsx "$ns" ip link set lo up
    done
    veth "$NS_OFFICE" eth0 "$NS_FW" lan-ofc
    veth "$NS_CLASS" eth0 "$NS_FW" lan-cls
    veth "$NS_FW" "$WAN_IF" "$NS_INET" eth0

    # office: the phones
    for p in "${PHONES[@]}"; do nsx "$NS_OFFICE" ip addr add "$p/24" dev eth0; done
    nsx "$NS_OFFICE" ip route add "$LAB_NET" via "$FW_OFFICE"
    # classroom
    nsx "$NS_CLASS" ip addr add "$SCANNER/24" dev eth0
    nsx "$NS_CLASS" ip route add "$LAB_NET" via "$FW_CLASS"
    # firewall: forwards, shapes its uplink, logs the scan
    nsx "$NS_FW" ip addr add "$FW_OFFICE/24" dev lan-ofc
    nsx "$NS_FW" ip addr add "$FW_CLASS/24" dev lan-cls
    nsx "$NS_FW" ip addr add "$FW_WAN/30" dev "$WAN_IF"
    nsx "$NS_FW" ip route add 10.66.100.0/24 via "$INET_WAN"
    nsx "$NS_FW" ip route add "$TARGETS_ROUTE" via "$INET_WAN"
    nsx "$NS_FW" sysctl -qw net.ipv4.ip_forward=1
    nsx "$NS_FW" tc qdisc add dev "$WAN_IF" root tbf rate "$UPLINK_RATE" burst 4000 latency 150ms
    nsx "$NS_FW" iptables -N IMPAIR_UP
    nsx "$NS_FW" iptables -N IMPAIR_DOWN
    nsx "$NS_FW" iptables -A FORWARD -i lan-ofc -o "$WAN_IF" -p udp -j IMPAIR_UP
    nsx "$NS_FW" iptables -A FORWARD -i "$WAN_IF" -o lan-ofc -p udp -j IMPAIR_DOWN
    # The firewall logs every new TCP/445 attempt: its logger (a userspace
    # log daemon reading NFLOG group 445 and writing text) is what eats its
    # CPU during a scan.
    nsx "$NS_FW" iptables -A FORWARD -p tcp --dport 445 --syn -j NFLOG --nflog-group 445 \
        --nflog-prefix "cwlab-smb "
    nsx "$NS_FW" iptables -A FORWARD -s "$LAB_NET" -d "$LAB_NET" -j ACCEPT
    nsx "$NS_FW" iptables -P FORWARD DROP
    # inet: the SIP callee, the echo service and the scan's targets
    nsx "$NS_INET" ip addr add "$INET_WAN/30" dev eth0
    nsx "$NS_INET" ip addr add "$CALLEE/32" dev lo
    nsx "$NS_INET" ip addr add "$ECHO/32" dev lo
    nsx "$NS_INET" ip route add 10.66.10.0/24 via "$FW_WAN"
    nsx "$NS_INET" ip route add 10.66.20.0/24 via "$FW_WAN"
    nsx "$NS_INET" ip route add local "$TARGETS_ROUTE" dev lo
    # Most targets stay silent; a few answer with a SYN-ACK (a listener below).
    nsx "$NS_INET" iptables -A INPUT -p tcp --dport 445 -d "$ANSWERING" -j ACCEPT
    nsx "$NS_INET" iptables -A INPUT -p tcp --dport 445 -d "$TARGETS_ROUTE" -j DROP

    # snmpd in fw: v2c read-only, its own config, state and log.
    cat >"$RUN/snmp/snmpd.conf" <<EOF
# callwatch lab: the firewall's agent (read-only v2c, lab addresses only)
rocommunity $COMMUNITY 127.0.0.1
rocommunity $COMMUNITY $LAB_NET
sysName fw1
sysLocation callwatch lab
sysContact lab@example.invalid
EOF
    mkdir -p "$RUN/snmp/persist"
    SNMP_PERSISTENT_DIR=$RUN/snmp/persist MIBS='' \
        ip netns exec "$NS_FW" timeout "$LIFETIME" snmpd -f -C -c "$RUN/snmp/snmpd.conf" \
        -Lf "$RUN/snmp/snmpd.log" "udp:$FW_WAN:$SNMP_PORT,udp:127.0.0.1:$SNMP_PORT" \
        </dev/null >/dev/null 2>>"$RUN/snmp/snmpd.err" &
    remember snmpd $!
    # The firewall's scan logger.
    ip netns exec "$NS_FW" timeout "$LIFETIME" tcpdump -i nflog:445 -n -l -tt \
        </dev/null >"$RUN/fw-scan.log" 2>"$RUN/fw-logger.err" &
    remember fwlog $!
    # The few answering scan targets.
    ip netns exec "$NS_INET" timeout "$LIFETIME" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 445)); s.listen(16)
time.sleep(1e9)' </dev/null >/dev/null 2>"$RUN/smb-listener.err" &
    remember smb $!

    for p in $(seq 50); do
        nsx "$NS_FW" snmpget -v2c -c "$COMMUNITY" -m "" -On -Oqv -t 1 -r 0 "127.0.0.1:$SNMP_PORT" \
            1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && break
        [ "$p" -eq 50 ] && die "snmpd in $NS_FW does not answer (see $RUN/snmp/snmpd.log)"
        sleep 0.2
    done
    # Reachability through the firewall: a TCP connection to an answering target.
    for ns in "$NS_OFFICE" "$NS_CLASS"; do
        for p in $(seq 20); do
            nsx "$ns" timeout 2 bash -c "exec 3<>/dev/tcp/10.66.128.1/445" 2>/dev/null && break
            [ "$p" -eq 20 ] && die "$ns cannot reach the Internet side through $NS_FW"
            sleep 0.2
        done
    done
    trap - EXIT
    say "up: office ${PHONES[*]}, classroom $SCANNER, fw $FW_WAN ($WAN_IF $UPLINK_RATE), callee $CALLEE, echo $ECHO"
}

status() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        if ip netns list 2>/dev/null | grep -qw "$ns"; then
            echo "$ns: up, pids: $(ip netns pids "$ns" | tr '\n' ' ')"
        else
            echo "$ns: down"
        fi
    done
    if is_up; then
        nsx "$NS_FW" tc -s qdisc show dev "$WAN_IF"
        nsx "$NS_FW" iptables -S
    fi
}

# ------------------------------------------------------------------ scenarios
# A scenario sets:
#   CALLS   "phone callee number start_s talk_ms silent_ms outcome code reason" ...
#           (the last three are the ground truth callwatch must find)
#   IMPAIR  "mode param seed after_s duration_s direction" or ""
#   SCAN    "start_s duration_s rate_pps" or ""
#   TOTAL   seconds the recording runs
#   DIES_MS the callee's media lifetime for 7xxx numbers
#   INCIDENT the incident kind callwatch must raise ("" for none)
#   WHAT    one line for the expected file
scenario() {
    CALLS=()
    IMPAIR=""
    SCAN=""
    DIES_MS=8000
    INCIDENT=""
    case $1 in
    clean)
        WHAT="three answered calls over the uncongested uplink, no impairment"
        CALLS=("${PHONES[0]} $CALLEE 1001 1 20000 0 answered 200 bye"
            "${PHONES[1]} $CALLEE 1002 3 20000 0 answered 200 bye"
            "${PHONES[2]} $CALLEE 1003 5 20000 0 answered 200 bye")
        TOTAL=32
        ;;
    loss)
        WHAT="one answered call; the firewall drops 5 % of the office-to-Internet RTP (NFQUEUE, seeded pattern) for 20 s"
        CALLS=("${PHONES[0]} $CALLEE 1101 1 30000 0 answered 200 bye")
        IMPAIR="loss 5 7 6 20 up"
        TOTAL=37
        ;;
    jitter)
        WHAT="one answered call; the firewall delays office-to-Internet RTP by 0-60 ms (NFQUEUE, seeded, never reordered) for 20 s"
        CALLS=("${PHONES[0]} $CALLEE 1201 1 30000 0 answered 200 bye")
        IMPAIR="jitter 60 11 6 20 up"
        TOTAL=37
        ;;
    failed)
        WHAT="a busy callee (486), an unavailable one (503) and one answered call"
        CALLS=("${PHONES[0]} $CALLEE 486100 1 0 0 failed 486 sip_error"
            "${PHONES[1]} $CALLEE 1301 2 8000 0 answered 200 bye"
            "${PHONES[2]} $CALLEE 503100 3 0 0 failed 503 sip_error")
        TOTAL=16
        ;;
    dropped)
        WHAT="one call whose media dies both ways 8 s after the answer while the dialog stays up 25 s more, and one normal call"
        CALLS=("${PHONES[0]} $CALLEE 7001 1 8000 25000 dropped 200 rtp_timeout"
            "${PHONES[1]} $CALLEE 1401 2 30000 0 answered 200 bye")
        TOTAL=40
        ;;
    incident)
        WHAT="four calls up; a classroom host scans TCP/445 at 8000 SYN/s; the 512 kbit/s uplink saturates, the calls' upstream RTP is starved, the three echo-service calls go silent both ways and drop, the fourth keeps one-way audio; the scan stops"
        CALLS=("${PHONES[0]} $ECHO 2001 1 ${CWLAB_TALK_MS:-55000} 0 dropped 200 rtp_timeout"
            "${PHONES[1]} $ECHO 2002 2 ${CWLAB_TALK_MS:-55000} 0 dropped 200 rtp_timeout"
            "${PHONES[2]} $ECHO 2003 3 ${CWLAB_TALK_MS:-55000} 0 dropped 200 rtp_timeout"
            "${PHONES[3]} $CALLEE 1501 4 ${CWLAB_TALK_MS:-55000} 0 answered 200 bye")
        SCAN="${CWLAB_SCAN_START:-15} ${CWLAB_SCAN_SECONDS:-30} ${CWLAB_SCAN_RATE:-8000}"
        INCIDENT=drops_with_congestion
        TOTAL=${CWLAB_TOTAL:-66}
        ;;
    *) die "unknown scenario '$1' (clean loss jitter failed dropped incident)" ;;
    esac
}

# ------------------------------------------------------------------ SNMP series
OID_IN=1.3.6.1.2.1.31.1.1.1.6   # ifHCInOctets.IDX
OID_OUT=1.3.6.1.2.1.31.1.1.1.10 # ifHCOutOctets.IDX
# ssCpuRawUser Nice System Idle Wait Interrupt SoftIRQ Steal
CPU_OIDS=(1.3.6.1.4.1.2021.11.50.0 1.3.6.1.4.1.2021.11.51.0 1.3.6.1.4.1.2021.11.52.0
    1.3.6.1.4.1.2021.11.53.0 1.3.6.1.4.1.2021.11.54.0 1.3.6.1.4.1.2021.11.56.0
    1.3.6.1.4.1.2021.11.61.0 1.3.6.1.4.1.2021.11.64.0)

# poll_loop LOG IFINDEX DEADLINE: one line per poll, "time in out user nice
# system idle wait irq softirq steal"; bounded by DEADLINE (Unix seconds).
poll_loop() {
    local log=$1 idx=$2 deadline=$3 t vals
    while [ "$(date +%s)" -lt "$deadline" ]; do
        t=$(date +%s.%N)
        if vals=$(ip netns exec "$NS_FW" snmpget -v2c -c "$COMMUNITY" -m "" -On -Oqv -t 1 -r 0 \
            "127.0.0.1:$SNMP_PORT" "$OID_IN.$idx" "$OID_OUT.$idx" "${CPU_OIDS[@]}" 2>/dev/null); then
            echo "$t $(echo "$vals" | tr '\n' ' ')" >>"$log"
        fi
        sleep "$POLL_INTERVAL"
    done
}

# series_to_rrd LOG LINK_RRD CPU_RRD: the polls into RRD files the way an NMS
# keeps them: octets as COUNTER data sources (bytes per second, as Cacti and
# MRTG store them), CPU as a GAUGE in percent computed from the ssCpuRaw*
# deltas (busy / (busy + idle), busy = user+nice+system+irq+softirq+steal).
series_to_rrd() {
    local log=$1 link=$2 cpu=$3 start
    start=$(awk 'NR == 1 { printf "%d", $1 - 1 }' "$log")
    rm -f "$link" "$cpu"
    rrdtool create "$link" --start "$start" --step "$RRD_STEP" \
        DS:traffic_in:COUNTER:$((RRD_STEP * 3)):0:U DS:traffic_out:COUNTER:$((RRD_STEP * 3)):0:U \
        RRA:AVERAGE:0.5:1:360
    rrdtool create "$cpu" --start "$start" --step "$RRD_STEP" \
        DS:usage:GAUGE:$((RRD_STEP * 3)):0:100 RRA:AVERAGE:0.5:1:360
    awk '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { print $1 ":" $2 ":" $3 }' "$log" |
        xargs -r rrdtool update "$link"
    awk 'NF == 11 {
            ok = 1
            for (i = 4; i <= 11; i++) if ($i !~ /^[0-9]+$/) ok = 0
            if (!ok) next
            busy = $4 + $5 + $6 + $9 + $10 + $11; idle = $7 + $8
            if (have && busy + idle > pb + pi) {
                db = busy - pb; di = idle - pi
                if (db >= 0 && di >= 0) printf "%s:%.2f\n", $1, 100 * db / (db + di)
            }
            if (!have || busy + idle > pb + pi) { pb = busy; pi = idle; have = 1 }
        }' "$log" | xargs -r rrdtool update "$cpu"
}

# ------------------------------------------------------------------ run
run_pids=()
run_cleanup() {
    local p
    for p in "${run_pids[@]}"; do stop_pid "$p"; done
    run_pids=()
    if is_up; then
        nsx "$NS_FW" iptables -F IMPAIR_UP 2>/dev/null || true
        nsx "$NS_FW" iptables -F IMPAIR_DOWN 2>/dev/null || true
    fi
}

run() {
    local name=$1 dir t0 idx c phone callee number start talk silent outcome code reason
    local mode param seed after duration direction s_start s_dur s_rate deadline p i
    need_root
    need_tools
    is_up || die "the lab is not up: run '$0 up' first"
    scenario "$name"
    dir=$RUN/runs/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    trap 'say "run $name failed or was interrupted: stopping it"; run_cleanup' ERR INT TERM
    idx=$(nsx "$NS_FW" cat "/sys/class/net/$WAN_IF/ifindex")

    # The SNMP series: from a few polls before the scenario to after it.
    deadline=$(($(date +%s) + TOTAL + 20))
    poll_loop "$dir/snmp.log" "$idx" "$deadline" &
    run_pids+=($!)
    # The recording: both directions of the firewall's WAN veth.
    ip netns exec "$NS_FW" tcpdump -i "$WAN_IF" -n -s 0 -U -Z root -w "$dir/$name.pcap" \
        2>"$dir/tcpdump.err" &
    run_pids+=($!)
    for i in $(seq 50); do
        grep -q listening "$dir/tcpdump.err" 2>/dev/null && break
        [ "$i" -eq 50 ] && die "tcpdump did not start (see $dir/tcpdump.err)"
        sleep 0.1
    done
    # The callees, bounded by -timeout.
    ip netns exec "$NS_INET" sipp -sf "$HERE/sipp/uas.xml" -i "$CALLEE" -mi "$CALLEE" -p 5060 \
        -nostdin -timeout "$((TOTAL + 30))s" -key dies_ms "$DIES_MS" \
        -trace_err -error_file "$dir/uas.err" >/dev/null 2>&1 &
    run_pids+=($!)
    ip netns exec "$NS_INET" sipp -sf "$HERE/sipp/uas-echo.xml" -i "$ECHO" -mi "$ECHO" -p 5060 \
        -rtp_echo -mp 7000 -nostdin -timeout "$((TOTAL + 30))s" \
        -trace_err -error_file "$dir/echo.err" >/dev/null 2>&1 &
    run_pids+=($!)
    sleep 5 # a few polls of the quiet link before anything happens
    t0=$(date +%s.%N)
    echo "$t0" >"$dir/t0"

    if [ -n "$IMPAIR" ]; then
        read -r mode param seed after duration direction <<<"$IMPAIR"
        if [ "$direction" = up ]; then c=IMPAIR_UP; else c=IMPAIR_DOWN; fi
        nsx "$NS_FW" iptables -A "$c" -s "$LAB_NET" -d "$LAB_NET" -p udp -m multiport ! --ports 5060 \
            -j NFQUEUE --queue-num 1 --queue-bypass
        if [ "$mode" = loss ]; then p="-p $param"; else p="-j $param"; fi
        # shellcheck disable=SC2086
        ip netns exec "$NS_FW" "$RUN/bin/impair" -q 1 -m "$mode" $p -S "$seed" -a "$after" \
            -d "$duration" -T "$((TOTAL + 5))" -l "$dir/impair.log" &
        run_pids+=($!)
    fi
    for c in "${CALLS[@]}"; do
        read -r phone callee number start talk silent outcome code reason <<<"$c"
        (
            sleep "$start"
            exec ip netns exec "$NS_OFFICE" sipp "$callee:5060" -sf "$HERE/sipp/uac.xml" \
                -s "$number" -i "$phone" -mi "$phone" -p 5060 -m 1 -l 1 -nostdin \
                -timeout "$((TOTAL + 20))s" -key talk_ms "$talk" -key silent_ms "$silent" \
                -cid_str "lab-$name-$number-%u@%s" \
                -trace_err -error_file "$dir/uac-$number.err" >/dev/null 2>&1
        ) &
        run_pids+=($!)
        echo "$! $number" >>"$dir/callers"
    done
    if [ -n "$SCAN" ]; then
        read -r s_start s_dur s_rate <<<"$SCAN"
        in_lab "$SCANNER" && in_lab "$SCAN_TARGETS" || die "scan outside the lab range"
        (
            sleep "$s_start"
            exec ip netns exec "$NS_CLASS" "$RUN/bin/scan" -s "$SCANNER" -t "$SCAN_TARGETS" \
                -p 445 -r "$s_rate" -c "$((s_rate * s_dur))" -d "$s_dur" -L "$LAB_NET" -S 445 -R \
                >"$dir/scan.log"
        ) &
        run_pids+=($!)
    fi

    # Bounded wait for the callers to finish.
    deadline=$(($(date +%s) + TOTAL + 15))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        p=0
        while read -r i _; do kill -0 "$i" 2>/dev/null && p=1; done <"$dir/callers"
        [ "$p" -eq 0 ] && break
        sleep 1
    done
    sleep 3 # the last BYE's answer, a last poll
    run_cleanup
    trap - ERR INT TERM
    cp "$RUN/snmp/snmpd.log" "$dir/snmpd.log" 2>/dev/null || true
    finish_recording "$name" "$dir"
}

# ------------------------------------------------------------------ outputs
finish_recording() {
    local name=$1 dir=$2 calls_json impair_json scan_json inc_json c phone callee number start
    local talk silent outcome code reason cid first last
    series_to_rrd "$dir/snmp.log" "$dir/$name.link.rrd" "$dir/$name.cpu.rrd"
    mkdir -p "$OUT"
    cp "$dir/$name.pcap" "$OUT/$name.pcap"
    rrdtool dump "$dir/$name.link.rrd" >"$OUT/$name.link.xml"
    rrdtool dump "$dir/$name.cpu.rrd" >"$OUT/$name.cpu.xml"
    cat >"$OUT/$name.ini" <<EOF
; callwatch configuration for the lab recording $name ($name.pcap).
; The SNMP series polled from the firewall's snmpd during the recording are
; in $name.link.xml and $name.cpu.xml (rrdtool dump); restore them next to
; this file before use, from this directory:
;   rrdtool restore -f $name.link.xml $name.link.rrd
;   rrdtool restore -f $name.cpu.xml $name.cpu.rrd
;   callwatch -c $name.ini -r $name.pcap --report json
; (the rrd paths below are relative to the directory callwatch runs in).
[probe]
rtp_timeout = 10
step = 10

[link wan0]
; the firewall's WAN veth: traffic_in/out are bytes per second (COUNTER
; data sources over ifHCInOctets/ifHCOutOctets, as Cacti and MRTG keep them)
rrd = $name.link.rrd
ds_in = traffic_in
ds_out = traffic_out
speed = 512k

[cpu fw1]
; the firewall's CPU in percent, from UCD-SNMP ssCpuRaw* counter deltas
rrd = $name.cpu.rrd
ds = usage
EOF

    # Ground truth: the calls as the scenario placed them.
    calls_json='[]'
    for c in "${CALLS[@]}"; do
        read -r phone callee number start talk silent outcome code reason <<<"$c"
        cid="lab-$name-$number-1@$phone"
        calls_json=$(jq -c --arg cid "$cid" --arg num "$number" --arg from "$phone" \
            --arg to "$callee" --arg o "$outcome" --argjson code "$code" --arg r "$reason" \
            --argjson talk "$talk" --argjson silent "$silent" --arg name "$name" \
            --argjson dies "$DIES_MS" \
            '. + [{call_id: $cid, dialled: $num, caller: ($from + ":5060"), callee: ($to + ":5060"),
                   outcome: $o, sip_code: $code, end_reason: $r,
                   script: (if $o == "failed" then "callee answers \($code)"
                            elif ($num | startswith("7")) then "both sides stop RTP \($talk / 1000) s (caller) / \($dies / 1000) s (callee) after the answer; caller hangs up \($silent / 1000) s later"
                            elif ($to | endswith(".11")) then "echo service: the callee returns the RTP it receives; caller hangs up after \($talk / 1000) s"
                            else "caller hangs up after \($talk / 1000) s" end)}]' <<<"$calls_json")
    done
    # Times measured in the recording itself (packet time), for each call.
    calls_json=$(add_call_times "$OUT/$name.pcap" "$calls_json")

    impair_json=null
    if [ -n "$IMPAIR" ] && [ -f "$dir/impair.log" ]; then
        impair_json=$(impair_summary "$dir/impair.log" "$IMPAIR")
    fi
    scan_json=null
    if [ -n "$SCAN" ] && [ -f "$dir/scan.log" ]; then
        scan_json=$(scan_summary "$dir/scan.log" "$dir")
    fi
    inc_json='[]'
    if [ -n "$INCIDENT" ]; then
        # The incident runs from the first drop (the calls' media stopping,
        # which the scan causes) to the scan's end.
        first=$(jq '[.[] | select(.outcome == "dropped") | .media_end] | min' <<<"$calls_json")
        last=$(jq '.end' <<<"$scan_json")
        inc_json=$(jq -nc --arg k "$INCIDENT" --argjson s "$first" --argjson e "$last" \
            --argjson n "$(jq '[.[] | select(.outcome == "dropped")] | length' <<<"$calls_json")" \
            --arg talker "$SCANNER tcp/445" \
            '[{kind: $k, start: $s, end: $e, dropped_calls: $n, talker: $talker,
               link: "wan0", cpu: "fw1"}]')
    fi
    jq -n --arg name "$name" --arg what "$WHAT" --argjson calls "$calls_json" \
        --argjson impair "$impair_json" --argjson scan "$scan_json" --argjson inc "$inc_json" \
        --argjson series "$(series_summary "$dir/$name.link.rrd" "$dir/$name.cpu.rrd" "$OUT/$name.pcap")" \
        --argjson tshark "$(tshark_summary "$OUT/$name.pcap")" \
        --arg recorded "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --arg host "$(uname -srm)" \
        '{name: $name, description: $what, recorded: $recorded, kernel: $host,
          files: {pcap: "\($name).pcap", link_rrd_dump: "\($name).link.xml",
                  cpu_rrd_dump: "\($name).cpu.xml", config: "\($name).ini"},
          lab: {capture_point: "fw wan0 (both directions, after the uplink shaper)",
                uplink: "tbf rate 512kbit burst 4000 latency 150ms on fw wan0 egress",
                office: "10.66.10.0/24", classroom: "10.66.20.0/24",
                callee: "10.66.100.10", echo_service: "10.66.100.11",
                scan_targets: "10.66.128.0/18"},
          calls: $calls, impairments: (if $impair == null then [] else [$impair] end),
          scan: $scan, incidents: $inc, series: $series, tshark: $tshark}' >"$OUT/$name.expected.json"
    say "recorded $name: $(du -h "$OUT/$name.pcap" | cut -f1) -> $OUT/$name.{pcap,link.xml,cpu.xml,ini,expected.json}"
}

# add_call_times PCAP CALLS_JSON: each call's first INVITE, final response and
# BYE, and its media's first and last packet (for a dropped call, the last
# packet before the first silence of more than 10 s), from the capture.
add_call_times() {
    local pcap=$1 calls=$2 tmp
    tmp=$(mktemp -d)
    tshark -r "$pcap" -Y sip -T fields -E separator='|' -e frame.time_epoch -e sip.Call-ID \
        -e sip.Method -e sip.Status-Code -e sip.CSeq.method 2>/dev/null |
        awk -F'|' '{
            id = $2
            if ($3 == "INVITE" && !(id in inv)) inv[id] = $1
            if ($3 == "BYE" && !(id in bye)) bye[id] = $1
            if ($5 == "INVITE" && $4 >= 200 && !(id in fin)) fin[id] = $1
            ids[id] = 1
        }
        END { for (id in ids) printf "{\"id\":\"%s\",\"invite\":%s,\"final\":%s,\"bye\":%s}\n", id,
                  (id in inv) ? inv[id] : "null", (id in fin) ? fin[id] : "null", (id in bye) ? bye[id] : "null" }' \
        >"$tmp/sip.json"
    tshark -r "$pcap" -o rtp.heuristic_rtp:TRUE -Y 'rtp and not sip' -T fields -E separator='|' \
        -e frame.time_epoch -e ip.src -e ip.dst 2>/dev/null |
        awk -F'|' '{
            for (k = 2; k <= 3; k++) {
                a = $k
                if (a !~ /^10\.66\.10\./) continue
                if (!(a in first)) first[a] = $1
                if ((a in last) && $1 - last[a] > 10 && !(a in gap)) { gap[a] = last[a]; glen[a] = $1 - last[a] }
                last[a] = $1
            }
        }
        END { for (a in first) printf "{\"phone\":\"%s\",\"first\":%s,\"last\":%s,\"silence_from\":%s,\"silence_s\":%s}\n", a,
                  first[a], last[a], (a in gap) ? gap[a] : last[a], (a in gap) ? glen[a] : "null" }' >"$tmp/media.json"
    jq -c --slurpfile sip "$tmp/sip.json" --slurpfile media "$tmp/media.json" '
        map(. as $c
            | ($c.caller | split(":")[0]) as $phone
            | ([$sip[] | select(.id == $c.call_id)][0] // {}) as $s
            | ([$media[] | select(.phone == $phone)][0] // {}) as $m
            | . + {invite: $s.invite, final: $s.final, bye: $s.bye, media_start: $m.first,
                   media_end: (if $c.outcome == "dropped" then $m.silence_from else $m.last end)}
            | if $c.outcome == "dropped" then
                  . + {media_silence_s: ($m.silence_s // ((.bye // $m.last) - $m.last))}
              else . end)' <<<"$calls"
    rm -rf "$tmp"
}

impair_summary() {
    local log=$1 spec=$2
    awk -v spec="$spec" '
        $1 == "start" { start = $2; mode = $4; param = $6; seed = $8; from = $10; to = $11 }
        $1 == "drop" { drops++ }
        $1 == "stream" { n++; s[n] = sprintf("{\"src\":\"%s\",\"dst\":\"%s\",\"ssrc\":\"%s\",\"packets\":%s,\"dropped\":%s,\"delayed\":%s,\"delay_mean_ms\":%s,\"delay_max_ms\":%s,\"first_seq\":%s,\"last_seq\":%s}", $2, $4, $6, $8, $10, $12, $14, $16, $18, $20) }
        END {
            split(spec, a, " ")
            printf "{\"kind\":\"%s\",\"%s\":%s,\"seed\":%s,\"direction\":\"%s\",\"start\":%s,\"end\":%s,\"dropped\":%d,\"streams\":[", mode, (mode == "loss" ? "loss_pct" : "jitter_max_ms"), param, seed, (a[6] == "up" ? "office->inet" : "inet->office"), from, to, drops
            for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "," : ""), s[i]
            printf "],\"how\":\"NFQUEUE on the firewall FORWARD chain, impair.c\"}\n"
        }' "$log"
}

scan_summary() {
    local log=$1 dir=$2
    awk '
        $2 == "start" { start = $3; src = $5; tgt = $7; port = $9; rate = $11 }
        $2 == "end" { end = $3; sent = $5; hosts = $9; pps = $13 }
        END { printf "{\"src\":\"%s\",\"targets\":\"%s\",\"proto\":\"tcp\",\"dport\":%s,\"rate_pps\":%s,\"start\":%s,\"end\":%s,\"sent\":%s,\"hosts\":%s,\"achieved_pps\":%s,\"talker\":\"%s tcp/%s\"}\n", src, tgt, port, rate, start, end, sent, hosts, pps, src, port }' "$log" |
        jq -c --argjson logged "$(grep -c 'cwlab-smb\|445' "$RUN/fw-scan.log" 2>/dev/null || echo 0)" \
            '. + {firewall_log_lines_total: $logged}'
}

# tshark_summary PCAP: what tshark reads: the SIP final codes and every RTP
# stream (RTP found heuristically: SIPp's media ports are not in SDP-tracked
# conversations tshark always follows).
tshark_summary() {
    local pcap=$1 streams
    streams=$(tshark -r "$pcap" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams 2>/dev/null |
        awk '$3 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ && $5 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ {
            printf "{\"src\":\"%s:%s\",\"dst\":\"%s:%s\",\"ssrc\":\"%s\",\"payload\":\"%s\",\"packets\":%s,\"lost\":%s,\"max_delta_ms\":%s,\"jitter_mean_ms\":%s,\"jitter_max_ms\":%s}\n",
                $3, $4, $5, $6, $7, $8, $9, $10, $14, $16, $17 }' | jq -s -c 'sort_by(.src, .dst)')
    jq -n -c --argjson streams "$streams" \
        --argjson sip "$(tshark -r "$pcap" -Y 'sip.Status-Code >= 200 and sip.CSeq.method == "INVITE"' \
            -T fields -e sip.Call-ID -e sip.Status-Code 2>/dev/null | sort -u |
            jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t") | {call_id: .[0], final: (.[1] | tonumber)})')" \
        --arg version "$(tshark -v 2>/dev/null | head -1)" \
        '{version: $version, invite_final_responses: $sip, rtp_streams: $streams}'
}

# series_summary LINK_RRD CPU_RRD PCAP: peaks over the capture's span.
series_summary() {
    local link=$1 cpu=$2 pcap=$3 s e
    s=$(tshark -r "$pcap" -T fields -e frame.time_epoch -c 1 2>/dev/null | cut -d. -f1)
    e=$(capinfos -a -e -T -r -S "$pcap" 2>/dev/null | awk -F'\t' 'NR==1 {print int($3)+1}')
    [ -n "$s" ] && [ -n "$e" ] || {
        echo null
        return
    }
    rrdtool fetch "$link" AVERAGE --start "$((s - 10))" --end "$((e + 10))" |
        awk -v cpu="$(rrdtool fetch "$cpu" AVERAGE --start "$((s - 10))" --end "$((e + 10))" |
            awk 'NF == 2 && $2 !~ /nan/ { v = $2 + 0; if (v > m) m = v } END { printf "%.1f", m }')" '
        NF == 3 && $2 !~ /nan/ && $3 !~ /nan/ {
            i = $2 + 0; o = $3 + 0; if (i > mi) mi = i; if (o > mo) mo = o
        }
        END { printf "{\"step_s\":10,\"link_in_max_bps\":%d,\"link_out_max_bps\":%d,\"link_util_max_pct\":%.1f,\"cpu_max_pct\":%s,\"speed_bps\":512000}\n",
                     mi * 8, mo * 8, (mi > mo ? mi : mo) * 8 / 512000 * 100, cpu }'
}

# ------------------------------------------------------------------ check
# check NAME: what tshark reads in the recording against the expected file.
check() {
    local name=$1 exp=$HERE/$1.expected.json pcap=$HERE/$1.pcap bad=0 cid want got id
    [ -f "$exp" ] && [ -f "$pcap" ] || die "no recording $name in $HERE"
    echo "== $name"
    for id in $(jq -r '.calls[].call_id' "$exp"); do
        want=$(jq -r --arg id "$id" '.calls[] | select(.call_id == $id) | .sip_code' "$exp")
        got=$(tshark -r "$pcap" -Y "sip.Call-ID == \"$id\" and sip.CSeq.method == \"INVITE\" and sip.Status-Code >= 200" \
            -T fields -e sip.Status-Code 2>/dev/null | sort -u | tr '\n' ' ' | sed 's/ $//')
        if [ "$got" = "$want" ]; then echo "ok   $id final $got"; else
            echo "BAD  $id final '$got', expected $want"
            bad=1
        fi
    done
    tshark -r "$pcap" -q -z sip,stat 2>/dev/null | sed -n '/SIP Statistics/,/===/p' | grep -E 'SIP [0-9]|INVITE|BYE|ACK' || true
    tshark -r "$pcap" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams 2>/dev/null |
        awk '/Src IP addr/ || $3 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ { print }' || true
    if [ "$(jq '.impairments | length' "$exp")" -gt 0 ] && [ "$(jq -r '.impairments[0].kind' "$exp")" = loss ]; then
        local s d lost
        while read -r s d _ want; do
            lost=$(tshark -r "$pcap" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams 2>/dev/null |
                awk -v s="${s%:*}" -v sp="${s#*:}" -v d="${d%:*}" -v dp="${d#*:}" \
                    '$3 == s && $4 == sp && $5 == d && $6 == dp { print $10 }')
            if [ "$lost" = "$want" ]; then echo "ok   $s > $d lost $lost (impair dropped $want)"; else
                echo "BAD  $s > $d tshark lost '$lost', impair dropped $want"
                bad=1
            fi
        done < <(jq -r '.impairments[0].streams[] | "\(.src) \(.dst) \(.ssrc) \(.dropped)"' "$exp")
    fi
    # A dropped call: no RTP to or from its phone for 10 s after media_end
    # while its dialog was up (tshark, heuristic RTP).
    while read -r id phone mend bye; do
        got=$(tshark -r "$pcap" -o rtp.heuristic_rtp:TRUE \
            -Y "rtp and not sip and ip.addr == $phone and frame.time_epoch > $mend and frame.time_epoch <= $mend + 11.5" \
            -T fields -e frame.number 2>/dev/null | wc -l)
        # 11.5 s: the 10 s rtp_timeout, callwatch's 1 s housekeeping tick and
        # a margin, so that the drop does not depend on where a tick falls.
        if [ "$got" -eq 0 ] && [ "$(jq -n "$bye - $mend > 11.5")" = true ]; then
            echo "ok   $id no RTP either way for 11.5 s after $mend, dialog up until the BYE $(jq -n "$bye - $mend | floor") s later"
        else
            echo "BAD  $id $got RTP packets within 11.5 s after $mend (BYE at $bye)"
            bad=1
        fi
    done < <(jq -r '.calls[] | select(.outcome == "dropped") | "\(.call_id) \(.caller | split(":")[0]) \(.media_end) \(.bye // 1e12)"' "$exp")
    # The scan: the talker's SYNs to TCP/445 in the recording, and the link.
    if [ "$(jq '.scan != null' "$exp")" = true ]; then
        want=$(jq -r '.scan.src' "$exp")
        got=$(tshark -r "$pcap" -Y "ip.src == $want and tcp.dstport == 445 and tcp.flags.syn == 1 and tcp.flags.ack == 0" \
            -T fields -e ip.dst 2>/dev/null | sort | uniq -c | awk '{ n += $1; h++ } END { print n + 0, h + 0 }')
        echo "info scan $want tcp/445: ${got% *} SYNs through the shaper to ${got#* } hosts (sent $(jq .scan.sent "$exp"))"
        if [ "$(jq '.series.link_util_max_pct >= 80' "$exp")" = true ] && [ "${got% *}" -gt 0 ]; then
            echo "ok   link wan0 peaked at $(jq .series.link_util_max_pct "$exp") % during the scan"
        else
            echo "BAD  link peak $(jq .series.link_util_max_pct "$exp") %, SYNs ${got% *}"
            bad=1
        fi
    fi
    return $bad
}

# ------------------------------------------------------------------ main
case "${1:-}" in
up) up ;;
down)
    need_root
    down
    say "down"
    ;;
run)
    [ $# -eq 2 ] || die "usage: $0 run SCENARIO"
    run "$2"
    ;;
finish)
    # Writes a run's outputs again from its run directory (after a change to
    # this script's output code), without recording anew.
    [ $# -eq 2 ] || die "usage: $0 finish SCENARIO"
    scenario "$2"
    [ -d "$RUN/runs/$2" ] || die "no run directory $RUN/runs/$2"
    finish_recording "$2" "$RUN/runs/$2"
    ;;
check)
    [ $# -eq 2 ] || die "usage: $0 check SCENARIO"
    check "$2"
    ;;
status) status ;;
*)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
