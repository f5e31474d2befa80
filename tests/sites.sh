#!/usr/bin/env bash
# Several sites, one view, with the real engines: a PostgreSQL cluster
# (run as nobody: initdb refuses root), an rrdcached on TCP, Prometheus
# scraping two probes and Alertmanager receiving callwatch's webhook.  Two
# probes analyse different captures as sites A and B; PostgreSQL is
# stopped in the middle of A's run and started again, and every call
# still arrives exactly once; the central dashboard (--central) shows both
# sites' calls and series.
. "$CW_TESTLIB"
. "$CW_WEBLIB"
. "$CW_PGLIB"
set -e

SERVICE_PIDS=()
stop_services() {
    local p
    for p in "${SERVICE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${SERVICE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    pg_cleanup
    cw_web_cleanup
}
trap stop_services EXIT

# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local what=$1 secs=$2 i
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        if "$@" >/dev/null 2>&1; then
            pass "$what"
            return 0
        fi
        sleep 0.2
    done
    fail "$what (not within $secs s)"
}

RRDPORT=$(free_port)
AMPORT=$(free_port)
PROMPORT=$(free_port)

# ---------------------------------------------------------------- the engines
pg_setup
pass "PostgreSQL on 127.0.0.1:$PGPORT"

# rrdcached: writes under its base directory only (-B), making each site's
# folder (-R); the commands a probe and the central dashboard use (-P).
mkdir -p "$T/rrdbase" "$T/journal"
rrdcached -g -l "127.0.0.1:$RRDPORT" -P CREATE,UPDATE,LAST,FLUSH,FETCH,LIST,INFO,PING \
    -b "$T/rrdbase" -B -R -F -j "$T/journal" -w 5 -z 1 -p "$T/rrdcached.pid" >"$T/rrdcached.log" 2>&1 &
SERVICE_PIDS+=($!)

prometheus-alertmanager --config.file="$CW_TOP/contrib/prometheus/alertmanager.yml" \
    --storage.path="$T/am" --web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= \
    >"$T/am.log" 2>&1 &
SERVICE_PIDS+=($!)

# ---------------------------------------------------------------- two probes
"$CW_GENCAP" incident "$T/a.pcap" >/dev/null
"$CW_GENCAP" sip "$T/b.pcap" "$T/b.expected" >/dev/null
for s in A B; do
    cat >"$T/$s.ini" <<INI
[probe]
site = $s
[calldb]
url = $PGURL
[rrd]
daemon = 127.0.0.1:$RRDPORT
[alert]
webhook = http://127.0.0.1:$AMPORT/api/v2/alerts
[web]
external_url = https://$s.example.net/cw
INI
done
wait_for "Alertmanager answers" 20 curl -sf "http://127.0.0.1:$AMPORT/-/ready"
wait_for "rrdcached answers" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RRDPORT"

# Both run for about 20 s, serving /metrics meanwhile.
WAIT_FOR=dashboard start_cw "$T/a.log" -c "$T/A.ini" -r "$T/a.pcap" -d "$T/a" --replay-speed 60 \
    --report json --web 127.0.0.1:0
A_PID=$CW_PID A_URL=$URL
WAIT_FOR=dashboard start_cw "$T/b.log" -c "$T/B.ini" -r "$T/b.pcap" -d "$T/b" --replay-speed 3 \
    --report json --web 127.0.0.1:0
B_PID=$CW_PID B_URL=$URL

cat >"$T/prom.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: callwatch
    static_configs:
      - targets: ["${A_URL#http://}", "${B_URL#http://}"]
YML
sed -i 's|/"|"|g' "$T/prom.yml"
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PROMPORT" >"$T/prom.log" 2>&1 &
SERVICE_PIDS+=($!)

# Alertmanager shows A's incident while it is open (a resolved alert
# leaves its API): watched in the background for as long as A runs.
am_group() {
    curl -s "http://127.0.0.1:$AMPORT/api/v2/alerts/groups" |
        jq -ce '[.[] | select(.labels.site == "A" and .labels.kind == "drops_with_congestion")
                 | .alerts[] | select(.labels.alertname == "CallsDroppedWithCongestion")] | first'
}
(while kill -0 "$A_PID" 2>/dev/null && [ ! -s "$T/am_seen" ]; do
    am_group >"$T/am_seen" 2>/dev/null || : >"$T/am_seen"
    sleep 0.2
done) &
SERVICE_PIDS+=($!)

# PostgreSQL goes away while A is running, and comes back.
sleep 5
pg_stop
pass "PostgreSQL stopped during the run"
sleep 5
spooled=$(curl -s "${A_URL}api/status" | jq '.database.spooled')
connected=$(curl -s "${A_URL}api/status" | jq '.database.connected')
expect_eq "while it is away, A says so in /api/status" "$connected" false
pg_start
pass "PostgreSQL started again (A had $spooled records spooled)"

# Prometheus holds samples of both sites.
prom_has() {
    curl -s "http://127.0.0.1:$PROMPORT/api/v1/query" --data-urlencode "query=$1" |
        jq -e '.data.result | length > 0'
}
wait_for "Prometheus: callwatch_call_attempts_total{site=\"A\"}" 30 prom_has 'callwatch_call_attempts_total{site="A"}'
wait_for "Prometheus: callwatch_call_attempts_total{site=\"B\"}" 30 prom_has 'callwatch_call_attempts_total{site="B"}'

for s in A B; do
    pid_var=${s}_PID
    set +e
    wait "${!pid_var}"
    rc=$?
    set -e
    expect_eq "probe $s: exit" "$rc" 0
    low=$(echo $s | tr AB ab)
    calls=$(jq '.calls | length' "$T/$low.log.out")
    rows=$(psql_q "SELECT count(*) FROM calls WHERE site = '$s'")
    distinct=$(psql_q "SELECT count(DISTINCT call_id || ' ' || start) FROM calls WHERE site = '$s'")
    expect_eq "site $s: every call of the report stored" "$rows" "$calls"
    expect_eq "site $s: each once" "$distinct" "$calls"
    expect_eq "site $s: the report says its site" "$(jq -r '.site' "$T/$low.log.out")" "$s"
done
[ "$(jq '.calls | length' "$T/a.log.out")" -gt 10 ] && pass "A had calls to lose" || fail "A had too few calls"
expect_eq "A's spool is empty at the end" "$(stat -c %s "$T/a/calldb-spool.jsonl")" 0
expect_match "A spooled while PostgreSQL was away" "$(cat "$T/a.log")" 'records are spooled in'
expect_eq "incidents stored per site" "$(psql_q "SELECT count(*) FROM incidents WHERE site = 'A'")" \
    "$(jq '.incidents | length' "$T/a.log.out")"
expect_eq "schema version" "$(psql_q 'SELECT max(version) FROM callwatch_schema')" 1

# Alertmanager took A's incident from callwatch's webhook, grouped by site and kind.
expect_match "Alertmanager: A's drops_with_congestion, grouped by site and kind" \
    "$(jq -r '.labels | "\(.site) \(.kind) \(.alertname)"' "$T/am_seen" 2>/dev/null)" \
    '^A drops_with_congestion CallsDroppedWithCongestion$'
expect_match "the alert links back to the incident" "$(jq -r .generatorURL "$T/am_seen" 2>/dev/null)" \
    '^https://A\.example\.net/cw/#/incident/[0-9]+$'
wait_for "Alertmanager: the resolution accepted too" 10 bash -c \
    "curl -s http://127.0.0.1:$AMPORT/metrics | grep -Eq '^alertmanager_alerts_received_total\\{status=\"resolved\",version=\"v2\"\\} [1-9]'"

# Each site's series are in its own folder of the shared store.
for s in A B; do
    [ -f "$T/rrdbase/$s/calls.rrd" ] && pass "rrdcached: $s/calls.rrd" || fail "rrdcached: no $s/calls.rrd"
done

# ---------------------------------------------------------------- central
cat >"$T/central.ini" <<INI
[probe]
site = hq
[calldb]
url = $PGURL
[rrd]
daemon = 127.0.0.1:$RRDPORT
INI
WAIT_FOR=dashboard start_cw "$T/central.log" --central -c "$T/central.ini" --web 127.0.0.1:0
na=$(jq '.calls | length' "$T/a.log.out")
nb=$(jq '.calls | length' "$T/b.log.out")
get "/api/status"
expect_eq "central: mode" "$(jq -r .mode "$T/body")" central
expect_eq "central: both sites" "$(jq -c '[.sites[].site]' "$T/body")" '["A","B"]'
expect_eq "central: calls per site" "$(jq -c '[.sites[].calls]' "$T/body")" "[$na,$nb]"
get "/api/calls?limit=1"
expect_eq "central: /api/calls lists both sites" "$(jq .total "$T/body")" $((na + nb))
get "/api/calls?site=A&limit=100000"
expect_eq "central: ?site=A only A's calls" "$(jq -c '[.total, ([.calls[].site] | unique)]' "$T/body")" "[$na,[\"A\"]]"
get "/api/calls?site=nowhere"
expect_eq "central: an unknown site has no calls" "$(jq -c '[.total, (.calls | length)]' "$T/body")" '[0,0]'
expect_json_error "central: a malformed site" "/api/calls?site=a.b" 400 'not a site name'
start=$(jq '.capture.start | floor' "$T/b.log.out")
get "/api/series?site=B&metric=calls.attempts&start=$start&end=$((start + 120))"
expect_eq "central: B's series through rrdcached" "$code" 200
expect_eq "central: B's attempts" "$(jq '[.points[][1] // 0] | add' "$T/body")" "$(jq '[.calls[]] | length' "$T/b.log.out")"
start=$(jq '.capture.start | floor' "$T/a.log.out")
get "/api/series?site=A&metric=traffic.bps&start=$start&end=$((start + 1200))"
expect_match "central: A's series through rrdcached" "$code $(jq '[.points[] | select(.[1] != null)] | length' "$T/body")" '^200 [1-9]'
expect_json_error "central: series need a site" "/api/series?metric=traffic.bps" 400 'site: missing'
get "/graph/calls.png?site=A&start=$start&end=$((start + 1200))"
expect_eq "central: A's graph" "$code $(header content-type)" "200 image/png"
get "/api/incidents?site=A"
expect_eq "central: A's incidents" "$(jq '.incidents | length' "$T/body")" "$(jq '.incidents | length' "$T/a.log.out")"
get "/metrics"
expect_match "central: /metrics per site" "$(cat "$T/body")" "callwatch_site_calls\\{site=\"B\"\\} $nb"
stop_cw TERM
expect_eq "central: SIGTERM exit" "$stop_rc" 0
finish
