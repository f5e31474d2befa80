/* traffic: what crosses the wire, cheaply and in bounded memory.
 *
 * Bytes and packets per step, split into SIP, RTP and other; the top
 * talkers by (source address, protocol, destination port) with a
 * space-saving top-K; for each of those the number of distinct destinations
 * (a HyperLogLog sketch) and TCP SYNs sent versus SYN-ACKs returned, which
 * is how a scan shows: "10.20.0.17 tcp/445 to 4,312 hosts".  Windows of a
 * minute (by packet time) are kept for an hour so an incident can name the
 * talkers of its own window.  Not thread-safe: the packet thread owns it. */
#ifndef CW_TRAFFIC_H
#define CW_TRAFFIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "common/util.h"

typedef struct traffic traffic_t;

enum traffic_class { TRAFFIC_OTHER = 0, TRAFFIC_SIP, TRAFFIC_RTP, TRAFFIC_CLASSES };

typedef struct traffic_cfg {
    size_t topk;     /* talkers tracked per window; 0: 1024 */
    long scan_hosts; /* distinct hosts on one port in a window that make a scan; 0: 100 */
    cw_ns_t window;  /* 0: 60 s */
    size_t history;  /* windows kept; 0: 60 */
} traffic_cfg_t;

typedef struct traffic_talker {
    cw_addr_t src;
    uint8_t proto;
    uint16_t dport;
    uint64_t bytes, packets;
    uint64_t error;  /* space-saving overestimate bound, in bytes */
    uint64_t fanout; /* distinct destinations (estimate) */
    uint64_t syn, synack;
    bool scanner;
} traffic_talker_t;

typedef struct traffic_step {
    uint64_t bytes[TRAFFIC_CLASSES], packets[TRAFFIC_CLASSES];
} traffic_step_t;

traffic_t *traffic_new(const traffic_cfg_t *cfg);
void traffic_free(traffic_t *t);

/* Accounts one IP packet of the given class (wire length from p). */
void traffic_packet(traffic_t *t, const decode_pkt_t *p, enum traffic_class cls);

/* Returns and clears the per-step counters. */
void traffic_take_step(traffic_t *t, traffic_step_t *out);

/* Closes windows that ended before now. */
void traffic_tick(traffic_t *t, cw_ns_t now);

/* The top talkers, biggest first: over the windows overlapping [from, to],
 * or over the whole run when from and to are 0.  Returns how many were
 * written (at most max). */
size_t traffic_top(traffic_t *t, cw_ns_t from, cw_ns_t to, traffic_talker_t *out, size_t max);

/* The same as a JSON array of {src, proto, dport, packets, bytes, fanout,
 * syn, synack, scanner}. */
json_t *traffic_top_json(traffic_t *t, cw_ns_t from, cw_ns_t to, size_t max);

/* The same array for n talkers already taken with traffic_top(). */
json_t *traffic_talkers_json(const traffic_talker_t *top, size_t n);

/* "10.20.0.17 tcp/445 to 4312 hosts" */
void traffic_talker_str(const traffic_talker_t *k, char *buf, size_t len);

/* HyperLogLog, exposed for tests: 256 one-byte registers (about 6.5 %
 * standard error: plenty to tell a scan of thousands of hosts). */
typedef struct hll {
    uint8_t reg[256];
} hll_t;
void hll_add(hll_t *h, uint64_t hash);
double hll_estimate(const hll_t *h);
uint64_t traffic_hash64(const void *data, size_t len, uint64_t seed);

#endif
