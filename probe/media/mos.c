/* mos: ITU-T G.107 E-model.  Equation numbers refer to G.107 (06/2015),
 * section 7; parameter defaults to its Table 3; codec values to ITU-T
 * G.113 (11/2007) Appendix I. */
#include "autoconf.h"

#include "media/mos.h"

#include <math.h>
#include <stddef.h>
#include <strings.h>

/* G.107 Table 3 defaults (the "standard" connection). */
#define G107_SLR  8.0   /* send loudness rating, dB */
#define G107_RLR  2.0   /* receive loudness rating, dB */
#define G107_STMR 15.0  /* sidetone masking rating, dB */
#define G107_LSTR 18.0  /* listener sidetone rating, dB */
#define G107_DS   3.0   /* D-value of telephone, send side */
#define G107_TELR 65.0  /* talker echo loudness rating, dB */
#define G107_WEPL 110.0 /* weighted echo path loss, dB */
#define G107_QDU  1.0   /* quantizing distortion units */
#define G107_NC   -70.0 /* circuit noise at the 0 dBr point, dBm0p */
#define G107_NFOR -64.0 /* noise floor at the receive side, dBmp */
#define G107_PS   35.0  /* room noise, send side, dB(A) */
#define G107_PR   35.0  /* room noise, receive side, dB(A) */
#define G107_A    0.0   /* advantage factor (wired access) */
#define G107_MT   100.0 /* Idd: delay below which there is no impairment, ms */
#define G107_ST   1.0   /* Idd: sharpness of the delay impairment */

/* Codec figures.  Ie: G.113 Appendix I Table I.1; Bpl: Table I.3, which
 * gives (Ie, Bpl) for codecs with their packet loss concealment.  Entries
 * marked approximate are not in those tables: see their comments. */
static const mos_codec_t codecs[] = {
    /* G.711 with the PLC of G.711 Appendix I (Table I.3: Ie 0, Bpl 25.1).
     * Receivers today conceal loss, so PCMU/PCMA get these values. */
    { "PCMU", 0.0, 25.1, false },
    { "PCMA", 0.0, 25.1, false },
    /* G.711 without concealment (Table I.3: Bpl 4.3), for callers that know
     * the receiver has none. */
    { "G711-NOPLC", 0.0, 4.3, false },
    /* G.729A + VAD (Table I.3: Ie 11, Bpl 19.0).  RTP's "G729" covers G.729
     * and G.729A (same bitstream); the Annex A values are used for both
     * (Table I.1 gives plain G.729 Ie 10). */
    { "G729", 11.0, 19.0, false },
    /* G.723.1 at 6.3 kbit/s + VAD (Table I.3: Ie 15, Bpl 16.1). */
    { "G723", 15.0, 16.1, false },
    /* G.722 and Opus are wideband; on the narrowband scale this E-model
     * works on (R max 93.2), a wideband codec cannot score above clean
     * G.711, so they get G.711's Ie 0.  Their concealment is at least as
     * good as G.711 Appendix I, so Bpl 25.1 as well.  An approximation:
     * G.107.1 (wideband E-model) would be needed to show their advantage. */
    { "G722", 0.0, 25.1, true },
    { "opus", 0.0, 25.1, true },
};

/* The entry for unknown codecs. */
static const mos_codec_t unknown_codec = { "unknown", 0.0, 25.1, true };

const mos_codec_t *mos_codec_find(const char *name)
{
    if (name)
        for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
            if (strcasecmp(name, codecs[i].name) == 0)
                return &codecs[i];
    return &unknown_codec;
}

void mos_loss_add(mos_loss_t *l, bool lost)
{
    if (l->prev == 0) {
        l->from_ok++;
        if (lost)
            l->ok_to_lost++;
    } else if (l->prev == 1) {
        l->from_lost++;
        if (!lost)
            l->lost_to_ok++;
    }
    l->positions++;
    if (lost)
        l->lost++;
    l->prev = lost ? 1 : 0;
}

void mos_loss_merge(mos_loss_t *a, const mos_loss_t *b)
{
    a->positions += b->positions;
    a->lost += b->lost;
    a->from_ok += b->from_ok;
    a->ok_to_lost += b->ok_to_lost;
    a->from_lost += b->from_lost;
    a->lost_to_ok += b->lost_to_ok;
}

double mos_loss_ppl(const mos_loss_t *l)
{
    return l->positions ? 100.0 * (double)l->lost / (double)l->positions : 0.0;
}

double mos_burst_r(const mos_loss_t *l)
{
    double ppl, p, q;

    if (l->lost == 0 || l->positions == 0)
        return 1.0;
    ppl = (double)l->lost / (double)l->positions;
    /* In a stationary two-state chain P(lost) = p / (p + q), so
     * 1 / (p + q) = P(lost) / p = P(received) / q: whichever transition
     * probability was observed gives BurstR. */
    if (l->from_ok > 0 && l->ok_to_lost > 0) {
        p = (double)l->ok_to_lost / (double)l->from_ok;
        return ppl / p;
    }
    if (l->from_lost > 0 && l->lost_to_ok > 0) {
        q = (double)l->lost_to_ok / (double)l->from_lost;
        return (1.0 - ppl) / q;
    }
    return 1.0; /* everything lost, or a single loss at the very start */
}

/* G.107 equation 7-3: the basic signal-to-noise ratio terms. */
static void basic_terms(double *no_out, double *ro_out)
{
    double olr = G107_SLR + G107_RLR;
    double nfo = G107_NFOR + G107_RLR;                                               /* 7-6 */
    double pre = G107_PR + 10.0 * log10(1.0 + pow(10.0, (10.0 - G107_LSTR) / 10.0)); /* 7-7 */
    double nor = G107_RLR - 121.0 + pre + 0.008 * (pre - 35.0) * (pre - 35.0);       /* 7-5 */
    double nos = G107_PS - G107_SLR - G107_DS - 100.0 +
                 0.004 * pow(G107_PS - olr - G107_DS - 14.0, 2.0); /* 7-4 */
    double no = 10.0 * log10(pow(10.0, G107_NC / 10.0) + pow(10.0, nos / 10.0) +
                             pow(10.0, nor / 10.0) + pow(10.0, nfo / 10.0)); /* 7-3 */

    *no_out = no;
    *ro_out = 15.0 - 1.5 * (G107_SLR + no); /* 7-2 */
}

/* G.107 equations 7-8 to 7-16: simultaneous impairments. */
static double simultaneous(double no, double ro, double t)
{
    double olr = G107_SLR + G107_RLR;
    double xolr = olr + 0.2 * (64.0 + no - G107_RLR);                               /* 7-10 */
    double iolr = 20.0 * (pow(1.0 + pow(xolr / 8.0, 8.0), 1.0 / 8.0) - xolr / 8.0); /* 7-9 */
    double stmro = -10.0 * log10(pow(10.0, -G107_STMR / 10.0) +
                                 exp(-t / 4.0) * pow(10.0, -G107_TELR / 10.0)); /* 7-12 */
    double ist = 12.0 * pow(1.0 + pow((stmro - 13.0) / 6.0, 8.0), 1.0 / 8.0) -
                 28.0 * pow(1.0 + pow((stmro + 1.0) / 19.4, 35.0), 1.0 / 35.0) -
                 13.0 * pow(1.0 + pow((stmro - 3.0) / 33.0, 13.0), 1.0 / 13.0) + 29.0; /* 7-11 */
    double q = 37.0 - 15.0 * log10(G107_QDU);                                          /* 7-16 */
    double g = 1.07 + 0.258 * q + 0.0602 * q * q;                                      /* 7-15 */
    double z = 46.0 / 30.0 - g / 40.0;                                                 /* 7-14 */
    double y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;                             /* 7-14 */
    double iq = 15.0 * log10(1.0 + pow(10.0, y) + pow(10.0, z));                       /* 7-13 */

    return iolr + ist + iq; /* 7-8 */
}

/* G.107 equations 7-19 to 7-22: talker echo at one-way delay t. */
static double talker_echo(double no, double t)
{
    double terv = G107_TELR - 40.0 * log10((1.0 + t / 10.0) / (1.0 + t / 150.0)) +
                  6.0 * exp(-0.3 * t * t);  /* 7-22 */
    double roe = -1.5 * (no - G107_RLR);    /* 7-20 */
    double re = 80.0 + 2.5 * (terv - 14.0); /* 7-21 */

    return ((roe - re) / 2.0 + sqrt((roe - re) * (roe - re) / 4.0 + 100.0) - 1.0) *
           (1.0 - exp(-t)); /* 7-19 */
}

/* G.107 equations 7-25 and 7-26: listener echo at round-trip delay tr. */
static double listener_echo(double ro, double tr)
{
    double rle = 10.5 * (G107_WEPL + 7.0) * pow(tr + 1.0, -0.25); /* 7-26 */

    return (ro - rle) / 2.0 + sqrt((ro - rle) * (ro - rle) / 4.0 + 169.0); /* 7-25 */
}

/* G.107 equations 7-27 and 7-28: a too-long absolute delay ta (above
 * G107_MT). */
static double absolute_delay(double ta)
{
    double x = log10(ta / G107_MT) / log10(2.0); /* 7-28 */
    double e = 6.0 * G107_ST;

    return 25.0 * (pow(1.0 + pow(x, e), 1.0 / e) - 3.0 * pow(1.0 + pow(x / 3.0, e), 1.0 / e) +
                   2.0); /* 7-27 */
}

double mos_r_factor(const mos_params_t *p, mos_detail_t *detail)
{
    mos_detail_t d = { 0 };
    double no, t = p->delay_ms > 0 ? p->delay_ms : 0.0;
    double ta = t, tr = 2.0 * t;
    double ppl = p->ppl_pct < 0 ? 0 : (p->ppl_pct > 100 ? 100 : p->ppl_pct);
    double burst_r = p->burst_r > 0 ? p->burst_r : 1.0;

    basic_terms(&no, &d.ro);
    d.is = simultaneous(no, d.ro, t);

    /* Delayed impairments, 7-17 to 7-28. */
    d.idte = talker_echo(no, t);
    d.idle = listener_echo(d.ro, tr);
    if (ta > G107_MT)
        d.idd = absolute_delay(ta);
    d.id = d.idte + d.idle + d.idd; /* 7-17 */

    /* Equipment impairment with packet loss, 7-29. */
    d.ie_eff = p->ie + (95.0 - p->ie) * ppl / (ppl / burst_r + p->bpl);
    d.a = G107_A;
    d.r = d.ro - d.is - d.id - d.ie_eff + d.a; /* 7-1 */
    if (detail)
        *detail = d;
    return d.r;
}

double mos_from_r(double r)
{
    double mos;

    /* G.107 Annex B, equation B-4. */
    if (r <= 0)
        return 1.0;
    if (r >= 100)
        return 4.5;
    mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
    /* The cubic dips just under 1 for R below about 6.5: MOS is 1 there. */
    return mos < 1.0 ? 1.0 : mos;
}

double mos_estimate(const mos_codec_t *c, const mos_loss_t *l, double delay_ms, double *r_out)
{
    mos_params_t p = { .ie = c->ie,
                       .bpl = c->bpl,
                       .ppl_pct = mos_loss_ppl(l),
                       .burst_r = mos_burst_r(l),
                       .delay_ms = delay_ms };
    double r = mos_r_factor(&p, NULL);

    if (r_out)
        *r_out = r;
    return mos_from_r(r);
}

double mos_listening(const char *codec, double ppl_pct, double burst_r, double delay_ms)
{
    const mos_codec_t *c = mos_codec_find(codec);
    mos_params_t p = { .ie = c->ie,
                       .bpl = c->bpl,
                       .ppl_pct = ppl_pct,
                       .burst_r = burst_r > 0 ? burst_r : 1,
                       .delay_ms = delay_ms };

    return mos_from_r(mos_r_factor(&p, NULL));
}

void mos_hist_add(double mos, const double *bounds, size_t nbounds, uint64_t *counts)
{
    size_t i = 0;

    while (i < nbounds && mos > bounds[i])
        i++;
    counts[i]++;
}
