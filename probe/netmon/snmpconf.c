#include "autoconf.h"

#include "netmon/snmpconf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

#define DEFAULT_PORT                 161
#define JNX_ROUTING_ENGINE_CONTAINER 9

/* By number: no MIB files are read.  OBJ makes a static array of the
 * numbers (a compound literal at file scope) and counts them. */
#define OBJ(...)                                                                                   \
    {                                                                                              \
        (const uint32_t[]){ __VA_ARGS__ },                                                         \
            sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)                           \
    }

static const snmpconf_oid_t objects[] = {
    [SNMPCONF_SYSUPTIME] = OBJ(1, 3, 6, 1, 2, 1, 1, 3, 0),
    [SNMPCONF_IFDESCR] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 2),
    [SNMPCONF_IFSPEED] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 5),
    [SNMPCONF_IFOPERSTATUS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 8),
    [SNMPCONF_IFINOCTETS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 10),
    [SNMPCONF_IFINDISCARDS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 13),
    [SNMPCONF_IFINERRORS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 14),
    [SNMPCONF_IFOUTOCTETS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 16),
    [SNMPCONF_IFOUTDISCARDS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 19),
    [SNMPCONF_IFOUTERRORS] = OBJ(1, 3, 6, 1, 2, 1, 2, 2, 1, 20),
    [SNMPCONF_IFNAME] = OBJ(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1),
    [SNMPCONF_IFHCINOCTETS] = OBJ(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6),
    [SNMPCONF_IFHCOUTOCTETS] = OBJ(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10),
    [SNMPCONF_IFHIGHSPEED] = OBJ(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15),
    [SNMPCONF_HRPROCESSORLOAD] = OBJ(1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2),
    [SNMPCONF_UCD_SYSTATS] = OBJ(1, 3, 6, 1, 4, 1, 2021, 11),
    [SNMPCONF_CISCO_CPU5SEC] = OBJ(1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1, 6),
    [SNMPCONF_FORTI_CPU] = OBJ(1, 3, 6, 1, 4, 1, 12356, 101, 4, 1, 3, 0),
    [SNMPCONF_JNX_DESCR] = OBJ(1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1, 5),
    [SNMPCONF_JNX_CPU] = OBJ(1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1, 8),
};

const unsigned snmpconf_ucd_subid[SNMPCOUNTER_UCD_NCOUNTERS] = { 50, 51, 52, 53, 54, 56, 61, 64 };

const snmpconf_oid_t *snmpconf_object(enum snmpconf_object o)
{
    return &objects[o];
}

/* USM protocol OIDs (RFC 3414, RFC 3826, RFC 7860; AES-192/256 as in the
 * Blumenthal draft that net-snmp and most devices implement). */
#define USM_AUTH(n)   { 1, 3, 6, 1, 6, 3, 10, 1, 1, n }, 10
#define USM_PRIV(n)   { 1, 3, 6, 1, 6, 3, 10, 1, 2, n }, 10
#define BLUMENTHAL(n) { 1, 3, 6, 1, 4, 1, 14832, 1, n }, 9

static const snmpconf_proto_t auth_protos[] = {
    { "MD5", USM_AUTH(2) },     { "SHA", USM_AUTH(3) },     { "SHA1", USM_AUTH(3) },
    { "SHA-1", USM_AUTH(3) },   { "SHA-224", USM_AUTH(4) }, { "SHA-256", USM_AUTH(5) },
    { "SHA-384", USM_AUTH(6) }, { "SHA-512", USM_AUTH(7) }, { NULL, { 0 }, 0 },
};

static const snmpconf_proto_t priv_protos[] = {
    { "DES", USM_PRIV(2) },       { "AES", USM_PRIV(4) },       { "AES-128", USM_PRIV(4) },
    { "AES128", USM_PRIV(4) },    { "AES-192", BLUMENTHAL(3) }, { "AES192", BLUMENTHAL(3) },
    { "AES-256", BLUMENTHAL(4) }, { "AES256", BLUMENTHAL(4) },  { NULL, { 0 }, 0 },
};

static const snmpconf_proto_t *find_proto(const snmpconf_proto_t *tab, const char *name)
{
    for (; tab->name; tab++)
        if (strcasecmp(tab->name, name) == 0)
            return tab;
    return NULL;
}

const snmpconf_proto_t *snmpconf_auth(const char *name)
{
    return name ? find_proto(auth_protos, name) : NULL;
}

const snmpconf_proto_t *snmpconf_priv(const char *name)
{
    return name ? find_proto(priv_protos, name) : NULL;
}

static bool hostname_valid(const char *h)
{
    size_t n = strlen(h);

    if (n == 0 || n > 253)
        return false;
    for (const char *c = h; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_'))
            return false;
    return h[0] != '.' && h[0] != '-';
}

int snmpconf_agent(const char *s, char *host, size_t hostlen, unsigned *port, bool *numeric)
{
    const char *h = s, *end, *ps = NULL;
    size_t hl;
    cw_addr_t a;
    long pv = DEFAULT_PORT;
    int colons = 0;

    for (const char *c = s; *c; c++)
        colons += *c == ':';
    if (*s == '[') {
        end = strchr(s, ']');
        if (!end)
            return -EINVAL;
        h = s + 1;
        hl = (size_t)(end - h);
        if (end[1] == ':')
            ps = end + 2;
        else if (end[1] != '\0')
            return -EINVAL;
    } else if (colons == 1) {
        end = strchr(s, ':');
        hl = (size_t)(end - s);
        ps = end + 1;
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= hostlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (ps && cw_parse_long(ps, 1, 65535, &pv) != 0)
        return -EINVAL;
    *port = (unsigned)pv;
    if (cw_addr_parse(host, &a) == 0) {
        if (*s == '[' && a.family != 6)
            return -EINVAL;
        *numeric = true;
        return 0;
    }
    if (*s == '[' || colons > 1)
        return -EINVAL; /* brackets or several colons: must be IPv6 */
    *numeric = false;
    return hostname_valid(host) ? 0 : -EINVAL;
}

int snmpconf_oid(const char *s, uint32_t *out, size_t *len)
{
    size_t n = 0;
    const char *c = s;

    if (*c == '.')
        c++;
    while (*c) {
        char *end;
        unsigned long v;

        if (!isdigit((unsigned char)*c))
            return -EINVAL;
        errno = 0;
        v = strtoul(c, &end, 10);
        if (errno || v > 0xffffffffUL || n >= SNMPCONF_MAX_OID_LEN)
            return -EINVAL;
        out[n++] = (uint32_t)v;
        c = end;
        if (*c == '.') {
            c++;
            if (!*c)
                return -EINVAL;
        } else if (*c) {
            return -EINVAL;
        }
    }
    if (n < 2)
        return -EINVAL;
    *len = n;
    return 0;
}

struct section_ref {
    const char *what; /* "link" or "cpu" */
    const char *name;
    int line;
    const cw_snmp_cfg_t *s;
};

static int check_section(const char *path, const struct section_ref *r, const char *oidstr,
                         char *err, size_t errlen)
{
    char host[256];
    unsigned port;
    bool numeric;
    uint32_t tmp[SNMPCONF_MAX_OID_LEN];
    size_t tlen;

    if (snmpconf_agent(r->s->agent, host, sizeof(host), &port, &numeric) != 0) {
        snprintf(err, errlen,
                 "%s:%d: [%s %s]: snmp = \"%s\" is not an agent address (HOST, HOST:PORT, "
                 "IPv4:PORT or [IPv6]:PORT)",
                 path, r->line, r->what, r->name, r->s->agent);
        return -EINVAL;
    }
    if (r->s->version == 3) {
        if (r->s->auth && !find_proto(auth_protos, r->s->auth)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: auth = \"%s\" is not an SNMPv3 authentication protocol "
                     "(MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512)",
                     path, r->line, r->what, r->name, r->s->auth);
            return -EINVAL;
        }
        if (r->s->priv && !find_proto(priv_protos, r->s->priv)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: priv = \"%s\" is not an SNMPv3 privacy protocol (DES, "
                     "AES, AES-192, AES-256)",
                     path, r->line, r->what, r->name, r->s->priv);
            return -EINVAL;
        }
        if ((r->s->auth_pass && strlen(r->s->auth_pass) < 8) ||
            (r->s->priv_pass && strlen(r->s->priv_pass) < 8)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: SNMPv3 passwords must have at least 8 characters", path,
                     r->line, r->what, r->name);
            return -EINVAL;
        }
        if (r->s->auth_pass && !r->s->auth) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: auth_pass needs auth = SHA (or another protocol)", path,
                     r->line, r->what, r->name);
            return -EINVAL;
        }
    }
    if (oidstr && snmpconf_oid(oidstr, tmp, &tlen) != 0) {
        snprintf(err, errlen,
                 "%s:%d: [%s %s]: oid = \"%s\" is not a numeric OID such as "
                 "1.3.6.1.4.1.2021.11.9.0",
                 path, r->line, r->what, r->name, oidstr);
        return -EINVAL;
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool case_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

int snmpconf_check(const cw_config_t *cfg, char *err, size_t errlen)
{
    const char *path = cfg->path ? cfg->path : "(config)";
    struct section_ref *refs = cw_calloc(cfg->nlinks + cfg->ncpus + 1, sizeof(*refs));
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i < cfg->nlinks; i++) {
        const cw_link_cfg_t *l = &cfg->links[i];

        if (!l->snmp.agent)
            continue;
        refs[n] = (struct section_ref){ "link", l->name, l->line, &l->snmp };
        if ((rc = check_section(path, &refs[n], NULL, err, errlen)) != 0)
            goto out;
        n++;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        const cw_cpu_cfg_t *c = &cfg->cpus[i];

        if (!c->snmp.agent)
            continue;
        refs[n] = (struct section_ref){ "cpu", c->name, c->line, &c->snmp };
        if ((rc = check_section(path, &refs[n], c->oid, err, errlen)) != 0)
            goto out;
        n++;
    }
    /* net-snmp keeps one key set per (engine, user): two sections that give
     * one agent's user different credentials cannot both work. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const cw_snmp_cfg_t *a = refs[i].s, *b = refs[j].s;

            if (a->version != 3 || b->version != 3 || strcmp(a->agent, b->agent) != 0 ||
                !str_eq(a->user, b->user))
                continue;
            if (case_eq(a->auth, b->auth) && str_eq(a->auth_pass, b->auth_pass) &&
                case_eq(a->priv, b->priv) && str_eq(a->priv_pass, b->priv_pass))
                continue;
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: SNMPv3 user \"%s\" on %s has other credentials in [%s %s] "
                     "(line %d); one agent's user has one set of keys",
                     path, refs[j].line, refs[j].what, refs[j].name, b->user, b->agent,
                     refs[i].what, refs[i].name, refs[i].line);
            rc = -EINVAL;
            goto out;
        }
    }
out:
    free(refs);
    return rc;
}

enum snmpconf_preset snmpconf_preset(const cw_cpu_cfg_t *c)
{
    static const struct {
        const char *name;
        enum snmpconf_preset p;
    } tab[] = { { "host-resources", SNMPCONF_CPU_HOSTRES },
                { "ucd", SNMPCONF_CPU_UCD },
                { "cisco", SNMPCONF_CPU_CISCO },
                { "fortinet", SNMPCONF_CPU_FORTINET },
                { "juniper", SNMPCONF_CPU_JUNIPER } };

    if (c->oid)
        return SNMPCONF_CPU_OID;
    for (size_t i = 0; c->preset && i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(c->preset, tab[i].name) == 0)
            return tab[i].p;
    return SNMPCONF_CPU_OID;
}

enum snmpcounter_pct snmpconf_cpu_combine(enum snmpconf_preset preset, const double *v, size_t n,
                                          double *pct)
{
    double x;

    if (n == 0) {
        *pct = NAN;
        return SNMPCOUNTER_PCT_REJECTED;
    }
    switch (preset) {
    case SNMPCONF_CPU_HOSTRES:
        x = snmpcounter_mean(v, n);
        break;
    case SNMPCONF_CPU_CISCO:
    case SNMPCONF_CPU_JUNIPER:
        x = snmpcounter_max(v, n);
        break;
    default:
        x = v[0];
        break;
    }
    return snmpcounter_pct_check(x, pct);
}

size_t snmpconf_juniper_rows(const char *const *descr, const unsigned *container, size_t n,
                             size_t *pick, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k < max; i++)
        if (descr[i] && strcasestr(descr[i], "routing engine"))
            pick[k++] = i;
    if (k == 0)
        for (size_t i = 0; i < n && k < max; i++)
            if (container[i] == JNX_ROUTING_ENGINE_CONTAINER)
                pick[k++] = i;
    return k;
}
