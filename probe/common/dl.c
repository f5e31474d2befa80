#include "autoconf.h"

#include "common/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

bool cw_dl_load(cw_dllib_t *lib, char *err, size_t errlen)
{
    void *h = NULL;
    bool ok = true;

    if (atomic_load_explicit(&lib->loaded, memory_order_acquire))
        return true;
    pthread_mutex_lock(&dl_lock);
    if (atomic_load_explicit(&lib->loaded, memory_order_relaxed))
        goto out;
    if (!(h = dlopen(lib->soname, RTLD_NOW | RTLD_GLOBAL))) {
        snprintf(err, errlen, "cannot load %s (Debian package %s): %s", lib->soname, lib->package,
                 dlerror());
        ok = false;
        goto out;
    }
    for (size_t i = 0; i < lib->nsyms; i++) {
        void *sym = dlsym(h, lib->syms[i].name);

        if (!sym) {
            snprintf(err, errlen, "%s: no symbol %s (is Debian package %s too old?)", lib->soname,
                     lib->syms[i].name, lib->package);
            dlclose(h);
            ok = false;
            goto out;
        }
        memcpy((char *)lib->table + lib->syms[i].offset, &sym, sizeof(sym));
    }
    atomic_store_explicit(&lib->loaded, true, memory_order_release);
out:
    pthread_mutex_unlock(&dl_lock);
    return ok;
}

bool cw_dl_loaded(const cw_dllib_t *lib)
{
    return atomic_load_explicit(&lib->loaded, memory_order_acquire);
}
