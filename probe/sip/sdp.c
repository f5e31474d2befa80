#include "autoconf.h"

#include "sip/sdp.h"

#include <errno.h>
#include <osipparser2/sdp_message.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct static_pt {
    const char *name;
    uint32_t clock;
};

/* RFC 3551 table 4 (audio) and 5 (video); G.722's RTP clock is 8000 by
 * that RFC's own erratum-proof rule. */
static const struct static_pt static_pts[35] = {
    [0] = { "PCMU", 8000 },   [3] = { "GSM", 8000 },    [4] = { "G723", 8000 },
    [5] = { "DVI4", 8000 },   [6] = { "DVI4", 16000 },  [7] = { "LPC", 8000 },
    [8] = { "PCMA", 8000 },   [9] = { "G722", 8000 },   [10] = { "L16", 44100 },
    [11] = { "L16", 44100 },  [12] = { "QCELP", 8000 }, [13] = { "CN", 8000 },
    [14] = { "MPA", 90000 },  [15] = { "G728", 8000 },  [16] = { "DVI4", 11025 },
    [17] = { "DVI4", 22050 }, [18] = { "G729", 8000 },  [25] = { "CelB", 90000 },
    [26] = { "JPEG", 90000 }, [28] = { "nv", 90000 },   [31] = { "H261", 90000 },
    [32] = { "MPV", 90000 },  [33] = { "MP2T", 90000 }, [34] = { "H263", 90000 },
};

bool sdp_static_pt(uint8_t pt, const char **name, uint32_t *clock_hz)
{
    if (pt >= sizeof(static_pts) / sizeof(static_pts[0]) || !static_pts[pt].name)
        return false;
    *name = static_pts[pt].name;
    *clock_hz = static_pts[pt].clock;
    return true;
}

const char *sdp_dir_name(enum sdp_dir d)
{
    static const char *const names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

    return (unsigned)d < 4 ? names[d] : "sendrecv";
}

/* "IN IP4 192.0.2.1" or "IN IP6 2001:db8::1", maybe with "/ttl". */
static bool conn_addr(sdp_message_t *sdp, int pos_media, cw_addr_t *out)
{
    char *addr = sdp_message_c_addr_get(sdp, pos_media, 0);
    char buf[64];
    char *slash;

    if (!addr)
        return false;
    cw_strlcpy(buf, addr, sizeof(buf));
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    /* A host name would need DNS, which never runs on the packet path. */
    return cw_addr_parse(buf, out) == 0;
}

static bool dir_attr(const char *field, enum sdp_dir *dir)
{
    if (!strcasecmp(field, "sendrecv"))
        *dir = SDP_SENDRECV;
    else if (!strcasecmp(field, "sendonly"))
        *dir = SDP_SENDONLY;
    else if (!strcasecmp(field, "recvonly"))
        *dir = SDP_RECVONLY;
    else if (!strcasecmp(field, "inactive"))
        *dir = SDP_INACTIVE;
    else
        return false;
    return true;
}

/* "8 PCMA/8000" or "101 telephone-event/8000/1". */
static void rtpmap(sdp_stream_t *m, const char *value)
{
    char *end;
    long pt = strtol(value, &end, 10);
    const char *name = end, *slash;
    size_t n;

    if (end == value || pt < 0 || pt > 127 || *end != ' ')
        return;
    while (*name == ' ')
        name++;
    slash = strchr(name, '/');
    n = slash ? (size_t)(slash - name) : strlen(name);
    for (unsigned i = 0; i < m->npts; i++) {
        if (m->pts[i].pt != pt)
            continue;
        if (n >= sizeof(m->pts[i].name))
            n = sizeof(m->pts[i].name) - 1;
        memcpy(m->pts[i].name, name, n);
        m->pts[i].name[n] = '\0';
        if (slash) {
            long clk = strtol(slash + 1, NULL, 10);

            if (clk > 0 && clk <= 1000000)
                m->pts[i].clock_hz = (uint32_t)clk;
        }
    }
}

int sdp_parse(const char *body, size_t len, sdp_info_t *out)
{
    sdp_message_t *sdp = NULL;
    char *copy;
    cw_addr_t session_addr;
    bool has_session_addr;
    enum sdp_dir session_dir = SDP_SENDRECV;
    int rc = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > 65535)
        return -EINVAL;
    /* libosip2's SDP parser can read a little past the terminating NUL
     * when a line ends in a lone CR: give it zeros to read, and turn lone
     * CRs and embedded NULs into line feeds it handles. */
    copy = calloc(1, len + 64);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, body, len);
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '\0' || (copy[i] == '\r' && copy[i + 1] != '\n'))
            copy[i] = '\n';
    if (sdp_message_init(&sdp) != 0)
        goto out;
    if (sdp_message_parse(sdp, copy) != 0)
        goto out;
    has_session_addr = conn_addr(sdp, -1, &session_addr);
    for (int j = 0; sdp_message_a_att_field_get(sdp, -1, j); j++)
        dir_attr(sdp_message_a_att_field_get(sdp, -1, j), &session_dir);

    for (int i = 0; out->nmedia < SDP_MAX_MEDIA && sdp_message_m_media_get(sdp, i); i++) {
        sdp_stream_t *m = &out->media[out->nmedia];
        const char *port = sdp_message_m_port_get(sdp, i), *proto = sdp_message_m_proto_get(sdp, i);
        long p;

        cw_strlcpy(m->type, sdp_message_m_media_get(sdp, i), sizeof(m->type));
        cw_strlcpy(m->proto, proto ? proto : "", sizeof(m->proto));
        if (!port || cw_parse_long(port, 0, 65535, &p) != 0)
            continue;
        m->port = (uint16_t)p;
        m->dir = session_dir;
        if (conn_addr(sdp, i, &m->addr))
            m->has_addr = true;
        else if (has_session_addr) {
            m->addr = session_addr;
            m->has_addr = true;
        }
        for (int j = 0; m->npts < SDP_MAX_PT && sdp_message_m_payload_get(sdp, i, j); j++) {
            long pt;
            const char *name;
            uint32_t clk;

            if (cw_parse_long(sdp_message_m_payload_get(sdp, i, j), 0, 127, &pt) != 0)
                continue; /* e.g. "t38" for image/udptl */
            m->pts[m->npts].pt = (uint8_t)pt;
            if (sdp_static_pt((uint8_t)pt, &name, &clk)) {
                cw_strlcpy(m->pts[m->npts].name, name, sizeof(m->pts[0].name));
                m->pts[m->npts].clock_hz = clk;
            }
            m->npts++;
        }
        for (int j = 0; sdp_message_a_att_field_get(sdp, i, j); j++) {
            const char *field = sdp_message_a_att_field_get(sdp, i, j);
            const char *value = sdp_message_a_att_value_get(sdp, i, j);

            if (!dir_attr(field, &m->dir) && value && !strcasecmp(field, "rtpmap"))
                rtpmap(m, value);
        }
        out->nmedia++;
    }
    rc = 0;
out:
    sdp_message_free(sdp);
    free(copy);
    return rc;
}
