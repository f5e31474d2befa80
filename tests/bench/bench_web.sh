#!/usr/bin/env bash
# bench_web: requests per second and p99 latency of /api/calls (the call
# database read and JSON built per request) with wrk at 64 connections,
# against a baseline measured in the same run: an embedded static file,
# which costs the server nothing but HTTP.  Run by `make bench`.
set -euo pipefail

secs=${CW_BENCH_SECONDS:-5}
T=$(mktemp -d /tmp/cw-bench-web.XXXXXX)
pid=
cleanup() {
    [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$T"
}
trap cleanup EXIT

"$CW_WEBGEN" "$T/web.pcap" "$T/web.json" >/dev/null
"$CW_BIN" -r "$T/web.pcap" -d "$T/data" --web 127.0.0.1:0 2>"$T/log" &
pid=$!
url=
for _ in $(seq 1 600); do
    url=$(sed -n 's/^callwatch: capture read; serving it at \(.*\) until interrupted$/\1/p' "$T/log")
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "bench_web: callwatch did not start" >&2; cat "$T/log" >&2; exit 1; }

# measure PATH: sets rps and p99_ms from wrk --latency; refuses errors.
measure() {
    wrk -t2 -c64 -d"${secs}s" --timeout 5s --latency "${url%/}$1" >"$T/wrk.txt"
    if grep -Eq 'Non-2xx|Socket errors' "$T/wrk.txt"; then
        echo "bench_web: errors on $1:" >&2
        cat "$T/wrk.txt" >&2
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$T/wrk.txt")
    p99_ms=$(awk '$1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
        printf "%.2f", v}' "$T/wrk.txt")
}

ncalls=$(jq length "$T/web.json")
measure /static/app.css
base_rps=$rps base_p99=$p99_ms
measure "/api/calls?limit=100"
api_rps=$rps api_p99=$p99_ms
echo "bench_web: wrk, 64 connections, 2 threads, ${secs} s each, $ncalls calls in the database"
printf '  static file (baseline):   %10.0f requests/s   p99 %8.2f ms\n' "$base_rps" "$base_p99"
printf '  /api/calls?limit=100:     %10.0f requests/s   p99 %8.2f ms\n' "$api_rps" "$api_p99"
awk -v a="$api_rps" -v b="$base_rps" -v pa="$api_p99" -v pb="$base_p99" 'BEGIN {
    printf "  ratio api/static:         %10.2f  throughput, %.1fx p99 latency\n", a / b, (pb > 0 ? pa / pb : 0) }'
