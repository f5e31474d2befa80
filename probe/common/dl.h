/* dl: libraries loaded the first time they are needed.
 *
 * librrd, libcurl, libmicrohttpd and net-snmp each bring further libraries
 * whose loading would cost every run, also the many that never use them
 * (an offline --report, --help).  They are not linked: the module that
 * uses one loads it on first use and calls it through a table of function
 * pointers.  Every such module follows one pattern:
 *
 *     #define CURL_FUNCS(X) X(curl_easy_init) X(curl_easy_cleanup)
 *     static struct curl_fns { CURL_FUNCS(CW_DL_FIELD) } curl;
 *     #define CURL_SYM(f) CW_DL_SYM(struct curl_fns, f)
 *     static const cw_dlsym_t curl_syms[] = { CURL_FUNCS(CURL_SYM) };
 *     static cw_dllib_t curl_lib = CW_DLLIB(CURL_SONAME, "libcurl3-gnutls",
 *                                           curl, curl_syms);
 *
 * and calls cw_dl_load(&curl_lib, ...) where the library is first needed,
 * reporting its error, before any call such as curl.curl_easy_init().
 * Each field has the function's own name and type, so that grep and the
 * compiler see every call; no macro renames a library function. */
#ifndef CW_DL_H
#define CW_DL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cw_dlsym {
    const char *name;
    size_t offset; /* of its pointer in the table */
} cw_dlsym_t;

/* A table field for library function f, named and typed as f. */
#define CW_DL_FIELD(f) __typeof__(f) *f;

/* Where symbol f goes in a table of type table_type. */
#define CW_DL_SYM(table_type, f) { #f, offsetof(table_type, f) },

typedef struct cw_dllib {
    const char *soname;  /* as configure found it */
    const char *package; /* the Debian package that has it */
    void *table;
    const cw_dlsym_t *syms;
    size_t nsyms;
    _Atomic bool loaded;
} cw_dllib_t;

#define CW_DLLIB(soname, package, table, syms)                                                     \
    {                                                                                              \
        (soname), (package), &(table), (syms), sizeof(syms) / sizeof((syms)[0]), false             \
    }

/* Loads the library and fills its table, once; thread-safe.  False with a
 * message naming the library and its Debian package when it cannot be
 * loaded or lacks a symbol (a later call tries again). */
bool cw_dl_load(cw_dllib_t *lib, char *err, size_t errlen);

/* Whether lib's table is filled. */
bool cw_dl_loaded(const cw_dllib_t *lib);

#endif
