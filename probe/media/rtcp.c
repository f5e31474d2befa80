/* rtcp: compound RTCP and XR VoIP metrics, and the far end's view of a
 * stream. */
#include "autoconf.h"

#include "media/rtcp.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
#define NTP_UNIX_OFFSET 2208988800ULL

#define RTCP_HDR_LEN 4
#define SR_INFO_LEN  20 /* NTP (8), RTP timestamp, packets, octets */
#define BLOCK_LEN    24
#define XR_VOIP_BT   7
#define XR_VOIP_LEN  36 /* the block including its 4-octet header */

/* Report blocks: n of them in [p, p + len). */
static int parse_blocks(const uint8_t *p, size_t len, unsigned n, uint32_t reporter,
                        rtcp_info_t *out)
{
    if (len < (size_t)n * BLOCK_LEN)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++, p += BLOCK_LEN) {
        rtcp_block_t *b;
        uint32_t cum;

        if (out->nblocks >= RTCP_MAX_BLOCKS) {
            out->blocks_dropped++;
            continue;
        }
        b = &out->blocks[out->nblocks++];
        b->reporter_ssrc = reporter;
        b->ssrc = cw_rd32(p);
        b->fraction_lost = p[4];
        cum = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
        /* A signed 24-bit count (RFC 3550 6.4.1). */
        b->cumulative_lost = (cum & 0x800000u) ? (int32_t)cum - 0x1000000 : (int32_t)cum;
        b->ext_highest_seq = cw_rd32(p + 8);
        b->jitter = cw_rd32(p + 12);
        b->lsr = cw_rd32(p + 16);
        b->dlsr = cw_rd32(p + 20);
    }
    return 0;
}

static int parse_sr(const uint8_t *body, size_t len, unsigned rc, rtcp_info_t *out)
{
    uint32_t ssrc;

    if (len < 4 + SR_INFO_LEN)
        return -EINVAL;
    ssrc = cw_rd32(body);
    if (!out->has_sr) {
        out->has_sr = true;
        out->sr.ssrc = ssrc;
        out->sr.ntp_sec = cw_rd32(body + 4);
        out->sr.ntp_frac = cw_rd32(body + 8);
        out->sr.rtp_ts = cw_rd32(body + 12);
        out->sr.packet_count = cw_rd32(body + 16);
        out->sr.octet_count = cw_rd32(body + 20);
    }
    /* Profile-specific extensions may follow the blocks: ignored. */
    return parse_blocks(body + 4 + SR_INFO_LEN, len - 4 - SR_INFO_LEN, rc, ssrc, out);
}

static int parse_rr(const uint8_t *body, size_t len, unsigned rc, rtcp_info_t *out)
{
    uint32_t ssrc;

    if (len < 4)
        return -EINVAL;
    ssrc = cw_rd32(body);
    if (!out->has_rr) {
        out->has_rr = true;
        out->rr_ssrc = ssrc;
    }
    return parse_blocks(body + 4, len - 4, rc, ssrc, out);
}

/* SDES: sc chunks, each an SSRC then items up to a null octet, padded to
 * a 32-bit boundary. */
static int parse_sdes(const uint8_t *body, size_t len, unsigned sc, rtcp_info_t *out)
{
    size_t off = 0;

    for (unsigned i = 0; i < sc; i++) {
        uint32_t ssrc;

        if (len - off < 4)
            return -EINVAL;
        ssrc = cw_rd32(body + off);
        off += 4;
        for (;;) {
            uint8_t type, ilen;

            if (off >= len)
                return -EINVAL; /* no terminating null item */
            type = body[off];
            if (type == 0) {
                off++;
                off = (off + 3) & ~(size_t)3;
                if (off > len)
                    return -EINVAL;
                break;
            }
            if (len - off < 2)
                return -EINVAL;
            ilen = body[off + 1];
            if (len - off - 2 < ilen)
                return -EINVAL;
            if (type == 1 && !out->has_cname) {
                size_t n = 0;

                /* Copy up to a stray NUL: the text is not trusted. */
                while (n < ilen && body[off + 2 + n] != 0)
                    n++;
                memcpy(out->cname, body + off + 2, n);
                out->cname[n] = 0;
                out->has_cname = true;
                out->cname_ssrc = ssrc;
            }
            off += 2 + (size_t)ilen;
        }
    }
    return 0;
}

static int parse_bye(const uint8_t *body, size_t len, unsigned sc, rtcp_info_t *out)
{
    size_t off = (size_t)sc * 4;

    if (len < off)
        return -EINVAL;
    out->has_bye = true;
    for (unsigned i = 0; i < sc; i++) {
        if (out->nbye >= RTCP_MAX_BYE)
            out->bye_dropped++;
        else
            out->bye_ssrc[out->nbye++] = cw_rd32(body + 4 * i);
    }
    /* An optional reason: a length octet and text. */
    if (off < len && (size_t)body[off] + 1 > len - off)
        return -EINVAL;
    return 0;
}

static void parse_voip(const uint8_t *p, uint32_t reporter, rtcp_info_t *out)
{
    rtcp_xr_voip_t *v;

    if (out->nvoip >= RTCP_MAX_VOIP) {
        out->voip_dropped++;
        return;
    }
    v = &out->voip[out->nvoip++];
    /* p is after the 4-octet block header (RFC 3611 4.7 figure). */
    v->reporter_ssrc = reporter;
    v->ssrc = cw_rd32(p);
    v->loss_rate = p[4];
    v->discard_rate = p[5];
    v->burst_density = p[6];
    v->gap_density = p[7];
    v->burst_duration_ms = cw_rd16(p + 8);
    v->gap_duration_ms = cw_rd16(p + 10);
    v->round_trip_ms = cw_rd16(p + 12);
    v->end_system_ms = cw_rd16(p + 14);
    v->signal_level_db = (int8_t)p[16];
    v->noise_level_db = (int8_t)p[17];
    v->rerl_db = p[18];
    v->gmin = p[19];
    v->r_factor = p[20];
    v->ext_r_factor = p[21];
    v->mos_lq = p[22];
    v->mos_cq = p[23];
    v->rx_config = p[24];
    /* p[25] reserved */
    v->jb_nominal_ms = cw_rd16(p + 26);
    v->jb_max_ms = cw_rd16(p + 28);
    v->jb_abs_max_ms = cw_rd16(p + 30);
}

/* XR: the sender's SSRC, then report blocks of type, type-specific octet,
 * and length in 32-bit words not counting the block header. */
static int parse_xr(const uint8_t *body, size_t len, rtcp_info_t *out)
{
    size_t off = 4;
    uint32_t ssrc;

    if (len < 4)
        return -EINVAL;
    ssrc = cw_rd32(body);
    if (!out->has_xr) {
        out->has_xr = true;
        out->xr_ssrc = ssrc;
    }
    while (off < len) {
        uint8_t bt;
        size_t blen;

        if (len - off < 4)
            return -EINVAL;
        bt = body[off];
        blen = (size_t)cw_rd16(body + off + 2) * 4;
        if (len - off - 4 < blen)
            return -EINVAL;
        if (bt == XR_VOIP_BT) {
            if (blen + 4 != XR_VOIP_LEN)
                return -EINVAL;
            parse_voip(body + off + 4, ssrc, out);
        }
        off += 4 + blen;
    }
    return 0;
}

int rtcp_parse(const uint8_t *buf, size_t len, rtcp_info_t *out)
{
    size_t off = 0;
    int rc = 0;

    if (!buf || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (len < RTCP_HDR_LEN)
        return -EINVAL;
    while (off < len) {
        const uint8_t *p = buf + off;
        size_t plen, blen;
        unsigned count;
        uint8_t type;

        if (len - off < RTCP_HDR_LEN || (p[0] >> 6) != 2)
            return -EINVAL;
        count = p[0] & 0x1f;
        type = p[1];
        plen = ((size_t)cw_rd16(p + 2) + 1) * 4;
        if (plen > len - off)
            return -EINVAL;
        if (off == 0 && (type < RTCP_SR || type > RTCP_APP) && type != RTCP_XR)
            return -EINVAL;
        blen = plen - RTCP_HDR_LEN;
        if (p[0] & 0x20) {
            /* Padding: only the last packet may have it (RFC 3550 6.4.1),
             * its count in the last octet, at least 1, within the body. */
            uint8_t pad = p[plen - 1];

            if (off + plen != len || pad == 0 || pad > blen)
                return -EINVAL;
            blen -= pad;
        }
        switch (type) {
        case RTCP_SR:
            rc = parse_sr(p + RTCP_HDR_LEN, blen, count, out);
            break;
        case RTCP_RR:
            rc = parse_rr(p + RTCP_HDR_LEN, blen, count, out);
            break;
        case RTCP_SDES:
            rc = parse_sdes(p + RTCP_HDR_LEN, blen, count, out);
            break;
        case RTCP_BYE:
            rc = parse_bye(p + RTCP_HDR_LEN, blen, count, out);
            break;
        case RTCP_XR:
            rc = parse_xr(p + RTCP_HDR_LEN, blen, out);
            break;
        default:
            out->unknown++;
            break;
        }
        if (rc)
            return rc;
        out->packets++;
        off += plen;
    }
    return 0;
}

uint32_t rtcp_ntp_mid(cw_ns_t t)
{
    uint64_t sec = (uint64_t)(t / CW_NS_PER_SEC) + NTP_UNIX_OFFSET;
    uint64_t ns = (uint64_t)(t % CW_NS_PER_SEC);
    uint32_t frac = (uint32_t)((ns << 32) / CW_NS_PER_SEC);

    return (uint32_t)((sec & 0xffff) << 16) | (frac >> 16);
}

uint32_t rtcp_sr_mid(const rtcp_sr_t *sr)
{
    return (sr->ntp_sec << 16) | (sr->ntp_frac >> 16);
}

int rtcp_rtt_ms(uint32_t arrival_mid, uint32_t lsr, uint32_t dlsr, double *rtt_ms)
{
    int32_t rtt;

    if (lsr == 0)
        return -ENODATA;
    /* Modular: the 16.16 clock wraps every 18 hours. */
    rtt = (int32_t)(arrival_mid - lsr - dlsr);
    if (rtt < 0)
        return -ERANGE;
    *rtt_ms = (double)rtt * 1000.0 / 65536.0;
    return 0;
}

/* ================================================================ far end */

struct rtcp_far {
    uint64_t reports;     /* RR/SR report blocks about this stream */
    double fraction_lost; /* percent, from the last block */
    int64_t cumulative_lost;
    double jitter_ms;
    double rtt_ms; /* NAN until an RR echoes an SR */
    uint64_t sr_count;
    uint32_t sr_packets; /* the sender's own count, from its last SR */
    bool has_xr;
    rtcp_xr_voip_t xr;
};

rtcp_far_t *rtcp_far_new(void)
{
    rtcp_far_t *far = cw_calloc(1, sizeof(*far));

    far->rtt_ms = NAN;
    return far;
}

void rtcp_far_free(rtcp_far_t *far)
{
    free(far);
}

bool rtcp_far_block(rtcp_far_t *far, const rtcp_block_t *b, uint32_t clock_rate, cw_ns_t now,
                    double *rtt_ms)
{
    double rtt;

    far->reports++;
    far->fraction_lost = b->fraction_lost * 100.0 / 256.0;
    far->cumulative_lost = b->cumulative_lost;
    far->jitter_ms = clock_rate ? b->jitter * 1000.0 / clock_rate : NAN;
    if (rtcp_rtt_ms(rtcp_ntp_mid(now), b->lsr, b->dlsr, &rtt) == 0 && rtt < 10000) {
        far->rtt_ms = *rtt_ms = rtt;
        return true;
    }
    return false;
}

void rtcp_far_sr(rtcp_far_t *far, const rtcp_sr_t *sr)
{
    far->sr_count++;
    far->sr_packets = sr->packet_count;
}

void rtcp_far_xr(rtcp_far_t *far, const rtcp_xr_voip_t *xr)
{
    far->has_xr = true;
    far->xr = *xr;
}

static json_t *xr_json(const rtcp_xr_voip_t *x)
{
    return json_pack("{s:f, s:f, s:o, s:o, s:o}", "loss_pct", x->loss_rate * 100.0 / 256,
                     "discard_pct", x->discard_rate * 100.0 / 256, "r_factor",
                     x->r_factor == 127 ? json_null() : json_integer(x->r_factor), "mos_lq",
                     x->mos_lq == 127 ? json_null() : json_real(x->mos_lq / 10.0), "round_trip_ms",
                     x->round_trip_ms ? json_integer(x->round_trip_ms) : json_null());
}

json_t *rtcp_far_json(const rtcp_far_t *far)
{
    json_t *r;

    if (!far || !(far->reports || far->sr_count || far->has_xr))
        return NULL;
    r = json_object();
    json_object_set_new(r, "reports", json_integer((json_int_t)far->reports));
    if (far->reports) {
        json_object_set_new(r, "fraction_lost_pct",
                            json_real(cw_round_to(far->fraction_lost, 0.01)));
        json_object_set_new(r, "cumulative_lost", json_integer(far->cumulative_lost));
        json_object_set_new(r, "jitter_ms",
                            isnan(far->jitter_ms) ? json_null()
                                                  : json_real(cw_round_to(far->jitter_ms, 0.001)));
    }
    json_object_set_new(
        r, "rtt_ms", isnan(far->rtt_ms) ? json_null() : json_real(cw_round_to(far->rtt_ms, 0.01)));
    json_object_set_new(r, "sender_reports", json_integer((json_int_t)far->sr_count));
    if (far->sr_count)
        json_object_set_new(r, "sender_packets", json_integer(far->sr_packets));
    if (far->has_xr)
        json_object_set_new(r, "xr", xr_json(&far->xr));
    return r;
}
