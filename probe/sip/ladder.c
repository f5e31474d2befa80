#include "autoconf.h"

#include "sip/ladder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_TEXT_MAX 40 /* a message's method or reason phrase is cut to it */
#define LABEL_MAX    56 /* a label, NUL included */

/* One message of a call's ladder.  Its label ("INVITE", "180 Ringing") is
 * built when the ladder is output: the method of a request, or the status
 * and reason phrase of a response. */
struct call_msg {
    cw_ns_t t;
    uint32_t cseq;
    int32_t status;    /* responses */
    uint16_t text_off; /* the method or the reason phrase, in the ladder's text */
    uint8_t text_len;  /* at most MSG_TEXT_MAX; no NUL */
    uint8_t src, dst;  /* in the ladder's endpoints */
    bool request, sdp;
};

/* A signalling address and port of a call, kept once however many of its
 * messages come from or go to it (most calls have two). */
struct call_ep {
    cw_addr_t addr;
    uint16_t port;
};

/* A call's ladder in one block: this header, then cap_msgs messages,
 * cap_eps endpoints and cap_text bytes of text, each section filled from
 * its start. */
struct ladder {
    uint16_t ntext, cap_text;
    uint8_t nmsgs, cap_msgs;
    uint8_t neps, cap_eps;
    struct call_msg msgs[];
};

#define LADDER_MAX_EPS  (2 * LADDER_MAX_MSGS)
#define LADDER_MAX_TEXT (MSG_TEXT_MAX * LADDER_MAX_MSGS)

_Static_assert(sizeof(((sip_msg_t *)0)->method_name) <= MSG_TEXT_MAX + 1,
               "a method fits a ladder message whole");
_Static_assert(LADDER_MAX_MSGS <= UINT8_MAX && LADDER_MAX_EPS <= UINT8_MAX,
               "message and endpoint counts fit a ladder's uint8_t");
_Static_assert(MSG_TEXT_MAX <= UINT8_MAX && LADDER_MAX_TEXT <= UINT16_MAX,
               "text lengths and offsets fit a ladder's uint16_t");

static struct call_ep *ladder_eps(const struct ladder *l)
{
    return (struct call_ep *)(l->msgs + l->cap_msgs);
}

static char *ladder_text(const struct ladder *l)
{
    return (char *)(ladder_eps(l) + l->cap_eps);
}

/* A section's capacity for need items: by half again and a little, so
 * that a ladder is moved a few times at most, never beyond max. */
static unsigned ladder_cap(unsigned cap, unsigned need, unsigned max)
{
    if (need <= cap)
        return cap;
    cap += cap / 2 + 2;
    if (cap < need)
        cap = need;
    return cap < max ? cap : max;
}

/* Makes room in *lp for more messages, endpoints and text bytes
 * (within the limits).  A ladder that grows is copied, section by section,
 * into a new block.  The first block fits a short call: 3 messages, 2
 * endpoints and 16 bytes of text (INVITE, OK, ACK). */
static void ladder_reserve(ladder_t **lp, unsigned more_msgs, unsigned more_eps, unsigned more_text)
{
    struct ladder *old = *lp, *l;
    unsigned nmsgs = old ? old->nmsgs : 0, neps = old ? old->neps : 0;
    unsigned ntext = old ? old->ntext : 0;
    unsigned cap_msgs = old ? old->cap_msgs : 3, cap_eps = old ? old->cap_eps : 2;
    unsigned cap_text = old ? old->cap_text : 16;

    if (old && nmsgs + more_msgs <= cap_msgs && neps + more_eps <= cap_eps &&
        ntext + more_text <= cap_text)
        return;
    cap_msgs = ladder_cap(cap_msgs, nmsgs + more_msgs, LADDER_MAX_MSGS);
    cap_eps = ladder_cap(cap_eps, neps + more_eps, LADDER_MAX_EPS);
    cap_text = ladder_cap(cap_text, ntext + more_text, LADDER_MAX_TEXT);
    l = cw_calloc(1, sizeof(*l) + cap_msgs * sizeof(struct call_msg) +
                         cap_eps * sizeof(struct call_ep) + cap_text);
    l->cap_msgs = (uint8_t)cap_msgs;
    l->cap_eps = (uint8_t)cap_eps;
    l->cap_text = (uint16_t)cap_text;
    if (old) {
        l->nmsgs = old->nmsgs;
        l->neps = old->neps;
        l->ntext = old->ntext;
        memcpy(l->msgs, old->msgs, nmsgs * sizeof(struct call_msg));
        memcpy(ladder_eps(l), ladder_eps(old), neps * sizeof(struct call_ep));
        memcpy(ladder_text(l), ladder_text(old), ntext);
        free(old);
    }
    *lp = l;
}

/* The index of (addr, port) in *lp's endpoints, added if new. */
static uint8_t ladder_endpoint(ladder_t **lp, const cw_addr_t *addr, uint16_t port)
{
    struct call_ep *ep = ladder_eps(*lp);
    struct ladder *l;

    for (unsigned i = 0; i < (*lp)->neps; i++) {
        if (ep[i].port == port && cw_addr_equal(&ep[i].addr, addr))
            return (uint8_t)i;
    }
    ladder_reserve(lp, 0, 1, 0);
    l = *lp;
    ep = &ladder_eps(l)[l->neps];
    ep->addr = *addr;
    ep->port = port;
    return l->neps++;
}

bool ladder_add(ladder_t **lp, const sip_msg_t *m, const decode_pkt_t *p)
{
    const char *text = m->is_request ? m->method_name : m->reason_phrase;
    size_t len = strnlen(text, MSG_TEXT_MAX); /* a method is whole: asserted above */
    struct call_msg *cm;
    struct ladder *l;
    uint8_t src, dst;

    if (*lp && (*lp)->nmsgs >= LADDER_MAX_MSGS)
        return false;
    ladder_reserve(lp, 1, 0, (unsigned)len);
    /* Each may move the ladder. */
    src = ladder_endpoint(lp, &p->src, p->sport);
    dst = ladder_endpoint(lp, &p->dst, p->dport);
    l = *lp;
    cm = &l->msgs[l->nmsgs++];
    memset(cm, 0, sizeof(*cm));
    cm->t = p->ts;
    cm->src = src;
    cm->dst = dst;
    cm->cseq = m->cseq;
    cm->request = m->is_request;
    cm->sdp = m->has_sdp;
    if (!m->is_request)
        cm->status = m->status;
    cm->text_off = l->ntext;
    cm->text_len = (uint8_t)len;
    memcpy(ladder_text(l) + l->ntext, text, len);
    l->ntext += (uint16_t)len;
    return true;
}

static const char *msg_label(const struct ladder *l, const struct call_msg *cm, char *buf,
                             size_t len)
{
    const char *text = ladder_text(l) + cm->text_off;

    if (cm->request)
        snprintf(buf, len, "%.*s", (int)cm->text_len, text);
    else
        snprintf(buf, len, "%d %.*s", cm->status, (int)cm->text_len, text);
    return buf;
}

json_t *ladder_json(const ladder_t *l)
{
    json_t *msgs = json_array();
    char ep[CW_ENDPOINT_STRLEN], label[LABEL_MAX];

    for (unsigned i = 0; l && i < l->nmsgs; i++) {
        const struct call_msg *cm = &l->msgs[i];
        const struct call_ep *src = &ladder_eps(l)[cm->src], *dst = &ladder_eps(l)[cm->dst];
        json_t *jm = json_object();

        json_object_set_new(jm, "t", json_real(cw_ns_to_sec(cm->t)));
        json_object_set_new(jm, "src",
                            json_string(cw_endpoint_str(&src->addr, src->port, ep, sizeof(ep))));
        json_object_set_new(jm, "dst",
                            json_string(cw_endpoint_str(&dst->addr, dst->port, ep, sizeof(ep))));
        json_object_set_new(jm, "label", sip_json_string(msg_label(l, cm, label, sizeof(label))));
        json_object_set_new(jm, "request", json_boolean(cm->request));
        json_object_set_new(jm, "cseq", json_integer(cm->cseq));
        json_object_set_new(jm, "sdp", json_boolean(cm->sdp));
        json_array_append_new(msgs, jm);
    }
    return msgs;
}

void ladder_free(ladder_t *l)
{
    free(l);
}
