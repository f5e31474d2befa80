#include "config.h"

#define CW_RRDLIB_IMPL
#include "rrdlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static struct rrdlib lib;
static _Atomic bool loaded;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#define SYM(field, name)                                                                           \
    do {                                                                                           \
        if (!(*(void **)&lib.field = dlsym(h, #name))) {                                           \
            snprintf(err, errlen, "%s: no symbol %s: %s", RRD_SONAME, #name, dlerror());           \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

bool rrdlib_load(char *err, size_t errlen)
{
    void *h;

    if (atomic_load_explicit(&loaded, memory_order_acquire))
        return true;
    pthread_mutex_lock(&lock);
    if (atomic_load_explicit(&loaded, memory_order_relaxed)) {
        pthread_mutex_unlock(&lock);
        return true;
    }
    if (!(h = dlopen(RRD_SONAME, RTLD_NOW | RTLD_GLOBAL))) {
        snprintf(err, errlen, "cannot load %s (Debian package librrd8): %s", RRD_SONAME,
                 dlerror());
        pthread_mutex_unlock(&lock);
        return false;
    }
    SYM(create_r2, rrd_create_r2);
    SYM(update_r, rrd_update_r);
    SYM(fetch_r, rrd_fetch_r);
    SYM(last_r, rrd_last_r);
    SYM(lastupdate_r, rrd_lastupdate_r);
    SYM(graph_v, rrd_graph_v);
    SYM(info_free, rrd_info_free);
    SYM(clear_error, rrd_clear_error);
    SYM(get_error, rrd_get_error);
    SYM(c_connect, rrdc_connect);
    SYM(c_disconnect, rrdc_disconnect);
    SYM(c_create_r2, rrdc_create_r2);
    SYM(c_update, rrdc_update);
    SYM(c_fetch, rrdc_fetch);
    SYM(c_flush, rrdc_flush);
    SYM(c_last, rrdc_last);
    atomic_store_explicit(&loaded, true, memory_order_release);
    pthread_mutex_unlock(&lock);
    return true;
fail:
    dlclose(h);
    pthread_mutex_unlock(&lock);
    return false;
}

const struct rrdlib *rrdlib(void)
{
    char err[512];

    if (!atomic_load_explicit(&loaded, memory_order_acquire) &&
        !rrdlib_load(err, sizeof(err))) {
        cw_log(CW_LOG_ERR, "%s", err);
        exit(EXIT_FAILURE);
    }
    return &lib;
}
