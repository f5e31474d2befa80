/* The call state machine, table-driven: a message sequence in, an outcome
 * out.  Each event is a line:
 *   "T > INVITE 1"           request from the caller at time T (CSeq 1)
 *   "T < 180 1 INVITE tag"   response from the callee, To tag present
 *   "T < BYE 2 tag"          request from the callee
 *   flags: tag, sdp, inactive, q850=N, sip=N
 *   "T m>" / "T m<"          media from the caller / callee
 *   "T tick"                 run the timers at T
 * Times are seconds. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/calls.h"

struct call_case {
    const char *name;
    const char *events[16];

    const char *outcome;
    int sip_code;
    const char *end_reason; /* "" while up */
    double end;             /* -1: not checked */
    bool one_way;
    bool partial; /* seen only from the middle of its dialog */
};

// clang-format off
static const struct call_case cases[] = {
    { "answered, BYE", { "0 > INVITE 1 sdp", "0.1 < 100 1 INVITE", "1 < 180 1 INVITE tag",
                         "3 < 200 1 INVITE tag sdp", "3.1 > ACK 1 tag", "60 > BYE 2 tag",
                         "60.1 < 200 2 BYE tag" },
      "answered", 200, "bye", 60, false, false },
    { "answered, callee hangs up", { "0 > INVITE 1", "2 < 200 1 INVITE tag", "9 < BYE 1 tag" },
      "answered", 200, "bye", 9, false, false },
    { "486 busy", { "0 > INVITE 1", "0.5 < 486 1 INVITE tag", "0.6 > ACK 1 tag" },
      "failed", 486, "sip_error", 0.5, false, false },
    { "603 decline", { "0 > INVITE 1", "4 < 603 1 INVITE tag" }, "failed", 603, "sip_error", 4, false, false },
    { "cancel then 487", { "0 > INVITE 1", "1 < 180 1 INVITE tag", "5 > CANCEL 1",
                           "5.1 < 200 1 CANCEL tag", "5.2 < 487 1 INVITE tag" },
      "cancelled", 487, "cancel", 5.2, false, false },
    { "cancel then 408", { "0 > INVITE 1", "5 > CANCEL 1", "32 < 408 1 INVITE tag" },
      "cancelled", 408, "cancel", 32, false, false },
    { "487 without a CANCEL seen", { "0 > INVITE 1", "7 < 487 1 INVITE tag" }, "cancelled",
      487, "cancel", 7, false, false },
    { "cancel too late: answered", { "0 > INVITE 1", "2 < 200 1 INVITE tag", "2.01 > CANCEL 1",
                                     "30 > BYE 2 tag" },
      "answered", 200, "bye", 30, false, false },
    { "401 then success", { "0 > INVITE 1", "0.1 < 401 1 INVITE tag", "0.2 > ACK 1 tag",
                            "0.3 > INVITE 2", "1.3 < 200 2 INVITE tag", "9 > BYE 3 tag" },
      "answered", 200, "bye", 9, false, false },
    { "407 then 403", { "0 > INVITE 1", "0.1 < 407 1 INVITE tag", "40 > INVITE 2",
                        "40.2 < 403 2 INVITE tag" },
      "failed", 403, "sip_error", 40.2, false, false },
    { "407 abandoned", { "0 > INVITE 1", "0.1 < 407 1 INVITE tag", "200 tick" }, "failed", 407,
      "auth_abandoned", -1, false, false },
    { "retransmitted final", { "0 > INVITE 1", "0.5 < 480 1 INVITE tag",
                               "1.0 < 480 1 INVITE tag", "1.5 < 480 1 INVITE tag" },
      "failed", 480, "sip_error", 0.5, false, false },
    { "no response: unanswered", { "0 > INVITE 1", "0.5 > INVITE 1", "31 tick", "33 tick" },
      "unanswered", 0, "timeout", 32, false, false },
    { "ringing, then silence", { "0 > INVITE 1", "1 < 180 1 INVITE tag", "100 tick",
                                 "182 tick" },
      "unanswered", 0, "timeout", 181, false, false },
    { "still ringing at the end", { "0 > INVITE 1", "1 < 180 1 INVITE tag", "50 tick" },
      "active", 0, "", -1, false, false },
    { "BYE with Q.850 41", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "20 < BYE 2 tag q850=41" },
      "dropped", 200, "bye_error", 20, false, false },
    { "BYE with Q.850 16", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "20 > BYE 2 tag q850=16" },
      "answered", 200, "bye", 20, false, false },
    { "BYE with SIP 503", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "20 > BYE 2 tag sip=503" },
      "dropped", 200, "bye_error", 20, false, false },
    { "408 to a re-INVITE", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "30 > INVITE 2 tag sdp",
                              "62 < 408 2 INVITE tag" },
      "dropped", 200, "in_dialog_408", 62, false, false },
    { "481 to BYE", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "30 > BYE 2 tag",
                      "30.1 < 481 2 BYE tag" },
      "dropped", 200, "in_dialog_481", 30, false, false },
    { "488 to a re-INVITE is not a drop", { "0 > INVITE 1", "1 < 200 1 INVITE tag",
                                            "10 > INVITE 2 tag sdp", "10.1 < 488 2 INVITE tag",
                                            "40 > BYE 3 tag" },
      "answered", 200, "bye", 40, false, false },
    { "media stops: dropped at the silence", { "0 > INVITE 1 sdp", "1 < 200 1 INVITE tag sdp",
                                               "2 m>", "2 m<", "15 m>", "15.5 m<", "20 tick",
                                               "26 tick" },
      "dropped", 200, "rtp_timeout", 15.5, false, false },
    { "media on hold is not a drop", { "0 > INVITE 1 sdp", "1 < 200 1 INVITE tag sdp",
                                       "2 m>", "2 m<", "5 > INVITE 2 tag sdp inactive",
                                       "100 tick", "120 > BYE 3 tag" },
      "answered", 200, "bye", 120, false, false },
    { "one-way audio flagged", { "0 > INVITE 1 sdp", "1 < 200 1 INVITE tag sdp", "2 m>", "2 m<",
                                 "5 m>", "10 m>", "15 m>", "20 m>", "20 tick", "21 > BYE 2 tag" },
      "answered", 200, "bye", 21, true, false },
    { "media moved out of sight: no media timeout", { "0 > INVITE 1 sdp", "1 < 200 1 INVITE tag sdp",
                                                      "2 m>", "2 m<", "5 > INVITE 2 tag sdp port=5000",
                                                      "5.1 < 200 2 INVITE tag sdp", "60 tick",
                                                      "70 > BYE 3 tag" },
      "answered", 200, "bye", 70, false, false },
    { "no media at all: no media timeout", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "50 tick",
                                             "60 > BYE 2 tag" },
      "answered", 200, "bye", 60, false, false },
    { "answered, up at the end", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "100 tick" },
      "active", 200, "", -1, false, false },
    { "answered, idle for an hour", { "0 > INVITE 1", "1 < 200 1 INVITE tag", "3700 tick" },
      "answered", 200, "idle_timeout", 1, false, false },
    /* Partial calls: the capture started after the INVITE. */
    { "partial: a BYE only", { "10 > BYE 2 tag" }, "answered", 0, "bye", 10, false, true },
    { "partial: a BYE with Q.850 41 only", { "10 < BYE 7 tag q850=41" }, "dropped", 0,
      "bye_error", 10, false, true },
    { "partial: the 200 to a BYE only", { "10 < 200 2 BYE tag" }, "answered", 0, "bye", 10,
      false, true },
    { "partial: re-INVITE, then BYE", { "10 > INVITE 2 tag sdp", "10.1 < 200 2 INVITE tag sdp",
                                        "10.2 > ACK 2 tag", "40 < BYE 3 tag",
                                        "40.1 > 200 3 BYE tag" },
      "answered", 0, "bye", 40, false, true },
    { "partial: re-INVITE, then its media stops", { "10 > INVITE 2 tag sdp",
                                                    "10.1 < 200 2 INVITE tag sdp", "11 m>",
                                                    "11 m<", "20 m>", "20 m<", "25 tick",
                                                    "31 tick" },
      "dropped", 0, "rtp_timeout", 20, false, true },
    { "partial: re-INVITE, no media seen: not judged on silence",
      { "10 > INVITE 2 tag sdp", "10.1 < 200 2 INVITE tag sdp", "100 tick" }, "active", 0, "",
      -1, false, true },
    { "partial: 481 to a re-INVITE", { "10 > INVITE 2 tag", "10.1 < 481 2 INVITE tag" },
      "dropped", 0, "in_dialog_481", 10.1, false, true },
    { "partial: an UPDATE, then an hour of nothing", { "10 > UPDATE 4 tag", "3700 tick" },
      "answered", 0, "idle_timeout", 10, false, true },
    { "partial: an INFO, up at the end", { "10 < INFO 5 tag", "100 tick" }, "active", 0, "", -1,
      false, true },
    { "partial: the 200 of an INVITE not seen", { "1 < 200 1 INVITE tag sdp", "1.1 > ACK 1 tag",
                                                  "30 > BYE 2 tag" },
      "answered", 0, "bye", 30, false, true },
};
// clang-format on

static sip_msg_t msg;

static void make_msg(const char *line, double *t, char *kind)
{
    char dir[8], what[24], rest[128] = "", m2[24] = "";
    unsigned cseq = 0;
    int n;

    memset(&msg, 0, sizeof(msg));
    msg.reason_q850 = msg.reason_sip = -1;
    n = sscanf(line, "%lf %7s %23s %u %127[^\n]", t, dir, what, &cseq, rest);
    *kind = 0;
    if (n >= 2 && strcmp(dir, "tick") == 0) {
        *kind = 't';
        return;
    }
    if (n >= 2 && dir[0] == 'm') {
        *kind = dir[1] == '>' ? 'M' : 'm';
        return;
    }
    assert_true(n >= 4);
    *kind = dir[0];
    snprintf(msg.call_id, sizeof(msg.call_id), "call-1");
    snprintf(msg.from_tag, sizeof(msg.from_tag), "caller-tag");
    snprintf(msg.from_uri, sizeof(msg.from_uri), "sip:alice@example.com");
    snprintf(msg.to_uri, sizeof(msg.to_uri), "sip:bob@example.com");
    msg.cseq = cseq;
    if (what[0] >= '0' && what[0] <= '9') {
        msg.status = atoi(what);
        sscanf(rest, "%23s", m2);
        snprintf(msg.cseq_method_name, sizeof(msg.cseq_method_name), "%s", m2);
        msg.cseq_method = sip_method_from_name(m2);
        snprintf(msg.reason_phrase, sizeof(msg.reason_phrase), "Reason");
    } else {
        msg.is_request = true;
        snprintf(msg.method_name, sizeof(msg.method_name), "%s", what);
        msg.method = sip_method_from_name(what);
        msg.cseq_method = msg.method;
    }
    if (strstr(rest, "tag"))
        snprintf(msg.to_tag, sizeof(msg.to_tag), "callee-tag");
    if (strstr(rest, "q850="))
        msg.reason_q850 = atoi(strstr(rest, "q850=") + 5);
    if (strstr(rest, "sip="))
        msg.reason_sip = atoi(strstr(rest, "sip=") + 4);
    if (strstr(rest, "sdp")) {
        msg.has_sdp = true;
        msg.sdp.nmedia = 1;
        msg.sdp.media[0].port =
            strstr(rest, "port=") ? (uint16_t)atoi(strstr(rest, "port=") + 5) : 4000;
        msg.sdp.media[0].has_addr = true;
        cw_addr_parse("10.0.0.9", &msg.sdp.media[0].addr);
        snprintf(msg.sdp.media[0].type, sizeof(msg.sdp.media[0].type), "audio");
        msg.sdp.media[0].dir = strstr(rest, "inactive") ? SDP_INACTIVE : SDP_SENDRECV;
    }
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct call_case *c = &cases[i];
        calls_t *t = calls_new(&(calls_cfg_t){ .keep_ended = true }, NULL);
        call_t **list;
        double last = 0;
        decode_pkt_t p;

        for (size_t j = 0; j < 16 && c->events[j]; j++) {
            double ts;
            char kind;
            cw_ns_t now;

            make_msg(c->events[j], &ts, &kind);
            now = (cw_ns_t)(ts * 1e9);
            last = ts;
            memset(&p, 0, sizeof(p));
            p.ts = now;
            p.proto = 17;
            cw_addr_parse(kind == '<' ? "10.0.0.2" : "10.0.0.1", &p.src);
            cw_addr_parse(kind == '<' ? "10.0.0.1" : "10.0.0.2", &p.dst);
            p.sport = p.dport = 5060;
            switch (kind) {
            case 't':
                calls_tick(t, now);
                break;
            case 'M':
            case 'm':
                calls_media(t, calls_find(t, "call-1"), kind == 'M', now);
                break;
            default:
                /* From the callee, a request carries the tags reversed. */
                if (kind == '<' && msg.is_request) {
                    snprintf(msg.from_tag, sizeof(msg.from_tag), "callee-tag");
                    snprintf(msg.to_tag, sizeof(msg.to_tag), "caller-tag");
                }
                calls_sip(t, &msg, &p);
                break;
            }
        }
        calls_finish(t, (cw_ns_t)(last * 1e9));
        assert_int_equal(calls_list(t, &list), 1);
        if (strcmp(call_outcome_name(call_outcome(list[0])), c->outcome) != 0 ||
            call_sip_code(list[0]) != c->sip_code ||
            strcmp(call_end_reason(list[0]), c->end_reason) != 0 ||
            call_one_way(list[0]) != c->one_way || call_partial(list[0]) != c->partial)
            fail_msg("%s: got %s %d \"%s\" one-way %d partial %d", c->name,
                     call_outcome_name(call_outcome(list[0])), call_sip_code(list[0]),
                     call_end_reason(list[0]), call_one_way(list[0]), call_partial(list[0]));
        if (c->end >= 0 && call_end(list[0]) != (cw_ns_t)(c->end * 1e9))
            fail_msg("%s: end %.3f, expected %.3f", c->name, cw_ns_to_sec(call_end(list[0])),
                     c->end);
        calls_free(t);
    }
}

static void test_bounds_and_counters(void **state)
{
    calls_t *t = calls_new(&(calls_cfg_t){ .max_calls = 10, .keep_ended = false }, NULL);
    calls_counters_t ctr;
    call_t **list;
    decode_pkt_t p;
    double ts;
    char kind;

    (void)state;
    memset(&p, 0, sizeof(p));
    cw_addr_parse("10.0.0.1", &p.src);
    cw_addr_parse("10.0.0.2", &p.dst);
    for (int i = 0; i < 25; i++) {
        make_msg("0 > INVITE 1", &ts, &kind);
        snprintf(msg.call_id, sizeof(msg.call_id), "call-%d", i);
        p.ts = CW_SEC(i);
        calls_sip(t, &msg, &p);
    }
    calls_get_counters(t, &ctr);
    assert_int_equal(ctr.attempts, 25);
    assert_int_equal(ctr.evicted, 15);
    assert_int_equal(ctr.in_progress, 10);
    /* An in-dialog message of no call's dialog methods, for an unknown
     * call, is an orphan, not a call. */
    make_msg("30 < NOTIFY 2 tag", &ts, &kind);
    snprintf(msg.call_id, sizeof(msg.call_id), "never-seen");
    calls_sip(t, &msg, &p);
    calls_get_counters(t, &ctr);
    assert_int_equal(ctr.orphans, 1);
    /* Live mode keeps only what is in progress or lingering. */
    calls_tick(t, CW_SEC(30));
    assert_true(calls_list(t, &list) <= 25);
    calls_tick(t, CW_SEC(1000));
    assert_int_equal(calls_list(t, &list), 0);
    calls_get_counters(t, &ctr);
    assert_int_equal(ctr.unanswered, 10);
    calls_free(t);
}

struct hook_counts {
    unsigned starts, answers, ends;
};

static void count_start(void *ud, call_t *c)
{
    (void)c;
    ((struct hook_counts *)ud)->starts++;
}

static void count_answer(void *ud, call_t *c)
{
    (void)c;
    ((struct hook_counts *)ud)->answers++;
}

static void count_end(void *ud, call_t *c)
{
    (void)c;
    ((struct hook_counts *)ud)->ends++;
}

/* Feeds one event line of call call_id at its time. */
static void feed(calls_t *t, const char *call_id, const char *line)
{
    decode_pkt_t p;
    double ts;
    char kind;

    make_msg(line, &ts, &kind);
    memset(&p, 0, sizeof(p));
    p.ts = (cw_ns_t)(ts * 1e9);
    p.proto = 17;
    cw_addr_parse(kind == '<' ? "10.0.0.2" : "10.0.0.1", &p.src);
    cw_addr_parse(kind == '<' ? "10.0.0.1" : "10.0.0.2", &p.dst);
    if (kind == 't') {
        calls_tick(t, p.ts);
        return;
    }
    if (kind == 'M' || kind == 'm') {
        calls_media(t, calls_find(t, call_id), kind == 'M', p.ts);
        return;
    }
    snprintf(msg.call_id, sizeof(msg.call_id), "%s", call_id);
    calls_sip(t, &msg, &p);
}

/* Partial calls are reported but counted under no attempt, answer or
 * outcome, and start no call's hooks but on_end; messages that do not
 * show a call up stay orphans; a call forgotten does not come back as a
 * partial one when its late BYE arrives. */
static void test_partial_counters(void **state)
{
    struct hook_counts hc = { 0 };
    calls_hooks_t hooks = {
        .on_start = count_start, .on_answer = count_answer, .on_end = count_end, .ud = &hc
    };
    calls_t *t = calls_new(&(calls_cfg_t){ .keep_ended = true }, &hooks);
    calls_counters_t ctr;
    call_t **list;
    json_t *j;

    (void)state;
    /* A whole call answered, whose media stops: dropped, then forgotten. */
    feed(t, "whole", "0 > INVITE 1 sdp");
    feed(t, "whole", "1 < 200 1 INVITE tag sdp");
    feed(t, "whole", "2 m>");
    feed(t, "whole", "2 m<");
    /* Partial calls: one up, one ended by its BYE, one dropped. */
    feed(t, "p-up", "3 > INVITE 2 tag sdp");
    feed(t, "p-bye", "4 < BYE 9 tag");
    feed(t, "p-481", "5 > UPDATE 3 tag");
    feed(t, "p-481", "5.1 < 481 3 UPDATE tag");
    /* Not a call seen up: responses to an INVITE other than 2xx, ACK,
     * NOTIFY, and requests without a To tag. */
    feed(t, "o-180", "6 < 180 1 INVITE tag");
    feed(t, "o-486", "6 < 486 1 INVITE tag");
    feed(t, "o-ack", "6 > ACK 1 tag");
    feed(t, "o-notify", "6 > NOTIFY 2 tag");
    feed(t, "o-bye", "6 > BYE 2");
    feed(t, "o-200", "6 < 200 2 NOTIFY tag");
    calls_get_counters(t, &ctr);
    assert_int_equal(ctr.attempts, 1);
    assert_int_equal(ctr.answered, 1);
    assert_int_equal(ctr.active, 1);
    assert_int_equal(ctr.in_progress, 1);
    assert_int_equal(ctr.dropped, 0);
    assert_int_equal(ctr.partial, 3);
    assert_int_equal(ctr.partial_active, 1);
    assert_int_equal(ctr.orphans, 4); /* 180, 486, ACK, NOTIFY */
    assert_int_equal(hc.starts, 1);
    assert_int_equal(hc.answers, 1);
    assert_int_equal(hc.ends, 2);
    feed(t, "whole", "20 tick");
    feed(t, "whole", "100 tick");
    assert_null(calls_find(t, "whole"));
    /* Its late BYE: no partial call, an orphan. */
    feed(t, "whole", "120 > BYE 2 tag");
    assert_null(calls_find(t, "whole"));
    calls_get_counters(t, &ctr);
    assert_int_equal(ctr.dropped, 1);
    assert_int_equal(ctr.active, 0);
    assert_int_equal(ctr.in_progress, 0);
    assert_int_equal(ctr.partial, 3);
    assert_int_equal(ctr.orphans, 5);
    assert_int_equal(calls_list(t, &list), 4);
    assert_string_equal(call_id(list[0]), "whole");
    assert_false(call_partial(list[0]));
    j = call_json(list[0], false);
    assert_null(json_object_get(j, "partial"));
    json_decref(j);
    assert_string_equal(call_id(list[1]), "p-up");
    j = call_json(list[1], false);
    assert_true(json_is_true(json_object_get(j, "partial")));
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "active");
    assert_true(json_is_null(json_object_get(j, "answered")));
    assert_true(json_is_null(json_object_get(j, "sip_code")));
    assert_string_equal(json_string_value(json_object_get(j, "caller")), "10.0.0.1:0");
    json_decref(j);
    /* A partial call whose first message is a request from the callee's
     * side: its sender is the partial call's caller. */
    j = call_json(list[2], false);
    assert_string_equal(json_string_value(json_object_get(j, "caller")), "10.0.0.2:0");
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "answered");
    json_decref(j);
    assert_string_equal(call_outcome_name(call_outcome(list[3])), "dropped");
    calls_free(t);
}

static void test_json(void **state)
{
    calls_t *t = calls_new(&(calls_cfg_t){ .keep_ended = true }, NULL);
    call_t **list;
    json_t *j;
    decode_pkt_t p;
    double ts;
    char kind;

    (void)state;
    memset(&p, 0, sizeof(p));
    cw_addr_parse("2001:db8::1", &p.src);
    cw_addr_parse("2001:db8::2", &p.dst);
    p.sport = 5062;
    p.dport = 5060;
    make_msg("0 > INVITE 1", &ts, &kind);
    snprintf(msg.from_display, sizeof(msg.from_display), "\xff\xfe bad utf-8");
    p.ts = CW_SEC(100);
    calls_sip(t, &msg, &p);
    make_msg("2.5 < 200 1 INVITE tag", &ts, &kind);
    p.ts = CW_SEC(102) + CW_NS_PER_SEC / 2;
    calls_sip(t, &msg, &p);
    calls_list(t, &list);
    j = call_json(list[0], true);
    assert_string_equal(json_string_value(json_object_get(j, "call_id")), "call-1");
    assert_string_equal(json_string_value(json_object_get(j, "caller")), "[2001:db8::1]:5062");
    assert_int_equal(json_integer_value(json_object_get(j, "setup_ms")), 2500);
    assert_true(json_is_null(json_object_get(j, "end")));
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "active");
    assert_non_null(json_string_value(json_object_get(j, "from_display")));
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 2);
    json_decref(j);
    calls_free(t);
}

/* The SIP ladder keeps each message's endpoints and text whatever the mix:
 * endpoints that share an address or a port, IPv4 and IPv6, a message to
 * itself, labels cut at 40 bytes, up to 100 messages and then a count. */
static const struct {
    const char *ip;
    uint16_t port;
    const char *str;
} ladder_eps[] = {
    { "10.0.0.1", 5060, "10.0.0.1:5060" },       { "10.0.0.2", 5060, "10.0.0.2:5060" },
    { "10.0.0.2", 5080, "10.0.0.2:5080" },       { "2001:db8::1", 5060, "[2001:db8::1]:5060" },
    { "192.0.2.77", 65535, "192.0.2.77:65535" }, { "2001:db8::2", 5080, "[2001:db8::2]:5080" },
    { "10.0.0.3", 5080, "10.0.0.3:5080" },
};

#define LADDER_NEPS (sizeof(ladder_eps) / sizeof(ladder_eps[0]))

struct ladder_want {
    int src, dst; /* in ladder_eps */
    bool request;
    unsigned cseq;
    bool sdp;
    char label[64];
};

/* Message i of the test call, set up in msg and p; what its ladder entry
 * should say goes to w. */
static void ladder_msg(int i, decode_pkt_t *p, struct ladder_want *w)
{
    static const char *const methods[] = { "INFO", "OPTIONS", "UPDATE", "A-LONG-EXTENSION-23-CH" };
    char line[96], reason[64];
    double ts;
    char kind;
    int n;

    w->src = i % (int)LADDER_NEPS;
    w->dst = (i * 3 + 1) % (int)LADDER_NEPS;
    w->request = i % 2 == 0;
    w->cseq = (unsigned)i + 1;
    w->sdp = i % 5 == 0;
    if (i == 0)
        snprintf(line, sizeof(line), "0 > INVITE 1 sdp");
    else if (w->request)
        snprintf(line, sizeof(line), "0 > %s %u tag%s", methods[i % 4], w->cseq,
                 w->sdp ? " sdp" : "");
    else
        snprintf(line, sizeof(line), "0 < %d %u INVITE tag%s", 180 + i % 20, w->cseq,
                 w->sdp ? " sdp" : "");
    make_msg(line, &ts, &kind);
    /* Reason phrases from empty to 63 bytes, each different. */
    n = (i * 7) % 64;
    for (int k = 0; k < n; k++)
        reason[k] = (char)('a' + (i + k) % 26);
    reason[n] = '\0';
    snprintf(msg.reason_phrase, sizeof(msg.reason_phrase), "%s", reason);
    if (i == 0)
        snprintf(w->label, sizeof(w->label), "INVITE");
    else if (w->request)
        snprintf(w->label, sizeof(w->label), "%s", methods[i % 4]);
    else
        snprintf(w->label, sizeof(w->label), "%d %.40s", 180 + i % 20, reason);

    memset(p, 0, sizeof(*p));
    p->ts = CW_SEC(100) + i * CW_NS_PER_MS;
    p->proto = 17;
    cw_addr_parse(ladder_eps[w->src].ip, &p->src);
    p->sport = ladder_eps[w->src].port;
    cw_addr_parse(ladder_eps[w->dst].ip, &p->dst);
    p->dport = ladder_eps[w->dst].port;
}

static void test_ladder(void **state)
{
    calls_t *t = calls_new(&(calls_cfg_t){ .keep_ended = true }, NULL);
    struct ladder_want w;
    call_t **list;
    decode_pkt_t p;
    json_t *j, *msgs;

    (void)state;
    for (int i = 0; i < 130; i++) {
        ladder_msg(i, &p, &w);
        calls_sip(t, &msg, &p);
    }
    assert_int_equal(calls_list(t, &list), 1);
    j = call_json(list[0], true);
    msgs = json_object_get(j, "messages");
    assert_int_equal(json_array_size(msgs), 100);
    assert_int_equal(json_integer_value(json_object_get(j, "messages_dropped")), 30);
    for (int i = 0; i < 100; i++) {
        json_t *jm = json_array_get(msgs, (size_t)i);

        ladder_msg(i, &p, &w);
        assert_true(json_real_value(json_object_get(jm, "t")) == cw_ns_to_sec(p.ts));
        assert_string_equal(json_string_value(json_object_get(jm, "src")), ladder_eps[w.src].str);
        assert_string_equal(json_string_value(json_object_get(jm, "dst")), ladder_eps[w.dst].str);
        assert_string_equal(json_string_value(json_object_get(jm, "label")), w.label);
        assert_int_equal(json_is_true(json_object_get(jm, "request")), w.request);
        assert_int_equal(json_integer_value(json_object_get(jm, "cseq")), w.cseq);
        assert_int_equal(json_is_true(json_object_get(jm, "sdp")), w.sdp);
    }
    json_decref(j);
    calls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_bounds_and_counters),
        cmocka_unit_test(test_partial_counters),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_ladder),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
