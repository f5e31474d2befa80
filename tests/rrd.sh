#!/usr/bin/env bash
# The RRD store end to end: captures analysed with -d write their own times
# into RRD files, directly and through a real rrdcached; what is written
# matches the packets per step counted independently (the generator, tshark);
# the backfill rule; SIGTERM loses nothing; series JSON and PNG graphs.
. "$CW_TESTLIB"
set -e

RRDC_PID=
stop_rrdcached() {
    if [ -n "$RRDC_PID" ]; then
        kill "$RRDC_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$RRDC_PID" 2>/dev/null || break; sleep 0.1; done
        RRDC_PID=
    fi
}
trap 'stop_rrdcached; rm -rf "$T"' EXIT

# Direct writes unless a test says otherwise.
unset RRDCACHED_ADDRESS

# steps_tshark FILE STEP: "END packets bytes" for every step from the first
# packet's to the last's, empty steps included, as tshark reads the capture.
# A packet at time t belongs to the step ending at floor(t / STEP) * STEP + STEP.
steps_tshark() {
    tshark -r "$1" -T fields -e frame.time_epoch -e frame.len 2>/dev/null |
        awk -v step="$2" '{ split($1, a, "."); s = int(a[1] / step) * step + step
                            n[s]++; b[s] += $2; if (!first || s < first) first = s
                            if (s > last) last = s }
            END { for (s = first; s <= last; s += step) printf "%d %d %d\n", s, n[s], b[s] }'
}

# rrd_rows FILE DS FIRST LAST: "T value" for the rows stamped FIRST..LAST,
# read from the file itself (no daemon) at the finest resolution.
rrd_rows() {
    env -u RRDCACHED_ADDRESS rrdtool fetch "$1" AVERAGE -s "$(($3 - 1))" -e "$4" |
        awk -v ds="$2" -v first="$3" -v last="$4" '
            NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) col = i + 1; next }
            NF > 1 { t = $1; sub(":", "", t); if (t + 0 >= first && t + 0 <= last) print t, $col }'
}

# rrd_steps DIR STEP FIRST LAST: "END packets bytes" from traffic.rrd
# (pps and bps times the step, rounded).
rrd_steps() {
    paste -d' ' <(rrd_rows "$1/traffic.rrd" pps "$3" "$4") <(rrd_rows "$1/traffic.rrd" bps "$3" "$4") |
        awk -v step="$2" '{ if ($2 ~ /nan/ || $4 ~ /nan/) { print $1, "unknown"; next }
                            printf "%d %d %d\n", $1, $2 * step + 0.5, $4 * step / 8 + 0.5 }'
}

# png_ok FILE: a PNG signature and more than a kilobyte.
png_ok() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 1024 ]
}

# check_run NAME DIR STEP CAPTURE: the files, the steps, the drops and the
# series API for one analysed capture.
check_run() {
    local name=$1 dir=$2 step=$3 cap=$4 first last want got
    want=$(steps_tshark "$cap" "$step")
    first=$(echo "$want" | head -1 | cut -d' ' -f1)
    last=$(echo "$want" | tail -1 | cut -d' ' -f1)
    [ -f "$dir/traffic.rrd" ] && pass "$name: traffic.rrd created" || fail "$name: no traffic.rrd"
    [ -f "$dir/capture.rrd" ] && pass "$name: capture.rrd created" || fail "$name: no capture.rrd"
    expect_eq "$name: step of traffic.rrd" "$(rrdtool info "$dir/traffic.rrd" | sed -n 's/^step = //p')" "$step"
    expect_eq "$name: heartbeat" "$(rrdtool info "$dir/traffic.rrd" | sed -n 's/^ds\[bps\].minimal_heartbeat = //p')" "$((2 * step))"
    # Created to start one step before the first sample.
    expect_eq "$name: first row unknown" "$(rrd_rows "$dir/traffic.rrd" pps "$((first - step))" "$((first - step))" | awk '{print ($2 ~ /nan/)}')" 1
    got=$(rrd_steps "$dir" "$step" "$first" "$last")
    expect_eq "$name: $(echo "$want" | wc -l) steps of packets and bytes = tshark" "$got" "$want"
    # Nothing invented after the capture.
    expect_match "$name: row after the last step unknown" "$(rrd_rows "$dir/traffic.rrd" pps "$((last + step))" "$((last + step))")" 'nan'
    expect_eq "$name: capture drops 0 in every step" \
        "$(rrd_rows "$dir/capture.rrd" drops "$first" "$last" | awk '{print $2 + 0}' | sort -u)" 0
    expect_eq "$name: capture drops rows" "$(rrd_rows "$dir/capture.rrd" drops "$first" "$last" | wc -l)" "$(echo "$want" | wc -l)"
    # The series API: the contract object with the same numbers.
    "$CW_RRDQUERY" series "$dir" traffic.pps "$first" "$last" >"$T/series.json"
    expect_eq "$name: series metric" "$(jq -r .metric "$T/series.json")" traffic.pps
    expect_eq "$name: series step" "$(jq .step "$T/series.json")" "$step"
    expect_eq "$name: series points = tshark" \
        "$(jq -r --argjson s "$step" '.points[] | "\(.[0]) \(.[1] * $s + 0.5 | floor)"' "$T/series.json")" \
        "$(echo "$want" | cut -d' ' -f1,2)"
    "$CW_RRDQUERY" graph "$dir" traffic.bps "$((first - step))" "$((last + step))" "$T/g.png" \
        "$((first + step))" "$((first + 2 * step))"
    png_ok "$T/g.png" && pass "$name: traffic.bps graph is a PNG" || fail "$name: traffic.bps graph"
    "$CW_RRDQUERY" graph "$dir" traffic "$((first - step))" "$((last + step))" "$T/g.png"
    png_ok "$T/g.png" && pass "$name: traffic composite is a PNG" || fail "$name: traffic composite"
}

# Calls and RTP: once the engine reports them it must store them too.
check_calls_rtp() {
    local name=$1 dir=$2 report=$3 list
    list=$("$CW_RRDQUERY" list "$dir")
    # Every step carries the call and RTP series (zeros and gaps included).
    [ -f "$dir/calls.rrd" ] && pass "$name: calls.rrd" || fail "$name: no calls.rrd"
    expect_match "$name: calls.dropped listed" "$list" '"calls.dropped"'
    [ -f "$dir/rtp.rrd" ] && pass "$name: rtp.rrd" || fail "$name: no rtp.rrd"
    expect_match "$name: rtp.mos_avg listed" "$list" '"rtp.mos_avg"'
    if [ "$(jq '.calls | length' "$report")" -gt 0 ]; then
        expect_eq "$name: calls.attempts sum to the report's calls" \
            "$(rrdtool fetch "$dir/calls.rrd" AVERAGE -r 10 -s "$(jq '.capture.start | floor - 20' "$report")" \
               -e "$(jq '.capture.end | floor + 20' "$report")" | awk -F'[: ]+' 'NR > 2 && $3 != "-nan" && $3 != "nan" {s += $3} END {print s + 0}')" \
            "$(jq '.calls | length' "$report")"
    fi
    if [ "$(jq '.streams | length' "$report")" -gt 0 ]; then
        expect_match "$name: rtp.streams has values" \
            "$(rrdtool fetch "$dir/rtp.rrd" AVERAGE -r 10 -s "$(jq '.capture.start | floor - 20' "$report")" \
               -e "$(jq '.capture.end | floor + 20' "$report")")" '[1-9]\.[0-9]+e\+00'
    fi
    expect_match "$name: traffic.pps listed" "$list" '"traffic.pps"'
    expect_match "$name: capture.drops listed" "$list" '"capture.drops"'
}

# ---------------------------------------------------------------- direct
"$CW_GENCAP" steps "$T/steps.pcap" >"$T/steps.expect"
run_cw -r "$T/steps.pcap" -d "$T/gen" --report json
expect_eq "generated: exit" "$rc" 0
echo "$out" >"$T/gen.json"
check_run generated "$T/gen" 10 "$T/steps.pcap"
# ... and against the generator's own account of each step.
expect_eq "generated: steps = generator" "$(rrd_steps "$T/gen" 10 1700000010 1700000120)" \
    "$(awk '{print $2, $4, $6}' "$T/steps.expect")"
expect_eq "generated: silent step is 0, not a gap" "$(rrd_rows "$T/gen/traffic.rrd" pps 1700000050 1700000050)" \
    "1700000050 0.0000000000e+00"
check_calls_rtp generated "$T/gen" "$T/gen.json"

pub="$CW_CAPTURES/public/rtpproxy_sess6.a.pcap"
run_cw -r "$pub" -d "$T/pub" --report json
expect_eq "public: exit" "$rc" 0
echo "$out" >"$T/pub.json"
check_run public "$T/pub" 10 "$pub"
check_calls_rtp public "$T/pub" "$T/pub.json"
expect_eq "public: no warnings" "$(jq -c '.capture.warnings // []' "$T/pub.json")" '[]'

# A capture with calls in it, from the SIP captures.
sip="$CW_CAPTURES/public/b2bua-asterisk.pcapng"
run_cw -r "$sip" -d "$T/sip" --report json
expect_eq "sip: exit" "$rc" 0
echo "$out" >"$T/sip.json"
check_run sip "$T/sip" 10 "$sip"
check_calls_rtp sip "$T/sip" "$T/sip.json"

# ---------------------------------------------------------------- backfill
# A second, older capture into the same data directory: nothing written,
# one warning per file naming it, its last update and the skipped range.
last_before=$(rrdtool last "$T/pub/traffic.rrd")
rows_before=$(rrd_rows "$T/pub/traffic.rrd" pps 1429124640 1429124690)
older="$CW_CAPTURES/public/rtp-protocol.pcap"
run_cw -r "$older" -d "$T/pub" --report json
expect_eq "backfill: exit" "$rc" 0
expect_match "backfill: warning names traffic.rrd and its last update" "$err" \
    "warning: $T/pub/traffic.rrd: [0-9]+ samples in [0-9]+ steps from 2011-07-21 08:48:[0-9]+ UTC to 2011-07-21 08:4[89]:[0-9]+ UTC \\(1311238[0-9]+\\.\\.1311238[0-9]+\\) are at or before the file's last update 2015-04-15 19:04:50 UTC \\($last_before\\)"
expect_match "backfill: warning names capture.rrd" "$err" "warning: $T/pub/capture.rrd: .* last update .*\\($last_before\\)"
nfiles=$(ls "$T/pub"/*.rrd | wc -l)
expect_eq "backfill: one warning per file" "$(echo "$err" | grep -c 'cannot go back in time')" "$nfiles"
expect_eq "backfill: the report lists them" \
    "$(echo "$out" | jq '[.capture.warnings[] | select(test("cannot go back in time"))] | length')" "$nfiles"
# The skipped range is the older capture's own steps.
range=$(steps_tshark "$older" 10 | awk 'NR == 1 {f = $1} {l = $1} END {print "(" f ".." l ")"}')
expect_match "backfill: range = the capture's steps $range" "$err" \
    "traffic.rrd: .*$(printf '%s' "$range" | sed 's/[().]/\\&/g')"
expect_eq "backfill: last update unchanged" "$(rrdtool last "$T/pub/traffic.rrd")" "$last_before"
expect_eq "backfill: rows unchanged" "$(rrd_rows "$T/pub/traffic.rrd" pps 1429124640 1429124690)" "$rows_before"

# Overlapping: a capture that starts inside the stored range and goes on;
# the overlap is skipped and said, the rest written.
"$CW_GENCAP" steps "$T/later.pcap" 1700000060 >"$T/later.expect"
run_cw -r "$T/later.pcap" -d "$T/gen" --report json
expect_eq "overlap: exit" "$rc" 0
expect_match "overlap: skipped steps named" "$err" \
    "traffic.rrd: [0-9]+ samples in 6 steps from .* \\(1700000070\\.\\.1700000120\\) .* last update .* \\(1700000120\\)"
expect_eq "overlap: the new steps written" "$(rrd_steps "$T/gen" 10 1700000130 1700000180)" \
    "$(awk '$2 > 1700000120 {print $2, $4, $6}' "$T/later.expect")"
expect_eq "overlap: the old steps kept" "$(rrd_steps "$T/gen" 10 1700000070 1700000120)" \
    "$(awk '$2 >= 1700000070 && $2 <= 1700000120 {print $2, $4, $6}' "$T/steps.expect")"

# ---------------------------------------------------------------- SIGTERM
# Stopped half-way through a paced replay: every packet the report counts is
# in the RRD (the last, partial step included).
set +e
"$CW_BIN" -r "$pub" -d "$T/term" --replay-speed 5 --report json >"$T/term.json" 2>"$T/term.err" &
cw=$!
sleep 4
kill -TERM "$cw"
wait "$cw"
rc=$?
set -e
expect_eq "SIGTERM: exit" "$rc" 0
pkts=$(jq .capture.packets "$T/term.json")
if [ "$pkts" -gt 0 ] && [ "$pkts" -lt 2546 ]; then pass "SIGTERM: stopped part way ($pkts packets)"; else fail "SIGTERM: $pkts packets"; fi
expect_eq "SIGTERM: packets in the RRD = packets read" \
    "$(rrd_rows "$T/term/traffic.rrd" pps 1429124630 1429124700 | awk '$2 !~ /nan/ {n += $2 * 10} END {printf "%d", n + 0.5}')" "$pkts"

# ---------------------------------------------------------------- errors
touch "$T/plainfile"
run_cw -r "$T/steps.pcap" -d "$T/plainfile" --report json
expect_eq "data dir is a file: exit" "$rc" 2
expect_eq "data dir is a file: one line naming it" "$err" "callwatch: error: data directory $T/plainfile: not a directory"
expect_eq "data dir is a file: no report" "$out" ""
run_cw -r "$T/steps.pcap" -d /proc/callwatch-test/data --report json
expect_eq "data dir cannot be made: exit" "$rc" 1
expect_match "data dir cannot be made: named" "$err" '^callwatch: error: data directory /proc/callwatch-test/data: cannot create it'
# A file in the way that is not an RRD: named, counted, in the report; the
# other files are written; exit 1 after the report.
mkdir -p "$T/junk"
echo "not an rrd" >"$T/junk/traffic.rrd"
run_cw -r "$T/steps.pcap" -d "$T/junk" --report json
expect_eq "unwritable file: exit" "$rc" 1
expect_match "unwritable file: named once as an error" "$err" "error: $T/junk/traffic.rrd: cannot read the last update"
expect_eq "unwritable file: one warning in the report" "$(echo "$out" | jq '.capture.warnings | length')" 1
expect_match "unwritable file: the warning" "$(echo "$out" | jq -r '.capture.warnings[0]')" \
    "^$T/junk/traffic.rrd: [0-9]+ samples could not be written \\(cannot read the last update: .+\\)$"
expect_eq "unwritable file: capture.rrd still written" "$(rrd_rows "$T/junk/capture.rrd" drops 1700000010 1700000120 | wc -l)" 12
printf '[rrd]\ndaemon = unix:%s/nobody.sock\n' "$T" >"$T/nodaemon.ini"
run_cw -c "$T/nodaemon.ini" -r "$T/steps.pcap" -d "$T/nd" --report json
expect_eq "rrdcached not there: exit" "$rc" 1
expect_match "rrdcached not there: named" "$err" "rrdcached at unix:$T/nobody.sock"
printf '[rrd]\ndaemon = unix:\n' >"$T/baddaemon.ini"
run_cw -c "$T/baddaemon.ini" -r "$T/steps.pcap" -d "$T/nd" --report json
expect_eq "bad rrdcached address: exit" "$rc" 2

# ---------------------------------------------------------------- rrdcached
mkdir -p "$T/cached" "$T/journal"
rrdcached -l "unix:$T/rrdc.sock" -b "$T/cached" -B -F -p "$T/rrdc.pid" -j "$T/journal" 2>"$T/rrdc.err"
for _ in $(seq 50); do [ -S "$T/rrdc.sock" ] && [ -s "$T/rrdc.pid" ] && break; sleep 0.1; done
RRDC_PID=$(cat "$T/rrdc.pid")
[ -S "$T/rrdc.sock" ] && pass "rrdcached started (pid $RRDC_PID)" || fail "rrdcached did not start: $(cat "$T/rrdc.err")"

# daemon_stat NAME: one of rrdcached's counters.
daemon_stat() {
    "$CW_RRDQUERY" stats "unix:$T/rrdc.sock" | awk -v n="$1" '$1 == n {print $2}'
}

# Through the daemon named in the configuration, at a 5 s step.
printf '[probe]\nstep = 5\n[rrd]\ndaemon = unix:%s/rrdc.sock\n' "$T" >"$T/cached.ini"
run_cw -c "$T/cached.ini" -r "$pub" -d "$T/cached/a" --report json
expect_eq "rrdcached: exit" "$rc" 0
# The updates went through the daemon, batched: UPDATE commands carrying
# several steps each (normally one per file); callwatch asked it to flush
# both files, and it wrote one data set per file and step.
nsteps=$(steps_tshark "$pub" 5 | wc -l)
updates=$(daemon_stat UpdatesReceived)
if [ "$updates" -ge 2 ] && [ "$updates" -lt "$nsteps" ]; then
    pass "rrdcached: $updates UPDATE commands for $((2 * nsteps)) rows"
else
    fail "rrdcached: $updates UPDATE commands for $((2 * nsteps)) rows"
fi
nfiles=$(ls "$T/cached/a"/*.rrd | wc -l)
expect_eq "rrdcached: flushes received" "$(daemon_stat FlushesReceived)" "$nfiles"
expect_eq "rrdcached: data sets written = files x steps" "$(daemon_stat DataSetsWritten)" "$((nfiles * nsteps))"
# ... and callwatch's flush put them on disk: read the files directly.
check_run rrdcached "$T/cached/a" 5 "$pub"
RRDCACHED_ADDRESS="unix:$T/rrdc.sock" "$CW_RRDQUERY" series "$T/cached/a" traffic.bps 1429124640 1429124650 >"$T/s.json"
expect_eq "rrdcached: series through the daemon" "$(jq -c '[.step, (.points | length)]' "$T/s.json")" '[5,3]'
RRDCACHED_ADDRESS="unix:$T/rrdc.sock" "$CW_RRDQUERY" graph "$T/cached/a" traffic.pps 1429124630 1429124700 "$T/gd.png" 1429124650 1429124660
png_ok "$T/gd.png" && pass "rrdcached: graph through the daemon" || fail "rrdcached: graph through the daemon"

# Through $RRDCACHED_ADDRESS when the configuration names no daemon.
before=$(daemon_stat DataSetsWritten)
RRDCACHED_ADDRESS="unix:$T/rrdc.sock" run_cw -r "$T/steps.pcap" -d "$T/cached/b" --report json
expect_eq "RRDCACHED_ADDRESS: exit" "$rc" 0
expect_eq "RRDCACHED_ADDRESS: files x 12 data sets through the daemon" "$(($(daemon_stat DataSetsWritten) - before))" \
    "$(($(ls "$T/cached/b"/*.rrd | wc -l) * 12))"
expect_eq "RRDCACHED_ADDRESS: steps = generator" "$(rrd_steps "$T/cached/b" 10 1700000010 1700000120)" \
    "$(awk '{print $2, $4, $6}' "$T/steps.expect")"

# The backfill rule holds through the daemon too.
RRDCACHED_ADDRESS="unix:$T/rrdc.sock" run_cw -r "$T/steps.pcap" -d "$T/cached/b" --report json
expect_eq "rrdcached backfill: exit" "$rc" 0
expect_match "rrdcached backfill: warned" "$err" "$T/cached/b/traffic.rrd: [0-9]+ samples in 12 steps .* \\(1700000010\\.\\.1700000120\\)"

stop_rrdcached
[ ! -e "$T/rrdc.sock" ] && pass "rrdcached stopped" || fail "rrdcached socket left behind"

finish
