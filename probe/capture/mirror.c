#include "autoconf.h"

#include "capture/mirror.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPEC_PREFIX     "udp:"
#define WAIT_MS         100 /* the longest a read waits, so the caller's idle tick runs */
#define DEFAULT_SNAPLEN 262144

struct mirror {
    int fd;
    uint8_t *buf;
    uint32_t snaplen;
    capture_stats_t st;
    char err[512];
};

bool mirror_is_spec(const char *name)
{
    return name && strncmp(name, SPEC_PREFIX, strlen(SPEC_PREFIX)) == 0;
}

/* Splits "ADDR:PORT" or "[V6]:PORT" into host and port strings. */
static int split(const char *spec, char *host, size_t hostlen, long *port, char *err, size_t errlen)
{
    const char *s = spec + strlen(SPEC_PREFIX), *colon, *h = s;
    size_t n;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end[1] != ':')
            goto bad;
        h = s + 1;
        n = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            goto bad;
        n = (size_t)(colon - s);
    }
    if (n == 0 || n >= hostlen || cw_parse_long(colon + 1, 1, 65535, port) != 0)
        goto bad;
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
bad:
    snprintf(err, errlen,
             "%s: not a mirror source; give udp:ADDR:PORT or udp:[IPV6]:PORT, PORT 1 to 65535",
             spec);
    return -EINVAL;
}

int mirror_parse(const char *spec, uint16_t *port, char *err, size_t errlen)
{
    char host[256];
    long p;

    if (!mirror_is_spec(spec)) {
        snprintf(err, errlen, "%s: not a mirror source (udp:ADDR:PORT)", spec);
        return -EINVAL;
    }
    if (split(spec, host, sizeof(host), &p, err, errlen) != 0)
        return -EINVAL;
    *port = (uint16_t)p;
    return 0;
}

/* The socket's options: kernel receive time, the count of datagrams the
 * full buffer dropped, the buffer's size.  Failures cost only precision
 * or headroom. */
static void set_options(int fd, int buffer_bytes)
{
    int on = 1;

    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
#ifdef SO_RXQ_OVFL
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
#endif
    /* As large as -B asks: past net.core.rmem_max only with CAP_NET_ADMIN. */
    if (buffer_bytes > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof(buffer_bytes)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
}

mirror_t *mirror_open(const char *spec, int snaplen, int buffer_bytes, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    char host[256], port[8];
    mirror_t *m;
    long p;
    int rc, fd;

    if (!mirror_is_spec(spec)) {
        snprintf(err, errlen, "%s: not a mirror source (udp:ADDR:PORT)", spec);
        return NULL;
    }
    if (split(spec, host, sizeof(host), &p, err, errlen) != 0)
        return NULL;
    snprintf(port, sizeof(port), "%ld", p);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
        snprintf(err, errlen, "%s: address %s: %s", spec, host, gai_strerror(rc));
        return NULL;
    }
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, errlen, "%s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return NULL;
    }
    freeaddrinfo(ai);
    set_options(fd, buffer_bytes);
    m = cw_calloc(1, sizeof(*m));
    m->fd = fd;
    m->snaplen = snaplen > 0 ? (uint32_t)snaplen : DEFAULT_SNAPLEN;
    m->buf = cw_calloc(1, m->snaplen);
    return m;
}

void mirror_close(mirror_t *m)
{
    if (!m)
        return;
    close(m->fd);
    free(m->buf);
    free(m);
}

/* The receive time and the drop count from the control messages. */
static cw_ns_t read_cmsgs(mirror_t *m, struct msghdr *msg)
{
    cw_ns_t ts = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec t;

            memcpy(&t, CMSG_DATA(c), sizeof(t));
            ts = (cw_ns_t)t.tv_sec * CW_NS_PER_SEC + (cw_ns_t)t.tv_nsec;
        }
#ifdef SO_RXQ_OVFL
        if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
            uint32_t drops;

            memcpy(&drops, CMSG_DATA(c), sizeof(drops));
            m->st.dropped = drops;
        }
#endif
    }
    return ts ? ts : cw_wall_now();
}

/* One datagram if one is waiting: CAPTURE_PACKET, CAPTURE_IDLE (none, or
 * an error worth only counting) or CAPTURE_ERROR. */
static int receive(mirror_t *m, capture_pkt_t *out)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = m->buf, .iov_len = m->snaplen };
    struct msghdr msg = { .msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = control.buf,
                          .msg_controllen = sizeof(control.buf) };
    ssize_t n = recvmsg(m->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return CAPTURE_IDLE;
        if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT || errno == EINVAL) {
            snprintf(m->err, sizeof(m->err), "receiving: %s", strerror(errno));
            return CAPTURE_ERROR;
        }
        m->st.errors++; /* ENOMEM, an ICMP error queued on the socket, ... */
        return CAPTURE_IDLE;
    }
    m->st.received++;
    out->ts = read_cmsgs(m, &msg);
    out->wirelen = (uint32_t)n;
    out->caplen = (uint32_t)n < m->snaplen ? (uint32_t)n : m->snaplen;
    if (msg.msg_flags & MSG_TRUNC)
        m->st.truncated++;
    out->data = m->buf;
    return CAPTURE_PACKET;
}

int mirror_next(mirror_t *m, capture_pkt_t *out)
{
    struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
    int rc = receive(m, out);

    if (rc != CAPTURE_IDLE)
        return rc;
    /* Nothing waiting: sleep until something comes, or a while passes. */
    if (poll(&pfd, 1, WAIT_MS) <= 0)
        return CAPTURE_IDLE;
    return receive(m, out);
}

void mirror_stats(const mirror_t *m, capture_stats_t *out)
{
    *out = m->st;
}

const char *mirror_error(const mirror_t *m)
{
    return m->err;
}
