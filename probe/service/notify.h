/* notify: telling a service manager how the daemon is doing.
 *
 * Under systemd with Type=notify the unit's NOTIFY_SOCKET is set: READY=1
 * once capture, store and dashboard are up, STATUS= lines, RELOADING=1 and
 * READY=1 around a SIGHUP reload, STOPPING=1 on shutdown, and WATCHDOG=1
 * from the analysing thread at half of WatchdogSec=, so that a wedged
 * analysis gets the probe restarted.  libsystemd's sd_notify() sends them;
 * the library is loaded on first use (common/dl.h) and only when
 * NOTIFY_SOCKET is set: a run by hand or an offline analysis never loads
 * it.  Without NOTIFY_SOCKET every function here does nothing.
 *
 * Every function is called from the packet thread only. */
#ifndef CW_NOTIFY_H
#define CW_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads NOTIFY_SOCKET and the watchdog's settings (WATCHDOG_USEC,
 * WATCHDOG_PID) and loads libsystemd when there is a socket.  0, or a
 * negative errno with err naming the library that could not be loaded (the
 * caller logs it and goes on without notifications). */
int notify_init(char *err, size_t errlen);

/* Whether a service manager listens. */
bool notify_enabled(void);

/* The watchdog interval asked for (WATCHDOG_USEC), 0 when none. */
uint64_t notify_watchdog_usec(void);

/* Sends state, newline-separated KEY=VALUE assignments ("READY=1"). */
void notify_send(const char *state);

/* STATUS=text, formatted. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends WATCHDOG=1 when half the watchdog interval has passed since the
 * last one; costs one clock read otherwise.  Call it from the loop that
 * must keep turning. */
void notify_watchdog(void);

#endif
