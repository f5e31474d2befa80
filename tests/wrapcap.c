/* wrapcap: rewrites a capture with every frame wrapped in encapsulations,
 * keeping the timestamps, so that any capture can be read as a tunnel or a
 * mirror would deliver it.
 *
 *   wrapcap [--fragment MTU] KINDS IN OUT
 *                      KINDS: one or more of `wrapcap list`, innermost
 *                      first, comma-separated ("vxlan,gre,mpls" is VXLAN in
 *                      GRE in MPLS); OUT is an Ethernet pcap with nanosecond
 *                      timestamps.  Frames that carry no IP where a kind
 *                      needs IP are written as they are (as Ethernet).  With
 *                      --fragment, an outer IPv4 packet longer than MTU
 *                      bytes is sent in fragments.
 *   wrapcap payloads KIND IN OUT
 *                      KIND tzsp or vxlan: writes each frame of IN wrapped
 *                      in KIND's header alone, as the payload of the UDP
 *                      datagram a mirror would send: a 4-byte big-endian
 *                      length, then the payload (for tests/mirror_send.py)
 *   wrapcap seeds DIR  fuzz seeds for fuzz_tunnel: SIP and RTP frames in
 *                      every kind and a few nestings
 *   wrapcap list       the kinds
 *
 * Prints "frames N wrapped W as-is A". */
#include "autoconf.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

static int linktype_of(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return PG_LINK_ETHERNET;
    case DLT_LINUX_SLL:
        return PG_LINK_SLL;
    case DLT_RAW:
        return PG_LINK_RAW;
    case DLT_NULL:
        return PG_LINK_NULL;
    case DLT_LOOP:
        return PG_LINK_LOOP;
    default:
        return dlt == 276 ? PG_LINK_SLL2 : -1;
    }
}

/* Writes frame, cut back by `missing` bytes (the snap length's cut), in
 * IPv4 fragments of at most mtu bytes when mtu is set and it is an
 * Ethernet/IPv4 frame longer than that. */
static int write_frame(pcapgen_t *g, cw_ns_t ts, const pg_buf_t *f, uint32_t missing, size_t mtu)
{
    static pg_buf_t frags[64];
    const uint8_t *ip = f->data + 14;
    size_t hlen, n;
    cw_addr_t s, d;
    int rc = 0;

    if (!mtu || missing || f->len < 34 || f->data[12] != 0x08 || f->data[13] != 0x00 ||
        f->len - 14 <= mtu || (ip[6] & 0x3f) || ip[7])
        return pcapgen_write(g, ts, f->data, (uint32_t)(f->len - missing), (uint32_t)f->len);
    hlen = (size_t)(ip[0] & 15) * 4;
    s.family = d.family = 4;
    memcpy(s.bytes, ip + 12, 4);
    memcpy(d.bytes, ip + 16, 4);
    n = pg_ipv4_fragments(frags, 64, &s, &d, ip[9], (uint16_t)(ip[4] << 8 | ip[5]), ip + hlen,
                          f->len - 14 - hlen, mtu - 20);
    for (size_t i = 0; i < n; i++)
        rc |= pcapgen_write(g, ts, frags[i].data, (uint32_t)frags[i].len, (uint32_t)frags[i].len);
    return rc;
}

static int wrap_file(const char *kinds, const char *in, const char *out, size_t mtu)
{
    static pg_buf_t frame, wrapped;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    long frames = 0, done = 0, asis = 0;
    pcapgen_t *g;
    int lt, rc = 0;

    if (!p) {
        fprintf(stderr, "wrapcap: %s: %s\n", in, err);
        return 1;
    }
    if ((lt = linktype_of(pcap_datalink(p))) < 0) {
        fprintf(stderr, "wrapcap: %s: link type %d is not one wrapcap reads\n", in,
                pcap_datalink(p));
        pcap_close(p);
        return 1;
    }
    if (!(g = pcapgen_open(out, PG_PCAP_NS, PG_LINK_ETHERNET, 0))) {
        fprintf(stderr, "wrapcap: %s: %s\n", out, strerror(errno));
        pcap_close(p);
        return 1;
    }
    while (rc == 0 && pcap_next_ex(p, &h, &data) == 1) {
        cw_ns_t ts = (cw_ns_t)h->ts.tv_sec * CW_NS_PER_SEC + (cw_ns_t)h->ts.tv_usec;
        uint32_t missing = h->len > h->caplen ? h->len - h->caplen : 0;
        int w;

        /* A frame cut by the snap length is wrapped whole (the missing
         * bytes as zeros), then cut as much again. */
        frame.len = 0;
        memcpy(frame.data, data, h->caplen);
        memset(frame.data + h->caplen, 0, missing);
        frame.len = h->caplen + missing;
        frames++;
        w = pg_wrap(&wrapped, kinds, lt, frame.data, frame.len);
        if (w == -EINVAL) {
            fprintf(stderr, "wrapcap: unknown kind in \"%s\" (see wrapcap list)\n", kinds);
            rc = 2;
            break;
        }
        if (w == 0) {
            done++;
            rc = write_frame(g, ts, &wrapped, missing, mtu);
        } else if (pg_wrap(&wrapped, "", lt, frame.data, frame.len) == 0) {
            asis++; /* no IP to carry, or too big: as it is */
            rc = write_frame(g, ts, &wrapped, missing, 0);
        }
    }
    pcap_close(p);
    if (pcapgen_close(g) != 0 || rc == 1) {
        fprintf(stderr, "wrapcap: %s: write failed\n", out);
        return 1;
    }
    if (rc == 0)
        printf("frames %ld wrapped %ld as-is %ld\n", frames, done, asis);
    return rc;
}

/* The datagram payloads a TZSP or VXLAN mirror would send for each frame. */
static int payloads(const char *kind, const char *in, const char *out)
{
    static pg_buf_t frame, pay;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    FILE *f;
    long n = 0;
    int lt;

    if (strcmp(kind, "tzsp") != 0 && strcmp(kind, "vxlan") != 0) {
        fprintf(stderr, "wrapcap: payloads: kind is tzsp or vxlan\n");
        return 2;
    }
    if (!p || (lt = linktype_of(pcap_datalink(p))) < 0 || !(f = fopen(out, "wb"))) {
        fprintf(stderr, "wrapcap: payloads: cannot read %s or write %s\n", in, out);
        if (p)
            pcap_close(p);
        return 1;
    }
    while (pcap_next_ex(p, &h, &data) == 1) {
        uint8_t len[4];

        if (pg_wrap(&frame, "", lt, data, h->caplen) != 0)
            continue;
        pay.len = 0;
        if (kind[0] == 't')
            pg_tzsp(&pay, n % 2 == 0, frame.data, frame.len);
        else
            pg_vxlan(&pay, 5001, frame.data, frame.len);
        len[0] = (uint8_t)(pay.len >> 24);
        len[1] = (uint8_t)(pay.len >> 16);
        len[2] = (uint8_t)(pay.len >> 8);
        len[3] = (uint8_t)pay.len;
        fwrite(len, 1, 4, f);
        fwrite(pay.data, 1, pay.len, f);
        n++;
    }
    pcap_close(p);
    if (fclose(f) != 0)
        return 1;
    printf("payloads %ld\n", n);
    return 0;
}

/* One seed file: the fuzz target's two leading bytes, then the frame. */
static int seed(const char *dir, const char *name, uint8_t link, const pg_buf_t *f)
{
    char path[4096];
    FILE *out;
    uint8_t head[2] = { link, 0 };
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(out = fopen(path, "wb")))
        return 1;
    rc = fwrite(head, 1, 2, out) != 2 || fwrite(f->data, 1, f->len, out) != f->len;
    return (fclose(out) != 0) | rc;
}

static int seeds(const char *dir)
{
    static const char *const nested[] = { "vxlan,gre,mpls",
                                          "gtpu,ipip",
                                          "tzsp,gre-all",
                                          "erspan3-sub,pppoe",
                                          "geneve-opts,ip6ip",
                                          "vxlan,vxlan,vxlan,vxlan",
                                          "vxlan,vxlan,vxlan,vxlan,vxlan" };
    static const char sip[] = "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: seed\r\n\r\n";
    static const uint8_t rtp[32] = { 0x80, 0x00, 0x12, 0x34, 0, 0, 0, 160, 1, 2, 3, 4 };
    static pg_buf_t base[2], w;
    const char *const *kinds = pg_wrap_kinds();
    char name[128];
    int rc = 0;

    pg_eth_udp(&base[0], "10.0.0.1", 5060, "10.0.0.2", 5060, sip, sizeof(sip) - 1);
    pg_eth_udp(&base[1], "2001:db8::1", 40000, "2001:db8::2", 40002, rtp, sizeof(rtp));
    for (int b = 0; b < 2; b++) {
        for (size_t i = 0; kinds[i]; i++) {
            if (pg_wrap(&w, kinds[i], PG_LINK_ETHERNET, base[b].data, base[b].len) != 0)
                continue;
            snprintf(name, sizeof(name), "%s-%s", b ? "rtp" : "sip", kinds[i]);
            rc |= seed(dir, name, 0, &w);
        }
        for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
            if (pg_wrap(&w, nested[i], PG_LINK_ETHERNET, base[b].data, base[b].len) != 0)
                continue;
            snprintf(name, sizeof(name), "%s-nested%zu", b ? "rtp" : "sip", i);
            rc |= seed(dir, name, 0, &w);
        }
        /* As a mirror socket hands them over: the link byte 1 is TZSP, 2 VXLAN. */
        w.len = 0;
        pg_tzsp(&w, true, base[b].data, base[b].len);
        snprintf(name, sizeof(name), "%s-mirror-tzsp", b ? "rtp" : "sip");
        rc |= seed(dir, name, 1, &w);
        w.len = 0;
        pg_vxlan(&w, 1, base[b].data, base[b].len);
        snprintf(name, sizeof(name), "%s-mirror-vxlan", b ? "rtp" : "sip");
        rc |= seed(dir, name, 2, &w);
    }
    return rc;
}

int main(int argc, char **argv)
{
    size_t mtu = 0;

    if (argc >= 3 && strcmp(argv[1], "--fragment") == 0) {
        mtu = (size_t)atol(argv[2]);
        if (mtu < 68) {
            fprintf(stderr, "wrapcap: --fragment MTU: at least 68\n");
            return 2;
        }
        argc -= 2;
        argv += 2;
    }
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (const char *const *k = pg_wrap_kinds(); *k; k++)
            printf("%s\n", *k);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "seeds") == 0)
        return seeds(argv[2]);
    if (argc == 5 && strcmp(argv[1], "payloads") == 0)
        return payloads(argv[2], argv[3], argv[4]);
    if (argc == 4)
        return wrap_file(argv[1], argv[2], argv[3], mtu);
    fprintf(stderr, "usage: wrapcap [--fragment MTU] KINDS IN OUT | payloads tzsp|vxlan IN OUT | "
                    "seeds DIR | list\n");
    return 2;
}
