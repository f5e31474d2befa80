/* pglib: libpq, loaded the first time a [calldb] url is used (see
 * common/dl.h), so that a probe keeping its calls in SQLite never loads it.
 * The PostgreSQL backend calls it through the table pglib, as
 * pglib.PQexec(...), after a successful pglib_load(). */
#ifndef CW_PGLIB_H
#define CW_PGLIB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/dl.h"

#define PGLIB_FUNCS(X)                                                                             \
    X(PQconnectdbParams)                                                                           \
    X(PQstatus)                                                                                    \
    X(PQerrorMessage)                                                                              \
    X(PQfinish)                                                                                    \
    X(PQexec)                                                                                      \
    X(PQexecParams)                                                                                \
    X(PQresultStatus)                                                                              \
    X(PQresultErrorMessage)                                                                        \
    X(PQclear)                                                                                     \
    X(PQntuples)                                                                                   \
    X(PQgetvalue)                                                                                  \
    X(PQgetisnull)                                                                                 \
    X(PQsetNoticeProcessor)

struct pglib_fns {
    PGLIB_FUNCS(CW_DL_FIELD)
};

/* Filled by pglib_load(); unusable before it succeeds. */
extern struct pglib_fns pglib;

/* Loads libpq once; false with a message naming the library and its
 * Debian package if it cannot be loaded.  Thread-safe. */
bool pglib_load(char *err, size_t errlen);

/* Connects to the server of a libpq connection URI (a 5 s connect timeout
 * unless the URI sets one), with server notices silenced.  Returns the
 * connection, or NULL with the server's or libpq's reason in err. */
PGconn *pglib_connect(const char *url, char *err, size_t errlen);

/* libpq's message for conn or res, on one line (trailing newlines cut). */
void pglib_message(const char *msg, char *err, size_t errlen);

#endif
