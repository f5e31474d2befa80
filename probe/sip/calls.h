/* calls: SIP dialogs followed from the first INVITE to their outcome.
 *
 * A call is one Call-ID: forked early dialogs, challenges (401/407 then a
 * new INVITE) and spirals through a proxy stay one call.  Outcomes follow
 * docs/report.md exactly:
 *   answered    2xx to the INVITE, ended by BYE with no error cause
 *   failed      final response >= 300 other than 401/407 and 487
 *   cancelled   the caller sent CANCEL before any final response
 *   unanswered  no final response within the INVITE transaction timeout
 *   dropped     answered, then media silent both ways for rtp_timeout, a
 *               BYE with an error Reason, or 408/481 to an in-dialog request
 *   active      still up at the end of the capture
 * A dialog seen only from its middle (a re-INVITE, BYE, UPDATE or INFO, or
 * a 2xx to one, for a Call-ID whose INVITE the capture missed) is a
 * partial call: judged as an answered call from its first message on, but
 * counted under no attempt, answer or outcome (only as partial).
 * Timers run on packet time.  Not thread-safe: the packet thread owns it. */
#ifndef CW_CALLS_H
#define CW_CALLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "sip/sip.h"
#include "common/util.h"

typedef struct calls calls_t;
typedef struct call call_t;

enum call_outcome {
    CALL_ACTIVE = 0,
    CALL_ANSWERED,
    CALL_FAILED,
    CALL_CANCELLED,
    CALL_UNANSWERED,
    CALL_DROPPED,
};

typedef struct calls_hooks {
    /* A new call (its first INVITE), and the moment it is answered. */
    void (*on_start)(void *ud, call_t *c);
    void (*on_answer)(void *ud, call_t *c);
    /* An SDP offer or answer: where this call's media will flow.
     * from_caller says which side sent it. */
    void (*on_sdp)(void *ud, call_t *c, const sdp_info_t *sdp, bool from_caller, cw_ns_t t);
    /* The call's outcome is decided (it may still be kept for the report);
     * called again if the outcome changes (an answered call found dropped). */
    void (*on_end)(void *ud, call_t *c);
    /* An ended call's record changed (messages after the end). */
    void (*on_update)(void *ud, call_t *c);
    void *ud;
} calls_hooks_t;

typedef struct calls_cfg {
    size_t max_calls;        /* calls followed at once; 0: 100000 */
    cw_ns_t invite_timeout;  /* no response at all; 0: 32 s (RFC 3261 timer B) */
    cw_ns_t ringing_timeout; /* no final after a provisional; 0: 180 s (timer C) */
    cw_ns_t idle_timeout;    /* answered, no SIP and no media; 0: 3600 s */
    cw_ns_t rtp_timeout;     /* answered, media silent both ways; 0: 10 s */
    bool keep_ended;         /* keep ended calls for the report (offline) */
} calls_cfg_t;

/* A call's transport when its messages came over WebSocket (RFC 7118);
 * otherwise IPPROTO_UDP or IPPROTO_TCP. */
#define CALL_WS 255

/* Whole calls only, but for partial and partial_active. */
typedef struct calls_counters {
    uint64_t attempts, answered, failed, cancelled, unanswered, dropped;
    uint64_t active;          /* answered and not ended, now */
    uint64_t in_progress;     /* followed and not ended, now */
    uint64_t retransmissions; /* INVITEs seen again */
    uint64_t evicted;         /* dropped to stay within max_calls */
    uint64_t orphans;         /* in-dialog messages of no call followed that start none */
    uint64_t partial;         /* partial calls found so far */
    uint64_t partial_active;  /* partial calls not ended, now */
} calls_counters_t;

calls_t *calls_new(const calls_cfg_t *cfg, const calls_hooks_t *hooks);
void calls_free(calls_t *t);

/* Feeds one SIP message seen in pkt (for time, addresses and ports). */
void calls_sip(calls_t *t, const sip_msg_t *m, const decode_pkt_t *pkt);

/* Media for c was seen at time ts, sent by the caller's side or not. */
void calls_media(calls_t *t, call_t *c, bool from_caller, cw_ns_t ts);

/* Runs timers up to now. */
void calls_tick(calls_t *t, cw_ns_t now);

/* End of capture: calls still up stay "active". */
void calls_finish(calls_t *t, cw_ns_t now);

call_t *calls_find(calls_t *t, const char *call_id);
void calls_get_counters(const calls_t *t, calls_counters_t *out);

/* Every call kept (ended ones when keep_ended, then those in progress), in
 * order of their first INVITE (a partial call's first message). */
size_t calls_list(calls_t *t, call_t ***out);

/* Accessors. */
const char *call_id(const call_t *c);
enum call_outcome call_outcome(const call_t *c);
const char *call_outcome_name(enum call_outcome o);
const char *call_end_reason(const call_t *c); /* "" while up */
int call_sip_code(const call_t *c);           /* final response to the INVITE, 0 if none */
cw_ns_t call_start(const call_t *c);
cw_ns_t call_answered(const call_t *c); /* 0 if never */
cw_ns_t call_end(const call_t *c);      /* 0 while up */
bool call_ended(const call_t *c);
bool call_one_way(const call_t *c);
/* Seen only from the middle of its dialog (no INVITE): counted nowhere. */
bool call_partial(const call_t *c);
/* The caller's signalling address (source of the INVITE) and the callee's
 * (destination of the INVITE, then source of the 2xx). */
const cw_addr_t *call_caller_addr(const call_t *c);
const cw_addr_t *call_callee_addr(const call_t *c);

/* How many times on_end reported this call: 1 the first time, 2 when an
 * answered call was found dropped afterwards. */
unsigned call_end_reports(const call_t *c);

/* The call as a report object (docs/report.md) without "streams", which
 * the caller adds; with_messages adds the SIP ladder. */
json_t *call_json(const call_t *c, bool with_messages);

#endif
