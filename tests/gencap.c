/* gencap: writes test captures whose contents are known exactly.
 *
 *   gencap mixed FILE          every layer the decoder knows, plus 2 malformed
 *   gencap link TYPE FMT FILE  50 UDP packets on one link type
 *                              (TYPE: ethernet sll sll2 raw null loop;
 *                               FMT: pcap pcap-ns pcapng)
 *   gencap truncated FILE      10 packets, the last one cut short
 *   gencap steps FILE [START]  UDP traffic over 12 ten-second steps from START
 *                              (Unix seconds, default 1700000000), a different
 *                              rate in each and none in one; prints
 *                              "step END packets N bytes B" per step
 *
 * Each prints what a correct analysis finds, one "key value" per line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapgen.h"

static const cw_ns_t T0 = CW_SEC(1700000000);

static void udp_frame(pg_buf_t *frame, int link, unsigned nvlan, const char *src,
                      const char *dst, uint16_t sport, uint16_t dport, const char *text)
{
    cw_addr_t s = pg_addr(src), d = pg_addr(dst);
    uint16_t vlans[2] = { 300, 42 };
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 };

    pg_udp(&l4, sport, dport, text, strlen(text));
    if (s.family == 6)
        pg_ipv6(&ip, &s, &d, 17, NULL, 0, l4.data, l4.len);
    else
        pg_ipv4(&ip, &s, &d, 17, 1, 0, 0, l4.data, l4.len);
    frame->len = 0;
    pg_link(frame, link, nvlan, vlans, ip.data, ip.len);
}

static int put(pcapgen_t *g, cw_ns_t *t, const pg_buf_t *f)
{
    *t += 10 * CW_NS_PER_MS;
    return pcapgen_write(g, *t, f->data, (uint32_t)f->len, (uint32_t)f->len);
}

static int gen_mixed(const char *path)
{
    static pg_buf_t frame, frags[8];
    static uint8_t big[3000];
    pcapgen_t *g = pcapgen_open(path, PG_PCAPNG, PG_LINK_ETHERNET, 0);
    cw_ns_t t = T0;
    cw_addr_t s4 = pg_addr("10.0.0.1"), d4 = pg_addr("10.0.0.2");
    cw_addr_t s6 = pg_addr("2001:db8::1"), d6 = pg_addr("2001:db8::2");
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 };
    size_t n;
    int rc = 0;

    if (!g)
        return 1;
    for (int i = 0; i < 10; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "plain");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 5; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 1, "10.0.0.1", "10.0.0.2", 4000, 4002, "vlan");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 5; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 2, "2001:db8::1", "2001:db8::2", 4000, 4002, "qinq");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 3; i++) {
        l4.len = ip.len = frame.len = 0;
        pg_tcp(&l4, 40000, 5060, 1000u + (uint32_t)i, 1, 0x18, "tcp", 3);
        pg_ipv4(&ip, &s4, &d4, 6, 2, 0, 0, l4.data, l4.len);
        pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 2; i++) {
        memset(frame.data, 0, 42);
        frame.data[12] = 0x08;
        frame.data[13] = 0x06;
        frame.len = 42;
        rc |= put(g, &t, &frame);
    }
    memset(big, 'x', sizeof(big));
    l4.len = 0;
    pg_udp(&l4, 5060, 5060, big, sizeof(big));
    n = pg_ipv4_fragments(frags, 8, &s4, &d4, 17, 777, l4.data, l4.len, 1480);
    for (size_t i = 0; i < n; i++)
        rc |= put(g, &t, &frags[i]);
    l4.len = 0;
    pg_udp(&l4, 5060, 5060, big, 2000);
    n = pg_ipv6_fragments(frags, 8, &s6, &d6, 17, 778, l4.data, l4.len, 1448);
    for (size_t i = 0; i < n; i++)
        rc |= put(g, &t, &frags[i]);
    /* Malformed: IHL of 4, and a UDP length past the datagram. */
    udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "bad ihl");
    frame.data[14] = 0x44;
    rc |= put(g, &t, &frame);
    udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "bad udp");
    frame.data[14 + 20 + 4] = 0x0f;
    rc |= put(g, &t, &frame);
    rc |= pcapgen_close(g);

    printf("packets 32\nipv4 22\nipv6 7\nnot_ip 2\nreassembled 2\n"
           "malformed.ipv4_bad_header_length 1\nmalformed.udp_bad_length 1\n");
    return rc ? 1 : 0;
}

static int gen_link(const char *type, const char *fmt, const char *path)
{
    static const struct {
        const char *name;
        int link;
    } links[] = { { "ethernet", PG_LINK_ETHERNET }, { "sll", PG_LINK_SLL },
                  { "sll2", PG_LINK_SLL2 },         { "raw", PG_LINK_RAW },
                  { "null", PG_LINK_NULL },         { "loop", PG_LINK_LOOP } };
    enum pg_format f;
    int link = -1;
    pcapgen_t *g;
    pg_buf_t frame;
    cw_ns_t t = T0 + 123456789;
    int rc = 0;

    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (strcmp(type, links[i].name) == 0)
            link = links[i].link;
    if (strcmp(fmt, "pcap") == 0)
        f = PG_PCAP_US;
    else if (strcmp(fmt, "pcap-ns") == 0)
        f = PG_PCAP_NS;
    else if (strcmp(fmt, "pcapng") == 0)
        f = PG_PCAPNG;
    else
        link = -1;
    if (link < 0) {
        fprintf(stderr, "gencap: unknown link type or format\n");
        return 2;
    }
    g = pcapgen_open(path, f, link, 0);
    if (!g)
        return 1;
    for (int i = 0; i < 50; i++) {
        udp_frame(&frame, link, 0, i % 2 ? "2001:db8::10" : "192.0.2.10",
                  i % 2 ? "2001:db8::20" : "192.0.2.20", 5004, 5006, "media");
        rc |= pcapgen_write(g, t + (cw_ns_t)i * 20000001, frame.data, (uint32_t)frame.len,
                            (uint32_t)frame.len);
    }
    rc |= pcapgen_close(g);
    printf("packets 50\nipv4 25\nipv6 25\nudp 50\n");
    return rc ? 1 : 0;
}

static int gen_truncated(const char *path)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_US, PG_LINK_ETHERNET, 0);
    pg_buf_t frame;
    cw_ns_t t = T0;
    FILE *f;
    long size;
    int rc = 0;

    if (!g)
        return 1;
    for (int i = 0; i < 10; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002,
                  "a packet that will be cut");
        rc |= put(g, &t, &frame);
    }
    rc |= pcapgen_close(g);
    f = fopen(path, "r");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    if (truncate(path, size - 20) != 0)
        return 1;
    printf("packets 9\n");
    return rc ? 1 : 0;
}

static int gen_steps(const char *path, const char *start)
{
    /* Packets per step; step 4 is silent. */
    static const int counts[12] = { 3, 17, 40, 8, 0, 25, 1, 12, 33, 5, 20, 9 };
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_NS, PG_LINK_ETHERNET, 0);
    char *end = NULL;
    long long t0 = start ? strtoll(start, &end, 10) : 1700000000LL;
    static char text[1400];
    pg_buf_t frame;
    int rc = 0;

    if (!g || (start && (*end || t0 <= 0 || t0 % 10))) {
        fprintf(stderr, "gencap: START must be positive Unix seconds, a multiple of 10\n");
        return 2;
    }
    memset(text, 'v', sizeof(text) - 1);
    for (int k = 0; k < 12; k++) {
        uint64_t bytes = 0;

        for (int i = 0; i < counts[k]; i++) {
            /* Spread over the step: the first packet exactly at its start
             * (it belongs to this step), the last just before the next. */
            cw_ns_t ts = CW_SEC(t0 + 10 * k) + (cw_ns_t)i * (CW_SEC(10) - 1) / counts[k];
            size_t len = (size_t)(20 + (k * 37 + i * 11) % 1300);

            text[len] = '\0';
            udp_frame(&frame, PG_LINK_ETHERNET, 0, "192.0.2.1", "192.0.2.2", 5004, 5006, text);
            text[len] = 'v';
            rc |= pcapgen_write(g, ts, frame.data, (uint32_t)frame.len, (uint32_t)frame.len);
            bytes += frame.len;
        }
        printf("step %lld packets %d bytes %llu\n", t0 + 10 * (k + 1), counts[k],
               (unsigned long long)bytes);
    }
    rc |= pcapgen_close(g);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "mixed") == 0)
        return gen_mixed(argv[2]);
    if (argc == 5 && strcmp(argv[1], "link") == 0)
        return gen_link(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "truncated") == 0)
        return gen_truncated(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "steps") == 0)
        return gen_steps(argv[2], argc == 4 ? argv[3] : NULL);
    fprintf(stderr, "usage: gencap mixed FILE | link TYPE FMT FILE | truncated FILE |\n"
                    "       steps FILE [START]\n");
    return 2;
}
