#!/usr/bin/env bash
# NMS import: RRD files as Cacti keeps them (traffic_in/traffic_out COUNTER,
# bytes per second) and a CPU GAUGE, made with rrdtool with known rates;
# nmsrrd_load_range must put the expected values at the rows' own times, pick
# the finest archive covering the range, keep unknown rows as gaps, follow
# new rows live, and name the section and file when something is wrong.
# callwatch -r loads the series over the capture's span.
. "$CW_TESTLIB"
set -e

S=1699999200 # a multiple of 300; the bundled "mixed" capture is at 1700000000
STEP=300

# Cacti-like traffic file: first hour 1000/500 B/s, second hour 625000/125000 B/s
# (5 and 1 Mbit/s), no update for k = 18, 19 (longer than the heartbeat).
make_port_rrd() { # FILE FINE_ROWS
    rrdtool create "$1" --start "$S" --step $STEP \
        DS:traffic_in:COUNTER:600:0:U DS:traffic_out:COUNTER:600:0:U \
        RRA:AVERAGE:0.5:1:"$2" RRA:AVERAGE:0.5:6:100 RRA:MAX:0.5:1:"$2"
    local cin=0 cout=0 k
    for k in $(seq 1 24); do
        if [ "$k" -le 12 ]; then
            cin=$((cin + 1000 * STEP))
            cout=$((cout + 500 * STEP))
        else
            cin=$((cin + 625000 * STEP))
            cout=$((cout + 125000 * STEP))
        fi
        [ "$k" -eq 18 ] || [ "$k" -eq 19 ] && continue
        rrdtool update "$1" "$((S + k * STEP)):$cin:$cout"
    done
}
make_port_rrd "$T/port.rrd" 24
make_port_rrd "$T/old.rrd" 12

# CPU percent: 5 * k at row k.
rrdtool create "$T/cpu.rrd" --start "$S" --step $STEP DS:usage:GAUGE:600:0:100 RRA:AVERAGE:0.5:1:48
for k in $(seq 1 24); do
    rrdtool update "$T/cpu.rrd" "$((S + k * STEP)):$((5 * k))"
done

cat >"$T/nms.ini" <<EOF
[link wan0]
rrd = $T/port.rrd
ds_in = traffic_in
ds_out = traffic_out
speed = 10M

[link nospeed]
rrd = $T/port.rrd
ds_in = traffic_in
ds_out = traffic_out

[link old]
rrd = $T/old.rrd
ds_in = traffic_in
ds_out = traffic_out

[cpu fw1]
rrd = $T/cpu.rrd
ds = usage
EOF

# The second hour and a little: rows k = 13..24.
set +e
"$CW_SNMPCHECK" nms "$T/nms.ini" $((S + 12 * STEP)) $((S + 24 * STEP)) >"$T/out.json" 2>"$T/err.log"
rc=$?
set -e
expect_eq "load_range exit" "$rc" 0
val() { # METRIC ROW_K: the value put at the row's time, or "none"
    jq -r --arg m "$1" --argjson t $((S + $2 * STEP)) \
        'select(.metric == $m and (.t | floor) == $t) | .v // "null"' "$T/out.json" | head -1
}
count() { jq -s --arg m "$1" 'map(select(.metric == $m)) | length' "$T/out.json"; }
st() { jq -r --arg n "$1" "select(.target == \$n) | .$2" "$T/out.json"; }

expect_eq "wan0 in at row 15 (625000 B/s)" "$(val link.wan0.in_bps 15)" 5000000
expect_eq "wan0 out at row 15 (125000 B/s)" "$(val link.wan0.out_bps 15)" 1000000
expect_eq "wan0 util at row 15 (5 of 10 Mbit/s)" "$(val link.wan0.util_pct 15)" 50
expect_eq "wan0 in at row 24" "$(val link.wan0.in_bps 24)" 5000000
expect_eq "rows 13..24 only, at 300 s" "$(count link.wan0.in_bps)" 12
expect_eq "nothing before the range" "$(val link.wan0.in_bps 12)" ""
expect_eq "unknown row 18 is a gap" "$(val link.wan0.in_bps 18)" null
expect_eq "unknown row 19 is a gap" "$(val link.wan0.in_bps 19)" null
expect_eq "row 21 known again" "$(val link.wan0.in_bps 21)" 5000000
expect_eq "finest archive: 300 s" "$(st wan0 step)" 300
expect_eq "wan0 status ok" "$(st wan0 state)" ok
expect_eq "no util without a speed" "$(count link.nospeed.util_pct)" 0
expect_match "no speed explained" "$(st nospeed note)" "speed ="
expect_eq "cpu at row 13" "$(val cpu.fw1.pct 13)" 65
expect_eq "cpu at row 20" "$(val cpu.fw1.pct 20)" 100
expect_eq "cpu rows" "$(count cpu.fw1.pct)" 12
# The "old" file keeps 5-minute rows for one hour only: the range is still
# covered by them (the last hour), so 300 s again ...
expect_eq "old: last hour at 300 s" "$(st old step)" 300

# ... but the first hour is only in its 30-minute archive: averages of rows.
"$CW_SNMPCHECK" nms "$T/nms.ini" "$S" $((S + 12 * STEP)) >"$T/old.json" 2>/dev/null
expect_eq "old: first hour from the 1800 s archive" \
    "$(jq -r 'select(.target == "old") | .step' "$T/old.json")" 1800
expect_eq "old: 30-minute row = 1000 B/s" \
    "$(jq -r --argjson t $((S + 6 * STEP)) 'select(.metric == "link.old.in_bps" and .t == $t) | .v' "$T/old.json")" 8000
expect_eq "port: first hour at 300 s" \
    "$(jq -r 'select(.target == "wan0") | .step' "$T/old.json")" 300

# Rows are put when their interval overlaps the range: [row 5 end - 1 s, row 6 + 1 s]
"$CW_SNMPCHECK" nms "$T/nms.ini" $((S + 5 * STEP - 1)) $((S + 5 * STEP + 1)) >"$T/edge.json" 2>/dev/null
expect_eq "overlap: rows 5 and 6" \
    "$(jq -r 'select(.metric == "link.wan0.in_bps") | .t | floor' "$T/edge.json" | tr '\n' ' ')" \
    "$((S + 5 * STEP)) $((S + 6 * STEP)) "

# Errors name the section and the file.
printf '[link x]\nrrd = %s/missing.rrd\nds_in = a\nds_out = b\n' "$T" >"$T/bad1.ini"
set +e
"$CW_SNMPCHECK" nms "$T/bad1.ini" "$S" $((S + 600)) >/dev/null 2>"$T/bad1.err"
rc=$?
set -e
expect_eq "missing file: exit 2" "$rc" 2
expect_match "missing file: named" "$(cat "$T/bad1.err")" "bad1.ini:1: \[link x\]: rrd = $T/missing.rrd: "
printf '\n[cpu y]\nrrd = %s/cpu.rrd\nds = cpu_load\n' "$T" >"$T/bad2.ini"
set +e
"$CW_SNMPCHECK" nms "$T/bad2.ini" "$S" $((S + 600)) >/dev/null 2>"$T/bad2.err"
rc=$?
set -e
expect_eq "missing ds: exit 2" "$rc" 2
expect_match "missing ds: named, with what there is" "$(cat "$T/bad2.err")" \
    "bad2.ini:2: \[cpu y\]: rrd = .*cpu.rrd has no data source \"cpu_load\" \(it has: usage\)"

# callwatch -r: loads the rows overlapping the capture (1700000000.01 to
# .32 lies in row 3, which ends at 1700000100).
"$CW_GENCAP" mixed "$T/mixed.pcapng" >/dev/null
run_cw -v -c "$T/nms.ini" -r "$T/mixed.pcapng" --report json
expect_eq "callwatch -r with NMS series: exit" "$rc" 0
expect_match "callwatch loaded wan0 over the capture" "$err" "nms \[link wan0\]: 1 rows from $T/port.rrd \(step 300 s\)"
expect_match "callwatch loaded fw1 over the capture" "$err" "nms \[cpu fw1\]: 1 rows from"
run_cw -c "$T/bad2.ini" -r "$T/mixed.pcapng" --report json
expect_eq "callwatch with a bad NMS section: exit 2" "$rc" 2
expect_match "callwatch names the section" "$err" "\[cpu y\]: rrd = "

# Follow: a file updated every second while the reader follows it.
now=$(date +%s)
rrdtool create "$T/live.rrd" --start $((now - 30)) --step 1 DS:in:GAUGE:5:0:U DS:out:GAUGE:5:0:U \
    RRA:AVERAGE:0.5:1:600
for i in $(seq 29 -1 1); do
    rrdtool update "$T/live.rrd" "$((now - i)):$((1000 + i)):$((2000 + i))"
done
printf '[link live]\nrrd = %s/live.rrd\nds_in = in\nds_out = out\n' "$T" >"$T/live.ini"
"$CW_SNMPCHECK" follow "$T/live.ini" 4.5 300 >"$T/follow.json" 2>"$T/follow.err" &
follower=$!
for i in 0 1 2 3; do
    sleep 1
    rrdtool update "$T/live.rrd" "$((now + i)):$((5000 + i)):6000" 2>/dev/null || true
done
wait "$follower"
backfill=$(jq -s --argjson n "$now" 'map(select(.metric == "link.live.in_bps" and .t < $n and .v != null)) | length' "$T/follow.json")
expect_eq "follow: backfilled the rows before start" "$(jq -n "$backfill >= 25")" true
newrow=$(jq -r --argjson t $((now + 2)) 'select(.metric == "link.live.in_bps" and .t == $t) | .v' "$T/follow.json")
expect_eq "follow: a row written while following, x 8" "$newrow" 40016
dups=$(jq -s 'map(select(.metric == "link.live.in_bps")) | group_by(.t) | map(select(length > 1)) | length' "$T/follow.json")
expect_eq "follow: each row once" "$dups" 0

finish
