/* rtp: header parsing and the payload type tables. */
#include "autoconf.h"

#include "media/rtp.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
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

/* ---- payload type maps from SDP */

#define MAX_MAPPED 16

/* An SDP mapping; the name is interned (see intern()). */
struct pt_map {
    uint8_t pt;
    uint8_t kind; /* enum rtp_payload_kind */
    uint32_t clock;
    const char *name;
};

struct rtp_codec_map {
    uint8_t n;
    struct pt_map m[MAX_MAPPED];
};

/* Codec names are few (PCMU, opus, telephone-event...): each distinct one
 * is kept once for the whole process.  SDP is wire data, so their number
 * is bounded: past INTERN_MAX, further names share one label. */
#define INTERN_MAX 1024

static const char *intern(const char *name)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char *names[INTERN_MAX];
    static size_t n;
    const char *found = NULL;
    char cut[RTP_CODEC_NAME_MAX];

    cw_strlcpy(cut, name, sizeof(cut));
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(names[i], cut) == 0)
            found = names[i];
    if (!found && n < INTERN_MAX)
        found = names[n++] = cw_strdup(cut);
    pthread_mutex_unlock(&lock);
    return found ? found : "other";
}

static const struct pt_map *map_find(const rtp_codec_map_t *cm, uint8_t pt)
{
    if (cm)
        for (uint8_t i = 0; i < cm->n; i++)
            if (cm->m[i].pt == pt)
                return &cm->m[i];
    return NULL;
}

enum rtp_payload_kind rtp_codec_kind(const rtp_codec_map_t *cm, uint8_t pt)
{
    const struct pt_map *m = map_find(cm, pt);

    if (m)
        return (enum rtp_payload_kind)m->kind;
    return rtp_pt_is_cn(pt) ? RTP_KIND_CN : RTP_KIND_VOICE;
}

uint32_t rtp_codec_clock(const rtp_codec_map_t *cm, uint8_t pt)
{
    const struct pt_map *m = map_find(cm, pt);
    const rtp_pt_info_t *info;

    if (m)
        return m->clock;
    info = rtp_pt_lookup(pt);
    return info ? info->clock_rate : 0;
}

uint32_t rtp_codec_ws_clock(const rtp_codec_map_t *cm, uint8_t pt)
{
    const struct pt_map *m;
    const rtp_pt_info_t *info;

    if (pt < 96) {
        info = rtp_pt_lookup(pt);
        return info ? info->clock_rate : 0;
    }
    m = map_find(cm, pt);
    if (!m || m->kind == RTP_KIND_EVENT)
        return 0;
    return m->clock;
}

const char *rtp_codec_name(const rtp_codec_map_t *cm, uint8_t pt)
{
    const struct pt_map *m = map_find(cm, pt);
    const rtp_pt_info_t *info = rtp_pt_lookup(pt);

    if (m)
        return m->name;
    return info ? info->name : "";
}

rtp_codec_map_t *rtp_codec_map_dup(const rtp_codec_map_t *cm)
{
    rtp_codec_map_t *copy = rtp_codec_map_new();

    if (cm)
        *copy = *cm;
    return copy;
}

rtp_codec_map_t *rtp_codec_map_new(void)
{
    return cw_calloc(1, sizeof(rtp_codec_map_t));
}

void rtp_codec_map_free(rtp_codec_map_t *cm)
{
    free(cm);
}

int rtp_codec_map_set(rtp_codec_map_t *cm, uint8_t pt, const char *name, uint32_t clock_rate)
{
    struct pt_map *m = NULL;

    if (!cm || pt >= 128 || !name || !*name)
        return -EINVAL;
    for (uint8_t i = 0; i < cm->n && !m; i++)
        if (cm->m[i].pt == pt)
            m = &cm->m[i];
    if (!m) {
        if (cm->n >= MAX_MAPPED)
            return -ENOSPC;
        m = &cm->m[cm->n++];
    }
    m->pt = pt;
    m->name = intern(name);
    m->clock = clock_rate ? clock_rate : rtp_name_clock_rate(name);
    m->kind = (uint8_t)rtp_name_kind(name);
    return 0;
}

/* ---- codec sets */

#define CSET_BUCKETS 1024 /* distinct codec sets are few */

/* The named codecs of one SDP media line and the map made of them. */
struct codec_set {
    struct codec_set *hnext;
    uint32_t hash;
    uint32_t refs;
    rtp_codec_map_t map; /* what the streams' statistics read */
    uint8_t n;
    sdp_codec_t c[]; /* the key, in SDP order */
};

struct rtp_codec_sets {
    struct codec_set *h[CSET_BUCKETS];
};

rtp_codec_sets_t *rtp_codec_sets_new(void)
{
    return cw_calloc(1, sizeof(rtp_codec_sets_t));
}

void rtp_codec_sets_free(rtp_codec_sets_t *sets)
{
    free(sets);
}

static struct codec_set *set_of(const rtp_codec_map_t *cm)
{
    return (struct codec_set *)(uintptr_t)((const char *)cm - offsetof(struct codec_set, map));
}

static bool codec_equal(const sdp_codec_t *a, const sdp_codec_t *b)
{
    return a->pt == b->pt && a->clock_hz == b->clock_hz && strcmp(a->name, b->name) == 0;
}

static struct codec_set *set_find(struct codec_set *cs, uint32_t h, const sdp_codec_t *named,
                                  uint8_t n)
{
    for (; cs; cs = cs->hnext) {
        uint8_t i = 0;

        if (cs->hash != h || cs->n != n)
            continue;
        while (i < n && codec_equal(&cs->c[i], &named[i]))
            i++;
        if (i == n)
            return cs;
    }
    return NULL;
}

static struct codec_set *set_make(uint32_t h, const sdp_codec_t *named, uint8_t n)
{
    struct codec_set *cs = cw_calloc(1, sizeof(*cs) + n * sizeof(cs->c[0]));

    cs->hash = h;
    cs->n = n;
    memcpy(cs->c, named, n * sizeof(cs->c[0]));
    for (uint8_t i = 0; i < n; i++)
        (void)rtp_codec_map_set(&cs->map, named[i].pt, named[i].name, named[i].clock_hz);
    return cs;
}

const rtp_codec_map_t *rtp_codec_sets_get(rtp_codec_sets_t *sets, const sdp_stream_t *md)
{
    sdp_codec_t named[SDP_MAX_PT];
    uint32_t h = CW_HASH32_INIT;
    uint8_t n = 0;
    struct codec_set **b, *cs;

    for (unsigned i = 0; i < md->npts; i++)
        if (md->pts[i].name[0]) {
            named[n] = md->pts[i];
            h = cw_hash32_add(h, named[n].pt ^ (named[n].clock_hz << 8));
            h ^= cw_hash32_str(named[n].name);
            n++;
        }
    if (!n)
        return NULL;
    b = &sets->h[h & (CSET_BUCKETS - 1)];
    cs = set_find(*b, h, named, n);
    if (!cs) {
        cs = set_make(h, named, n);
        cs->hnext = *b;
        *b = cs;
    }
    cs->refs++;
    return &cs->map;
}

void rtp_codec_sets_ref(const rtp_codec_map_t *cm)
{
    set_of(cm)->refs++;
}

void rtp_codec_sets_put(rtp_codec_sets_t *sets, const rtp_codec_map_t *cm)
{
    struct codec_set *cs, **pp;

    if (!cm || --(cs = set_of(cm))->refs)
        return;
    pp = &sets->h[cs->hash & (CSET_BUCKETS - 1)];
    while (*pp && *pp != cs)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = cs->hnext;
    free(cs);
}
