/* Compound RTCP: SR, RR, SDES, BYE, XR VoIP metrics; every truncation;
 * malformed lengths; round-trip time from LSR/DLSR. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/rtcp.h"

/* clang-format off */
/* Byte tables laid out by field. */
/* SR with one report block, then SDES with a CNAME: a typical compound. */
static const uint8_t sr_sdes[] = {
    /* SR, RC 1, length 12 words */
    0x81, 200, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, /* sender SSRC */
    0xe9, 0x1f, 0x6a, 0x80, 0x40, 0x00, 0x00, 0x00, /* NTP 3911674496.25 */
    0x00, 0x01, 0x00, 0x00,                         /* RTP timestamp 65536 */
    0x00, 0x00, 0x01, 0xf4, 0x00, 0x01, 0x38, 0x80, /* 500 packets, 80000 octets */
    /* report block on 0x55667788 */
    0x55, 0x66, 0x77, 0x88, 0x19, 0xff, 0xff, 0xfe, /* fraction 25, cumulative -2 */
    0x00, 0x01, 0x03, 0xe8,                         /* cycles 1, highest 1000 */
    0x00, 0x00, 0x00, 0x50,                         /* jitter 80 */
    0x6a, 0x80, 0x40, 0x00,                         /* LSR */
    0x00, 0x00, 0x80, 0x00,                         /* DLSR 0.5 s */
    /* SDES, SC 1, length 5 words: CNAME "alice@host", null item, padding */
    0x81, 202, 0x00, 0x05, 0x11, 0x22, 0x33, 0x44, 0x01, 10, 'a', 'l', 'i', 'c', 'e', '@', 'h',
    'o', 's', 't', 0x00, 0x00, 0x00, 0x00,
};

/* RR with two blocks, BYE with a reason, XR with a VoIP metrics block. */
static const uint8_t rr_bye_xr[] = {
    /* RR, RC 2, length 13 words */
    0x82, 201, 0x00, 0x0d, 0xaa, 0xbb, 0xcc, 0xdd,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x7f, 0xff, 0xff, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
    0x21, 0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x00,
    /* BYE, SC 1, length 2 words: SSRC, reason "bye" */
    0x81, 203, 0x00, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 3, 'b', 'y', 'e',
    /* XR, length 10 words: SSRC, VoIP metrics block (BT 7, length 8) */
    0x80, 207, 0x00, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd, 7, 0, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01,
    13, 2, 50, 5, 0x00, 0x3c, 0x01, 0xf4, 0x00, 0x28, 0x00, 0x50, 0xe2, 0xb5, 25, 16, 88, 90,
    41, 40, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x78, 0x00, 0xc8,
};

/* clang-format on */

static void test_sr_sdes(void **state)
{
    rtcp_info_t info;

    (void)state;
    assert_int_equal(rtcp_parse(sr_sdes, sizeof(sr_sdes), &info), 0);
    assert_int_equal(info.packets, 2);
    assert_true(info.has_sr);
    assert_int_equal(info.sr.ssrc, 0x11223344);
    assert_int_equal(info.sr.ntp_sec, 0xe91f6a80);
    assert_int_equal(info.sr.ntp_frac, 0x40000000);
    assert_int_equal(info.sr.rtp_ts, 65536);
    assert_int_equal(info.sr.packet_count, 500);
    assert_int_equal(info.sr.octet_count, 80000);
    assert_int_equal(rtcp_sr_mid(&info.sr), 0x6a804000);
    assert_int_equal(info.nblocks, 1);
    assert_int_equal(info.blocks[0].reporter_ssrc, 0x11223344);
    assert_int_equal(info.blocks[0].ssrc, 0x55667788);
    assert_int_equal(info.blocks[0].fraction_lost, 25);
    assert_int_equal(info.blocks[0].cumulative_lost, -2);
    assert_int_equal(info.blocks[0].ext_highest_seq, 0x000103e8);
    assert_int_equal(info.blocks[0].jitter, 80);
    assert_int_equal(info.blocks[0].lsr, 0x6a804000);
    assert_int_equal(info.blocks[0].dlsr, 0x8000);
    assert_true(info.has_cname);
    assert_string_equal(info.cname, "alice@host");
    assert_int_equal(info.cname_ssrc, 0x11223344);
}

static void test_rr_bye_xr(void **state)
{
    rtcp_info_t info;
    const rtcp_xr_voip_t *v;

    (void)state;
    assert_int_equal(rtcp_parse(rr_bye_xr, sizeof(rr_bye_xr), &info), 0);
    assert_int_equal(info.packets, 3);
    assert_true(info.has_rr);
    assert_false(info.has_sr);
    assert_int_equal(info.rr_ssrc, 0xaabbccdd);
    assert_int_equal(info.nblocks, 2);
    assert_int_equal(info.blocks[0].cumulative_lost, 0x7fffff); /* largest positive */
    assert_int_equal(info.blocks[1].fraction_lost, 128);
    assert_int_equal(info.blocks[1].cumulative_lost, -8388608); /* 0x800000 */
    assert_int_equal(info.blocks[1].lsr, 0x12345678);
    assert_true(info.has_bye);
    assert_int_equal(info.nbye, 1);
    assert_int_equal(info.bye_ssrc[0], 0xaabbccdd);
    assert_true(info.has_xr);
    assert_int_equal(info.nvoip, 1);
    v = &info.voip[0];
    assert_int_equal(v->reporter_ssrc, 0xaabbccdd);
    assert_int_equal(v->ssrc, 1);
    assert_int_equal(v->loss_rate, 13);
    assert_int_equal(v->discard_rate, 2);
    assert_int_equal(v->burst_density, 50);
    assert_int_equal(v->gap_density, 5);
    assert_int_equal(v->burst_duration_ms, 60);
    assert_int_equal(v->gap_duration_ms, 500);
    assert_int_equal(v->round_trip_ms, 40);
    assert_int_equal(v->end_system_ms, 80);
    assert_int_equal(v->signal_level_db, -30);
    assert_int_equal(v->noise_level_db, -75);
    assert_int_equal(v->rerl_db, 25);
    assert_int_equal(v->gmin, 16);
    assert_int_equal(v->r_factor, 88);
    assert_int_equal(v->ext_r_factor, 90);
    assert_int_equal(v->mos_lq, 41);
    assert_int_equal(v->mos_cq, 40);
    assert_int_equal(v->jb_nominal_ms, 60);
    assert_int_equal(v->jb_max_ms, 120);
    assert_int_equal(v->jb_abs_max_ms, 200);
}

/* Every prefix of a valid compound is invalid, the packet lengths no longer
 * adding up to the datagram, except a prefix ending on a packet boundary,
 * which is the compound of the packets before it.  Trailing bytes are
 * invalid too. */
static void test_truncations(void **state)
{
    const struct {
        const uint8_t *p;
        size_t len;
    } valid[] = { { sr_sdes, sizeof(sr_sdes) }, { rr_bye_xr, sizeof(rr_bye_xr) } };
    uint8_t buf[256];
    rtcp_info_t info;

    (void)state;
    for (size_t v = 0; v < 2; v++) {
        for (size_t len = 0; len < valid[v].len; len++) {
            /* A copy of exactly len bytes, so ASan sees any read past it. */
            uint8_t *cut = test_malloc(len ? len : 1);

            unsigned before = 0;
            size_t off = 0;

            /* Packets that end exactly at len, if len is a boundary. */
            while (off < len) {
                off += ((size_t)((valid[v].p[off + 2] << 8) | valid[v].p[off + 3]) + 1) * 4;
                before++;
            }
            memcpy(cut, valid[v].p, len);
            if (len > 0 && off == len) {
                if (rtcp_parse(cut, len, &info) != 0 || info.packets != before)
                    fail_msg("compound %zu cut at the boundary %zu: not %u packets", v, len,
                             before);
            } else if (rtcp_parse(cut, len, &info) != -EINVAL) {
                fail_msg("compound %zu cut to %zu bytes parsed", v, len);
            }
            test_free(cut);
        }
        memcpy(buf, valid[v].p, valid[v].len);
        buf[valid[v].len] = 0;
        assert_int_equal(rtcp_parse(buf, valid[v].len + 1, &info), -EINVAL);
        memset(buf + valid[v].len, 0, 4);
        assert_int_equal(rtcp_parse(buf, valid[v].len + 4, &info), -EINVAL);
    }
}

/* clang-format off */
struct bad_case {
    const char *what;
    uint8_t pkt[40];
    size_t len;
};

static const struct bad_case bad_cases[] = {
    { "version 1", { 0x40, 201, 0x00, 0x01, 1, 2, 3, 4 }, 8 },
    { "length past the end", { 0x80, 201, 0x00, 0x02, 1, 2, 3, 4 }, 8 },
    { "RC larger than the packet", { 0x81, 201, 0x00, 0x01, 1, 2, 3, 4 }, 8 },
    { "SR too short", { 0x80, 200, 0x00, 0x01, 1, 2, 3, 4 }, 8 },
    { "first packet not a report", { 0x80, 199, 0x00, 0x01, 1, 2, 3, 4 }, 8 },
    { "padding count 0", { 0xa0, 201, 0x00, 0x01, 1, 2, 3, 0 }, 8 },
    { "padding past the body", { 0xa0, 201, 0x00, 0x01, 1, 2, 3, 9 }, 8 },
    { "padding not in the last packet",
      { 0xa0, 201, 0x00, 0x01, 1, 2, 3, 4, 0x80, 201, 0x00, 0x01, 1, 2, 3, 4 },
      16 },
    { "SDES item past the chunk", { 0x81, 202, 0x00, 0x02, 1, 2, 3, 4, 1, 9, 'a', 'b' }, 12 },
    { "SDES without a null item", { 0x81, 202, 0x00, 0x02, 1, 2, 3, 4, 1, 2, 'a', 'b' }, 12 },
    { "BYE reason past the end", { 0x81, 203, 0x00, 0x02, 1, 2, 3, 4, 9, 'x', 'y', 'z' }, 12 },
    { "XR block past the end", { 0x80, 207, 0x00, 0x02, 1, 2, 3, 4, 7, 0, 0x00, 0x08 }, 12 },
    { "XR VoIP block of the wrong size",
      { 0x80, 207, 0x00, 0x03, 1, 2, 3, 4, 7, 0, 0x00, 0x01, 0, 0, 0, 1 },
      16 },
    { "shorter than a header", { 0x80, 201 }, 2 },
};

/* clang-format on */

static void test_malformed(void **state)
{
    rtcp_info_t info;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        if (rtcp_parse(bad_cases[i].pkt, bad_cases[i].len, &info) != -EINVAL)
            fail_msg("%s: parsed", bad_cases[i].what);
    assert_int_equal(rtcp_parse(NULL, 8, &info), -EINVAL);
}

static void test_reduced_and_unknown(void **state)
{
    /* An empty RR, then APP and a feedback packet: skipped, counted. */
    static const uint8_t p[] = { 0x80, 201,  0x00, 0x01, 1, 2,   3,   4,   0x80, 204,  0x00,
                                 0x02, 1,    2,    3,    4, 'n', 'a', 'm', 'e',  0x81, 205,
                                 0x00, 0x02, 1,    2,    3, 4,   5,   6,   7,    8 };
    /* Padding on the last packet: 4 octets of it. */
    static const uint8_t padded[] = { 0xa0, 201, 0x00, 0x02, 1, 2, 3, 4, 0, 0, 0, 4 };
    rtcp_info_t info;

    (void)state;
    assert_int_equal(rtcp_parse(p, sizeof(p), &info), 0);
    assert_int_equal(info.packets, 3);
    assert_int_equal(info.unknown, 2);
    assert_int_equal(info.nblocks, 0);
    assert_int_equal(rtcp_parse(padded, sizeof(padded), &info), 0);
    assert_int_equal(info.rr_ssrc, 0x01020304);
}

struct rtt_case {
    uint32_t arrival, lsr, dlsr;
    int rc;
    double ms;
};

static const struct rtt_case rtt_cases[] = {
    { 0x00018000, 0x00010000, 0x00004000, 0, 250.0 }, /* 1.5 - 1 - 0.25 s */
    { 0x00000800, 0xfffff000, 0x00000800, 0, 62.5 },  /* across the 16.16 wrap */
    { 0x00010000, 0x00010000, 0x00000000, 0, 0.0 },
    { 0x00010000, 0x00000000, 0x00000000, -ENODATA, 0 }, /* no SR received yet */
    { 0x00010000, 0x00010000, 0x00001000, -ERANGE, 0 },  /* DLSR beyond the arrival */
};

static void test_rtt(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rtt_cases) / sizeof(rtt_cases[0]); i++) {
        double ms = -1;
        int rc = rtcp_rtt_ms(rtt_cases[i].arrival, rtt_cases[i].lsr, rtt_cases[i].dlsr, &ms);

        assert_int_equal(rc, rtt_cases[i].rc);
        if (rc == 0 && (ms < rtt_cases[i].ms - 1e-9 || ms > rtt_cases[i].ms + 1e-9))
            fail_msg("case %zu: %.6f ms, want %.6f", i, ms, rtt_cases[i].ms);
    }
    /* The Unix epoch is NTP 2208988800 = 0x83aa7e80 seconds. */
    assert_int_equal(rtcp_ntp_mid(0), 0x7e800000);
    assert_int_equal(rtcp_ntp_mid(CW_SEC(1) + CW_NS_PER_SEC / 2), 0x7e818000);
    /* A report arriving 120 ms after an SR it answers with DLSR 100 ms. */
    {
        cw_ns_t sr_t = CW_SEC(1700000000);
        uint32_t lsr = rtcp_ntp_mid(sr_t);
        uint32_t dlsr = (uint32_t)(0.100 * 65536);
        double ms;

        assert_int_equal(rtcp_rtt_ms(rtcp_ntp_mid(sr_t + 120 * CW_NS_PER_MS), lsr, dlsr, &ms), 0);
        assert_true(ms > 19.9 && ms < 20.1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sr_sdes),
        cmocka_unit_test(test_rr_bye_xr),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reduced_and_unknown),
        cmocka_unit_test(test_rtt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
