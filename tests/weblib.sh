# Helpers for the web tests (sourced after lib.sh): run callwatch with the
# dashboard on a free loopback port, query it, stop it.
set -u

CW_PIDS=()
cw_web_cleanup() {
    local p
    for p in "${CW_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${CW_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    [ -z "${NETNS_CLEANUP:-}" ] || eval "$NETNS_CLEANUP" 2>/dev/null || true
    rm -rf "$T"
}
trap cw_web_cleanup EXIT

# start_cw LOG ARGS...: starts callwatch in the background and waits until
# it serves: "capture read; serving it at URL" offline, "dashboard at URL"
# live (pass WAIT_FOR=dashboard).  Sets CW_PID and URL (ends in /).
start_cw() {
    local log=$1 i pattern
    shift
    if [ "${WAIT_FOR:-serving}" = dashboard ]; then
        pattern='s/^callwatch: dashboard at \(.*\)$/\1/p'
    else
        pattern='s/^callwatch: capture read; serving it at \(.*\) until interrupted$/\1/p'
    fi
    # Emptied here, not by the redirection below: the child may open it
    # only after the loop has read the previous run's URL from it.
    : >"$log"
    "$CW_BIN" "$@" >"$log.out" 2>"$log" &
    CW_PID=$!
    CW_PIDS+=("$CW_PID")
    URL=
    for i in $(seq 1 600); do
        URL=$(sed -n "$pattern" "$log" | head -1)
        [ -n "$URL" ] && return 0
        if ! kill -0 "$CW_PID" 2>/dev/null; then
            echo "callwatch exited early:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "callwatch did not start serving:" >&2
    cat "$log" >&2
    return 1
}

# stop_cw [SIGNAL]: stops the last one started; sets stop_rc.
stop_cw() {
    kill -"${1:-TERM}" "$CW_PID"
    set +e
    wait "$CW_PID"
    stop_rc=$?
    set -e
}

# get PATH [CURL ARGS...]: body to $T/body, status to $code, headers to
# $T/headers; PATH is sent as is (no normalisation of dot segments).
get() {
    local path=$1
    shift
    : >"$T/body"
    : >"$T/headers"
    code=$(curl -s --path-as-is -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "${URL%/}$path" || true)
}

body() { cat "$T/body"; }

header() {
    tr -d '\r' <"$T/headers" | sed -n "s/^$1: //Ip" | head -1
}

# expect_status WHAT PATH WANT [CURL ARGS...]
expect_status() {
    local what=$1 path=$2 want=$3
    shift 3
    get "$path" "$@"
    expect_eq "$what: status" "$code" "$want"
}

# expect_json_error WHAT PATH WANT_STATUS REGEX: the status, a JSON body
# {"error": ...} matching REGEX.
expect_json_error() {
    get "$2"
    expect_eq "$1: status" "$code" "$3"
    expect_match "$1: JSON content type" "$(header content-type)" '^application/json'
    expect_match "$1: error message" "$(jq -r '.error // "none"' "$T/body" 2>&1)" "$4"
}

# A URL-encoded string (RFC 3986: everything but unreserved characters).
urlenc() {
    jq -rn --arg s "$1" '$s | @uri'
}
