#!/usr/bin/env bash
# The web API end to end: callwatch serving generated and public captures
# on a free loopback port, every endpoint queried with curl and checked with
# jq against callwatch's own --report json (the reference): calls and their
# filters, one call with its ladder, status, incidents, series, /metrics in
# the exposition format, errors, hostile strings, signals and the private
# data directory.  Defences and limits are in web_security.sh.
. "$CW_TESTLIB"
. "$CW_WEBLIB"
set -e

export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"

# ---------------------------------------------------------------- generated calls
"$CW_GENCAP" sip "$T/sip.pcap" "$T/expected.json" >/dev/null
run_cw -r "$T/sip.pcap" --report json
echo "$out" >"$T/report.json"
ncalls=$(jq '.calls | length' "$T/report.json")
expect_eq "reference report has the generated calls" "$ncalls" "$(jq length "$T/expected.json")"

start_cw "$T/sip.log" -r "$T/sip.pcap" -d "$T/data" --web 127.0.0.1:0
expect_match "serves on a loopback URL" "$URL" '^http://127\.0\.0\.1:[0-9]+/$'

# The dashboard and its headers.
get /
expect_eq "/: status" "$code" 200
expect_match "/: HTML" "$(header content-type)" '^text/html'
expect_match "/: is the dashboard" "$(body)" '<script src="static/app.js"'
csp=$(header content-security-policy)
expect_match "/: CSP default-src self" "$csp" "default-src 'self'"
expect_match "/: CSP no inline script" "$csp" "script-src 'self';"
expect_match "/: CSP frame-ancestors none" "$csp" "frame-ancestors 'none'"
if printf '%s' "$csp" | grep -Eq "unsafe-inline|unsafe-eval"; then fail "/: CSP allows inline or eval"; else pass "/: CSP forbids inline and eval"; fi
expect_eq "/: nosniff" "$(header x-content-type-options)" nosniff
expect_match "/: cache validator" "$(header etag)" '^"[0-9a-f]{16}"$'
etag=$(header etag)
expect_status "/: revalidation" / 304 -H "If-None-Match: $etag"
for f in app.js:text/javascript app.css:text/css favicon.svg:image/svg.xml; do
    get "/static/${f%%:*}"
    expect_eq "/static/${f%%:*}: status" "$code" 200
    expect_match "/static/${f%%:*}: type" "$(header content-type)" "^${f#*:}"
done
get /static/app.js
if grep -Eq 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function' "$T/body"; then
    fail "app.js builds markup from strings or evaluates code"
else
    pass "app.js never builds markup from strings nor evaluates code"
fi
expect_status "HEAD /" / 200 -I

# /api/calls: every call of the reference, with the same outcome.
get "/api/calls?limit=1000"
expect_eq "/api/calls: status" "$code" 200
expect_match "/api/calls: JSON" "$(header content-type)" '^application/json'
expect_eq "/api/calls: total" "$(jq .total "$T/body")" "$ncalls"
expect_eq "/api/calls: every call and outcome" \
    "$(jq -c '[.calls[] | [.call_id, .outcome, .sip_code]] | sort' "$T/body")" \
    "$(jq -c '[.calls[] | [.call_id, .outcome, .sip_code]] | sort' "$T/report.json")"
expect_eq "/api/calls: no ladders in the list" "$(jq '[.calls[] | select(has("messages"))] | length' "$T/body")" 0

for o in answered failed cancelled dropped unanswered active; do
    get "/api/calls?outcome=$o&limit=1000"
    expect_eq "outcome=$o" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" \
        "$(jq -c --arg o "$o" '[.calls[] | select(.outcome == $o) | .call_id] | sort' "$T/report.json")"
done
get "/api/calls?state=active&limit=1000"
expect_eq "state=active" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" \
    "$(jq -c '[.calls[] | select(.outcome == "active") | .call_id] | sort' "$T/report.json")"
get "/api/calls?state=ended&limit=1000"
expect_eq "state=ended" "$(jq .total "$T/body")" "$(jq '[.calls[] | select(.outcome != "active")] | length' "$T/report.json")"

# Time filters, in Unix seconds and in ISO 8601 (UTC and with an offset).
t0=$(jq '[.calls[].start] | min | floor' "$T/report.json")
from=$((t0 + 5))
to=$((t0 + 12))
want=$(jq -c --argjson a "$from" --argjson b "$to" '[.calls[] | select(.start >= $a and .start <= $b) | .call_id] | sort' "$T/report.json")
expect_match "time window is not trivial" "$want" '^\["[^]]+","'
get "/api/calls?from=$from&to=$to&limit=1000"
expect_eq "from/to in Unix seconds" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" "$want"
iso_from=$(date -u -d "@$from" +%Y-%m-%dT%H:%M:%SZ)
iso_to=$(TZ=Etc/GMT-2 date -d "@$to" +%Y-%m-%dT%H:%M:%S+02:00)
get "/api/calls?from=$iso_from&to=$(urlenc "$iso_to")&limit=1000"
expect_eq "from/to in ISO 8601 ($iso_from, $iso_to)" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" "$want"
get "/api/calls?from=$(date -u -d "@$from" +%Y-%m-%dT%H:%M:%S.000Z)&to=$(TZ=Etc/GMT+5 date -d "@$to" +%Y-%m-%dT%H:%M:%S-0500)&limit=1000"
expect_eq "ISO 8601 with fractions and -0500" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" "$want"

# Party and address filters, sorting, paging.
get "/api/calls?addr=10.1.0.2&limit=1000"
expect_eq "addr filter" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" \
    "$(jq -c '[.calls[] | select((.caller | contains("10.1.0.2")) or (.callee | contains("10.1.0.2"))) | .call_id] | sort' "$T/report.json")"
get "/api/calls?party=bob%40example.com&limit=1000"
expect_eq "party filter" "$(jq .total "$T/body")" "$(jq '[.calls[] | select(.to | contains("bob@example.com"))] | length' "$T/report.json")"
get "/api/calls?party=nobody-at-all&limit=1000"
expect_eq "party filter, no match" "$(jq .total "$T/body")" 0
get "/api/calls?sort=setup_ms&order=desc&limit=1"
expect_eq "sort=setup_ms desc: the slowest setup first" "$(jq '.calls[0].setup_ms' "$T/body")" \
    "$(jq '[.calls[].setup_ms | numbers] | max' "$T/report.json")"
get "/api/calls?sort=start&order=asc&limit=1000"
expect_eq "sort=start asc" "$(jq -c '[.calls[].start]' "$T/body")" "$(jq -c '[.calls[].start] | sort' "$T/body")"
pages=""
for off in 0 5 10 15 20 25; do
    get "/api/calls?limit=5&offset=$off"
    pages="$pages$(jq -r '.calls[].call_id' "$T/body")"$'\n'
done
expect_eq "paging: 5 at a time gives every call once" "$(printf '%s' "$pages" | grep -c .)" "$ncalls"
expect_eq "paging: no repeats" "$(printf '%s' "$pages" | grep . | sort | uniq -d | wc -l)" 0

# /api/calls/{call_id}: streams and the SIP ladder.
for id in $(jq -r '.calls[].call_id' "$T/report.json"); do
    get "/api/calls/$(urlenc "$id")"
    if [ "$code" = 200 ] && [ "$(jq -r .call_id "$T/body")" = "$id" ] &&
        [ "$(jq '(.streams | type) == "array" and (.messages | length) > 0' "$T/body")" = true ]; then
        pass "/api/calls/$id: the call with streams and messages"
    else
        fail "/api/calls/$id: status $code: $(head -c 300 "$T/body")"
    fi
done
get /api/calls/challenge
expect_eq "challenge: the whole ladder" "$(jq '.messages | length' "$T/body")" 8
expect_eq "ladder entries carry t, src, dst, label" "$(jq -c '.messages[0] | [has("t"), has("src"), has("dst"), has("label")]' "$T/body")" '[true,true,true,true]'
expect_eq "ladder starts with the INVITE" "$(jq -r '.messages[0].label' "$T/body")" "INVITE"

# /api/status, /api/incidents, /api/series.
get /api/status
expect_eq "/api/status: status" "$code" 200
expect_eq "/api/status: packets" "$(jq .capture.packets "$T/body")" "$(jq .capture.packets "$T/report.json")"
expect_eq "/api/status: offline, finished" "$(jq -c '[.capture.mode, .capture.finished]' "$T/body")" '["offline",true]'
expect_eq "/api/status: calls stored" "$(jq .database.calls "$T/body")" "$ncalls"
expect_eq "/api/status: capture period" "$(jq -c '[.capture.start, .capture.end] | map(floor)' "$T/body")" \
    "$(jq -c '[.capture.start, .capture.end] | map(floor)' "$T/report.json")"
expect_eq "/api/status: drops and targets present" "$(jq -c '[(.capture.kernel_dropped | type), has("targets")]' "$T/body")" '["number",true]'
get /api/incidents
expect_eq "/api/incidents: status" "$code" 200
expect_eq "/api/incidents: an array" "$(jq -c '.incidents | type' "$T/body")" '"array"'
start=$(jq '.capture.start | floor' "$T/report.json")
end=$(jq '.capture.end | ceil' "$T/report.json")
get "/api/series?metric=calls.attempts&start=$((start - 60))&end=$((end + 60))"
expect_eq "/api/series: status" "$code" 200
expect_eq "/api/series: shape" "$(jq -c '[.metric, (.step | type), (.points | type)]' "$T/body")" '["calls.attempts","number","array"]'
expect_eq "/api/series: attempts add up to the calls" "$(jq '[.points[][1] | numbers] | add' "$T/body")" "$ncalls"
get "/api/series?metric=calls.attempts&start=$(date -u -d "@$((start - 60))" +%Y-%m-%dT%H:%M:%SZ)&end=$(date -u -d "@$((end + 60))" +%Y-%m-%dT%H:%M:%SZ)"
expect_eq "/api/series: ISO 8601 range" "$(jq '[.points[][1] | numbers] | add' "$T/body")" "$ncalls"
get "/graph/calls.attempts.png?start=$start&end=$end"
case "$code:$(header content-type)" in
200:image/png) expect_eq "/graph: a PNG" "$(head -c 4 "$T/body" | od -An -tx1 | tr -d ' ')" 89504e47 ;;
503:application/json*) expect_match "/graph: 503 says why" "$(jq -r .error "$T/body")" 'RRD' ;;
*) fail "/graph: status $code, $(header content-type)" ;;
esac

# /metrics: the families, and the exposition format, strictly.
get /metrics
expect_eq "/metrics: status" "$code" 200
expect_match "/metrics: content type 0.0.4" "$(header content-type)" '^text/plain; version=0\.0\.4'
for fam in callwatch_calls_active:gauge callwatch_calls_total:counter callwatch_rtp_mos:histogram \
    callwatch_link_util_ratio:gauge callwatch_cpu_ratio:gauge callwatch_capture_drops_total:counter \
    callwatch_incidents_open:gauge; do
    n=${fam%%:*}
    expect_match "/metrics: HELP $n" "$(body)" "(^|$(printf '\n'))# HELP $n [^ ]"
    expect_match "/metrics: TYPE $n ${fam#*:}" "$(body)" "# TYPE $n ${fam#*:}"
done
site=$(jq -r .site "$T/report.json")
expect_eq "/metrics: every sample labelled with the site" \
    "$(grep -v '^#' "$T/body" | grep -vc "^[a-z_]*{site=\"$site\"[,}]")" 0
for o in answered failed cancelled dropped unanswered; do
    expect_eq "/metrics: calls_total{outcome=\"$o\"}" \
        "$(sed -n "s/^callwatch_calls_total{site=\"$site\",outcome=\"$o\"} //p" "$T/body")" \
        "$(jq --arg o "$o" '[.calls[] | select(.outcome == $o)] | length' "$T/report.json")"
done
expect_eq "/metrics: calls_active" "$(sed -n "s/^callwatch_calls_active{site=\"$site\"} //p" "$T/body")" \
    "$(jq '[.calls[] | select(.outcome == "active" and .answered != null)] | length' "$T/report.json")"
# The text format 0.0.4: HELP and TYPE once per family and before its
# samples, samples of a family together, names and labels well formed,
# values numbers, histogram buckets cumulative up to +Inf = _count.
check_exposition() {
    awk '
    function fam_of(n) {
        if (n in type) return n
        sub(/_(bucket|sum|count)$/, "", n)
        return n
    }
    /^# HELP / { if ($3 in help) { print "HELP twice: " $3; bad = 1 } help[$3] = 1; next }
    /^# TYPE / {
        if ($3 in type) { print "TYPE twice: " $3; bad = 1 }
        if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) { print "bad type: " $0; bad = 1 }
        if ($3 in seen) { print "TYPE after samples: " $3; bad = 1 }
        type[$3] = $4; next
    }
    /^#/ { next }
    /^$/ { next }
    {
        if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")*\})? (NaN|[+-]Inf|[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)( -?[0-9]+)?$/) {
            print "malformed sample: " $0; bad = 1; next
        }
        name = $1; sub(/\{.*/, "", name)
        f = fam_of(name)
        if (!(f in type)) { print "sample without TYPE: " $0; bad = 1 }
        if (!(f in help)) { print "sample without HELP: " $0; bad = 1 }
        if (f != last && (f in seen)) { print "family split: " f; bad = 1 }
        seen[f] = 1; last = f
        if (type[f] == "histogram" && name ~ /_bucket$/) {
            v = $NF + 0
            if (v < prevb[f]) { print "bucket not cumulative: " $0; bad = 1 }
            prevb[f] = v
            if ($0 ~ /le="\+Inf"/) inf[f] = v
        }
        if (type[f] == "histogram" && name ~ /_count$/ && (f in inf) && inf[f] != $NF + 0) {
            print "+Inf bucket differs from _count: " f; bad = 1
        }
        if (type[f] == "counter" && $NF + 0 < 0) { print "negative counter: " $0; bad = 1 }
        n++
    }
    END { if (n == 0) { print "no samples"; bad = 1 } exit bad }'
}
if errors=$(check_exposition <"$T/body"); then pass "/metrics parses as the text format 0.0.4"; else fail "/metrics: $errors"; fi
# The checker itself catches what it must (it can fail).
if printf '# HELP x_total a\n# TYPE x_total counter\nx_total{a="b} 1\n' | check_exposition >/dev/null; then
    fail "exposition checker accepts a broken label"
else
    pass "exposition checker refuses a broken label"
fi
if printf 'y 1\n' | check_exposition >/dev/null; then fail "exposition checker accepts a sample without TYPE"; else pass "exposition checker refuses a sample without TYPE"; fi

# Errors: status codes and JSON bodies that name what is wrong.
expect_json_error "unknown path" /no/such/page 404 'no such path'
expect_json_error "unknown call" /api/calls/no-such-call 404 'no call with Call-ID "no-such-call"'
expect_json_error "bad from" "/api/calls?from=tomorrow" 400 '^from: "tomorrow" is not a time'
expect_json_error "bad ISO date" "/api/calls?to=2026-02-30T10:00:00Z" 400 '^to: '
expect_json_error "bad outcome" "/api/calls?outcome=lost" 400 '^outcome: "lost" is not one of'
expect_json_error "bad limit" "/api/calls?limit=100001" 400 '^limit: '
expect_json_error "unknown parameter" "/api/calls?form=1" 400 '^form: unknown parameter'
expect_json_error "series without metric" /api/series 400 '^metric: missing'
expect_json_error "series unknown" "/api/series?metric=no.such.series" 404 'no.such.series'
expect_json_error "reversed range" "/api/series?metric=calls.active&start=200&end=100" 400 '^start: must come before end'
get /api/calls -X POST -d x=1
expect_eq "POST: 405" "$code" 405
expect_eq "POST: Allow header" "$(header allow)" "GET, HEAD"
get /api/status -X DELETE
expect_eq "DELETE: 405" "$code" 405

# SIGTERM: exit 0, and the data directory keeps the records.
stop_cw TERM
expect_eq "SIGTERM while serving: exit 0" "$stop_rc" 0
expect_eq "data dir kept the calls" "$(sqlite3 "$T/data/calls.sqlite" 'select count(*) from calls')" "$ncalls"

# ---------------------------------------------------------------- hostile strings
"$CW_WEBGEN" "$T/web.pcap" "$T/web.json" >/dev/null
start_cw "$T/webgen.log" -r "$T/web.pcap" --web 127.0.0.1:0
get "/api/calls?limit=1000"
expect_eq "webgen capture: every call" "$(jq -c '[.calls[].call_id] | sort' "$T/body")" "$(jq -c '[.[].call_id] | sort' "$T/web.json")"
evil=$(jq -r '.[] | select(.call_id | startswith("evil")) | .call_id' "$T/web.json")
get "/api/calls/$(urlenc "$evil")"
expect_eq "hostile Call-ID found by its encoded path" "$(jq -r .call_id "$T/body")" "$evil"
expect_eq "hostile display name returned verbatim as JSON text" "$(jq -r .from_display "$T/body")" \
    '<img src=x onerror=alert(1)><script>alert(2)</script>'
expect_match "JSON, not HTML" "$(header content-type)" '^application/json'
# An offline run with the web on and no -d keeps its database in a private
# directory, removed at exit; SIGINT ends it with 0.
expect_eq "private data dir while serving" "$(find "$TMPDIR" -maxdepth 2 -name calls.sqlite | wc -l)" 1
stop_cw INT
expect_eq "SIGINT while serving: exit 0" "$stop_rc" 0
expect_eq "private data dir removed at exit" "$(find "$TMPDIR" -mindepth 1 | wc -l)" 0

# ---------------------------------------------------------------- public captures
# The API lists the same calls as the report, for every bundled capture.
for f in "$CW_CAPTURES"/public/*.pcap "$CW_CAPTURES"/public/*.pcapng; do
    name=$(basename "$f")
    run_cw -r "$f" --report json
    echo "$out" >"$T/pub.json"
    start_cw "$T/pub.log" -r "$f" --web 127.0.0.1:0
    get "/api/calls?limit=1000"
    expect_eq "$name: /api/calls = report" "$(jq -c '[.calls[] | [.call_id, .outcome]] | sort' "$T/body")" \
        "$(jq -c '[.calls[] | [.call_id, .outcome]] | sort' "$T/pub.json")"
    get /api/status
    expect_eq "$name: /api/status packets = report" "$(jq .capture.packets "$T/body")" "$(jq .capture.packets "$T/pub.json")"
    get /metrics
    if errors=$(check_exposition <"$T/body"); then pass "$name: /metrics well formed"; else fail "$name: /metrics: $errors"; fi
    stop_cw TERM
    expect_eq "$name: exit 0" "$stop_rc" 0
done

# ---------------------------------------------------------------- when there is no web
run_cw -r "$T/sip.pcap" --report json --web 127.0.0.1:0
expect_eq "--report with --web: exits after the report" "$rc" 0
expect_match "--report with --web: the dashboard ran" "$err" 'dashboard at http://127\.0\.0\.1:'
run_cw -r "$T/sip.pcap" --report json
if printf '%s' "$err" | grep -q 'dashboard at'; then fail "--report alone starts the web server"; else pass "--report alone: no web server"; fi
run_cw -r "$T/sip.pcap" --web off
expect_eq "--web off: exits" "$rc" 0
expect_match "--web off: prints the text report" "$out" 'packets'

finish
