#!/usr/bin/env bash
# Least privilege, for real: callwatch started as root with --user nobody
# captures on a veth interface in a network namespace, then runs as
# nobody in every thread (ids, no groups, no capabilities, no new
# privileges) with its data directory usable; started as nobody with only
# CAP_NET_RAW as an ambient capability (as the systemd unit does) it
# captures in promiscuous mode and then holds no capability at all.
. "$CW_TESTLIB"
set -e

[ "$(id -u)" -eq 0 ] || { fail "privdrop.sh starts callwatch as root: run it as root"; finish; }

ns=cwpriv$$
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" addr add 10.77.0.1/24 dev d0
ip -n "$ns" link set d1 up
ip -n "$ns" link set d0 up
ip -n "$ns" link set lo up
ip -n "$ns" neigh add 10.77.0.2 lladdr 02:00:00:00:77:02 dev d0
chmod 755 "$T"

# wait_for FILE REGEX
wait_for() {
    for _ in $(seq 1 200); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# status_of PID FIELD: the field of /proc/PID/status, blanks squeezed.
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' ' | sed 's/ $//'; }

nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

# A data directory that a root run left behind: given to the user.
mkdir -p "$T/data"
touch "$T/data/left-by-root"

ip netns exec "$ns" "$CW_BIN" -i d0 --user nobody -d "$T/data" --web 127.0.0.1:0 \
    >"$T/out" 2>"$T/log" &
pid=$!
PIDS+=("$pid")
wait_for "$T/log" 'running as user nobody' && pass "says it dropped root" ||
    fail "no drop line: $(cat "$T/log")"
expect_match "the drop line, with ids" "$(cat "$T/log")" \
    "callwatch: running as user nobody \\(uid $nobody_uid, gid $nobody_gid\\)"
ids="$nobody_uid $nobody_uid $nobody_uid $nobody_uid"
gids="$nobody_gid $nobody_gid $nobody_gid $nobody_gid"
expect_eq "Uid: real, effective, saved, fs" "$(status_of "$pid" Uid)" "$ids"
expect_eq "Gid: real, effective, saved, fs" "$(status_of "$pid" Gid)" "$gids"
expect_eq "Groups: none" "$(status_of "$pid" Groups)" ""
expect_eq "CapEff" "$(status_of "$pid" CapEff)" 0000000000000000
expect_eq "CapPrm" "$(status_of "$pid" CapPrm)" 0000000000000000
expect_eq "CapAmb" "$(status_of "$pid" CapAmb)" 0000000000000000
expect_eq "NoNewPrivs" "$(status_of "$pid" NoNewPrivs)" 1
bad=""
ntasks=0
for task in /proc/"$pid"/task/*; do
    t=${task##*/}
    ntasks=$((ntasks + 1))
    [ "$(sed -n 's/^Uid:[[:space:]]*//p' "$task/status" | tr -s ' \t' ' ' | sed 's/ $//')" = "$ids" ] || bad="$bad $t:uid"
    [ "$(sed -n 's/^CapEff:[[:space:]]*//p' "$task/status")" = 0000000000000000 ] || bad="$bad $t:caps"
    [ "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$task/status")" = 1 ] || bad="$bad $t:nnp"
done
[ "$ntasks" -gt 3 ] && pass "$ntasks threads" || fail "only $ntasks threads"
expect_eq "every thread: nobody, no capability, no new privileges" "$bad" ""
expect_eq "data directory owned by nobody" "$(stat -c %U "$T/data")" nobody
expect_eq "call database owned by nobody" "$(stat -c %U "$T/data/calls.sqlite")" nobody
expect_eq "a root run's file given to nobody" "$(stat -c %U "$T/data/left-by-root")" nobody
# It goes on working: packets counted, RRD files written by nobody.
for i in $(seq 1 30); do
    ip netns exec "$ns" bash -c 'echo probe >/dev/udp/10.77.0.2/5060' 2>/dev/null || true
done
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
expect_eq "exit status after SIGTERM as nobody" "$rc" 0
owners=$(find "$T/data" -newer "$T/data/left-by-root" ! -user nobody | tr '\n' ' ')
expect_eq "everything written after the drop belongs to nobody" "$owners" ""
[ -n "$(ls "$T/data"/*.rrd 2>/dev/null)" ] && pass "RRD files written after the drop" ||
    fail "no RRD file in $T/data: $(ls "$T/data")"

# Refusals: an unknown user, and switching users without root.
run_cw -r "$CW_CAPTURES/lab/clean.pcap" --report json --user no-such-user-cw
expect_eq "unknown user: exit 2" "$rc" 2
expect_match "unknown user: named" "$err" 'user "no-such-user-cw": no such user'
set +e
setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups "$CW_BIN" -r "$CW_CAPTURES/lab/clean.pcap" \
    --report json --user root >/dev/null 2>"$T/err2"
rc=$?
set -e
expect_eq "switching users without root: exit 2" "$rc" 2
expect_match "switching users without root: said" "$(cat "$T/err2")" 'only root can switch users'

# As the unit starts it: nobody with CAP_NET_RAW alone, promiscuous.
mkdir -p "$T/data2"
chown nobody "$T/data2"
ip netns exec "$ns" setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups \
    --inh-caps=+net_raw --ambient-caps=+net_raw \
    "$CW_BIN" -i d0 -d "$T/data2" --web off --report json -v >"$T/out3" 2>"$T/log3" &
pid=$!
PIDS+=("$pid")
wait_for "$T/log3" 'capturing on d0' && pass "captures with CAP_NET_RAW only" ||
    fail "no capture: $(cat "$T/log3")"
expect_match "promiscuous without CAP_NET_ADMIN" "$(ip -n "$ns" -d link show d0)" 'promiscuity 1'
expect_eq "capabilities cleared once the capture is open" "$(status_of "$pid" CapEff)" \
    0000000000000000
expect_eq "ambient set cleared" "$(status_of "$pid" CapAmb)" 0000000000000000
expect_eq "still nobody" "$(status_of "$pid" Uid)" "$ids"
for i in $(seq 1 20); do
    ip netns exec "$ns" bash -c 'echo probe >/dev/udp/10.77.0.2/5060' 2>/dev/null || true
done
sleep 0.5
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
expect_eq "exit status" "$rc" 0
n=$(jq '.capture.packets' "$T/out3")
[ "$n" -ge 20 ] && pass "packets captured after the capabilities went: $n" ||
    fail "captured $n packets, want at least 20"

finish
