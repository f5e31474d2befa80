/* calldb_spool: where call records and incidents wait, in order, while
 * the PostgreSQL server is away: an append-only file of lines, "C " or
 * "I " then the record's JSON, bounded in size.  Used by the writer thread
 * only.  A spool left by an earlier run is forwarded first. */
#ifndef CW_CALLDB_SPOOL_H
#define CW_CALLDB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "calldb/calldb_sql.h"

typedef struct calldb_spool calldb_spool_t;

/* Opens or creates the spool at path (a partial last line, from a crash,
 * is cut).  NULL with err naming the file. */
calldb_spool_t *calldb_spool_open(const char *path, uint64_t max_bytes, char *err, size_t errlen);

/* Appends the items, in order, and syncs them to disk.  Items that would
 * take the file over its bound are not kept: returns how many were
 * dropped (0 normally), or -EIO when the file cannot be written. */
long calldb_spool_append(calldb_spool_t *s, const calldb_item_t *items);

/* Reads up to max records after those already sent, as a list the caller
 * frees with calldb_spool_items_free(); *n gets their number (0: nothing
 * left).  Returns 0 or -EIO. */
int calldb_spool_read(calldb_spool_t *s, size_t max, calldb_item_t **items, size_t *n);
void calldb_spool_items_free(calldb_item_t *items);

/* The records last read are stored: they are sent.  When nothing is left
 * the file is emptied. */
void calldb_spool_sent(calldb_spool_t *s);

/* Records waiting, bytes in the file, records dropped because it was full. */
uint64_t calldb_spool_count(const calldb_spool_t *s);
uint64_t calldb_spool_bytes(const calldb_spool_t *s);
uint64_t calldb_spool_dropped(const calldb_spool_t *s);
const char *calldb_spool_path(const calldb_spool_t *s);

/* Accepts NULL. */
void calldb_spool_close(calldb_spool_t *s);

#endif
