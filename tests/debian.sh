#!/usr/bin/env bash
# The Debian package, built once from a copy of the tree (the unit tests
# skipped: nocheck), checked by lintian (no error), installed with apt-get,
# checked (files, the user, the data directory, the conffile kept on
# reinstall, the enabled unit, --version, a capture analysed as the
# callwatch user), then removed (configuration and data kept) and purged
# (both gone).  Run by ./quickstart.sh test, as root; it installs the
# package on this machine and purges it at the end.
. "$CW_TESTLIB"
set -e

[ "$(id -u)" -eq 0 ] || { fail "debian.sh installs a package: run it as root"; finish; }
if dpkg-query -W -f='${Status}' callwatch 2>/dev/null | grep -q installed; then
    fail "a callwatch package is installed already: remove it first"
    finish
fi

purge() { apt-get purge -y -q callwatch >/dev/null 2>&1 || true; }
trap 'purge; rm -rf "$T"' EXIT
export DEBIAN_FRONTEND=noninteractive

# A copy of the tree, without builds or generated files.
mkdir -p "$T/src"
tar -C "$CW_TOP" --exclude='./build*' --exclude=./autom4te.cache --exclude=./.git \
    --exclude=./configure --exclude=./Makefile.in --exclude=./aclocal.m4 \
    --exclude=./build-aux --exclude='./callwatch-*' --exclude=./debian/callwatch \
    --exclude=./debian/.debhelper --exclude=./debian/files -cf - . | tar -C "$T/src" -xf -

start=$(date +%s)
(cd "$T/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
    { fail "dpkg-buildpackage: $(tail -20 "$T/build.log")"; finish; }
pass "dpkg-buildpackage -us -uc -b in $(($(date +%s) - start)) s"
deb=$(ls "$T"/callwatch_*.deb)
[ -f "$deb" ] && pass "built $(basename "$deb")" || { fail "no .deb"; finish; }

# lintian: no error; warnings are printed for the log.
lintian --fail-on error --allow-root "$deb" >"$T/lintian.log" 2>&1 &&
    pass "lintian: no error" || fail "lintian: $(cat "$T/lintian.log")"
sed 's/^/  lintian: /' "$T/lintian.log"

# What the package holds.
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#')
for f in /usr/sbin/callwatch /usr/share/man/man8/callwatch.8.gz \
    /usr/share/man/man5/callwatch.ini.5.gz /etc/callwatch/callwatch.ini \
    /lib/systemd/system/callwatch.service /usr/lib/sysusers.d/callwatch.conf \
    /usr/lib/tmpfiles.d/callwatch.conf /usr/share/doc/callwatch/copyright; do
    echo "$contents" | grep -qx "$f" && pass "package holds $f" || fail "package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in librrd8 libmicrohttpd12 libsnmp40 libpcap0.8 libosip2 libjansson4 libsqlite3-0; do
    expect_match "Depends names $lib" "$depends" "(^|, )$lib"
done
expect_match "Recommends rrdcached and libcurl" "$(dpkg-deb -f "$deb" Recommends)" \
    'libcurl3-gnutls.*rrdcached|rrdcached.*libcurl3-gnutls'
expect_eq "the conffile" "$(dpkg-deb -I "$deb" conffiles | tr -d ' ')" "/etc/callwatch/callwatch.ini"

# Install.
apt-get install -y -q --no-install-recommends "$deb" >"$T/install.log" 2>&1 ||
    { fail "apt-get install: $(tail -20 "$T/install.log")"; finish; }
pass "apt-get install ./$(basename "$deb")"
expect_match "--version" "$(/usr/sbin/callwatch --version)" '^callwatch [0-9]+\.[0-9]+\.[0-9]+$'
expect_match "the system user" "$(getent passwd callwatch)" '^callwatch:x:[0-9]+:[0-9]+:.*:/var/lib/callwatch:/usr/sbin/nologin$'
uid=$(id -u callwatch)
[ "$uid" -lt 1000 ] && pass "a system uid ($uid)" || fail "uid $uid is not a system uid"
expect_eq "the data directory, the user's" "$(stat -c '%U %a' /var/lib/callwatch)" "callwatch 750"
[ -L /etc/systemd/system/multi-user.target.wants/callwatch.service ] &&
    pass "the unit is enabled" || fail "the unit is not enabled"
man -w callwatch >/dev/null 2>&1 && man -w 5 callwatch.ini >/dev/null 2>&1 &&
    pass "man finds both pages" || fail "man does not find the pages"
expect_match "the installed configuration is valid" \
    "$(/usr/sbin/callwatch -c /etc/callwatch/callwatch.ini --check-config)" 'is valid'

# The installed daemon analyses a capture, becoming the callwatch user.
set +e
/usr/sbin/callwatch -c /etc/callwatch/callwatch.ini -r "$CW_CAPTURES/lab/clean.pcap" \
    -d /var/lib/callwatch --user callwatch --web off --report json >"$T/report" 2>"$T/err"
rc=$?
set -e
expect_eq "a capture analysed: exit status" "$rc" 0
expect_eq "calls in the report" "$(jq '.calls | length > 0' "$T/report")" true
expect_eq "its files are the user's" "$(find /var/lib/callwatch ! -user callwatch | wc -l)" 0
[ -f /var/lib/callwatch/calls.sqlite ] && pass "calls.sqlite written" || fail "no calls.sqlite"

# An edited configuration survives a reinstall.
echo "; edited by the administrator" >>/etc/callwatch/callwatch.ini
apt-get install -y -q --reinstall --no-install-recommends "$deb" >"$T/reinstall.log" 2>&1 ||
    fail "reinstall: $(tail -5 "$T/reinstall.log")"
expect_eq "the conffile is kept" "$(tail -1 /etc/callwatch/callwatch.ini)" "; edited by the administrator"

# Remove: the program goes, the configuration and the data stay.
apt-get remove -y -q callwatch >"$T/remove.log" 2>&1 || fail "remove: $(tail -5 "$T/remove.log")"
[ ! -e /usr/sbin/callwatch ] && pass "removed: the daemon" || fail "/usr/sbin/callwatch is left"
[ -f /etc/callwatch/callwatch.ini ] && pass "removed: the configuration stays" || fail "configuration gone"
[ -f /var/lib/callwatch/calls.sqlite ] && pass "removed: the data stays" || fail "data gone on remove"

# Purge: both go.
apt-get purge -y -q callwatch >"$T/purge.log" 2>&1 || fail "purge: $(tail -5 "$T/purge.log")"
[ ! -e /etc/callwatch ] && pass "purged: /etc/callwatch" || fail "/etc/callwatch is left: $(ls -la /etc/callwatch)"
[ ! -e /var/lib/callwatch ] && pass "purged: /var/lib/callwatch" || fail "/var/lib/callwatch is left"
[ ! -e /etc/systemd/system/multi-user.target.wants/callwatch.service ] &&
    pass "purged: the unit's link" || fail "the unit's link is left"
st=$(dpkg-query -W -f='${db:Status-Status}' callwatch 2>/dev/null || true)
[ -z "$st" ] || [ "$st" = not-installed ] && pass "dpkg has it not installed" ||
    fail "dpkg has it $st"

finish
