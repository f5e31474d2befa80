# Shared helpers for callwatch's shell tests (sourced).
set -u

T=$(mktemp -d /tmp/cw-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

pass() {
    checks=$((checks + 1))
    echo "ok - $*"
}

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1 = $3"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_match WHAT TEXT REGEX
expect_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1: '$2' does not match /$3/"; fi
}

# run_cw ARGS...: runs callwatch; sets rc, out, err.
run_cw() {
    set +e
    "$CW_BIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# Packets in a capture as tshark counts them.
tshark_count() {
    tshark -r "$1" -T fields -e frame.number 2>/dev/null | wc -l
}

finish() {
    echo "$checks checks, $failures failures"
    [ "$checks" -gt 0 ] || { echo "FAIL: no checks ran" >&2; exit 1; }
    [ "$failures" -eq 0 ]
}
