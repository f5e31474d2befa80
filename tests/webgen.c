/* webgen: a capture for the web tests.
 *
 *   webgen FILE EXPECTED
 *
 * Calls of every outcome spread over two hours (so time filters and graphs
 * have something to show), and a call whose From display name, User-Agent
 * and Call-ID are hostile: HTML and script that the dashboard must show as
 * text.  EXPECTED gets the calls as JSON: [{call_id, outcome, start}, ...]. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sipgen.h"

#define BASE 1800000000.0 /* 2027-01-15T08:00:00Z */

/* The payload the browser test looks for: it must appear as text, and its
 * script must never run. */
#define HOSTILE_DISPLAY "<img src=x onerror=alert(1)><script>alert(2)</script>"
#define HOSTILE_AGENT   "<svg onload=alert(3)>UA</svg>"
#define HOSTILE_CALL_ID "evil/<b>x</b>?a=1&b=%41\"q\"@h"

static json_t *expect;

static void want(const char *call_id, const char *outcome, double start)
{
    json_array_append_new(expect, json_pack("{s:s, s:s, s:f}", "call_id", call_id, "outcome",
                                            outcome, "start", BASE + start));
}

static void answered(sipgen_t *g, const char *id, const char *a, const char *b, double t,
                     double len)
{
    sg_call_t c;

    sg_call_init(&c, id, a, b, SG_UDP);
    sg_request(g, &c, t, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, t + 0.05, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_response(g, &c, t + 1.0, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, &c, t + 1.01, "ACK", 1, true, true, false, NULL);
    sg_request(g, &c, t + len, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, t + len + 0.01, 200, "OK", 2, "BYE", false, true, false, NULL);
    want(id, "answered", t);
}

static void failed(sipgen_t *g, const char *id, const char *a, const char *b, double t)
{
    sg_call_t c;

    sg_call_init(&c, id, a, b, SG_UDP);
    sg_request(g, &c, t, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, t + 0.3, 486, "Busy Here", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, t + 0.31, "ACK", 1, true, true, false, NULL);
    want(id, "failed", t);
}

static void dropped(sipgen_t *g, const char *id, const char *a, const char *b, double t)
{
    sg_call_t c;

    sg_call_init(&c, id, a, b, SG_UDP);
    sg_request(g, &c, t, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, t + 0.5, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, &c, t + 0.51, "ACK", 1, true, true, false, NULL);
    sg_request(g, &c, t + 20, "BYE", 2, false, true, false,
               "Reason: Q.850;cause=41;text=\"Temporary failure\"\r\n");
    sg_response(g, &c, t + 20.01, 200, "OK", 2, "BYE", false, true, false, NULL);
    want(id, "dropped", t);
}

static void cancelled(sipgen_t *g, const char *id, const char *a, const char *b, double t)
{
    sg_call_t c;

    sg_call_init(&c, id, a, b, SG_UDP);
    sg_request(g, &c, t, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, t + 0.1, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, t + 3, "CANCEL", 1, true, false, false, NULL);
    sg_response(g, &c, t + 3.01, 200, "OK", 1, "CANCEL", true, true, false, NULL);
    sg_response(g, &c, t + 3.02, 487, "Request Terminated", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, t + 3.03, "ACK", 1, true, true, false, NULL);
    want(id, "cancelled", t);
}

/* One SIP message of the hostile call, written byte for byte. */
static void hostile_msg(sipgen_t *g, double t, bool from_caller, const char *first, unsigned cseq,
                        const char *method, bool to_tag)
{
    char msg[4096];
    int n = snprintf(msg, sizeof(msg),
                     "%s\r\n"
                     "Via: SIP/2.0/UDP 10.66.0.66:5060;branch=z9hG4bK-evil-%u-%s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"%s\" <sip:mallory@example.com>;tag=evil1\r\n"
                     "To: \"Bob\" <sip:bob@example.com>%s\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %u %s\r\n"
                     "Contact: <sip:mallory@10.66.0.66:5060>\r\n"
                     "User-Agent: %s\r\n"
                     "Content-Length: 0\r\n\r\n",
                     first, cseq, method, HOSTILE_DISPLAY, to_tag ? ";tag=bob1" : "",
                     HOSTILE_CALL_ID, cseq, method, HOSTILE_AGENT);

    if (from_caller)
        sg_udp(g, t, "10.66.0.66", 5060, "10.2.0.99", 5060, msg, (size_t)n);
    else
        sg_udp(g, t, "10.2.0.99", 5060, "10.66.0.66", 5060, msg, (size_t)n);
}

static void hostile(sipgen_t *g, double t)
{
    hostile_msg(g, t, true, "INVITE sip:bob@example.com SIP/2.0", 1, "INVITE", false);
    hostile_msg(g, t + 0.1, false, "SIP/2.0 180 <script>alert(4)</script>", 1, "INVITE", true);
    hostile_msg(g, t + 1, false, "SIP/2.0 200 OK", 1, "INVITE", true);
    hostile_msg(g, t + 1.01, true, "ACK sip:bob@example.com SIP/2.0", 1, "ACK", true);
    hostile_msg(g, t + 30, true, "BYE sip:bob@example.com SIP/2.0", 2, "BYE", true);
    hostile_msg(g, t + 30.01, false, "SIP/2.0 200 OK", 2, "BYE", true);
    want(HOSTILE_CALL_ID, "answered", t);
}

int main(int argc, char **argv)
{
    sipgen_t *g;
    char id[64], a[32], b[32];
    FILE *f;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: webgen FILE EXPECTED\n");
        return 2;
    }
    g = sipgen_new();
    sipgen_set_base(g, BASE);
    expect = json_array();
    /* Every five minutes for two hours: a round of calls whose mix
     * worsens in the second hour. */
    for (int i = 0; i < 24; i++) {
        double t = 60.0 + i * 300.0;

        snprintf(a, sizeof(a), "10.1.%d.10", i);
        snprintf(b, sizeof(b), "10.2.%d.20", i);
        snprintf(id, sizeof(id), "ok-%02d@example.com", i);
        answered(g, id, a, b, t, 40 + i);
        if (i % 3 == 0) {
            snprintf(id, sizeof(id), "busy-%02d@example.com", i);
            failed(g, id, a, b, t + 10);
        }
        if (i >= 12 && i % 2 == 0) {
            snprintf(id, sizeof(id), "drop-%02d@example.com", i);
            dropped(g, id, a, b, t + 20);
        }
        if (i % 8 == 5) {
            snprintf(id, sizeof(id), "cancel-%02d@example.com", i);
            cancelled(g, id, a, b, t + 30);
        }
    }
    hostile(g, 3000.0);
    /* A call still up when the capture ends. */
    {
        sg_call_t c;

        sg_call_init(&c, "up-at-end@example.com", "10.1.99.10", "10.2.99.20", SG_UDP);
        sg_request(g, &c, 7200.0, "INVITE", 1, true, false, true, NULL);
        sg_response(g, &c, 7200.5, 200, "OK", 1, "INVITE", true, true, true, NULL);
        sg_request(g, &c, 7200.51, "ACK", 1, true, true, false, NULL);
        want("up-at-end@example.com", "active", 7200.0);
    }
    rc = sipgen_write(g, argv[1], false);
    sipgen_free(g);
    f = fopen(argv[2], "w");
    if (!f || json_dumpf(expect, f, JSON_INDENT(1)) != 0)
        rc = -1;
    if (f)
        fclose(f);
    printf("calls %zu\n", json_array_size(expect));
    json_decref(expect);
    return rc ? 1 : 0;
}
