/* sipws: the WebSocket upgrade and framing under SIP (RFC 6455, RFC 7118). */
#include "autoconf.h"

#include "sip/sipws.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "sip/sip.h"

/* RFC 6455 section 5.2: the first two octets of a frame. */
#define WS_FIN         0x80u
#define WS_RSV         0x70u
#define WS_OPCODE      0x0fu
#define WS_MASKED      0x80u
#define WS_LEN7        0x7fu
#define WS_LEN16       126u /* a 16-bit length follows */
#define WS_LEN64       127u /* a 64-bit length follows */
#define WS_CONTROL_MAX 125u /* a control frame's longest payload */
#define WS_MASK_LEN    4u

bool sipws_looks_like(const uint8_t *buf, size_t len)
{
    return (len >= 4 && memcmp(buf, "GET ", 4) == 0) ||
           (len >= 12 && memcmp(buf, "HTTP/1.1 101", 12) == 0);
}

/* Does the comma-separated list v[0, n) hold token (any case)? */
static bool list_has(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0;

    while (i < n) {
        size_t s, e;

        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

/* Is line [0, n) the header `name: value` with token in value's list? */
static bool header_has(const char *line, size_t n, const char *name, const char *token)
{
    size_t nl = strlen(name);

    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    return list_has(line + nl + 1, n - nl - 1, token);
}

/* Does buf[0, n) hold word, in any case? */
static bool mentions(const uint8_t *buf, size_t n, const char *word)
{
    size_t wl = strlen(word);

    for (size_t i = 0; i + wl <= n; i++)
        if (strncasecmp((const char *)buf + i, word, wl) == 0)
            return true;
    return false;
}

long sipws_handshake(const uint8_t *buf, size_t len)
{
    const char *s = (const char *)buf;
    size_t n = len < SIPWS_HANDSHAKE_MAX ? len : SIPWS_HANDSHAKE_MAX;
    const uint8_t *end = memmem(buf, n, "\r\n\r\n", 4);
    bool request, upgrade = false, sip = false;
    size_t i, eol, hend;

    if (!sipws_looks_like(buf, len))
        return -EINVAL;
    if (!end) {
        if (len >= SIPWS_HANDSHAKE_MAX)
            return -E2BIG;
        return mentions(buf, len, "websocket") ? 0 : -EINVAL;
    }
    hend = (size_t)(end - buf) + 4;
    request = buf[0] == 'G';
    eol = (size_t)((const uint8_t *)memchr(buf, '\n', hend) - buf);
    /* GET path HTTP/1.1, or HTTP/1.1 101 and a space or the line's end. */
    if (request ? eol < 14 || memcmp(s + eol - 9, "HTTP/1.1\r", 9) != 0 || s[eol - 10] != ' '
                : s[12] != ' ' && s[12] != '\r')
        return -EINVAL;
    for (i = eol + 1; i < hend - 2; i = eol + 1) {
        size_t ll;

        eol = (size_t)((const uint8_t *)memchr(buf + i, '\n', hend - i) - buf);
        ll = eol - i - (eol > i && s[eol - 1] == '\r');
        upgrade = upgrade || header_has(s + i, ll, "Upgrade", "websocket");
        sip = sip || header_has(s + i, ll, "Sec-WebSocket-Protocol", "sip");
    }
    return upgrade && sip ? (long)hend : -EINVAL;
}

int sipws_frame_parse(const uint8_t *buf, size_t len, sipws_frame_t *out)
{
    uint8_t b0, b1;
    uint64_t plen;
    uint32_t h = 2;

    if (len < 2)
        return -EAGAIN;
    b0 = buf[0];
    b1 = buf[1];
    out->fin = (b0 & WS_FIN) != 0;
    out->opcode = b0 & WS_OPCODE;
    out->masked = (b1 & WS_MASKED) != 0;
    if (b0 & WS_RSV)
        return -EINVAL;
    switch (out->opcode) {
    case SIPWS_CONTINUATION:
    case SIPWS_TEXT:
    case SIPWS_BINARY:
        break;
    case SIPWS_CLOSE:
    case SIPWS_PING:
    case SIPWS_PONG:
        if (!out->fin || (b1 & WS_LEN7) > WS_CONTROL_MAX)
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    plen = b1 & WS_LEN7;
    if (plen == WS_LEN16) {
        if (len < 4)
            return -EAGAIN;
        plen = cw_rd16(buf + 2);
        h = 4;
        if (plen < WS_LEN16)
            return -EINVAL; /* not the shortest form */
    } else if (plen == WS_LEN64) {
        if (len < 10)
            return -EAGAIN;
        plen = (uint64_t)cw_rd32(buf + 2) << 32 | cw_rd32(buf + 6);
        h = 10;
        if (plen <= UINT16_MAX || plen >> 63)
            return -EINVAL;
    }
    if (out->masked) {
        if (len < h + WS_MASK_LEN)
            return -EAGAIN;
        memcpy(out->mask, buf + h, WS_MASK_LEN);
        h += WS_MASK_LEN;
    } else {
        memset(out->mask, 0, sizeof(out->mask));
    }
    out->hdr_len = h;
    out->payload_len = plen;
    return 0;
}

void sipws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(off + i) & 3];
}

bool sipws_starts_message(const uint8_t *buf, size_t len)
{
    uint8_t head[512]; /* the start line, as long as it usually is */
    sipws_frame_t f;
    size_t n;

    if (sipws_frame_parse(buf, len, &f) != 0 ||
        (f.opcode != SIPWS_TEXT && f.opcode != SIPWS_BINARY))
        return false;
    n = len - f.hdr_len;
    if (n > sizeof(head))
        n = sizeof(head);
    if (n > f.payload_len)
        n = (size_t)f.payload_len;
    memcpy(head, buf + f.hdr_len, n);
    if (f.masked)
        sipws_unmask(head, n, f.mask, 0);
    return sip_looks_like(head, n);
}

/* Drops n octets at buf + at, moving the rest down. */
static void cut(uint8_t *buf, uint32_t *len, uint32_t at, uint32_t n)
{
    memmove(buf + at, buf + at + n, *len - at - n);
    *len -= n;
}

/* The data frame f at buf + d->msg belongs to a message that does not
 * fit: drops the message so far and what is here of f, and arranges for
 * the rest of f, and of the message, to be dropped as it comes. */
static void too_long(sipws_dec_t *d, uint8_t *buf, uint32_t *len, const sipws_frame_t *f,
                     sipws_stats_t *st)
{
    uint64_t total = f->hdr_len + f->payload_len;
    uint32_t avail = *len - d->msg;
    uint32_t here = avail < total ? avail : (uint32_t)total;

    if (!d->discard)
        st->too_long++;
    cut(buf, len, 0, d->msg + here);
    d->msg = 0;
    d->skip = total - here;
    d->open = d->discard = !f->fin;
}

/* A message of nothing but line ends: a keep-alive (RFC 5626 style), not
 * a SIP message. */
static bool keepalive(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

int sipws_decode(sipws_dec_t *d, uint8_t *buf, uint32_t *len, uint32_t cap, sipws_msg_fn fn,
                 void *ud, sipws_stats_t *st)
{
    for (;;) {
        sipws_frame_t f;
        uint64_t total;
        uint32_t avail;
        int rc;

        if (d->skip) {
            uint32_t n = *len - d->msg < d->skip ? *len - d->msg : (uint32_t)d->skip;

            cut(buf, len, d->msg, n);
            d->skip -= n;
            if (d->skip)
                return 0;
        }
        avail = *len - d->msg;
        if (d->closed) {
            cut(buf, len, d->msg, avail);
            return 0;
        }
        rc = sipws_frame_parse(buf + d->msg, avail, &f);
        if (rc == -EAGAIN) {
            if (*len >= cap && d->msg) {
                /* No room left for the next header: the message is too
                 * long for the buffer. */
                st->too_long++;
                cut(buf, len, 0, d->msg);
                d->msg = 0;
                d->discard = d->open;
            }
            return 0;
        }
        if (rc < 0 || (f.opcode < SIPWS_CLOSE && (f.opcode == SIPWS_CONTINUATION) != d->open)) {
            /* A malformed frame, or a fragment out of place: the framing
             * is lost for good. */
            st->malformed++;
            return -EINVAL;
        }
        total = f.hdr_len + f.payload_len;
        if (f.opcode >= SIPWS_CLOSE) {
            /* Read whole when it fits beside the message being put
             * together, else dropped as it comes: nothing in it matters
             * but that a close closes. */
            uint32_t here = avail < total ? avail : (uint32_t)total;

            if (avail < total && total <= cap - d->msg)
                return 0;
            st->frames++;
            d->closed = f.opcode == SIPWS_CLOSE;
            cut(buf, len, d->msg, here);
            d->skip = total - here;
            continue;
        }
        if (d->discard || total > cap - d->msg) {
            too_long(d, buf, len, &f, st);
            continue;
        }
        if (avail < total)
            return 0;
        st->frames++;
        if (f.masked)
            sipws_unmask(buf + d->msg + f.hdr_len, (size_t)f.payload_len, f.mask, 0);
        cut(buf, len, d->msg, f.hdr_len);
        d->msg += (uint32_t)f.payload_len;
        d->open = !f.fin;
        if (f.fin) {
            if (!keepalive(buf, d->msg)) {
                st->messages++;
                fn(ud, buf, d->msg);
            }
            cut(buf, len, 0, d->msg);
            d->msg = 0;
        }
    }
}
