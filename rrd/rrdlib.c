#include "autoconf.h"

#include "rrd/rrdlib.h"

#include <pthread.h>
#include <string.h>

struct rrdlib_fns rrdlib;

#define RRDLIB_SYM(f) CW_DL_SYM(struct rrdlib_fns, f)
static const cw_dlsym_t syms[] = { RRDLIB_FUNCS(RRDLIB_SYM) };
#undef RRDLIB_SYM

static cw_dllib_t dl = CW_DLLIB(RRD_SONAME, "librrd8", rrdlib, syms);

static pthread_mutex_t rrd_mutex = PTHREAD_MUTEX_INITIALIZER;

bool rrdlib_load(char *err, size_t errlen)
{
    return cw_dl_load(&dl, err, errlen);
}

void rrdlib_lock(void)
{
    pthread_mutex_lock(&rrd_mutex);
}

void rrdlib_unlock(void)
{
    pthread_mutex_unlock(&rrd_mutex);
}

const char *rrdlib_error_text(const char *msg)
{
    return msg && *msg ? msg : "unknown librrd error";
}

const char *rrdlib_error(void)
{
    return rrdlib_error_text(rrdlib.rrd_get_error());
}

bool rrdlib_daemon_valid(const char *addr)
{
    if (strncmp(addr, "unix:", 5) == 0)
        return addr[5] == '/';
    if (addr[0] == '/')
        return true;
    /* host, host:port, [v6]:port: no spaces, something before any colon */
    return addr[0] != ':' && !strpbrk(addr, " \t/");
}

bool rrdlib_daemon_is_local(const char *addr)
{
    return addr[0] == '/' || strncmp(addr, "unix:", 5) == 0;
}

int rrdlib_connect(const char *addr)
{
    rrdlib.rrd_clear_error();
    return rrdlib.rrdc_connect(addr);
}
