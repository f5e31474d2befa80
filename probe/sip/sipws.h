/* sipws: SIP over WebSocket (RFC 7118) on one direction of a TCP
 * connection: the HTTP/1.1 upgrade that opens it (RFC 6455 section 4,
 * subprotocol "sip") and the frames that follow (RFC 6455 section 5), each
 * message of which carries exactly one SIP message.  Frames may be masked,
 * fragmented, and interleaved with control frames; messages are put
 * together in the caller's buffer, so memory stays within its size.
 * TLS (wss:) cannot be read and is not looked at. */
#ifndef CW_SIPWS_H
#define CW_SIPWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest upgrade request or response header block followed. */
#define SIPWS_HANDSHAKE_MAX 8192u

/* Opcodes (RFC 6455 section 5.2). */
enum sipws_opcode {
    SIPWS_CONTINUATION = 0x0,
    SIPWS_TEXT = 0x1,
    SIPWS_BINARY = 0x2,
    SIPWS_CLOSE = 0x8,
    SIPWS_PING = 0x9,
    SIPWS_PONG = 0xa,
};

/* Cheap test of the start of a TCP stream: "GET " or "HTTP/1.1 101". */
bool sipws_looks_like(const uint8_t *buf, size_t len);

/* Reads the HTTP header block at the start of buf: a GET asking to upgrade
 * to WebSocket with "sip" among its subprotocols, or the 101 answer that
 * chose "sip".  Returns the block's length (through its empty line) when
 * it is one; 0 when the block is not complete yet and might be one (it
 * mentions "websocket"); -EINVAL when it is not one; -E2BIG when no block
 * ended within SIPWS_HANDSHAKE_MAX octets. */
long sipws_handshake(const uint8_t *buf, size_t len);

typedef struct sipws_frame {
    bool fin;
    uint8_t opcode; /* enum sipws_opcode */
    bool masked;
    uint8_t mask[4];
    uint32_t hdr_len;     /* 2 to 14 octets */
    uint64_t payload_len; /* as sent: checked, not trusted */
} sipws_frame_t;

/* Reads a frame header at buf.  Returns 0; -EAGAIN when len is too short
 * for it; -EINVAL when it is malformed: a reserved bit set (no extension
 * is negotiated for SIP), an unknown opcode, a control frame fragmented or
 * over 125 octets, a length not in its shortest form or with its top bit
 * set. */
int sipws_frame_parse(const uint8_t *buf, size_t len, sipws_frame_t *out);

/* Unmasks n octets at p, which are the frame payload's octets from offset
 * off on. */
void sipws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* Could a message start at buf, a frame header on a segment boundary,
 * after a hole in the stream: a text or binary frame whose payload,
 * unmasked, starts like a SIP message (sip_looks_like())? */
bool sipws_starts_message(const uint8_t *buf, size_t len);

/* What a decoder met, added up by the caller over its connections. */
typedef struct sipws_stats {
    uint64_t frames;    /* frames read whole */
    uint64_t messages;  /* SIP messages handed on */
    uint64_t malformed; /* frames that ended the following of a connection */
    uint64_t too_long;  /* messages longer than the buffer, left out */
} sipws_stats_t;

/* One direction's decoder; zero it to start, after the handshake. */
typedef struct sipws_dec {
    uint32_t msg;  /* octets of the message being put together, at buf[0] */
    uint64_t skip; /* octets still to drop: the rest of a frame left out */
    bool open;     /* a fragmented message is being put together */
    bool discard;  /* ... and is being left out: it grew too long */
    bool closed;   /* a close frame was read: nothing follows */
} sipws_dec_t;

/* Called with each whole message, valid during the call only. */
typedef void (*sipws_msg_fn)(void *ud, const uint8_t *msg, size_t len);

/* Reads the whole frames in buf: buf[0, d->msg) holds the message being
 * put together, buf[d->msg, *len) the octets read since.  Hands each
 * complete message to fn, drops what it has read, and leaves what it has
 * not (at most cap octets are kept: a longer message is left out and
 * counted in too_long).  Returns 0, or -EINVAL after a malformed frame or
 * a fragment out of place: the connection cannot be followed any more. */
int sipws_decode(sipws_dec_t *d, uint8_t *buf, uint32_t *len, uint32_t cap, sipws_msg_fn fn,
                 void *ud, sipws_stats_t *st);

#endif
