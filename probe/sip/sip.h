/* sip: recognising SIP messages and reading what call tracking needs,
 * with libosip2's parser. */
#ifndef CW_SIP_H
#define CW_SIP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sdp.h"

enum sip_method {
    SIP_OTHER = 0,
    SIP_INVITE,
    SIP_ACK,
    SIP_BYE,
    SIP_CANCEL,
    SIP_OPTIONS,
    SIP_REGISTER,
    SIP_PRACK,
    SIP_UPDATE,
    SIP_INFO,
    SIP_REFER,
    SIP_NOTIFY,
    SIP_SUBSCRIBE,
    SIP_MESSAGE,
    SIP_PUBLISH,
};

/* A parsed message.  Strings are NUL-terminated copies, cut to their
 * field's size; every one of them came off the wire and is hostile. */
typedef struct sip_msg {
    bool is_request;
    enum sip_method method; /* requests */
    char method_name[24];
    int status; /* responses */
    char reason_phrase[64];
    char request_uri[160];
    char call_id[256];
    char from_uri[160], from_tag[96], from_display[96];
    char to_uri[160], to_tag[96], to_display[96];
    uint32_t cseq;
    enum sip_method cseq_method;
    char cseq_method_name[24];
    char user_agent[128];
    char reason_hdr[160]; /* the Reason header (RFC 3326) as sent */
    int reason_q850;      /* its Q.850 cause, or -1 */
    int reason_sip;       /* its SIP cause, or -1 */
    bool has_sdp;
    bool over_ws; /* came over WebSocket: set by the caller, not by sip_parse() */
    sdp_info_t sdp;
} sip_msg_t;

/* Once per process, before sip_parse(). Thread-safe. */
void sip_init(void);

/* Cheap test of the first line: "SIP/2.0 NNN ..." or "METHOD uri SIP/2.0". */
bool sip_looks_like(const uint8_t *buf, size_t len);

/* Parses one whole message.  Returns 0, or -EINVAL if libosip2 refuses it
 * or it lacks Call-ID, From, To or CSeq. */
int sip_parse(const uint8_t *buf, size_t len, sip_msg_t *out);

enum sip_method sip_method_from_name(const char *name);
const char *sip_method_name(enum sip_method m);

/* Reads a Reason header value such as `Q.850;cause=16;text="..."`: sets
 * *q850 / *sip to the cause or -1. */
void sip_reason_parse(const char *value, int *q850, int *sip);

/* Text from a message as a JSON string.  Text off the wire may not be
 * UTF-8, which jansson refuses: such text is passed with every byte above
 * 0x7f replaced by '?' (and cut to 511 bytes). */
json_t *sip_json_string(const char *s);

#endif
