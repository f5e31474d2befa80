/* web: the embedded HTTP server: dashboard, JSON API, graphs and /metrics.
 *
 * The server reads its data through a web_sources_t that the caller fills:
 * it knows nothing of how the RRD store or the SNMP poller work, only the
 * callbacks below.  An endpoint whose source is missing (NULL) answers
 * 503 with a JSON error that says which.
 *
 * Requests are served by a pool of threads (libmicrohttpd), so every source
 * and callback must be thread-safe and may be called concurrently from
 * several threads until web_stop() returns. */
#ifndef CW_WEB_H
#define CW_WEB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct status;
struct calldb;
struct metrics;

/* A time window to shade on a graph (an incident, say); Unix seconds. */
typedef struct web_window {
    time_t start, end;
} web_window_t;

typedef struct web_sources {
    /* The probe's latest snapshot (engine_status_json()): /api/status,
     * /metrics, active calls, open incidents ("open_incidents" array) and
     * the MOS histogram ("mos_histogram", see docs/http.md). */
    struct status *status;
    /* Call records and incidents: /api/calls, /api/calls/{id},
     * /api/incidents. */
    struct calldb *db;
    /* Latest value and recent history of every series: /metrics (links,
     * CPUs), /api/status "latest", and /api/series when series is NULL. */
    struct metrics *metrics;

    /* /api/series: the samples of metric over [start, end] as a new
     * {"metric": NAME, "step": SECONDS, "points": [[t, v], ...]} object
     * (v null for a gap) in *out.  Returns 0; -ENOENT for an unknown metric,
     * -EINVAL for a range it cannot serve (err says why: both answer 4xx);
     * any other negative errno is a failure (500).  NULL: the in-memory
     * history of metrics is used, when metrics is set. */
    int (*series)(void *ud, const char *metric, time_t start, time_t end, json_t **out, char *err,
                  size_t errlen);
    /* /graph/NAME.png: a PNG of graph NAME (a metric name) over
     * [start, end], width x height pixels, with the windows in shade
     * (nshade may be 0) highlighted.  On success returns 0 and a malloc'd
     * buffer the server frees; errors as for series. */
    int (*graph)(void *ud, const char *name, time_t start, time_t end, int width, int height,
                 const web_window_t *shade, size_t nshade, unsigned char **png, size_t *len,
                 char *err, size_t errlen);
    /* /api/status "targets": a new array of the SNMP targets and their
     * state (objects; "name", "kind", "state" are shown first by the
     * dashboard, any other scalar keys after them).  NULL: not shown. */
    json_t *(*targets)(void *ud);

    /* The site this server speaks for ([probe] site): on a probe the only
     * site it has records of, labelled on every /metrics sample.  NULL:
     * none. */
    const char *site;

    /* The central dashboard (callwatch --central) sets the three below:
     * every site's records are in db, and these read one site's series
     * and graphs (as series and graph do) and summarise every site.
     * NULL on a probe. */
    int (*site_series)(void *ud, const char *site, const char *metric, time_t start, time_t end,
                       json_t **out, char *err, size_t errlen);
    int (*site_graph)(void *ud, const char *site, const char *name, time_t start, time_t end,
                      int width, int height, const web_window_t *shade, size_t nshade,
                      unsigned char **png, size_t *len, char *err, size_t errlen);
    /* Every site known, by name, each an object of calldb_sites() plus
     * "link_peak_pct", "cpu_peak_pct" (over [from, to]; null without such
     * series) and "metrics" (the names of its series); a new array, or
     * NULL with err. */
    json_t *(*sites)(void *ud, double from, double to, char *err, size_t errlen);
    void *ud;
} web_sources_t;

typedef struct web_options {
    const char *listen;     /* "ADDR:PORT" or "[IPV6]:PORT"; port 0 picks a free one */
    const char *users_file; /* "name:crypt-hash" lines; NULL: no authentication */
    const char *tls_cert;   /* PEM files: HTTPS when both are given */
    const char *tls_key;
} web_options_t;

typedef struct web web_t;

/* Starts serving.  Copies opt and src (the objects src points to must
 * outlive the server).  Returns 0 and the server in *out; -EINVAL for bad
 * options (err names the option, or the file and line at fault), another
 * negative errno when the server cannot start (the address is in use...). */
int web_start(const web_options_t *opt, const web_sources_t *src, web_t **out, char *err,
              size_t errlen);

/* The port actually listened on (useful with port 0). */
uint16_t web_port(const web_t *w);

/* "http://127.0.0.1:8080/" (or https, [v6]); owned by w. */
const char *web_url(const web_t *w);

/* Replaces the users of basic authentication with those of users_file
 * (NULL: no authentication), for requests from now on.  0, or -EINVAL with
 * the file and line at fault in err, the users in force being kept. */
int web_set_users(web_t *w, const char *users_file, char *err, size_t errlen);

/* Stops serving: waits for requests in progress and frees w.  Accepts NULL. */
void web_stop(web_t *w);

#endif
