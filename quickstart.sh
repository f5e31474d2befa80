#!/usr/bin/env bash
# callwatch quick start for a fresh Debian 12 machine (run as root).
#
#   ./quickstart.sh demo   install what is missing, build, and run callwatch
#                          on the bundled recording
#   ./quickstart.sh test   install what is missing, build, and run every test:
#                          the formatting check, the -Werror build, the AddressSanitizer/UBSan build,
#                          the fuzz targets, make distcheck and the Debian
#                          package
#   ./quickstart.sh build  install and build only (into ./build)
set -euo pipefail
cd "$(dirname "$0")"
TOP=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

# Build and link dependencies, then the real peers the tests use.
BUILD_PACKAGES=(
    build-essential autoconf automake pkg-config clang libclang-rt-14-dev
    libpcap-dev libosip2-dev librrd-dev libmicrohttpd-dev libcmocka-dev
    libjansson-dev libinih-dev libsnmp-dev libsqlite3-dev libcurl4-gnutls-dev
    libcrypt-dev libsystemd-dev libpq-dev
)
# The web tests: curl and jq, wrk for load, mkpasswd (whois) and openssl for
# auth and TLS, headless chromium driven by node for the dashboard.
TEST_PACKAGES=(clang-format tshark jq iproute2 sqlite3 python3 util-linux snmpd rrdtool rrdcached curl wrk whois
    openssl chromium nodejs)
# Several sites (tests/sites.sh, tests/prometheus.sh): a real PostgreSQL
# cluster, Prometheus (with promtool) and Alertmanager (with amtool).
TEST_PACKAGES+=(postgresql prometheus prometheus-alertmanager)

# Installing and packaging (tests/install.sh, tests/debian.sh): the manual
# pages rendered, systemd's tools offline, the Debian package's build and
# lint.
TEST_PACKAGES+=(man-db groff-base systemd debhelper dh-autoreconf lintian dpkg-dev fakeroot)

# The network lab (captures/lab, tests/lab.sh): namespaces and shaping,
# the firewall's rules, SIP peers, its SNMP agent, RRD dumps, impairment.
LAB_PACKAGES=(iptables ethtool tcpdump sip-tester snmpd snmp rrdtool libnetfilter-queue-dev)
TEST_PACKAGES+=("${LAB_PACKAGES[@]}")

say() { printf '\n== %s\n' "$*"; }

install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "quickstart: these Debian packages are missing: ${missing[*]}" >&2
        echo "quickstart: run as root, or install them with apt-get first" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

bootstrap() {
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        say "bootstrapping (autoreconf)"
        autoreconf -fi
    fi
}

# configure_in DIR ARGS...: configure into DIR unless it is configured alike.
configure_in() {
    local dir=$1
    shift
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.cw-configure-args" 2>/dev/null)" != "$*" ] ||
        [ configure -nt "$dir/Makefile" ]; then
        (cd "$dir" && "$TOP/configure" "$@")
        echo "$*" >"$dir/.cw-configure-args"
    fi
}

build() {
    bootstrap
    say "building (build/)"
    configure_in build --enable-werror
    make -C build -j"$JOBS"
}

check_in() {
    local dir=$1
    if ! make -C "$dir" -j"$JOBS" check; then
        cat "$dir/test-suite.log" >&2 || true
        exit 1
    fi
}

# Every C file follows .clang-format (tables hand-aligned on purpose sit
# between "// clang-format off" and "// clang-format on").
check_format() {
    say "formatting (clang-format --dry-run --Werror)"
    local files
    if [ -d .git ]; then
        files=$(git ls-files '*.c' '*.h')
    else
        files=$(find probe rrd web tests captures -name '*.[ch]')
    fi
    # shellcheck disable=SC2086
    clang-format --dry-run --Werror $files
}

run_tests() {
    check_format
    build
    say "unit and integration tests (gcc, -Werror)"
    check_in build

    say "tests under AddressSanitizer and UBSan (clang)"
    configure_in build-asan --enable-werror --enable-sanitizers CC=clang CFLAGS="-O1 -g"
    make -C build-asan -j"$JOBS"
    # The daemons' tests and the live lab run once, in the first build;
    # check-sanitizers and distcheck-quick (Makefile.am) say what runs again.
    if ! CW_LAB_LIVE=no make -C build-asan -j"$JOBS" check-sanitizers; then
        cat build-asan/test-suite.log >&2 || true
        exit 1
    fi

    say "fuzz targets (libFuzzer, clang)"
    configure_in build-fuzz --enable-fuzzing CC=clang CFLAGS="-O1 -g"
    make -C build-fuzz -j"$JOBS" all
    tests/fuzz/run.sh build-fuzz "${CW_FUZZ_SECONDS:-20}"

    say "make distcheck"
    CW_LAB_LIVE=no make -C build -j"$JOBS" distcheck-quick DISTCHECK_CONFIGURE_FLAGS=--enable-werror

    say "the Debian package (tests/debian.sh)"
    CW_TOP="$TOP" CW_CAPTURES="$TOP/captures" CW_TESTLIB="$TOP/tests/lib.sh" bash tests/debian.sh
    say "all tests passed"
}

demo() {
    build
    say "the recorded branch-office incident, replayed at 10x; dashboard at http://127.0.0.1:8080/"
    say "(the drops_with_congestion incident appears within a minute; Ctrl-C to stop)"
    exec captures/lab/demo.sh ./build/callwatch build/demo
}

case "${1:-}" in
demo)
    install_packages "${BUILD_PACKAGES[@]}" rrdtool
    demo
    ;;
test)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    run_tests
    ;;
build)
    install_packages "${BUILD_PACKAGES[@]}"
    build
    ;;
*)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
