#!/usr/bin/env bash
# callwatch as a service manager runs it: READY=1, STATUS=, WATCHDOG=1 at
# half of WATCHDOG_USEC from the analysing loop, RELOADING=1 and READY=1
# around SIGHUP, STOPPING=1; a SIGHUP applies a changed configuration (a
# new [link] with an rrd file, an [incident] threshold, an alert program)
# and refuses a broken one with its file:line, keeping the one in force;
# log lines carry syslog priorities when stderr is not a terminal.
# Everything runs under memory-deny-write-execute, as the unit's
# MemoryDenyWriteExecute=yes: nothing callwatch loads (libpcap, libsystemd,
# libmicrohttpd, SQLite, librrd with cairo and pango for the graphs) may
# need writable and executable memory.  Live on lo: run as root.
. "$CW_TESTLIB"
. "$CW_WEBLIB"
set -e

[ "$(id -u)" -eq 0 ] || { fail "service.sh captures live on lo: run it as root"; finish; }

# callwatch under memory-deny-write-execute, keeping its process id.
mdwe="$CW_TOP/tests/mdwe.py"
out=$(python3 "$mdwe" python3 -c 'import mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("allowed")
except OSError:
    print("refused")')
expect_eq "mdwe.py refuses writable and executable memory" "$out" refused
printf '#!/bin/sh\nexec python3 %s %s "$@"\n' "$mdwe" "$CW_BIN" >"$T/callwatch-mdwe"
chmod +x "$T/callwatch-mdwe"
CW_BIN_REAL=$CW_BIN
CW_BIN="$T/callwatch-mdwe"

sock="$T/notify.sock"
nlog="$T/notify.log"
python3 "$CW_TOP/tests/notify_receiver.py" "$sock" "$nlog" &
CW_PIDS+=($!)
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done

# wait_for FILE REGEX: up to 10 s for a line matching REGEX.
wait_for() {
    for _ in $(seq 1 200); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

rrdtool create "$T/wan.rrd" --step 10 --start now-600 DS:in:COUNTER:20:0:U \
    DS:out:COUNTER:20:0:U RRA:AVERAGE:0.5:1:360
cat >"$T/base.ini" <<INI
[probe]
interface = lo
data_dir = $T/data
[incident]
window = 60
INI
cp "$T/base.ini" "$T/cw.ini"

export NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000
# stderr is "the journal": JOURNAL_STREAM names its device and inode, as
# systemd does, so lines carry their priorities.
: >"$T/log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/log")
export JOURNAL_STREAM
WAIT_FOR=dashboard start_cw "$T/log" -c "$T/cw.ini" --web 127.0.0.1:0 -v
unset JOURNAL_STREAM
unset NOTIFY_SOCKET WATCHDOG_USEC

wait_for "$nlog" 'READY=1' && pass "READY=1 sent" || fail "no READY=1: $(cat "$nlog")"
expect_match "STATUS= says what it does" "$(cat "$nlog")" \
    'STATUS=capturing on lo; dashboard at http://127\.0\.0\.1:[0-9]+/'
ready_t=$(awk '/READY=1/ { print $1; exit }' "$nlog")
sleep 3
# WatchdogSec=1 s: a ping every 0.5 s, so about 6 in 3 s.
pings=$(awk -v t="$ready_t" '$2 == "WATCHDOG=1" && $1 >= t && $1 < t + 3' "$nlog" | wc -l)
[ "$pings" -ge 4 ] && [ "$pings" -le 8 ] && pass "WATCHDOG=1 at half the interval ($pings in 3 s)" ||
    fail "WATCHDOG=1: $pings pings in 3 s, want 4 to 8"
# Half the interval apart, and never late enough for the watchdog to fire
# (a loaded machine may delay one by a tenth or two).
gaps=$(awk '$2 == "WATCHDOG=1" { if (p) printf "%.1f\n", $1 - p; p = $1 }' "$nlog" | sort -u | tr '\n' ' ')
expect_match "pings about 0.5 s apart, none 1 s late" "$gaps" '^(0\.[4-9] )+$'

# Priorities: stderr is the journal here.
expect_match "info lines carry <6>" "$(cat "$T/log")" '^<6>callwatch: capturing on lo'

# A reload: a new NMS link, a changed incident window, an alert program.
cat >"$T/cw.ini" <<INI
[probe]
interface = lo
data_dir = $T/data
[incident]
window = 120
[alert]
exec = /bin/true
[link wan]
rrd = $T/wan.rrd
ds_in = in
ds_out = out
speed = 100M
INI
get /api/status
expect_eq "before: no targets" "$(jq -c '[.targets[].name]' "$T/body")" '[]'
kill -HUP "$CW_PID"
wait_for "$T/log" 'SIGHUP: .* re-read and applied' && pass "reload logged" ||
    fail "no reload line: $(cat "$T/log")"
line=$(grep 'SIGHUP: .* re-read and applied' "$T/log")
expect_match "the new link named" "$line" '\[link wan\] added'
expect_match "the incident window's change named" "$line" '\[incident\] window 60 -> 120'
expect_match "the alert program named" "$line" '\[alert\] exec'
expect_match "notice priority" "$line" '^<5>callwatch: '
get /api/status
expect_eq "after: the NMS link is a target" "$(jq -c '[.targets[] | [.name, .source]]' "$T/body")" \
    '[["wan","rrd"]]'
wait_for "$nlog" 'RELOADING=1' && pass "RELOADING=1 sent" || fail "no RELOADING=1"
expect_eq "READY=1 again after the reload" \
    "$(awk '/RELOADING=1/ { r = 1 } r && /READY=1/ { print "yes"; exit }' "$nlog")" yes

# What needs a restart is named, and kept.
sed -i 's/^interface = lo/interface = nosuch0/' "$T/cw.ini"
kill -HUP "$CW_PID"
wait_for "$T/log" 'restart' && pass "restart-only change logged" || fail "no restart line"
expect_match "the interface named, as a warning" "$(grep restart "$T/log")" \
    '^<4>callwatch: warning: SIGHUP: \[probe\] interface: changed; takes effect after a restart'
sed -i 's/^interface = nosuch0/interface = lo/' "$T/cw.ini"

# A configuration that no longer loads: refused with file:line, old kept.
printf '[incident]\nwindow = soon\n' >>"$T/cw.ini"
bad_line=$(grep -n 'window = soon' "$T/cw.ini" | cut -d: -f1)
kill -HUP "$CW_PID"
wait_for "$T/log" 'in force is kept' && pass "broken configuration refused" || fail "no refusal: $(cat "$T/log")"
expect_match "refusal names file:line, as an error" "$(grep 'in force is kept' "$T/log")" \
    "^<3>callwatch: error: SIGHUP: $T/cw.ini:$bad_line: window: \"soon\" is not a whole number; the configuration in force is kept"
get /api/status
expect_eq "the link stays a target" "$(jq -c '[.targets[].name]' "$T/body")" '["wan"]'
kill -0 "$CW_PID" && pass "still running after a refused reload" || fail "exited"

stop_cw TERM
expect_eq "SIGTERM: exit status" "$stop_rc" 0
wait_for "$nlog" 'STOPPING=1' && pass "STOPPING=1 sent" || fail "no STOPPING=1"

# Graphs (librrd, cairo, pango, fontconfig) under memory-deny-write-execute.
start_cw "$T/log2" -r "$CW_CAPTURES/lab/clean.pcap" -d "$T/data2" --web 127.0.0.1:0
get "/graph/calls.png?start=0&end=2000000000"
expect_eq "a graph drawn without W+X memory: status" "$code" 200
expect_eq "a PNG" "$(head -c 4 "$T/body" | od -An -c | tr -d ' ')" '211PNG'
stop_cw TERM
expect_eq "exit status" "$stop_rc" 0
CW_BIN=$CW_BIN_REAL

# Without NOTIFY_SOCKET nothing is loaded or sent, and by hand (a terminal,
# a pipe or a file) lines carry no priorities, even with a JOURNAL_STREAM
# inherited from a shell that the journal started: it names another stream.
out=$(script -qec "$CW_BIN -r /nonexistent.pcap --report text" /dev/null | tr -d '\r' || true)
expect_match "on a terminal, no priority prefix" "$out" '^callwatch: error: /nonexistent\.pcap'
run_cw -r /nonexistent.pcap --report text
expect_match "to a file, no priority prefix" "$err" '^callwatch: error: /nonexistent\.pcap'
JOURNAL_STREAM=1:1 run_cw -r /nonexistent.pcap --report text
expect_match "another stream's JOURNAL_STREAM: no prefix" "$err" '^callwatch: error: /nonexistent\.pcap'
: >"$T/j.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/j.err") "$CW_BIN" -r /nonexistent.pcap --report text 2>>"$T/j.err" || true
expect_match "stderr the journal's stream: <3>" "$(cat "$T/j.err")" '^<3>callwatch: error: /nonexistent\.pcap'

finish
