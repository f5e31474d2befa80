/* engine: the probe's pipeline, from a captured frame to per-step metrics.
 *
 * One engine per run.  Packet time is the clock: every timer (fragment
 * timeouts, step ticks) runs on it, so offline results are the same however
 * fast the capture is read.  In live mode engine_idle() moves the clock
 * with the wall clock while no packets come.  Not thread-safe: the capture
 * thread owns it. */
#ifndef CW_ENGINE_H
#define CW_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "capture/capture.h"
#include "common/config.h"
#include "decode/decode.h"
#include "common/metrics.h"
#include "common/util.h"

typedef struct engine engine_t;

typedef struct engine_capture_info {
    uint64_t packets;   /* frames read from the sources */
    uint64_t bytes;     /* their bytes on the wire */
    cw_ns_t start, end; /* first and last packet time; 0 if none */
    uint64_t kernel_received, kernel_dropped, kernel_ifdropped; /* live only */
    uint64_t steps;                                             /* step ticks run */
    size_t nfiles;
    const char *const *files; /* names of the sources, in order */
    size_t nwarnings;
    const char *const *warnings; /* e.g. a truncated file and the offset reached */
} engine_capture_info_t;

/* cfg is read, not copied: it must outlive the engine.  Each step's
 * metrics (traffic.bps, traffic.pps, capture.drops, calls.*, rtp.*) are put
 * into m stamped with the step's end time (as an RRD row: the sample at T
 * describes (T - step, T]); m may be NULL. */
engine_t *engine_new(const cw_config_t *cfg, metrics_t *m);
void engine_free(engine_t *e);

/* Records a capture source (a file or an interface) for the report. */
void engine_add_source(engine_t *e, const char *name);

/* Keeps a warning for the report (copies msg). */
void engine_add_warning(engine_t *e, const char *msg);

/* Processes one captured frame of link type dlt. */
void engine_packet(engine_t *e, int dlt, const capture_pkt_t *pkt);

/* Live mode: no packet for a while; advance the clock to `now` if it is
 * ahead of packet time. */
void engine_idle(engine_t *e, cw_ns_t now);

/* Live mode: the kernel's capture counters, cumulative. */
void engine_kernel_stats(engine_t *e, const capture_stats_t *st);

/* Live mode: the frames come from a mirror socket (-i udp:ADDR:PORT); the
 * report says so, with its datagram counters. */
void engine_set_mirror(engine_t *e);

/* Adds to a capture object the keys only some runs have: "encapsulation",
 * the packets taken out of each ({"vxlan": N, ...}, those seen, when
 * any), and "mirror", a mirror source's {"datagrams", "dropped",
 * "truncated", "errors"}. */
void engine_capture_extras(const engine_t *e, json_t *cap);

/* End of input: runs the last tick.  No packets may follow. */
void engine_finish(engine_t *e);

/* The site every record is stamped with ([probe] site), or NULL. */
const char *engine_site(const engine_t *e);

/* The current clock (packet time); 0 before the first packet. */
cw_ns_t engine_now(const engine_t *e);

void engine_capture_info(const engine_t *e, engine_capture_info_t *out);
void engine_decode_stats(const engine_t *e, decode_stats_t *out);

typedef struct engine_sip_stats {
    uint64_t messages;     /* SIP messages seen, UDP and TCP */
    uint64_t parse_errors; /* that libosip2 refused */
    uint64_t tcp_messages, tcp_gaps, tcp_overflows;
    uint64_t ws_malformed, ws_too_long; /* SIP over WebSocket (siptcp_stats_t) */
} engine_sip_stats_t;

void engine_sip_stats(const engine_t *e, engine_sip_stats_t *out);

/* Adds the SIP reasons of the capture's malformed counts to mal (those
 * that occurred): sip_unparseable, websocket_malformed, websocket_too_long. */
void engine_sip_malformed(const engine_sip_stats_t *ss, json_t *mal);

/* Before the first packet: a live capture keeps ended calls and streams
 * only in the database, not in memory, unless keep asks for them (a live
 * run that ends with a report). */
void engine_set_live(engine_t *e, bool keep);

/* A snapshot of the engine's state is published to s at most once a
 * second of wall time, and at the end (see engine_status_json()). */
struct status;
void engine_set_status(engine_t *e, struct status *s);

/* {now, step, capture: {mode, packets, bytes, start, end, kernel_*,
 * malformed, sip_messages, sources, finished}, calls: {active, in_progress,
 * attempts, answered, failed, cancelled, unanswered, dropped, evicted,
 * orphans}, active_calls: [...], top_talkers: [...]} */
json_t *engine_status_json(engine_t *e);

/* Ended calls (and, at the end, active ones) are recorded in db. */
struct calldb;
void engine_set_calldb(engine_t *e, struct calldb *db);

/* The call table (owned by the engine). */
struct calls;
struct calls *engine_calls(const engine_t *e);

/* Incidents are delivered through a (not owned). */
struct alert;
void engine_set_alert(engine_t *e, struct alert *a);

/* The [incident] section and the [link] and [cpu] names of the
 * configuration given to engine_new() changed in place (a SIGHUP reload):
 * the correlator takes the new thresholds and watches, keeping its
 * incidents and history. */
void engine_reconfigure(engine_t *e);

/* Every stream, as the report's streams array. */
json_t *engine_streams(engine_t *e);

/* The same streams one at a time (see media_streams_foreach()): fn takes
 * ownership of each; a nonzero return stops and is returned. */
int engine_streams_foreach(engine_t *e, int (*fn)(void *ud, json_t *stream), void *ud);

/* Every incident so far, as the report's incidents array. */
json_t *engine_incidents(engine_t *e);

/* Top talkers over [from, to] (0, 0: the whole run) as the report's
 * top_talkers array. */
json_t *engine_top_talkers(engine_t *e, cw_ns_t from, cw_ns_t to, size_t max);

/* A call as the report shows it, with its streams. */
struct call;
json_t *engine_call_json(engine_t *e, const struct call *c, bool with_messages);

#endif
