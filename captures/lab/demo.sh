#!/usr/bin/env bash
# The demo: callwatch replays the lab's recorded incident with the SNMP
# series the firewall's snmpd gave during the recording, then keeps serving
# the dashboard.
#
#   captures/lab/demo.sh CALLWATCH [WORKDIR]
#
# Restores incident.link.xml and incident.cpu.xml into WORKDIR (default
# ./build/demo) with rrdtool, writes WORKDIR/demo.ini (demo.ini beside this
# script with the RRD paths made absolute), and execs
#   CALLWATCH -c WORKDIR/demo.ini -d WORKDIR/data -r incident.pcap \
#             --replay-speed $CW_DEMO_SPEED --web $CW_DEMO_LISTEN
# (defaults 10 and 127.0.0.1:8080): the one-minute incident plays in a few
# seconds of wall time per ten seconds of capture, then the dashboard keeps
# showing it until SIGINT/SIGTERM.  Needs rrdtool (Debian package rrdtool).
#
# Copyright the callwatch authors.  GPL-2.0-or-later.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}
CW=$1
WORK=${2:-build/demo}
NAME=${CW_DEMO_RECORDING:-incident}
command -v rrdtool >/dev/null || {
    echo "demo: rrdtool is missing (apt-get install rrdtool)" >&2
    exit 1
}
[ -x "$CW" ] || {
    echo "demo: $CW is not an executable callwatch" >&2
    exit 2
}
mkdir -p "$WORK/data"
WORK=$(cd "$WORK" && pwd)
# Fresh series every time: a restore refuses to overwrite.
rm -f "$WORK/$NAME.link.rrd" "$WORK/$NAME.cpu.rrd"
rrdtool restore -f "$HERE/$NAME.link.xml" "$WORK/$NAME.link.rrd"
rrdtool restore -f "$HERE/$NAME.cpu.xml" "$WORK/$NAME.cpu.rrd"
sed -e "s|^rrd = \(.*\)$|rrd = $WORK/\1|" "$HERE/demo.ini" >"$WORK/demo.ini"
echo "demo: replaying $HERE/$NAME.pcap at ${CW_DEMO_SPEED:-10}x; dashboard at http://${CW_DEMO_LISTEN:-127.0.0.1:8080}" >&2
exec "$CW" -c "$WORK/demo.ini" -d "$WORK/data" -r "$HERE/$NAME.pcap" \
    --replay-speed "${CW_DEMO_SPEED:-10}" --web "${CW_DEMO_LISTEN:-127.0.0.1:8080}"
