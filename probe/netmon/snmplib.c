#include "autoconf.h"

#include "netmon/snmplib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct snmplib_fns snmplib;

#define SNMPLIB_SYM(f) CW_DL_SYM(struct snmplib_fns, f)
static const cw_dlsym_t syms[] = { NETSNMP_FUNCS(SNMPLIB_SYM) };
#undef SNMPLIB_SYM

static cw_dllib_t dl = CW_DLLIB(SNMP_SONAME, "libsnmp40", snmplib, syms);

static int lib_log(int major, int minor, void *server, void *client)
{
    struct snmp_log_message *msg = server;
    char line[512];
    size_t n;

    (void)major;
    (void)minor;
    (void)client;
    if (!msg || !msg->msg)
        return 0;
    cw_strlcpy(line, msg->msg, sizeof(line));
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    cw_log(msg->priority <= LOG_WARNING ? CW_LOG_WARN : CW_LOG_DEBUG, "snmp library: %s", line);
    return 0;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    /* No configuration files, no persistent state, no MIB files: OIDs are
     * numbers here and nothing outside our own configuration applies. */
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD,
                                   1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE,
                                   1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    snmplib.netsnmp_set_mib_directory("");
    snmplib.netsnmp_config_remember((char *)"mibs :");
    snmplib.snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, lib_log, NULL);
    snmplib.netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    snmplib.init_snmp("callwatch");
    /* CW_SNMP_DEBUG=TOKENS turns on the library's own tracing (e.g.
     * "usm,sess_process_packet"), logged at debug level. */
    if (getenv("CW_SNMP_DEBUG")) {
        snmplib.debug_register_tokens(getenv("CW_SNMP_DEBUG"));
        snmplib.snmp_set_do_debugging(1);
    }
}

bool snmplib_load(char *err, size_t errlen)
{
    if (!cw_dl_load(&dl, err, errlen))
        return false;
    pthread_once(&lib_once, lib_init);
    return true;
}
