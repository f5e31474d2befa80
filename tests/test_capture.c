/* Reading captures: formats, link types, nanosecond time, truncation. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "engine/engine.h"
#include "pcapgen.h"

static char path[64];

static void make_path(const char *tag)
{
    snprintf(path, sizeof(path), "/tmp/cw-test-capture-%s-%d", tag, (int)getpid());
}

struct fmt_case {
    enum pg_format fmt;
    int linktype;
    int nvlan;
    const char *src, *dst;
};

static const struct fmt_case fmt_cases[] = {
    { PG_PCAP_US, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2" },
    { PG_PCAP_NS, PG_LINK_ETHERNET, 1, "10.0.0.1", "10.0.0.2" },
    { PG_PCAPNG, PG_LINK_ETHERNET, 2, "2001:db8::1", "2001:db8::2" },
    { PG_PCAPNG, PG_LINK_SLL, 0, "10.0.0.1", "10.0.0.2" },
    { PG_PCAP_NS, PG_LINK_SLL2, 0, "2001:db8::1", "2001:db8::2" },
    { PG_PCAP_US, PG_LINK_RAW, 0, "10.0.0.1", "10.0.0.2" },
    { PG_PCAPNG, PG_LINK_NULL, 0, "10.0.0.1", "10.0.0.2" },
    { PG_PCAP_NS, PG_LINK_LOOP, 0, "2001:db8::1", "2001:db8::2" },
};

/* Writes n UDP frames 20 ms + 1 ns apart, starting at t0. */
static void write_capture(const struct fmt_case *c, int n, cw_ns_t t0)
{
    pcapgen_t *g = pcapgen_open(path, c->fmt, c->linktype, 0);
    uint16_t vlans[2] = { 10, 20 };
    cw_addr_t s = pg_addr(c->src), d = pg_addr(c->dst);

    assert_non_null(g);
    for (int i = 0; i < n; i++) {
        pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 }, frame = { .len = 0 };
        char pl[32];

        snprintf(pl, sizeof(pl), "packet %d", i);
        pg_udp(&l4, 4000, 4002, pl, strlen(pl));
        if (s.family == 6)
            pg_ipv6(&ip, &s, &d, 17, NULL, 0, l4.data, l4.len);
        else
            pg_ipv4(&ip, &s, &d, 17, (uint16_t)i, 0, 0, l4.data, l4.len);
        pg_link(&frame, c->linktype, (unsigned)c->nvlan, vlans, ip.data, ip.len);
        assert_int_equal(pcapgen_write(g, t0 + i * (20 * CW_NS_PER_MS + 1), frame.data,
                                       (uint32_t)frame.len, (uint32_t)frame.len),
                         0);
    }
    assert_int_equal(pcapgen_close(g), 0);
}

static void test_formats_and_links(void **state)
{
    (void)state;
    make_path("fmt");
    for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
        const struct fmt_case *c = &fmt_cases[i];
        cw_ns_t t0 = CW_SEC(1700000000) + 123456789;
        char err[256];
        capture_t *cap;
        capture_pkt_t pkt;
        cw_config_t cfg;
        engine_t *e;
        engine_capture_info_t ci;
        decode_stats_t ds;
        int n = 0;

        write_capture(c, 50, t0);
        cap = capture_open_file(path, err, sizeof(err));
        if (!cap)
            fail_msg("case %zu: %s", i, err);
        config_init(&cfg);
        e = engine_new(&cfg, NULL);
        while (capture_next(cap, &pkt) == CAPTURE_PACKET) {
            cw_ns_t want = t0 + n * (20 * CW_NS_PER_MS + 1);

            if (c->fmt == PG_PCAP_US)
                want = want / 1000 * 1000; /* microsecond files lose the rest */
            assert_int_equal(pkt.ts, want);
            engine_packet(e, capture_dlt(cap), &pkt);
            n++;
        }
        engine_finish(e);
        assert_int_equal(n, 50);
        engine_capture_info(e, &ci);
        engine_decode_stats(e, &ds);
        assert_int_equal(ci.packets, 50);
        assert_int_equal(ds.udp, 50);
        assert_int_equal(ds.malformed_total, 0);
        engine_free(e);
        config_free(&cfg);
        capture_close(cap);
    }
    unlink(path);
}

static long file_size(const char *file)
{
    FILE *f = fopen(file, "rb");
    long size;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    return size;
}

static void test_truncated_file(void **state)
{
    const struct fmt_case c = { PG_PCAP_US, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2" };
    char err[256];
    capture_t *cap;
    capture_pkt_t pkt;
    int n = 0, rc;

    (void)state;
    make_path("trunc");
    write_capture(&c, 10, CW_SEC(1000));
    /* Cut in the middle of the last packet's data. */
    assert_int_equal(truncate(path, file_size(path) - 10), 0);
    cap = capture_open_file(path, err, sizeof(err));
    assert_non_null(cap);
    while ((rc = capture_next(cap, &pkt)) == CAPTURE_PACKET)
        n++;
    assert_int_equal(n, 9);
    assert_int_equal(rc, CAPTURE_ERROR);
    assert_non_null(strstr(capture_error(cap), "truncated"));
    assert_true(capture_offset(cap) > 24);
    capture_close(cap);
    unlink(path);
}

static void test_not_a_capture(void **state)
{
    char err[256];
    FILE *f;

    (void)state;
    make_path("text");
    f = fopen(path, "w");
    fputs("this is not a capture file, just some text that is long enough\n", f);
    fclose(f);
    assert_null(capture_open_file(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a pcap or pcapng capture file"));
    unlink(path);
    assert_null(capture_open_file(path, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file or directory"));
    assert_null(capture_open_file("/", err, sizeof(err)));
    assert_non_null(strstr(err, "is a directory"));
}

static void test_unsupported_linktype(void **state)
{
    pcapgen_t *g;
    char err[256];
    uint8_t frame[40] = { 0 };

    (void)state;
    make_path("dlt");
    g = pcapgen_open(path, PG_PCAP_US, 105 /* IEEE 802.11 */, 0);
    pcapgen_write(g, CW_SEC(1), frame, sizeof(frame), sizeof(frame));
    pcapgen_close(g);
    assert_null(capture_open_file(path, err, sizeof(err)));
    assert_non_null(strstr(err, "is not supported"));
    unlink(path);
}

static void test_snaplen_cut_counted(void **state)
{
    pcapgen_t *g;
    char err[256];
    capture_t *cap;
    capture_pkt_t pkt;
    pg_buf_t frame = { .len = 0 };
    uint8_t big[400] = { 0 };
    cw_config_t cfg;
    engine_t *e;
    decode_stats_t ds;

    (void)state;
    make_path("snap");
    g = pcapgen_open(path, PG_PCAP_US, PG_LINK_ETHERNET, 96);
    pg_eth_udp(&frame, "10.0.0.1", 5004, "10.0.0.2", 5006, big, sizeof(big));
    pcapgen_write(g, CW_SEC(1), frame.data, 96, (uint32_t)frame.len);
    pcapgen_close(g);
    cap = capture_open_file(path, err, sizeof(err));
    assert_non_null(cap);
    config_init(&cfg);
    e = engine_new(&cfg, NULL);
    assert_int_equal(capture_next(cap, &pkt), CAPTURE_PACKET);
    assert_int_equal(pkt.caplen, 96);
    engine_packet(e, capture_dlt(cap), &pkt);
    engine_decode_stats(e, &ds);
    assert_int_equal(ds.snaplen_cut, 1);
    assert_int_equal(ds.udp, 1);
    assert_int_equal(ds.malformed_total, 0);
    engine_free(e);
    config_free(&cfg);
    capture_close(cap);
    unlink(path);
}

/* Reads file with callwatch's own pcap reader (when direct, else libpcap
 * reads it in both) and with libpcap alone, through the same filter: the
 * packets, the way the file ends, the error and its offset must be the
 * same.  Returns the packets; *direct_at_end says who read the last. */
static int same_as_libpcap(const char *file, bool direct, const char *filter, bool *direct_at_end)
{
    char err[256];
    capture_t *a = capture_open_file(file, err, sizeof(err)), *b;
    FILE *f = fopen(file, "rb");
    capture_pkt_t pa, pb;
    int n = 0, ra, rb;

    assert_non_null(a);
    assert_non_null(f);
    b = capture_open_stream(f, file, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(capture_is_direct(a), direct);
    assert_false(capture_is_direct(b));
    if (filter) {
        assert_int_equal(capture_set_filter(a, filter, err, sizeof(err)), 0);
        assert_int_equal(capture_set_filter(b, filter, err, sizeof(err)), 0);
    }
    for (;;) {
        ra = capture_next(a, &pa);
        rb = capture_next(b, &pb);
        assert_int_equal(ra, rb);
        if (ra != CAPTURE_PACKET)
            break;
        assert_int_equal(pa.ts, pb.ts);
        assert_int_equal(pa.caplen, pb.caplen);
        assert_int_equal(pa.wirelen, pb.wirelen);
        assert_memory_equal(pa.data, pb.data, pa.caplen);
        n++;
    }
    if (ra == CAPTURE_ERROR) {
        assert_string_equal(capture_error(a), capture_error(b));
        assert_int_equal(capture_offset(a), capture_offset(b));
    }
    if (direct_at_end)
        *direct_at_end = capture_is_direct(a);
    capture_close(a);
    capture_close(b);
    return n;
}

static uint32_t swap32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

/* Writes a copy of a little-endian pcap file in the other byte order. */
static void write_swapped(const char *from, const char *to)
{
    static uint8_t buf[1 << 16];
    FILE *f = fopen(from, "rb");
    size_t len, off = 24;

    assert_non_null(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(len >= 24 && len < sizeof(buf));
    for (size_t i = 0; i < 24; i += 4) {
        uint32_t v = swap32(buf + i);

        if (i == 4) /* two 16-bit versions */
            v = (uint32_t)buf[5] | (uint32_t)buf[4] << 8 | (uint32_t)buf[7] << 16 |
                (uint32_t)buf[6] << 24;
        memcpy(buf + i, &v, 4);
    }
    while (off + 16 <= len) {
        uint32_t caplen;

        memcpy(&caplen, buf + off + 8, 4);
        for (size_t i = 0; i < 16; i += 4) {
            uint32_t v = swap32(buf + off + i);

            memcpy(buf + off + i, &v, 4);
        }
        off += 16 + caplen;
    }
    f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Classic pcap files, in either byte order and time unit, and pcapng
 * files are read by callwatch itself, exactly as libpcap reads them. */
static void test_direct_reader(void **state)
{
    char swapped[80];
    bool direct = false;

    (void)state;
    make_path("direct");
    snprintf(swapped, sizeof(swapped), "%s.swapped", path);
    for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
        const struct fmt_case *c = &fmt_cases[i];
        write_capture(c, 50, CW_SEC(1700000000) + 123456789);
        assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 50);
        assert_true(direct);
        if (c->fmt == PG_PCAPNG)
            continue;
        write_swapped(path, swapped);
        assert_int_equal(same_as_libpcap(swapped, true, NULL, &direct), 50);
        assert_true(direct);
    }
    /* Records larger than the reader's buffer, and many across its edge. */
    {
        static uint8_t big[200000];
        pcapgen_t *g = pcapgen_open(path, PG_PCAP_NS, PG_LINK_ETHERNET, 0);

        for (uint32_t i = 0; i < 40; i++) {
            uint32_t len = i % 4 == 1 ? 200000 - i * 1000 : 60 + i * 97;

            big[i] = (uint8_t)i;
            assert_int_equal(pcapgen_write(g, CW_SEC(1 + i), big, len, len), 0);
        }
        assert_int_equal(pcapgen_close(g), 0);
        assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 40);
        assert_true(direct);
    }
    /* Times with the top bit set: libpcap takes them as signed in the
     * file's own byte order and as unsigned in the other. */
    for (int order = 0; order < 2; order++) {
        uint32_t words[] = {
            0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1, 0x80000001, 0x800a6f53, 60, 60
        };
        uint8_t zero[60] = { 0 };
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
            uint32_t v = order ? __builtin_bswap32(words[w]) : words[w];

            if (order && w == 1) /* two 16-bit versions */
                v = 0x04000200;
            assert_int_equal(fwrite(&v, 4, 1, f), 1);
        }
        assert_int_equal(fwrite(zero, 1, sizeof(zero), f), sizeof(zero));
        fclose(f);
        assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 1);
        assert_true(direct);
    }
    /* A filter applies to packets read either way: IPv4 identifiers are
     * the packet numbers. */
    write_capture(&fmt_cases[0], 50, CW_SEC(1000));
    assert_int_equal(same_as_libpcap(path, true, "ip[4:2] < 10", NULL), 10);
    assert_int_equal(same_as_libpcap(path, true, "tcp", NULL), 0);
    unlink(swapped);
    unlink(path);
}

/* From a record longer than the snapshot length on, libpcap reads the
 * file, as it would have from the start; a record cut short ends it with
 * libpcap's error at libpcap's offset. */
static void test_direct_hands_over(void **state)
{
    pcapgen_t *g;
    uint8_t frame[300] = { 0 };
    bool direct = true;
    long size, last;

    (void)state;
    make_path("handover");
    g = pcapgen_open(path, PG_PCAP_US, PG_LINK_ETHERNET, 96);
    for (int i = 0; i < 7; i++) {
        uint32_t len = i == 3 ? 200 : 60;

        frame[0] = (uint8_t)i;
        assert_int_equal(pcapgen_write(g, CW_SEC(1 + i), frame, len, len), 0);
    }
    assert_int_equal(pcapgen_close(g), 0);
    assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 7);
    assert_false(direct);

    /* Cut the last record anywhere, in its header or in its data. */
    write_capture(&fmt_cases[1], 9, CW_SEC(1000));
    size = file_size(path);
    write_capture(&fmt_cases[1], 10, CW_SEC(1000));
    last = file_size(path) - size;
    for (long cut = 1; cut < last; cut++) {
        assert_int_equal(truncate(path, size + last - cut), 0);
        assert_int_equal(same_as_libpcap(path, true, NULL, NULL), 9);
    }
    unlink(path);
}

static void append_block(FILE *f, uint32_t type, const void *body, uint32_t len)
{
    uint32_t total = len + 12;

    assert_int_equal(len % 4, 0);
    assert_int_equal(fwrite(&type, 4, 1, f), 1);
    assert_int_equal(fwrite(&total, 4, 1, f), 1);
    assert_int_equal(fwrite(body, 1, len, f), len);
    assert_int_equal(fwrite(&total, 4, 1, f), 1);
}

static void append_epb(FILE *f, uint32_t iface, uint64_t t, const uint8_t *frame, uint32_t len)
{
    uint8_t body[20 + 128] = { 0 };
    uint32_t hdr[5] = { iface, (uint32_t)(t >> 32), (uint32_t)t, len, len };

    assert_true(len <= 128);
    memcpy(body, hdr, sizeof(hdr));
    memcpy(body + 20, frame, len);
    append_block(f, 6, body, 20 + ((len + 3) & ~3u));
}

/* pcapng: blocks libpcap skips are skipped; from a second interface on,
 * libpcap reads the file, as it would have from the start. */
static void test_direct_pcapng_hands_over(void **state)
{
    static const uint8_t stats[16] = { 1, 2, 3, 4 };
    uint8_t idb[16] = { 0 }, frame[60] = { 0 };
    uint32_t snaplen = 262144;
    bool direct = true;
    FILE *f;

    (void)state;
    make_path("nghandover");
    write_capture(&fmt_cases[2], 5, CW_SEC(1000));
    f = fopen(path, "ab");
    assert_non_null(f);
    append_block(f, 5, stats, sizeof(stats));          /* interface statistics */
    append_block(f, 0x40000bad, stats, sizeof(stats)); /* a custom block */
    append_epb(f, 0, 2000000000000ull, frame, sizeof(frame));
    fclose(f);
    assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 6);
    assert_true(direct);
    /* A second interface, Ethernet, nanoseconds, and packets on both. */
    f = fopen(path, "ab");
    assert_non_null(f);
    idb[0] = 1;
    memcpy(idb + 4, &snaplen, 4);
    idb[8] = 9;
    idb[10] = 1;
    idb[12] = 9;
    append_block(f, 1, idb, sizeof(idb));
    for (uint32_t i = 0; i < 4; i++) {
        frame[0] = (uint8_t)i;
        append_epb(f, i % 2, 2000000000000ull + i * 1000, frame, sizeof(frame));
    }
    fclose(f);
    assert_int_equal(same_as_libpcap(path, true, NULL, &direct), 10);
    assert_false(direct);
    unlink(path);
}

/* Packet time drives the steps: the same capture gives the same number of
 * step ticks however it is read. */
static void test_steps_follow_packet_time(void **state)
{
    cw_config_t cfg;
    engine_t *e;
    engine_capture_info_t ci;
    uint8_t frame[60] = { 0 };
    capture_pkt_t pkt = { .caplen = 60, .wirelen = 60, .data = frame };
    metrics_t *m = metrics_new();
    cw_ns_t ts[20];
    double vs[20];

    (void)state;
    config_init(&cfg);
    e = engine_new(&cfg, m);
    frame[12] = 0x08;
    frame[13] = 0x06; /* ARP: not IP, still a packet */
    /* 95 s of packets from t = 1000.5 s: steps end at 1010, 1020, ... 1090 */
    for (int i = 0; i <= 95; i++) {
        pkt.ts = CW_SEC(1000) + CW_NS_PER_SEC / 2 + CW_SEC(i);
        engine_packet(e, 1, &pkt);
    }
    engine_capture_info(e, &ci);
    assert_int_equal(ci.steps, 9);
    engine_finish(e);
    engine_capture_info(e, &ci);
    assert_int_equal(ci.steps, 10);
    assert_int_equal(ci.packets, 96);
    /* Step [1000,1010), stamped 1010, held 10 packets (1000.5 .. 1009.5)
     * of 60 bytes. */
    assert_int_equal(metrics_range(m, "traffic.pps", 0, CW_SEC(2000), ts, vs, 20), 10);
    assert_int_equal(ts[0], CW_SEC(1010));
    assert_true(vs[0] == 1.0);
    assert_int_equal(metrics_range(m, "traffic.bps", CW_SEC(1020), CW_SEC(1020), ts, vs, 20), 1);
    assert_true(vs[0] == 60.0 * 8 * 10 / 10);
    /* The last, partial step [1090,1100) held 6 packets. */
    assert_int_equal(metrics_range(m, "traffic.pps", CW_SEC(1100), CW_SEC(1100), ts, vs, 20), 1);
    assert_true(vs[0] == 0.6);
    engine_free(e);
    metrics_free(m);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_and_links),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_not_a_capture),
        cmocka_unit_test(test_unsupported_linktype),
        cmocka_unit_test(test_snaplen_cut_counted),
        cmocka_unit_test(test_steps_follow_packet_time),
        cmocka_unit_test(test_direct_reader),
        cmocka_unit_test(test_direct_hands_over),
        cmocka_unit_test(test_direct_pcapng_hands_over),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
