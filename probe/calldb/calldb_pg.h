/* calldb_pg: the call database in PostgreSQL ([calldb] url), shared by
 * every probe of a team and read by the central dashboard (docs/sites.md).
 *
 * Tables are created on first use and migrated by the schema version kept
 * in table callwatch_schema (version 1 now), under an advisory lock so that
 * probes starting together do not race.  Rows are keyed by site: a call by
 * (site, call_id, start), an incident by (site, id), written with INSERT
 * ... ON CONFLICT DO UPDATE, so that a record sent twice is stored once.
 *
 * When the server cannot be reached the writer puts records in the spool
 * (calldb/calldb_spool.h), reconnects with a backoff of 1 s doubling up to
 * CALLDB_PG_BACKOFF_MAX_MS, and forwards the spool, in order, before
 * anything newer. */
#ifndef CW_CALLDB_PG_H
#define CW_CALLDB_PG_H

#include <stddef.h>

#include "calldb/calldb_sql.h"

#define CALLDB_PG_VERSION        1
#define CALLDB_PG_BACKOFF_MAX_MS 15000
#define CALLDB_PG_BATCH          500 /* records per transaction when forwarding */

/* Opens the backend for o (o->url set).  A writer (not readonly) needs
 * o->spool_path; a server away at open is not an error for it (records
 * are spooled), for a reader it is.  The handle, with its operations in
 * *ops, or NULL with err naming the server (its password hidden). */
void *calldb_pg_open(const calldb_options_t *o, const calldb_ops_t **ops, char *err, size_t errlen);

/* url with any password replaced by "***", for messages. */
void calldb_pg_redact(const char *url, char *out, size_t len);

#endif
