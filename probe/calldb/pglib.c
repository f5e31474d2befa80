#include "autoconf.h"

#include "calldb/pglib.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

struct pglib_fns pglib;

#define PGLIB_SYM(f) CW_DL_SYM(struct pglib_fns, f)
static const cw_dlsym_t syms[] = { PGLIB_FUNCS(PGLIB_SYM) };
#undef PGLIB_SYM

static cw_dllib_t dl = CW_DLLIB(PQ_SONAME, "libpq5", pglib, syms);

bool pglib_load(char *err, size_t errlen)
{
    return cw_dl_load(&dl, err, errlen);
}

/* "relation already exists, skipping" and the like: not for stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void pglib_message(const char *msg, char *err, size_t errlen)
{
    size_t n;

    cw_strlcpy(err, msg && *msg ? msg : "unknown libpq error", errlen);
    for (char *p = err; *p; p++)
        if ((*p == '\n' && p[1]) || *p == '\t')
            *p = ' ';
    n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

PGconn *pglib_connect(const char *url, char *err, size_t errlen)
{
    /* Later keywords win: the URI's own settings override these. */
    static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { "5", "callwatch", url, NULL };
    PGconn *c = pglib.PQconnectdbParams(keys, vals, 1);

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pglib.PQstatus(c) != CONNECTION_OK) {
        pglib_message(pglib.PQerrorMessage(c), err, errlen);
        pglib.PQfinish(c);
        return NULL;
    }
    pglib.PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}
