/* calldb_sqlite: the call database in a local SQLite file (the default):
 * one writer connection, read connections kept between queries.  The
 * schema version is SQLite's user_version: 0 is the schema before sites, 1
 * adds the site column to calls and incidents. */
#ifndef CW_CALLDB_SQLITE_H
#define CW_CALLDB_SQLITE_H

#include <stddef.h>

#include "calldb/calldb_sql.h"

#define CALLDB_SQLITE_VERSION 1

/* Opens or creates path (migrated to CALLDB_SQLITE_VERSION); the backend's
 * handle, with its operations in *ops, or NULL with err naming the file. */
void *calldb_sqlite_open(const char *path, const char *site, long retention_days,
                         const calldb_ops_t **ops, char *err, size_t errlen);

#endif
