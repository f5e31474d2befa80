#!/usr/bin/env bash
# SNMP polling against Debian's snmpd (v2c and v3 authPriv SHA/AES) on a
# loopback port, in a network namespace of its own so that lo carries only
# this test's traffic:
#   - link.lo in/out bps against lo's own byte counters over a 20 MB burst
#   - util_pct never above 100 (lo reports 10 Mbit/s; the burst is faster)
#   - a dead port and a wrong community time out while lo keeps working
#   - v3 with SHA/AES, MD5/DES and SHA-256/AES-256; a wrong v3 password is an
#     auth error; a missing OID is no_such_object
#   - snmpd killed and restarted mid-run: no spike, one log line, recovery
#   - cpu (ucd preset, v2c and v3) stays within 0-100 and agrees with /proc/stat;
#     host-resources, cisco, fortinet, juniper and oid = from a second snmpd
#     serving known values (its override directive)
#   - every fault is logged once, however often it repeats; stop is prompt

# A private network and mount namespace (sysfs remounted there shows the
# namespace's lo).  Done before lib.sh so that its temporary directory is
# made, and removed, inside.
if [ -z "${CW_SNMP_NETNS:-}" ]; then
    if ! unshare --net true 2>/dev/null && ! unshare --user --map-root-user --net true 2>/dev/null; then
        echo "FAIL: cannot create a network namespace (run as root, or allow user namespaces)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ] && unshare --net --mount true 2>/dev/null; then
        exec unshare --net --mount env CW_SNMP_NETNS=1 bash "$0" "$@"
    fi
    exec unshare --user --map-root-user --net --mount env CW_SNMP_NETNS=1 bash "$0" "$@"
fi

. "$CW_TESTLIB"
set -e

SNMPD=$(command -v snmpd || echo /usr/sbin/snmpd)
PORT=16161
snmpd_pid=
check_pid=
cw_pid=

cleanup() {
    [ -n "$check_pid" ] && kill "$check_pid" 2>/dev/null || true
    [ -n "$cw_pid" ] && kill "$cw_pid" 2>/dev/null || true
    [ -n "$snmpd_pid" ] && kill "$snmpd_pid" 2>/dev/null || true
    [ -n "$snmpd_pid" ] && wait "$snmpd_pid" 2>/dev/null || true
    [ -n "$vendor_pid" ] && kill "$vendor_pid" 2>/dev/null || true
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    [ -n "$vendor_pid" ] && wait "$vendor_pid" 2>/dev/null || true
    [ -n "${CW_TEST_KEEP:-}" ] && cp -r "$T/." "$CW_TEST_KEEP/" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ip link set lo up
mount -t sysfs sysfs /sys
[ -r /sys/class/net/lo/statistics/rx_bytes ] || { echo "FAIL: no lo statistics in sysfs" >&2; exit 1; }

mkdir -p "$T/persist"
# A fixed engine ID, as a real device keeps across reboots: after the
# restart v3 goes on with engineBoots + 1 (notInTimeWindow, then a resend).
cat >"$T/snmpd.conf" <<EOF
engineID callwatch-test
rocommunity public 127.0.0.1
createUser cwuser SHA cw-auth-pass AES cw-priv-pass
createUser cwbad SHA cw-right-pass AES cw-priv-pass
createUser cwmd5 MD5 cw-md5-pass DES cw-des-pass
createUser cwsha2 SHA-256 cw-sha2-pass AES-256 cw-aes2-pass
rouser cwuser priv
rouser cwbad priv
rouser cwmd5 priv
rouser cwsha2 priv
EOF

# A second agent plays the vendors: snmpd's override directive serves
# CISCO-PROCESS-MIB, FORTINET-FORTIGATE-MIB and JUNIPER-MIB objects and
# hrProcessorLoad rows with known values.
VPORT=16162
mkdir -p "$T/vpersist"
cat >"$T/vendor.conf" <<EOF
rocommunity public 127.0.0.1
override .1.3.6.1.2.1.25.3.3.1.2.196608 integer 30
override .1.3.6.1.2.1.25.3.3.1.2.196609 integer 50
override .1.3.6.1.4.1.9.9.109.1.1.1.1.6.1 unsigned 17
override .1.3.6.1.4.1.9.9.109.1.1.1.1.6.2 unsigned 63
override .1.3.6.1.4.1.12356.101.4.1.3.0 unsigned 42
override .1.3.6.1.4.1.2636.3.1.13.1.5.1.1.0.0 octet_str "midplane"
override .1.3.6.1.4.1.2636.3.1.13.1.5.7.1.0.0 octet_str "FPC: MPC7E 3D @ 0/*/*"
override .1.3.6.1.4.1.2636.3.1.13.1.5.9.1.0.0 octet_str "Routing Engine 0"
override .1.3.6.1.4.1.2636.3.1.13.1.5.9.2.0.0 octet_str "Routing Engine 1"
override .1.3.6.1.4.1.2636.3.1.13.1.8.1.1.0.0 unsigned 0
override .1.3.6.1.4.1.2636.3.1.13.1.8.7.1.0.0 unsigned 88
override .1.3.6.1.4.1.2636.3.1.13.1.8.9.1.0.0 unsigned 23
override .1.3.6.1.4.1.2636.3.1.13.1.8.9.2.0.0 unsigned 4
override .1.3.6.1.4.1.99998.1.0 octet_str "12.5"
override .1.3.6.1.4.1.99998.2.0 unsigned 523
EOF
vendor_pid=
sampler_pid=

wait_port() { # PORT LOG
    for _ in $(seq 1 50); do
        ss -Hlun "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "FAIL: snmpd did not start on port $1; its log:" >&2
    cat "$2" >&2
    exit 1
}

start_snmpd() {
    SNMP_PERSISTENT_DIR="$T/persist" MIBS= "$SNMPD" -f -C -c "$T/snmpd.conf" -Lf "$T/snmpd.log" \
        -p "$T/snmpd.pid" "udp:127.0.0.1:$PORT" &
    snmpd_pid=$!
    wait_port $PORT "$T/snmpd.log"
}

start_vendor() {
    SNMP_PERSISTENT_DIR="$T/vpersist" MIBS= "$SNMPD" -f -C -c "$T/vendor.conf" -Lf "$T/vendor.log" \
        -p "$T/vendor.pid" "udp:127.0.0.1:$VPORT" &
    vendor_pid=$!
    wait_port $VPORT "$T/vendor.log"
}

cat >"$T/poll.ini" <<EOF
[link lo]
snmp = 127.0.0.1:$PORT
community = public
ifname = lo
interval = 1
timeout = 1000
retries = 2

[link dead]
snmp = 127.0.0.1:16199
ifname = lo
interval = 1
timeout = 300
retries = 1

[link wrongcomm]
snmp = 127.0.0.1:$PORT
community = not-the-community
ifname = lo
interval = 1
timeout = 300
retries = 0

[cpu host]
snmp = 127.0.0.1:$PORT
preset = ucd
interval = 1

[cpu v3]
snmp = 127.0.0.1:$PORT
version = 3
user = cwuser
auth = SHA
auth_pass = cw-auth-pass
priv = AES
priv_pass = cw-priv-pass
preset = ucd
interval = 1

[cpu v3bad]
snmp = localhost:$PORT
version = 3
user = cwbad
auth = SHA
auth_pass = cw-wrong-pass
priv = AES
priv_pass = cw-priv-pass
preset = ucd
interval = 1

[cpu md5des]
snmp = 127.0.0.1:$PORT
version = 3
user = cwmd5
auth = MD5
auth_pass = cw-md5-pass
priv = DES
priv_pass = cw-des-pass
oid = 1.3.6.1.2.1.25.1.5.0
interval = 1

[cpu sha256]
snmp = 127.0.0.1:$PORT
version = 3
user = cwsha2
auth = SHA-256
auth_pass = cw-sha2-pass
priv = AES-256
priv_pass = cw-aes2-pass
oid = 1.3.6.1.2.1.25.1.5.0
interval = 1

[cpu nosuch]
snmp = 127.0.0.1:$PORT
oid = 1.3.6.1.4.1.99999.1.0
interval = 1

[cpu hr]
snmp = 127.0.0.1:$PORT
preset = host-resources
interval = 1

[cpu vhr]
snmp = 127.0.0.1:$VPORT
preset = host-resources
interval = 1

[cpu vcisco]
snmp = 127.0.0.1:$VPORT
preset = cisco
interval = 1

[cpu vforti]
snmp = 127.0.0.1:$VPORT
preset = fortinet
interval = 1

[cpu vjunos]
snmp = 127.0.0.1:$VPORT
preset = juniper
interval = 1

[cpu vstring]
snmp = 127.0.0.1:$VPORT
oid = 1.3.6.1.4.1.99998.1.0
interval = 1

[cpu vbad]
snmp = 127.0.0.1:$VPORT
oid = 1.3.6.1.4.1.99998.2.0
interval = 1
EOF

proc_cpu() { # busy and total ticks, counted as the ucd preset counts them
    awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat
}

# Bad targets are refused at startup, naming the section (offline and live).
"$CW_GENCAP" mixed "$T/mixed.pcapng" >/dev/null
printf '[probe]\nstep = 10\n\n[link wan0]\nsnmp = 192.0.2.1:99999\nifname = eth0\n' >"$T/bad1.ini"
run_cw -c "$T/bad1.ini" -r "$T/mixed.pcapng" --report json
expect_eq "bad agent address: exit 2" "$rc" 2
expect_match "bad agent address: named" "$err" \
    'bad1.ini:4: \[link wan0\]: snmp = "192.0.2.1:99999" is not an agent address'
printf '[cpu fw1]\nsnmp = 127.0.0.1\nversion = 3\nuser = u\nauth = SHA\nauth_pass = 12345678\npriv = BLOWFISH\npriv_pass = 12345678\npreset = ucd\n' >"$T/bad2.ini"
run_cw -c "$T/bad2.ini" -i lo --web off
expect_eq "unknown priv protocol: exit 2" "$rc" 2
expect_match "unknown priv protocol: named" "$err" \
    'bad2.ini:1: \[cpu fw1\]: priv = "BLOWFISH" is not an SNMPv3 privacy protocol'
sed 's/BLOWFISH/AES/; s/auth = SHA/auth = SHA-3/' "$T/bad2.ini" >"$T/bad3.ini"
run_cw -c "$T/bad3.ini" -r "$T/mixed.pcapng" --report json
expect_match "unknown auth protocol: named" "$err" '\[cpu fw1\]: auth = "SHA-3" is not an SNMPv3 authentication protocol'

start_snmpd
start_vendor
# /proc/stat twice a second, to compare with the ucd samples over their window.
while sleep 0.5; do echo "$(date +%s.%N) $(proc_cpu)"; done >"$T/proc.log" &
sampler_pid=$!
"$CW_SNMPCHECK" poll "$T/poll.ini" 34 >"$T/out.json" 2>"$T/err.log" &
check_pid=$!
sleep 4

# A 20 MB burst through lo, between two quiet moments.
rx0=$(cat /sys/class/net/lo/statistics/rx_bytes)
tx0=$(cat /sys/class/net/lo/statistics/tx_bytes)
ta=$(date +%s.%N)
"$CW_SNMPCHECK" blast 20000000 >"$T/blast.json"
sleep 6 # snmpd caches interface counters for about 3 s
tb=$(date +%s.%N)
rx1=$(cat /sys/class/net/lo/statistics/rx_bytes)
tx1=$(cat /sys/class/net/lo/statistics/tx_bytes)
expect_eq "blast sent" "$(jq .sent "$T/blast.json")" 20000000

# Restart snmpd between two polls of lo (the retry after 1 s finds it up).
sleep 2
tr=$(date +%s.%N)
kill -TERM "$snmpd_pid"
wait "$snmpd_pid" || true
start_snmpd
sleep 1

check_rc=0
wait "$check_pid" || check_rc=$?
check_pid=
kill "$sampler_pid"
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
expect_eq "snmpcheck exit" "$check_rc" 0

state() { jq -r "select(.target==\"$1\") | .$2" "$T/out.json"; }
samples() { jq -c "select(.metric==\"$1\")" "$T/out.json"; }
log_count() { grep -c -- "$1" "$T/err.log" || true; }

# --- link.lo against lo's own counters
for dir in in out; do
    sys=$([ $dir = in ] && echo $((rx1 - rx0)) || echo $((tx1 - tx0)))
    # Each sample is a rate over the interval since the previous one.
    got=$(samples "link.lo.${dir}_bps" | jq -s --argjson a "$ta" --argjson b "$tb" '
        [foreach .[] as $s ({prev: null};
            {dt: (if .prev == null then null else $s.t - .prev end), cur: $s, prev: $s.t};
            select(.dt != null and .cur.v != null and .cur.t > $a and .cur.t <= $b)
            | .cur.v / 8 * .dt)] | add // 0 | floor')
    diff=$((got > sys ? got - sys : sys - got))
    echo "# lo $dir: snmp ${got} bytes, /sys ${sys} bytes, difference ${diff}"
    if [ "$diff" -le $((sys / 20 + 50000)) ]; then
        pass "link.lo ${dir}_bps matches lo's ${dir} bytes within 5 % + 50 kB"
    else
        fail "link.lo ${dir}_bps: ${got} bytes, /sys says ${sys} (more than 5 % + 50 kB apart)"
    fi
done
max_in=$(samples link.lo.in_bps | jq -s 'map(.v // 0) | max')
max_util=$(samples link.lo.util_pct | jq -s 'map(.v // 0) | max')
expect_eq "lo speed is what snmpd reports" "$(state lo speed_bps)" 10000000
expect_eq "burst faster than 10 Mbit/s" "$(jq -n "$max_in > 10000000")" true
expect_eq "util_pct clamped at 100" "$max_util" 100

# --- restart: no spike, logged once, recovered
spike=$(samples link.lo.in_bps | jq -s --argjson a "$ta" --argjson b "$tb" \
    '[.[] | select((.t < $a or .t > $b) and .v != null and .v > 2000000)] | length')
expect_eq "no in_bps above 2 Mbit/s outside the burst (restart included)" "$spike" 0
expect_eq "restart logged once" "$(log_count '\[link lo\].*agent restarted')" 1
expect_eq "restart counted" "$(state lo restarts)" 1
after=$(samples link.lo.in_bps | jq -s --argjson r "$tr" '[.[] | select(.t > $r + 1 and .v != null)] | length')
expect_eq "lo answers after the restart" "$(jq -n "$after >= 3")" true
expect_eq "lo up at the end" "$(state lo state)" up
expect_eq "lo found as ifIndex 1" "$(state lo ifindex)" 1
expect_eq "ifIndex looked up again after the restart" "$(log_count '\[link lo\].*is ifIndex 1')" 2

# --- faults, each reported once
expect_eq "dead port: timeout" "$(state dead state)" timeout
expect_eq "dead port: retried with backoff" "$(jq -n "$(state dead failures) >= 3")" true
expect_eq "dead port: logged once" "$(log_count '\[link dead\].*timeout')" 1
expect_eq "dead port: gaps, not zeros" \
    "$(samples link.dead.in_bps | jq -s 'map(select(.v != null)) | length')" 0
expect_eq "wrong community: timeout" "$(state wrongcomm state)" timeout
expect_match "wrong community: explained" "$(state wrongcomm error)" "community"
expect_eq "wrong v3 password: auth_error" "$(state v3bad state)" auth_error
expect_match "wrong v3 password: what the agent said" "$(state v3bad error)" "Authentication failure"
expect_eq "wrong v3 password: logged once" "$(log_count '\[cpu v3bad\].*auth_error')" 1
expect_eq "missing OID: no_such_object" "$(state nosuch state)" no_such_object
expect_match "missing OID: named" "$(state nosuch error)" "1.3.6.1.4.1.99999.1.0 answered noSuch"
expect_eq "missing OID: logged once" "$(log_count '\[cpu nosuch\].*no_such_object')" 1
expect_eq "hrProcessorLoad empty after a start: no_such_object" "$(state hr state)" no_such_object
expect_match "hrProcessorLoad named" "$(state hr error)" "hrProcessorLoad"

# --- CPU
for t in host v3; do
    expect_eq "cpu $t up" "$(state $t state)" up
    n=$(samples "cpu.$t.pct" | jq -s 'map(select(.v != null)) | length')
    expect_eq "cpu $t: at least 3 samples" "$(jq -n "$n >= 3")" true
    expect_eq "cpu $t: all within 0-100" \
        "$(samples "cpu.$t.pct" | jq -s 'map(select(.v != null and (.v < 0 or .v > 100))) | length')" 0
done
# The presets from known raw values (the vendor agent).
expect_eq "host-resources: mean of 30 and 50" "$(state vhr cpu_pct)" 40
expect_eq "cisco: the busier of 17 and 63" "$(state vcisco cpu_pct)" 63
expect_eq "fortinet: fgSysCpuUsage" "$(state vforti cpu_pct)" 42
expect_eq "juniper: the busier routing engine (23, 4), not the FPC (88)" "$(state vjunos cpu_pct)" 23
expect_eq "oid: a number in a string" "$(state vstring cpu_pct)" 12.5
expect_eq "oid: 523 is not a percentage" "$(state vbad state)" error
expect_match "oid: 523 explained" "$(state vbad error)" "523, not a percentage"
expect_eq "oid: no sample for 523" "$(samples cpu.vbad.pct | jq -s 'map(select(.v != null)) | length')" 0

# hrSystemNumUsers (users logged in, a small number): what matters is that
# MD5/DES and SHA-256/AES-256 get answers.
for t in md5des sha256; do
    expect_eq "v3 $t up" "$(state $t state)" up
    expect_match "v3 $t value" "$(state $t cpu_pct)" '^[0-9]+(\.[0-9]+)?$'
done
v3_after=$(samples cpu.v3.pct | jq -s --argjson r "$tr" '[.[] | select(.t > $r and .v != null)] | length')
expect_eq "v3 recovers after the restart" "$(jq -n "$v3_after >= 1")" true
# snmpd refreshes its counters every ~5 s, so the samples cover from about
# 5 s before the first one to the last one.
w0=$(samples cpu.host.pct | jq -s 'map(select(.v != null)) | .[0].t - 5')
w1=$(samples cpu.host.pct | jq -s 'map(select(.v != null)) | .[-1].t')
proc_pct=$(awk -v a="$w0" -v b="$w1" '$1 >= a && !s {s = 1; b0 = $2; t0 = $3}
    $1 <= b {b1 = $2; t1 = $3} END {printf "%.3f", (b1 - b0) * 100 / (t1 - t0)}' "$T/proc.log")
snmp_pct=$(samples cpu.host.pct | jq -s 'map(select(.v != null) | .v) | add / length')
echo "# cpu: snmp mean ${snmp_pct} %, /proc/stat ${proc_pct} % over the same window"
expect_eq "cpu agrees with /proc/stat within 15 points" \
    "$(jq -n "($snmp_pct - $proc_pct) | fabs <= 15")" true

# --- callwatch itself in live mode polls the agent and stops promptly
cat >"$T/live.ini" <<EOF
[link lo]
snmp = 127.0.0.1:$PORT
ifname = lo
interval = 1
EOF
"$CW_BIN" -c "$T/live.ini" -i lo --web off -v >"$T/live.out" 2>"$T/live.err" &
cw_pid=$!
sleep 3
t0=$(date +%s%N)
kill -TERM "$cw_pid"
live_rc=0
wait "$cw_pid" || live_rc=$?
t1=$(date +%s%N)
cw_pid=
expect_eq "callwatch live: exit 0 on SIGTERM" "$live_rc" 0
expect_match "callwatch live: the poller ran" "$(cat "$T/live.err")" "snmp \[link lo\] 127.0.0.1:$PORT: answering"
expect_eq "callwatch live: ends within 1.5 s of SIGTERM" "$(((t1 - t0) < 1500000000))" 1

# --- the poller stops promptly
stop_s=$(sed -n 's/^snmpcheck: stopped in \([0-9.]*\) s$/\1/p' "$T/err.log")
expect_eq "stop within 0.5 s" "$(jq -n "${stop_s:-9} < 0.5")" true

if [ "$failures" -ne 0 ]; then
    echo "--- snmpcheck log" >&2
    cat "$T/err.log" >&2
fi
finish
