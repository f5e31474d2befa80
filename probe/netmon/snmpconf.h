/* snmpconf: what the SNMP keys of [link] and [cpu] sections mean: agent
 * addresses, numeric OIDs, SNMPv3 protocols and the CPU presets.
 *
 * Without net-snmp, so that a configuration is checked (--report, the
 * tests) without loading the library; OIDs are plain numbers here. */
#ifndef CW_SNMPCONF_H
#define CW_SNMPCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "netmon/snmpcounter.h"

/* Longest OID, in sub-identifiers: net-snmp's MAX_OID_LEN. */
#define SNMPCONF_MAX_OID_LEN 128

/* Checks the SNMP part of every [link] and [cpu] section: the agent address
 * (HOST, HOST:PORT, [V6]:PORT), the auth and priv protocols, the oid, and
 * SNMPv3 users that two sections on one agent give different passwords.
 * Returns 0, or -EINVAL with "FILE:LINE: [link NAME]: what is wrong" in err. */
int snmpconf_check(const cw_config_t *cfg, char *err, size_t errlen);

/* Splits an agent address, "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a
 * bare IPv6 address, into host (NUL-terminated) and port (161 if none);
 * *numeric tells an address literal from a name to look up.  Returns 0 or
 * -EINVAL. */
int snmpconf_agent(const char *s, char *host, size_t hostlen, unsigned *port, bool *numeric);

/* Parses a numeric OID ("1.3.6.1..." with an optional leading dot, at least
 * two sub-identifiers) into out, which has room for SNMPCONF_MAX_OID_LEN.
 * Returns 0 or -EINVAL. */
int snmpconf_oid(const char *s, uint32_t *out, size_t *len);

/* An OID, as plain numbers. */
typedef struct snmpconf_oid {
    const uint32_t *sub;
    size_t len;
} snmpconf_oid_t;

/* The MIB objects the poller reads. */
enum snmpconf_object {
    SNMPCONF_SYSUPTIME, /* sysUpTime.0 */
    /* IF-MIB columns, indexed by ifIndex. */
    SNMPCONF_IFDESCR,
    SNMPCONF_IFSPEED,
    SNMPCONF_IFOPERSTATUS,
    SNMPCONF_IFINOCTETS,
    SNMPCONF_IFINDISCARDS,
    SNMPCONF_IFINERRORS,
    SNMPCONF_IFOUTOCTETS,
    SNMPCONF_IFOUTDISCARDS,
    SNMPCONF_IFOUTERRORS,
    SNMPCONF_IFNAME,
    SNMPCONF_IFHCINOCTETS,
    SNMPCONF_IFHCOUTOCTETS,
    SNMPCONF_IFHIGHSPEED,
    /* The CPU presets' objects. */
    SNMPCONF_HRPROCESSORLOAD, /* host-resources: indexed by hrDeviceIndex */
    SNMPCONF_UCD_SYSTATS,     /* ucd: snmpconf_ucd_subid[i].0 is appended */
    SNMPCONF_CISCO_CPU5SEC,   /* cisco: indexed by cpmCPUTotalIndex */
    SNMPCONF_FORTI_CPU,       /* fortinet: fgSysCpuUsage.0 */
    /* juniper: jnxOperatingDescr and jnxOperatingCPU, indexed by
     * jnxOperatingContentsIndex.L1Index.L2Index.L3Index */
    SNMPCONF_JNX_DESCR,
    SNMPCONF_JNX_CPU,
};

/* The OID of a MIB object. */
const snmpconf_oid_t *snmpconf_object(enum snmpconf_object o);

/* UCD-SNMP-MIB's numbers of the raw CPU counters, by enum snmpcounter_ucd. */
extern const unsigned snmpconf_ucd_subid[SNMPCOUNTER_UCD_NCOUNTERS];

/* An SNMPv3 authentication or privacy protocol and its USM OID. */
typedef struct snmpconf_proto {
    const char *name;
    uint32_t sub[10];
    size_t len;
} snmpconf_proto_t;

/* The protocol of that name (any case, e.g. "SHA-256", "AES"); NULL for
 * NULL or an unknown name. */
const snmpconf_proto_t *snmpconf_auth(const char *name);
const snmpconf_proto_t *snmpconf_priv(const char *name);

enum snmpconf_preset {
    SNMPCONF_CPU_HOSTRES,  /* host-resources: hrProcessorLoad, one row per processor */
    SNMPCONF_CPU_UCD,      /* ucd: see snmpcounter_ucd_cpu_pct */
    SNMPCONF_CPU_CISCO,    /* cisco: cpmCPUTotal5secRev, one row per CPU */
    SNMPCONF_CPU_FORTINET, /* fortinet: fgSysCpuUsage.0 */
    SNMPCONF_CPU_JUNIPER,  /* juniper: jnxOperatingCPU of the Routing Engine rows */
    SNMPCONF_CPU_OID,      /* oid = N.N.N...: one value read as a percentage */
};

/* The preset of a [cpu] section: SNMPCONF_CPU_OID with oid = (or an
 * unknown preset name). */
enum snmpconf_preset snmpconf_preset(const cw_cpu_cfg_t *c);

/* The percentage a preset makes of the n values it read: the mean for
 * host-resources (the host's load over all its processors), the maximum
 * for cisco and juniper (the busiest CPU or routing engine: a backup
 * engine idles and would halve a mean), the single value for fortinet,
 * oid and ucd (already a percentage).  Then snmpcounter_pct_check.  n == 0
 * gives SNMPCOUNTER_PCT_REJECTED. */
enum snmpcounter_pct snmpconf_cpu_combine(enum snmpconf_preset preset, const double *v, size_t n,
                                          double *pct);

/* The jnxOperatingTable rows the juniper preset reads, given each row's
 * jnxOperatingDescr and container (the first index, jnxOperatingContentsIndex):
 * the rows whose description contains "Routing Engine" (any case), or if
 * none does, the rows of container 9 (Routing Engine).  Writes up to max row
 * numbers into pick and returns how many. */
size_t snmpconf_juniper_rows(const char *const *descr, const unsigned *container, size_t n,
                             size_t *pick, size_t max);

#endif
