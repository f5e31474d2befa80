#include "autoconf.h"

#include "service/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/dl.h"
#include "common/util.h"

#define SD_FUNCS(X) X(sd_notify) X(sd_watchdog_enabled)
static struct sd_fns {
    SD_FUNCS(CW_DL_FIELD)
} sd;
#define SD_SYM(f) CW_DL_SYM(struct sd_fns, f)
static const cw_dlsym_t sd_syms[] = { SD_FUNCS(SD_SYM) };
static cw_dllib_t sd_lib = CW_DLLIB(SYSTEMD_SONAME, "libsystemd0", sd, sd_syms);

static bool enabled;
static uint64_t watchdog_usec;
static cw_ns_t next_ping; /* monotonic */

static cw_ns_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cw_ns_t)ts.tv_sec * CW_NS_PER_SEC + ts.tv_nsec;
}

int notify_init(char *err, size_t errlen)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    uint64_t usec = 0;

    enabled = false;
    watchdog_usec = 0;
    if (!sock || !*sock)
        return 0;
    if (!cw_dl_load(&sd_lib, err, errlen))
        return -ENOENT;
    enabled = true;
    /* 0: the environment is left alone (changing it while other threads
     * may read it is unsafe); systemd's WATCHDOG_PID keeps the alert
     * programs this process runs from taking the watchdog for theirs. */
    if (sd.sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_usec = usec;
        next_ping = 0;
    }
    return 0;
}

bool notify_enabled(void)
{
    return enabled;
}

uint64_t notify_watchdog_usec(void)
{
    return watchdog_usec;
}

void notify_send(const char *state)
{
    if (enabled)
        sd.sd_notify(0, state);
}

void notify_status(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    if (!enabled)
        return;
    n = snprintf(line, sizeof(line), "STATUS=");
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    sd.sd_notify(0, line);
}

void notify_watchdog(void)
{
    cw_ns_t now;

    if (!watchdog_usec)
        return;
    now = mono_now();
    if (now < next_ping)
        return;
    sd.sd_notify(0, "WATCHDOG=1");
    next_ping = now + (cw_ns_t)watchdog_usec * 1000 / 2;
}
