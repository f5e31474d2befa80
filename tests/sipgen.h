/* sipgen: writes SIP calls (and their packets) into captures for tests.
 *
 * Packets are collected in memory with their times, so scenarios can be
 * written call by call and still interleave; sipgen_write() sorts them and
 * writes the file. */
#ifndef CW_SIPGEN_H
#define CW_SIPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcapgen.h"

typedef struct sipgen sipgen_t;

/* SG_WS: SIP over WebSocket (RFC 7118) on a TCP connection that the
 * caller opens with the HTTP upgrade; the caller's frames are masked. */
enum sg_transport { SG_UDP, SG_TCP, SG_WS };

typedef struct sg_call {
    char call_id[96];
    char from_tag[32], to_tag[32];
    char caller_ip[48], callee_ip[48];
    uint16_t caller_port, callee_port; /* signalling */
    uint16_t caller_rtp, callee_rtp;   /* media ports in SDP */
    enum sg_transport transport;
    unsigned tcp_chunk; /* TCP: split each message into segments of this size (0: whole) */
    uint32_t seq[2];    /* TCP sequence numbers: [0] caller->callee, [1] back */
    bool tcp_open;
    int fragment_mtu;      /* IPv6/IPv4: fragment datagrams larger than this (0: never) */
    unsigned ws_fragments; /* WS: frames a message is cut into, a ping between each (0, 1: one) */
    bool ws_open;          /* WS: the upgrade was sent */
    uint32_t ws_mask;      /* WS: the next masking key */
} sg_call_t;

sipgen_t *sipgen_new(void);
void sipgen_free(sipgen_t *g);

/* Sets up a call between two parties (addresses IPv4 or IPv6). */
void sg_call_init(sg_call_t *c, const char *call_id, const char *caller_ip, const char *callee_ip,
                  enum sg_transport tr);

/* A request from the caller (from_caller) or the callee.  sdp adds an
 * offer/answer body with that side's media address and port; extra is
 * appended to the headers (each line ending in \r\n) or NULL.  in_dialog
 * adds the To tag. */
void sg_request(sipgen_t *g, sg_call_t *c, double t, const char *method, unsigned cseq,
                bool from_caller, bool in_dialog, bool sdp, const char *extra);

/* A response to a request of the caller (to_caller) or the callee. */
void sg_response(sipgen_t *g, sg_call_t *c, double t, int code, const char *reason, unsigned cseq,
                 const char *method, bool to_caller, bool with_tag, bool sdp, const char *extra);

/* Raw bytes on the call's TCP connection (several messages at once, say). */
void sg_tcp_raw(sipgen_t *g, sg_call_t *c, double t, bool from_caller, const void *data,
                size_t len);

/* Raw UDP payload from one endpoint to another (for RTP and noise). */
void sg_udp(sipgen_t *g, double t, const char *src, uint16_t sport, const char *dst, uint16_t dport,
            const void *payload, size_t len);

/* A whole frame, as built with pcapgen. */
void sg_frame(sipgen_t *g, double t, const pg_buf_t *frame);

/* Base time of the capture (Unix seconds); t arguments are relative. */
void sipgen_set_base(sipgen_t *g, double base);

/* Writes every packet, in time order, as pcap (microseconds) or pcapng. */
int sipgen_write(sipgen_t *g, const char *path, bool pcapng);

size_t sipgen_packets(const sipgen_t *g);

#endif
