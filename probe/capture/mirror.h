/* mirror: a capture source that is a UDP socket, for mirrored traffic a
 * switch, router or cloud sends to the probe (TZSP from a MikroTik
 * sniffer, VXLAN from a cloud's traffic mirroring): `-i udp:ADDR:PORT`.
 *
 * No capture privilege and no promiscuous mode: each datagram's payload
 * is a packet, stamped with the time the kernel received it.  What the
 * payload is (TZSP, VXLAN) is the caller's to decide by the port. */
#ifndef CW_MIRROR_H
#define CW_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

typedef struct mirror mirror_t;

/* True when name is a mirror source ("udp:..."), not an interface. */
bool mirror_is_spec(const char *name);

/* Parses "udp:ADDR:PORT" or "udp:[V6ADDR]:PORT" (PORT 1 to 65535) and
 * gives the port; -EINVAL with a message naming the spec. */
int mirror_parse(const char *spec, uint16_t *port, char *err, size_t errlen);

/* Binds a socket to the spec's address and port.  snaplen 0 means 262144
 * bytes kept per datagram; buffer_bytes 0 keeps the kernel's default
 * receive buffer.  On failure returns NULL with a message in err. */
mirror_t *mirror_open(const char *spec, int snaplen, int buffer_bytes, char *err, size_t errlen);
void mirror_close(mirror_t *m);

/* Waits up to 100 ms for a datagram: CAPTURE_PACKET (out valid until the
 * next call), CAPTURE_IDLE, or CAPTURE_ERROR (see mirror_error()). */
int mirror_next(mirror_t *m, capture_pkt_t *out);

/* Datagrams received, dropped by the socket's full buffer, truncated to
 * the snap length, and receive errors; all cumulative. */
void mirror_stats(const mirror_t *m, capture_stats_t *out);

const char *mirror_error(const mirror_t *m);

#endif
