#!/bin/sh
# make bench: the benchmarks, direct and through an rrdcached started here.
#   tests/bench/run.sh BUILDDIR      (CW_BENCH_ARGS adds options, e.g. "--days 0.2")
set -eu
B=${1:-.}
T=$(mktemp -d /tmp/cw-bench.XXXXXX)
RRDC_PID=
cleanup() {
    if [ -n "$RRDC_PID" ]; then
        kill "$RRDC_PID" 2>/dev/null || true
        i=0
        while kill -0 "$RRDC_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

# shellcheck disable=SC2086
env -u RRDCACHED_ADDRESS "$B/tests/bench/bench_rrd" --dir "$T" ${CW_BENCH_ARGS:-}

if ! command -v rrdcached >/dev/null; then
    echo "bench: rrdcached is not installed (Debian package rrdcached)" >&2
    exit 1
fi
mkdir -p "$T/cached" "$T/journal"
rrdcached -l "unix:$T/rrdc.sock" -b "$T/cached" -B -F -p "$T/rrdc.pid" -j "$T/journal"
i=0
while [ ! -s "$T/rrdc.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
RRDC_PID=$(cat "$T/rrdc.pid")
# shellcheck disable=SC2086
"$B/tests/bench/bench_rrd" --daemon "unix:$T/rrdc.sock" --dir "$T/cached" ${CW_BENCH_ARGS:-}
"$B/tests/bench/bench_sip"
"$B/tests/bench/bench_throughput" "$B/callwatch"
