/* mos: the ITU-T G.107 E-model (06/2015) and its R to MOS mapping.
 *
 *   R = Ro - Is - Id - Ie,eff + A
 *
 * with every G.107 parameter at its default (Table 3) except the ones a
 * packet stream tells us: the codec (Ie, Bpl from ITU-T G.113 Appendix I),
 * the packet loss Ppl and its burstiness BurstR, and the one-way delay
 * (T = Ta = delay, Tr = 2 * delay).  Pure functions, thread-safe. */
#ifndef CW_MOS_H
#define CW_MOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One-way delay assumed when nothing better is known: 0 ms, i.e. the G.107
 * reference (R 93.2 for G.711 without impairments).  Below 100 ms the delay
 * impairment stays under about 2 R points; callers that know a round trip
 * (RTCP) pass half of it plus their buffering. */
#define MOS_DEFAULT_DELAY_MS 0.0

typedef struct mos_codec {
    const char *name; /* as in SDP rtpmap, case-insensitive */
    double ie;        /* equipment impairment factor */
    double bpl;       /* packet-loss robustness factor */
    bool approximate; /* not from a G.113 table: see mos.c */
} mos_codec_t;

/* The E-model figures of a codec by its encoding name ("PCMU", "G729",
 * "opus", ...).  Never NULL: an unknown name gets the G.711-with-PLC entry
 * with approximate set. */
const mos_codec_t *mos_codec_find(const char *name);

/* Counts of a loss sequence in sequence-number order, for Ppl and for the
 * two-state Markov (Gilbert) estimate of BurstR.  A lost position is a
 * sequence number never received or one a jitter buffer discarded. */
typedef struct mos_loss {
    uint64_t positions; /* sequence numbers judged */
    uint64_t lost;
    uint64_t from_ok;    /* positions following a received one ... */
    uint64_t ok_to_lost; /* ... that were lost */
    uint64_t from_lost;  /* positions following a lost one ... */
    uint64_t lost_to_ok; /* ... that were received */
    int8_t prev;         /* -1 none yet, 0 received, 1 lost */
} mos_loss_t;

#define MOS_LOSS_INIT                                                                              \
    {                                                                                              \
        0, 0, 0, 0, 0, 0, -1                                                                       \
    }

/* Appends one position to the sequence. */
void mos_loss_add(mos_loss_t *l, bool lost);

/* Adds the counts of b to a (a's prev is kept: use for totals only). */
void mos_loss_merge(mos_loss_t *a, const mos_loss_t *b);

/* Ppl in percent: 100 * lost / positions (0 with no positions). */
double mos_loss_ppl(const mos_loss_t *l);

/* G.107 BurstR = 1 / (p + q) of the two-state Markov model, with
 * p = P(lost | previous received) and q = P(received | previous lost),
 * estimated as Ppl / p (or (1 - Ppl) / q when p is unknown).  1 for random
 * loss, above 1 for bursts; 1 when nothing was lost. */
double mos_burst_r(const mos_loss_t *l);

typedef struct mos_params {
    double ie;       /* codec's equipment impairment factor */
    double bpl;      /* codec's packet-loss robustness factor */
    double ppl_pct;  /* packet loss in percent, 0-100 */
    double burst_r;  /* burst ratio, > 0 (1 = random) */
    double delay_ms; /* mouth-to-ear one-way delay */
} mos_params_t;

typedef struct mos_detail {
    double ro, is, id, idte, idle, idd, ie_eff, a, r;
} mos_detail_t;

/* The R factor; detail (may be NULL) receives the terms. */
double mos_r_factor(const mos_params_t *p, mos_detail_t *detail);

/* G.107 Annex B: R to the listening-quality MOS (1.0 to 4.5). */
double mos_from_r(double r);

/* Convenience: the MOS of a codec with a loss pattern and a delay. */
double mos_estimate(const mos_codec_t *c, const mos_loss_t *l, double delay_ms, double *r_out);

/* The MOS of a codec by name (mos_codec_find()) at a loss in percent, a
 * burst ratio (<= 0: random loss) and a one-way delay. */
double mos_listening(const char *codec, double ppl_pct, double burst_r, double delay_ms);

/* Counts mos in a histogram: counts[i] for (bounds[i-1], bounds[i]], the
 * last of nbounds + 1 counts for above every bound. */
void mos_hist_add(double mos, const double *bounds, size_t nbounds, uint64_t *counts);

#endif
