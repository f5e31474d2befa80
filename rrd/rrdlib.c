#include "autoconf.h"

#include "rrd/rrdlib.h"

struct rrdlib_fns rrdlib;

#define RRDLIB_SYM(f) CW_DL_SYM(struct rrdlib_fns, f)
static const cw_dlsym_t syms[] = { RRDLIB_FUNCS(RRDLIB_SYM) };
#undef RRDLIB_SYM

static cw_dllib_t dl = CW_DLLIB(RRD_SONAME, "librrd8", rrdlib, syms);

bool rrdlib_load(char *err, size_t errlen)
{
    return cw_dl_load(&dl, err, errlen);
}
