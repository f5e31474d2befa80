/* rtp: header parsing and the payload type tables. */
#include "autoconf.h"

#include "media/rtp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* ================================================================ header */

int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr_t *out)
{
    size_t off = RTP_HDR_LEN, end = len;

    if (!buf || !out || len < RTP_HDR_LEN)
        return -EINVAL;
    /* Every field but the CSRCs past cc: zeroing those too would cost
     * more than the rest of the parse. */
    out->version = buf[0] >> 6;
    out->ext_profile = 0;
    out->ext_data = NULL;
    out->ext_len = 0;
    out->pad_len = 0;
    out->payload = NULL;
    out->payload_len = 0;
    if (out->version != 2)
        return -EINVAL;
    out->padding = (buf[0] & 0x20) != 0;
    out->extension = (buf[0] & 0x10) != 0;
    out->cc = buf[0] & 0x0f;
    out->marker = (buf[1] & 0x80) != 0;
    out->pt = buf[1] & 0x7f;
    out->seq = cw_rd16(buf + 2);
    out->ts = cw_rd32(buf + 4);
    out->ssrc = cw_rd32(buf + 8);

    if (len - off < (size_t)out->cc * 4)
        return -EINVAL;
    for (unsigned i = 0; i < out->cc; i++, off += 4)
        out->csrc[i] = cw_rd32(buf + off);

    if (out->extension) {
        size_t words;

        if (len - off < 4)
            return -EINVAL;
        out->ext_profile = cw_rd16(buf + off);
        words = cw_rd16(buf + off + 2);
        off += 4;
        if (len - off < words * 4)
            return -EINVAL;
        out->ext_data = buf + off;
        out->ext_len = words * 4;
        off += words * 4;
    }

    if (out->padding) {
        /* The last octet counts the padding, itself included (RFC 3550
         * 5.1); it cannot be 0 nor reach into the headers. */
        uint8_t pad = buf[len - 1];

        if (len == off || pad == 0 || pad > len - off)
            return -EINVAL;
        out->pad_len = pad;
        end = len - pad;
    }
    out->payload = buf + off;
    out->payload_len = end - off;
    return 0;
}

/* ================================================================ payload types */

/* RFC 3551 tables 4 and 5; 1, 2 and 19 as IANA kept them (reserved,
 * formerly 1016, G721 and CN). */
const rtp_pt_info_t rtp_pt_table[128] = {
    [0] = { "PCMU", 8000, 1, RTP_MEDIA_AUDIO },
    [1] = { "1016", 8000, 1, RTP_MEDIA_AUDIO },
    [2] = { "G721", 8000, 1, RTP_MEDIA_AUDIO },
    [3] = { "GSM", 8000, 1, RTP_MEDIA_AUDIO },
    [4] = { "G723", 8000, 1, RTP_MEDIA_AUDIO },
    [5] = { "DVI4", 8000, 1, RTP_MEDIA_AUDIO },
    [6] = { "DVI4", 16000, 1, RTP_MEDIA_AUDIO },
    [7] = { "LPC", 8000, 1, RTP_MEDIA_AUDIO },
    [8] = { "PCMA", 8000, 1, RTP_MEDIA_AUDIO },
    /* G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551 4.5.2). */
    [9] = { "G722", 8000, 1, RTP_MEDIA_AUDIO },
    [10] = { "L16", 44100, 2, RTP_MEDIA_AUDIO },
    [11] = { "L16", 44100, 1, RTP_MEDIA_AUDIO },
    [12] = { "QCELP", 8000, 1, RTP_MEDIA_AUDIO },
    [13] = { "CN", 8000, 1, RTP_MEDIA_AUDIO },
    [14] = { "MPA", 90000, 0, RTP_MEDIA_AUDIO },
    [15] = { "G728", 8000, 1, RTP_MEDIA_AUDIO },
    [16] = { "DVI4", 11025, 1, RTP_MEDIA_AUDIO },
    [17] = { "DVI4", 22050, 1, RTP_MEDIA_AUDIO },
    [18] = { "G729", 8000, 1, RTP_MEDIA_AUDIO },
    [19] = { "CN", 8000, 1, RTP_MEDIA_AUDIO },
    [25] = { "CelB", 90000, 0, RTP_MEDIA_VIDEO },
    [26] = { "JPEG", 90000, 0, RTP_MEDIA_VIDEO },
    [28] = { "nv", 90000, 0, RTP_MEDIA_VIDEO },
    [31] = { "H261", 90000, 0, RTP_MEDIA_VIDEO },
    [32] = { "MPV", 90000, 0, RTP_MEDIA_VIDEO },
    [33] = { "MP2T", 90000, 0, RTP_MEDIA_BOTH },
    [34] = { "H263", 90000, 0, RTP_MEDIA_VIDEO },
};

/* Clock rates of dynamic encodings by name (IANA media types registry and
 * the RFCs defining them), for rtpmap lines that omit a usable rate. */
static const struct {
    const char *name;
    uint32_t rate;
} name_rates[] = {
    { "AMR", 8000 },
    { "AMR-WB", 16000 },
    { "EVRC", 8000 },
    { "EVRCB", 8000 },
    { "EVRCWB", 16000 },
    { "EVS", 16000 },
    { "G7221", 16000 },
    { "G726-16", 8000 },
    { "G726-24", 8000 },
    { "G726-32", 8000 },
    { "G726-40", 8000 },
    { "G729D", 8000 },
    { "G729E", 8000 },
    { "GSM-EFR", 8000 },
    { "iLBC", 8000 },
    { "opus", 48000 },
    { "SILK", 16000 },
    { "speex", 8000 },
    { "telephone-event", 8000 },
    { "red", 1000 },
    { "t140", 1000 },
    { "H264", 90000 },
    { "VP8", 90000 },
    { "VP9", 90000 },
    { "H265", 90000 },
};

uint32_t rtp_name_clock_rate(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof(name_rates) / sizeof(name_rates[0]); i++)
        if (strcasecmp(name, name_rates[i].name) == 0)
            return name_rates[i].rate;
    return 0;
}

enum rtp_payload_kind rtp_name_kind(const char *name)
{
    if (strncasecmp(name, "telephone-event", 15) == 0)
        return RTP_KIND_EVENT;
    if (strcasecmp(name, "CN") == 0)
        return RTP_KIND_CN;
    return RTP_KIND_VOICE;
}
