/* snmplib: net-snmp, loaded the first time an SNMP target is configured
 * (see common/dl.h).
 *
 * With its crypto library net-snmp would cost every run the time to load
 * it, also the many that poll nothing.  The poller calls it through the
 * table snmplib, as snmplib.snmp_sess_open(...), after a successful
 * snmplib_load().  Only the poller's files include this header: it brings
 * net-snmp's own headers, which redefine autoconf's PACKAGE names. */
#ifndef CW_SNMPLIB_H
#define CW_SNMPLIB_H

#include <stdbool.h>
#include <stddef.h>

/* net-snmp's configuration header repeats some autoconf names. */
#undef PACKAGE
#undef PACKAGE_BUGREPORT
#undef PACKAGE_NAME
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_URL
#undef PACKAGE_VERSION
#undef VERSION
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "common/dl.h"

#define NETSNMP_FUNCS(X)                                                                           \
    X(create_user_from_session)                                                                    \
    X(debug_register_tokens)                                                                       \
    X(generate_Ku)                                                                                 \
    X(init_snmp)                                                                                   \
    X(netsnmp_config_remember)                                                                     \
    X(netsnmp_ds_set_boolean)                                                                      \
    X(netsnmp_large_fd_set_cleanup)                                                                \
    X(netsnmp_large_fd_set_init)                                                                   \
    X(netsnmp_large_fd_setfd)                                                                      \
    X(netsnmp_memdup)                                                                              \
    X(netsnmp_oid_is_subtree)                                                                      \
    X(netsnmp_register_loghandler)                                                                 \
    X(netsnmp_set_mib_directory)                                                                   \
    X(snmp_add_null_var)                                                                           \
    X(snmp_api_errstring)                                                                          \
    X(snmp_clone_pdu)                                                                              \
    X(snmp_errstring)                                                                              \
    X(snmp_free_pdu)                                                                               \
    X(snmp_oid_compare)                                                                            \
    X(snmp_pdu_create)                                                                             \
    X(snmp_register_callback)                                                                      \
    X(snmp_sess_async_send)                                                                        \
    X(snmp_sess_close)                                                                             \
    X(snmp_sess_init)                                                                              \
    X(snmp_sess_open)                                                                              \
    X(snmp_sess_read2)                                                                             \
    X(snmp_sess_select_info2_flags)                                                                \
    X(snmp_sess_session)                                                                           \
    X(snmp_sess_timeout)                                                                           \
    X(snmp_sess_transport)                                                                         \
    X(snmp_set_do_debugging)                                                                       \
    X(snmpv3_get_report_type)

struct snmplib_fns {
    NETSNMP_FUNCS(CW_DL_FIELD)
};

/* Filled by snmplib_load(); unusable before it succeeds. */
extern struct snmplib_fns snmplib;

/* Loads net-snmp and sets it up for the process, once; false with a
 * message naming the library and its Debian package if it cannot be
 * loaded (a later call tries again).  Thread-safe. */
bool snmplib_load(char *err, size_t errlen);

#endif
