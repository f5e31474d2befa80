#!/usr/bin/env bash
# make install DESTDIR=...: the daemon in sbin, both manual pages rendering
# without a warning and documenting every option of --help and every key
# of the configuration's tables, the example configuration (every key
# present) loading, the systemd unit, sysusers.d and tmpfiles.d entries
# with this configuration's paths, the unit's exposure no higher than the
# README says; make uninstall removes it all, and keeps an edited
# configuration.
. "$CW_TESTLIB"
set -e

# The figure README.md and docs/install.md state.
EXPOSURE_MAX=2.0

root="$T/root"
# make of this build, outside the make running the tests (its jobserver
# and flags are not this one's).
submake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$CW_BUILD" "$@"; }
submake install DESTDIR="$root" >"$T/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$T/install.log")"
eval "$(submake print-install-dirs | grep "^prefix=")"
# shellcheck disable=SC2154 # set by the eval
{
    bin="$root$sbindir/callwatch"
    man8="$root$mandir/man8/callwatch.8"
    man5="$root$mandir/man5/callwatch.ini.5"
    ini="$root$sysconfdir/callwatch/callwatch.ini"
    unit="$root$systemdsystemunitdir/callwatch.service"
    sysusers="$root$sysusersdir/callwatch.conf"
    tmpfiles="$root$tmpfilesdir/callwatch.conf"
}
for f in "$bin" "$man8" "$man5" "$ini" "$unit" "$sysusers" "$tmpfiles"; do
    [ -f "$f" ] && pass "installed: ${f#"$root"}" || fail "not installed: ${f#"$root"}"
done
[ -x "$bin" ] && pass "the daemon is executable" || fail "$bin is not executable"
case "$sbindir" in */sbin) pass "the daemon goes in sbin" ;; *) fail "sbindir $sbindir" ;; esac
left=$(grep -l '@[a-z]*@' "$man8" "$man5" "$ini" "$unit" "$sysusers" "$tmpfiles" || true)
expect_eq "every @dir@ filled in" "$left" ""
expect_match "the unit runs the installed daemon on the installed configuration" \
    "$(grep '^ExecStart=' "$unit")" "^ExecStart=$sbindir/callwatch -c $sysconfdir/callwatch/callwatch.ini "
expect_match "the example's data_dir under localstatedir" "$(cat "$ini")" \
    "^;data_dir = $localstatedir/lib/callwatch\$"
expect_match "sysusers: the callwatch user" "$(grep -v '^#' "$sysusers")" '^u callwatch - '
expect_match "tmpfiles: its data directory" "$(grep -v '^#' "$tmpfiles")" \
    "^d $localstatedir/lib/callwatch 0750 callwatch callwatch"

# The manual pages render without a warning, on 80 columns; a deep prefix
# (make distcheck's) gets the columns its paths need, since a path is not
# broken across lines.
width=80
for d in "$sysconfdir" "$systemdsystemunitdir" "$sysusersdir$tmpfilesdir"; do
    [ $((${#d} + 60)) -le "$width" ] || width=$((${#d} + 60))
done
for page in "$man8" "$man5"; do
    LC_ALL=C.UTF-8 MANWIDTH=$width man --warnings -l "$page" >"$T/page.txt" 2>"$T/page.err" || true
    expect_eq "$(basename "$page") renders without warnings" "$(cat "$T/page.err")" ""
    [ -s "$T/page.txt" ] && pass "$(basename "$page") renders" || fail "$(basename "$page") is empty"
    # For the checks: one line a paragraph, blanks squeezed.
    LC_ALL=C.UTF-8 MANWIDTH=1000 man -l "$page" 2>/dev/null | col -b | tr -s ' \t' '  ' \
        >"$T/$(basename "$page").txt"
done
page8="$T/callwatch.8.txt"
page5="$T/callwatch.ini.5.txt"

# Every option of --help is in callwatch(8).
opts=$("$bin" --help | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,]//' | sort -u)
[ "$(echo "$opts" | wc -l)" -ge 20 ] && pass "--help lists $(echo "$opts" | wc -l) options" ||
    fail "--help lists too few options: $opts"
missing=$(for o in $opts; do grep -qe "$o" "$page8" || echo "$o"; done | tr '\n' ' ')
expect_eq "every option of --help is in callwatch(8)" "$missing" ""
for section in SYNOPSIS OPTIONS SIGNALS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
    grep -q "^$section" "$page8" && pass "callwatch(8) has $section" || fail "callwatch(8): no $section"
done
for sig in SIGHUP SIGTERM SIGINT; do
    grep -q "$sig" "$page8" && pass "callwatch(8) names $sig" || fail "callwatch(8): no $sig"
done

# Every key of the configuration's tables is in callwatch.ini(5) and in the
# example, and every section too.
keys=$(grep -oE '\{ "[a-z_]+", K_[A-Z]+' "$CW_TOP/probe/common/config.c" |
    sed 's/{ "//; s/", K_.*//' | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 50 ] && pass "config.c has $(echo "$keys" | wc -l) keys" ||
    fail "too few keys read from config.c: $keys"
missing=$(for k in $keys; do grep -qE "(^|[ ,])$k( |,|$)" "$page5" || echo "$k"; done | tr '\n' ' ')
expect_eq "every key is in callwatch.ini(5)" "$missing" ""
missing=$(for k in $keys; do grep -qE "^;?$k = " "$ini" || echo "$k"; done | tr '\n' ' ')
expect_eq "every key is in the example configuration" "$missing" ""
for s in probe web calldb rrd alert incident group link cpu; do
    grep -q "^\[$s" "$page5" && pass "callwatch.ini(5) has [$s]" || fail "callwatch.ini(5): no [$s]"
    grep -qE "^;?\[$s" "$ini" && pass "the example has [$s]" || fail "the example: no [$s]"
done
# Every default the page states is the one in config.h.
for pair in rtp_timeout:RTP_TIMEOUT_S step:STEP_S snaplen:SNAPLEN buffer_mb:BUFFER_MB \
    max_calls:MAX_CALLS idle_timeout:IDLE_TIMEOUT_S retention_days:RETENTION_DAYS \
    rate_limit:ALERT_RATE_LIMIT window:INC_WINDOW_S min_drops:INC_MIN_DROPS \
    link_threshold:INC_LINK_PCT cpu_threshold:INC_CPU_PCT spike_factor:INC_SPIKE_FACTOR \
    baseline:INC_BASELINE_S resolve_windows:INC_RESOLVE_WINDOWS \
    congestion_steps:INC_CONGESTION_STEPS mos_threshold:INC_MOS \
    min_degraded_streams:INC_MIN_DEGRADED scan_hosts:SCAN_HOSTS interval:SNMP_INTERVAL_S \
    timeout:SNMP_TIMEOUT_MS retries:SNMP_RETRIES spool_mb:SPOOL_MB vxlan_ports:VXLAN_PORT \
    geneve_ports:GENEVE_PORT gtpu_ports:GTPU_PORT tzsp_ports:TZSP_PORT; do
    k=${pair%%:*}
    def=$(sed -n "s/^#define CW_DEF_${pair#*:}[[:space:]]*\([0-9.]*\).*/\1/p" "$CW_TOP/probe/common/config.h")
    grep -qE "^;$k = $def\$" "$ini" && pass "example: $k = $def" || fail "example: $k is not $def"
    awk -v k="$k" '$1 == k { f = 1 } f && /default/ { print; exit }' "$page5" |
        grep -q "default $def\(\.\|;\)" && pass "callwatch.ini(5): $k default $def" ||
        fail "callwatch.ini(5): $k default is not $def"
done

# The example loads, and a run with it analyses a capture.
run_cw -c "$ini" --check-config
expect_eq "the example passes --check-config" "$rc" 0
expect_match "--check-config says so" "$out" 'is valid'
set +e
"$bin" -c "$ini" -r "$CW_CAPTURES/lab/clean.pcap" --report json --web off >"$T/report" 2>"$T/err"
rc=$?
set -e
expect_eq "the installed daemon runs on the example" "$rc" 0
expect_eq "and reports calls" "$(jq '.calls | length > 0' "$T/report")" true
printf '[probe]\nstep = 0\n' >"$T/bad.ini"
run_cw -c "$T/bad.ini" --check-config
expect_eq "--check-config refuses a bad file: exit 2" "$rc" 2
expect_match "--check-config names file:line" "$err" "$T/bad.ini:2: step"

# The sysusers and tmpfiles entries do what they say in a scratch root.
mkdir -p "$T/sys/etc"
systemd-sysusers --root="$T/sys" "$sysusers" 2>"$T/sysusers.err" || fail "systemd-sysusers: $(cat "$T/sysusers.err")"
expect_match "systemd-sysusers creates the user" "$(cat "$T/sys/etc/passwd" 2>/dev/null)" \
    "^callwatch:x:[0-9]+:[0-9]+:callwatch VoIP monitor:$localstatedir/lib/callwatch:"
systemd-tmpfiles --root="$T/sys" --create "$tmpfiles" 2>"$T/tmpfiles.err" ||
    fail "systemd-tmpfiles: $(cat "$T/tmpfiles.err")"
[ -d "$T/sys$localstatedir/lib/callwatch" ] && pass "systemd-tmpfiles creates the data directory" ||
    fail "no $localstatedir/lib/callwatch in the scratch root"

# The unit's exposure, as systemd rates it, is no worse than documented.
systemd-analyze security --offline=yes "$unit" >"$T/security" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for callwatch.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$exposure" ] && pass "systemd-analyze rates the unit: $exposure" ||
    fail "systemd-analyze security: $(tail -3 "$T/security")"
awk -v e="$exposure" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(e != "" && e <= m) }' &&
    pass "exposure $exposure <= $EXPOSURE_MAX" || fail "exposure $exposure above $EXPOSURE_MAX"
grep -q "exposure.*$EXPOSURE_MAX" "$CW_TOP/README.md" && pass "README states $EXPOSURE_MAX" ||
    fail "README.md does not state the exposure $EXPOSURE_MAX"
for setting in Type=notify WatchdogSec= Restart=on-failure User=callwatch \
    AmbientCapabilities=CAP_NET_RAW CapabilityBoundingSet=CAP_NET_RAW StateDirectory=callwatch \
    ProtectSystem=strict NoNewPrivileges=yes MemoryDenyWriteExecute=yes \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK" \
    SystemCallFilter=@system-service UMask=0027 ExecReload=; do
    grep -q "^$setting" "$unit" && pass "unit: $setting" || fail "unit: no $setting"
done

# An edited configuration survives a second install and the uninstall.
echo "; edited" >>"$ini"
submake install DESTDIR="$root" >"$T/install2.log" 2>&1 || fail "second make install"
expect_eq "an edited configuration is kept" "$(tail -1 "$ini")" "; edited"
[ -f "$ini.example" ] && pass "the new example beside it" || fail "no callwatch.ini.example"
submake uninstall DESTDIR="$root" >"$T/uninstall.log" 2>&1 || fail "make uninstall"
expect_eq "uninstall leaves only the edited configuration" "$(find "$root" -type f | sed "s|^$root||")" \
    "$sysconfdir/callwatch/callwatch.ini"
rm -f "$ini"
submake install DESTDIR="$root" >/dev/null 2>&1
submake uninstall DESTDIR="$root" >/dev/null 2>&1
expect_eq "uninstall removes every file it installed" "$(find "$root" -type f)" ""

finish
