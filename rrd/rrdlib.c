#include "autoconf.h"

#define CW_RRDLIB_IMPL
#include "rrd/rrdlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

static struct rrdlib lib;

#define SYM(field, name) CW_DLSYM(struct rrdlib, field, name)
static const cw_dlsym_t syms[] = {
    SYM(create_r2, rrd_create_r2),
    SYM(update_r, rrd_update_r),
    SYM(fetch_r, rrd_fetch_r),
    SYM(last_r, rrd_last_r),
    SYM(lastupdate_r, rrd_lastupdate_r),
    SYM(graph_v, rrd_graph_v),
    SYM(info_free, rrd_info_free),
    SYM(clear_error, rrd_clear_error),
    SYM(get_error, rrd_get_error),
    SYM(c_connect, rrdc_connect),
    SYM(c_disconnect, rrdc_disconnect),
    SYM(c_create_r2, rrdc_create_r2),
    SYM(c_update, rrdc_update),
    SYM(c_fetch, rrdc_fetch),
    SYM(c_flush, rrdc_flush),
    SYM(c_last, rrdc_last),
};
#undef SYM

static cw_dllib_t dl = CW_DLLIB(RRD_SONAME, "librrd8", lib, syms);

bool rrdlib_load(char *err, size_t errlen)
{
    return cw_dl_load(&dl, err, errlen);
}

const struct rrdlib *rrdlib(void)
{
    char err[512];

    if (!rrdlib_load(err, sizeof(err))) {
        cw_log(CW_LOG_ERR, "%s", err);
        exit(EXIT_FAILURE);
    }
    return &lib;
}
