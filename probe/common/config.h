/* config: the INI configuration file (docs/config.md lists every key).
 *
 * Unknown sections and keys are errors; every error names file:line. */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

typedef struct cw_subnet {
    cw_addr_t addr;
    uint8_t prefix;
} cw_subnet_t;

/* Where and how to reach an SNMP agent. */
typedef struct cw_snmp_cfg {
    char *agent; /* "host[:port]" as written; NULL when not polled */
    int version; /* 1, 2 (v2c) or 3 */
    char *community;
    char *user;
    char *auth; /* SHA, SHA-256, SHA-512, MD5 */
    char *auth_pass;
    char *priv; /* AES, AES-256, DES */
    char *priv_pass;
    long interval_s;
    long timeout_ms;
    long retries;
} cw_snmp_cfg_t;

typedef struct cw_group_cfg {
    char *name;
    cw_subnet_t *subnets;
    size_t nsubnets;
    int line;
} cw_group_cfg_t;

typedef struct cw_link_cfg {
    char *name;
    cw_snmp_cfg_t snmp;
    char *ifname;
    long ifindex;       /* 0: resolve ifname */
    uint64_t speed_bps; /* 0: poll ifHighSpeed/ifSpeed */
    char *rrd;          /* read an NMS's RRD file instead of polling */
    char *ds_in, *ds_out;
    int line;
} cw_link_cfg_t;

typedef struct cw_cpu_cfg {
    char *name;
    cw_snmp_cfg_t snmp;
    char *preset; /* host-resources, ucd, cisco, fortinet, juniper */
    char *oid;    /* numeric OID, instead of a preset */
    char *rrd;
    char *ds;
    int line;
} cw_cpu_cfg_t;

/* The default of every configuration key, in one place: config_init() and
 * the section parsers apply them, and a module whose own settings leave a
 * field 0 falls back to the same value (docs/config.md lists them). */
#define CW_DEF_RTP_TIMEOUT_S        10
#define CW_DEF_STEP_S               10
#define CW_DEF_SNAPLEN              262144
#define CW_DEF_BUFFER_MB            32
#define CW_DEF_MAX_CALLS            100000
#define CW_DEF_IDLE_TIMEOUT_S       3600
#define CW_DEF_RETENTION_DAYS       90
#define CW_DEF_WEB_LISTEN           "127.0.0.1:8080"
#define CW_DEF_ALERT_RATE_LIMIT     20 /* per minute per channel */
#define CW_DEF_INC_WINDOW_S         60
#define CW_DEF_INC_MIN_DROPS        3
#define CW_DEF_INC_LINK_PCT         80
#define CW_DEF_INC_CPU_PCT          85
#define CW_DEF_INC_SPIKE_FACTOR     3
#define CW_DEF_INC_BASELINE_S       1800
#define CW_DEF_INC_MIN_TRAFFIC_BPS  500000
#define CW_DEF_INC_RESOLVE_WINDOWS  2
#define CW_DEF_INC_CONGESTION_STEPS 18
#define CW_DEF_INC_MOS              3.1
#define CW_DEF_INC_MIN_DEGRADED     3
#define CW_DEF_SCAN_HOSTS           100
#define CW_DEF_SNMP_VERSION         2
#define CW_DEF_SNMP_INTERVAL_S      10
#define CW_DEF_SNMP_TIMEOUT_MS      1000
#define CW_DEF_SNMP_RETRIES         2
#define CW_DEF_SITE                 "localhost" /* when the host name is no usable name */
#define CW_DEF_SPOOL_MB             64          /* [calldb] spool_mb */
/* UDP destination ports of the encapsulations read by default. */
#define CW_DEF_VXLAN_PORT  4789
#define CW_DEF_GENEVE_PORT 6081
#define CW_DEF_GTPU_PORT   2152
#define CW_DEF_TZSP_PORT   37008

/* The encapsulations read on UDP ports of the configuration's choosing. */
enum cw_udp_encap { CW_ENCAP_VXLAN, CW_ENCAP_GENEVE, CW_ENCAP_GTPU, CW_ENCAP_TZSP, CW_ENCAP_COUNT };

typedef struct cw_config {
    char *path; /* file read, or NULL for defaults only */

    /* [probe] */
    char *interface;
    char *filter;
    char *data_dir;
    long rtp_timeout_s;
    long step_s;
    long snaplen;
    long buffer_mb;
    bool promisc;
    uint8_t *sip_ports;  /* bitmap of 65536 ports; NULL: SIP recognised on any port */
    long max_calls;      /* dialogs followed at once */
    long idle_timeout_s; /* answered call with no SIP and no media */
    long retention_days; /* call records kept in the database */
    char *user;          /* started as root: become this user once capture is open */
    char *site;          /* this probe's site: the host name unless set */
    /* vxlan_ports, geneve_ports, gtpu_ports, tzsp_ports: bitmaps of 65536
     * ports; NULL: the default port alone; all zero: turned off. */
    uint8_t *encap_ports[CW_ENCAP_COUNT];

    /* [web] */
    char *web_listen;   /* "ADDR:PORT", "[V6]:PORT" or "off" */
    char *web_users;    /* file of "name:crypt-hash" lines: basic authentication */
    char *web_tls_cert; /* PEM certificate and key: HTTPS */
    char *web_tls_key;

    /* [web] external_url: how others reach the dashboard (alert links) */
    char *web_external_url;

    /* [rrd] */
    char *rrd_daemon;

    /* [calldb] */
    char *calldb_url;     /* a libpq connection URI: PostgreSQL instead of SQLite */
    long calldb_spool_mb; /* bound of the spool kept while the server is away */

    /* [alert] */
    bool alert_syslog;
    char *alert_webhook;
    char *alert_exec;
    long alert_rate_limit; /* deliveries per minute per channel */

    /* [incident] */
    long inc_window_s;
    long inc_min_drops;
    double inc_link_pct, inc_cpu_pct;
    double inc_spike_factor;
    long inc_baseline_s;
    uint64_t inc_min_traffic_bps;
    long inc_resolve_windows;
    long inc_congestion_steps;
    double inc_mos;
    long inc_min_degraded;
    long scan_hosts;

    cw_group_cfg_t *groups;
    size_t ngroups;
    cw_link_cfg_t *links;
    size_t nlinks;
    cw_cpu_cfg_t *cpus;
    size_t ncpus;
} cw_config_t;

/* Fills cfg with the defaults. */
void config_init(cw_config_t *cfg);

/* Reads path into cfg (which config_init() prepared).  Returns 0, or
 * -EINVAL with "FILE:LINE: what is wrong" (or "FILE: reason") in err. */
int config_load(cw_config_t *cfg, const char *path, char *err, size_t errlen);

/* Releases everything cfg owns; cfg itself is not freed. */
void config_free(cw_config_t *cfg);

/* Parses "10.0.0.0/8" or "2001:db8::/32" (a bare address is a host). */
int config_parse_subnet(const char *s, cw_subnet_t *out);
bool config_subnet_contains(const cw_subnet_t *net, const cw_addr_t *a);

/* True when SIP is looked for on this port. */
bool config_sip_port(const cw_config_t *cfg, uint16_t port);

/* True when encapsulation e is read on this UDP destination port. */
bool config_encap_port(const cw_config_t *cfg, enum cw_udp_encap e, uint16_t port);

/* The ports of encapsulation e as a bitmap of 65536 bits, written to map. */
void config_encap_bitmap(const cw_config_t *cfg, enum cw_udp_encap e, uint8_t map[65536 / 8]);

/* The [probe] key of encapsulation e ("vxlan_ports", ...). */
const char *config_encap_key(enum cw_udp_encap e);

/* "ADDR:PORT" or "[IPV6]:PORT" (port 0 to 65535, 0 picking a free one),
 * or "off". */
bool config_listen_valid(const char *s);

/* Names of links, CPUs and groups become metric and file names. */
bool config_name_valid(const char *name);

/* The default site name: the host name up to its first dot, any character
 * config_name_valid() refuses replaced by '-', at most 64 characters;
 * CW_DEF_SITE when that leaves nothing. */
void config_default_site(char *buf, size_t len);

#endif
