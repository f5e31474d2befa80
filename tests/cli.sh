#!/usr/bin/env bash
# The command line contract: options, exit codes and the messages a person reads.
. "$CW_TESTLIB"
set -e

run_cw --help
expect_eq "--help exit" "$rc" 0
for opt in --interface --read --filter --config --data-dir --web --report --replay-speed \
    --snaplen --buffer-size --help --version; do
    expect_match "--help documents $opt" "$out" "$opt"
done

run_cw --version
expect_eq "--version exit" "$rc" 0
expect_match "--version prints the version" "$out" '^callwatch [0-9]+\.[0-9]+'

run_cw --bogus
expect_eq "unknown option exit" "$rc" 2
expect_match "unknown option named" "$err" 'unknown option --bogus'

run_cw -r
expect_eq "missing argument exit" "$rc" 2
expect_match "missing argument named" "$err" '-r needs an argument'

run_cw
expect_eq "no input exit" "$rc" 2
expect_match "no input explained" "$err" 'nothing to watch'

run_cw -r "$T/does-not-exist.pcap" --report json
expect_eq "missing file exit" "$rc" 2
expect_match "missing file named" "$err" "does-not-exist.pcap: No such file or directory"
expect_eq "missing file: nothing on stdout" "$out" ""

printf 'hello, this is plainly not a capture file at all\n' >"$T/notes.txt"
run_cw -r "$T/notes.txt" --report json
expect_eq "non-capture exit" "$rc" 2
expect_match "non-capture named" "$err" "notes.txt: not a pcap or pcapng capture file"

"$CW_GENCAP" mixed "$T/mixed.pcapng" >/dev/null
run_cw -r "$T/mixed.pcapng" -r "$T/notes.txt" --report json
expect_eq "second file bad: exit" "$rc" 2
expect_eq "second file bad: no partial report" "$out" ""

run_cw -r "$T/mixed.pcapng" --report yaml
expect_eq "bad --report exit" "$rc" 2
expect_match "bad --report named" "$err" '--report: "yaml"'

run_cw -r "$T/mixed.pcapng" --web 8080
expect_eq "bad --web exit" "$rc" 2
run_cw -r "$T/mixed.pcapng" --replay-speed fast
expect_eq "bad --replay-speed exit" "$rc" 2
run_cw -i lo -r "$T/mixed.pcapng"
expect_eq "-i with -r exit" "$rc" 2
run_cw -r "$T/mixed.pcapng" extra-arg
expect_eq "stray argument exit" "$rc" 2
run_cw -r "$T/mixed.pcapng" -f "this is not bpf" --report json
expect_eq "bad filter exit" "$rc" 2
expect_match "bad filter named" "$err" 'filter "this is not bpf"'

printf '[probe]\nstep = 10\nrtp_timeout = soon\n' >"$T/bad.ini"
run_cw -c "$T/bad.ini" -r "$T/mixed.pcapng" --report json
expect_eq "bad config exit" "$rc" 2
expect_match "bad config names file:line" "$err" "bad.ini:3: rtp_timeout"
run_cw -c "$T/missing.ini" -r "$T/mixed.pcapng" --report json
expect_eq "missing config exit" "$rc" 2
expect_match "missing config named" "$err" "missing.ini: No such file"

# A good run: JSON report per the contract.
run_cw -r "$T/mixed.pcapng" --report json
expect_eq "good run exit" "$rc" 0
echo "$out" >"$T/report.json"
expect_eq "report version" "$(jq .version "$T/report.json")" 1
expect_eq "report packets" "$(jq .capture.packets "$T/report.json")" 32
expect_eq "report packets = tshark" "$(jq .capture.packets "$T/report.json")" "$(tshark_count "$T/mixed.pcapng")"
expect_eq "report files" "$(jq -c .capture.files "$T/report.json")" "[\"$T/mixed.pcapng\"]"
expect_eq "malformed ihl" "$(jq '.capture.malformed.ipv4_bad_header_length' "$T/report.json")" 1
expect_eq "malformed udp" "$(jq '.capture.malformed.udp_bad_length' "$T/report.json")" 1
expect_eq "reassembled" "$(jq '.capture.reassembled' "$T/report.json")" 2
expect_eq "arrays present" "$(jq -c '[.calls, .streams, .incidents, .top_talkers] | map(type)' "$T/report.json")" '["array","array","array","array"]'
expect_eq "start time" "$(jq '.capture.start | floor' "$T/report.json")" 1700000000
expect_eq "bytes = tshark" "$(jq .capture.bytes "$T/report.json")" \
    "$(tshark -r "$T/mixed.pcapng" -T fields -e frame.len | awk '{s+=$1} END {print s}')"

# Several files, in order, as one capture.
"$CW_GENCAP" link sll pcap-ns "$T/sll.pcap" >/dev/null
run_cw -r "$T/sll.pcap" -r "$T/mixed.pcapng" --report json
expect_eq "two files exit" "$rc" 0
expect_eq "two files packets" "$(echo "$out" | jq .capture.packets)" 82
expect_eq "two files in order" "$(echo "$out" | jq -c '.capture.files | map(split("/") | last)')" '["sll.pcap","mixed.pcapng"]'

# A truncated capture is analysed up to the cut, with a warning.
"$CW_GENCAP" truncated "$T/cut.pcap" >/dev/null
run_cw -r "$T/cut.pcap" --report json
expect_eq "truncated exit" "$rc" 0
expect_eq "truncated packets" "$(echo "$out" | jq .capture.packets)" 9
expect_match "truncated warning names file and offset" "$err" "cut.pcap: capture is cut short at byte offset [0-9]+"
expect_match "truncated warning in report" "$(echo "$out" | jq -r '.capture.warnings[0]')" "cut.pcap"

# Text report for a person.
run_cw -r "$T/mixed.pcapng" --report text
expect_eq "text report exit" "$rc" 0
expect_match "text report packets" "$out" "packets +32 "
expect_match "text report malformed" "$out" "udp_bad_length +1"

# A BPF filter applies to files too.
run_cw -r "$T/mixed.pcapng" -f "tcp" --report json
expect_eq "filtered packets" "$(echo "$out" | jq .capture.packets)" 3

# Live capture on loopback: SIGTERM ends it cleanly with exit 0.
"$CW_BIN" -i lo --web off -q >"$T/live.out" 2>"$T/live.err" &
pid=$!
sleep 1
kill -TERM "$pid"
set +e
wait "$pid"
live_rc=$?
set -e
expect_eq "live SIGTERM exit" "$live_rc" 0
run_cw -i no-such-interface0 --web off
expect_eq "bad interface exit" "$rc" 1
expect_match "bad interface named" "$err" "no-such-interface0"

# The largest packet libpcap hands out (262144 bytes) is read like any
# other, then a small one.
python3 - "$T/jumbo.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for n in (262144, 100):
        f.write(struct.pack("<IIII", 1700000000, 0, n, n))
        f.write(bytes(12) + b"\x08\x00\x45" + bytes(n - 15))
PY
run_cw -r "$T/jumbo.pcap" --report json -q
expect_eq "262144-byte packet exit" "$rc" 0
expect_eq "262144-byte packet read" "$(jq .capture.packets "$T/out")" 2

finish
