/* ladder: a call's SIP messages in the order seen, for its ladder diagram
 * (/api/calls/{id}).  A short call's ladder is one small block; it grows
 * by half again as messages come, up to LADDER_MAX_MSGS, keeping each
 * signalling endpoint once and each method or reason phrase cut to 40
 * bytes.  Not thread-safe: the packet thread owns it. */
#ifndef CW_LADDER_H
#define CW_LADDER_H

#include <jansson.h>
#include <stdbool.h>

#include "decode/decode.h"
#include "sip/sip.h"

#define LADDER_MAX_MSGS 100u

typedef struct ladder ladder_t;

/* Adds m, seen in packet p, to *l (created by the first message, moved
 * when it grows).  False when the ladder is full: m is not kept. */
bool ladder_add(ladder_t **l, const sip_msg_t *m, const decode_pkt_t *p);

/* The messages as an array of {t, src, dst, label, request, cseq, sdp};
 * an empty one for NULL. */
json_t *ladder_json(const ladder_t *l);

void ladder_free(ladder_t *l);

#endif
