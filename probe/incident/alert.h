/* alert: delivers incident openings and resolutions to syslog, a webhook
 * (Prometheus Alertmanager's /api/v2/alerts format, with libcurl) and a
 * program run with the incident JSON on standard input.
 *
 * Delivery runs in its own thread with a queue: the probe never waits on a
 * slow receiver.  Webhook failures are retried with backoff; a rate limit
 * caps deliveries per minute per channel. */
#ifndef CW_ALERT_H
#define CW_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

typedef struct alert alert_t;

typedef struct alert_stats {
    uint64_t queued;       /* openings and resolutions handed in */
    uint64_t delivered;    /* sent on at least one channel, none failing */
    uint64_t failed;       /* a channel failed (or stopped before sending) */
    uint64_t rate_limited; /* channel deliveries skipped by the rate limit */
} alert_stats_t;

/* Starts the delivery thread of cfg's channels into *out (NULL when no
 * channel is configured).  0, or a negative errno with err naming what
 * failed (the webhook's library, the thread). */
int alert_new(const cw_config_t *cfg, alert_t **out, char *err, size_t errlen);

/* Queues the opening (resolved false) or resolution of an incident
 * (copied). */
void alert_incident(alert_t *a, const json_t *incident, bool resolved);

/* Waits up to timeout_ms for the queue to drain; returns true if it did. */
bool alert_flush(alert_t *a, int timeout_ms);

/* Stops the thread; undelivered alerts are counted as failed.  Accepts
 * NULL. */
void alert_free(alert_t *a);

void alert_get_stats(alert_t *a, alert_stats_t *out);

/* The Alertmanager body for an incident (exposed for tests): labels
 * alertname, severity, kind, incident, job, site (the incident's), link,
 * device; generatorURL is base (ending in '/') + "#/incident/ID". */
json_t *alert_webhook_body(const json_t *incident, bool resolved, const char *base);

/* The dashboard's URL as others reach it: [web] external_url, else made
 * from [web] listen (https with TLS; the host name for a wildcard
 * address).  Ends in '/'. */
void alert_generator_base(const cw_config_t *cfg, char *out, size_t len);

#endif
