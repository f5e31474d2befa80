/* Configuration parsing: good files, and every error naming file:line. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char path[64];

static void write_file(const char *text)
{
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/cw-test-config-%d.ini", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *contract_example =
    "[probe]\n"
    "interface = eth1\n"
    "filter = udp or tcp\n"
    "data_dir = /var/lib/callwatch\n"
    "rtp_timeout = 10\n"
    "step = 10                        ; seconds per RRD step and correlator tick\n"
    "\n"
    "[web]\n"
    "listen = 127.0.0.1:8080\n"
    "\n"
    "[rrd]\n"
    "daemon = unix:/run/rrdcached.sock   ; optional: write through rrdcached\n"
    "\n"
    "[group branch-a]                  ; optional: per-site series and graphs\n"
    "subnets = 10.20.0.0/16, 2001:db8:20::/48\n"
    "\n"
    "[link wan0]                       ; a link whose utilisation matters\n"
    "snmp = 192.0.2.1:161\n"
    "community = public\n"
    "ifname = GigabitEthernet0/1       ; or ifindex = 2\n"
    "speed = 100M                      ; optional override of ifHighSpeed\n"
    "interval = 10\n"
    "\n"
    "[link uplink]\n"
    "rrd = /path/to/port.rrd\n"
    "ds_in = traffic_in                ; bytes per second\n"
    "ds_out = traffic_out\n"
    "\n"
    "[cpu fw1]                          ; a device whose CPU matters\n"
    "snmp = 192.0.2.1:161\n"
    "community = public\n"
    "preset = host-resources           ; or ucd, cisco, fortinet, juniper; or oid = ...\n"
    "\n"
    "[cpu fw2]\n"
    "rrd = /path/cpu.rrd\n"
    "ds = usage\n"
    "\n"
    "[alert]\n"
    "syslog = yes\n"
    "webhook = http://127.0.0.1:9093/api/v2/alerts\n"
    "exec = /usr/local/bin/page-oncall\n";

static void test_contract_example(void **state)
{
    cw_config_t cfg;
    char err[512] = "";
    cw_addr_t in, out;

    (void)state;
    write_file(contract_example);
    config_init(&cfg);
    if (config_load(&cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.interface, "eth1");
    assert_string_equal(cfg.filter, "udp or tcp");
    assert_int_equal(cfg.rtp_timeout_s, 10);
    assert_int_equal(cfg.step_s, 10);
    assert_string_equal(cfg.web_listen, "127.0.0.1:8080");
    assert_string_equal(cfg.rrd_daemon, "unix:/run/rrdcached.sock");
    assert_int_equal(cfg.ngroups, 1);
    assert_string_equal(cfg.groups[0].name, "branch-a");
    assert_int_equal(cfg.groups[0].nsubnets, 2);
    cw_addr_parse("10.20.3.4", &in);
    cw_addr_parse("10.21.0.1", &out);
    assert_true(config_subnet_contains(&cfg.groups[0].subnets[0], &in));
    assert_false(config_subnet_contains(&cfg.groups[0].subnets[0], &out));
    cw_addr_parse("2001:db8:20:ffff::1", &in);
    assert_true(config_subnet_contains(&cfg.groups[0].subnets[1], &in));
    assert_int_equal(cfg.nlinks, 2);
    assert_string_equal(cfg.links[0].name, "wan0");
    assert_string_equal(cfg.links[0].snmp.agent, "192.0.2.1:161");
    assert_string_equal(cfg.links[0].ifname, "GigabitEthernet0/1");
    assert_int_equal(cfg.links[0].speed_bps, 100000000);
    assert_int_equal(cfg.links[0].snmp.interval_s, 10);
    assert_int_equal(cfg.links[0].snmp.version, 2);
    assert_string_equal(cfg.links[1].ds_out, "traffic_out");
    assert_int_equal(cfg.ncpus, 2);
    assert_string_equal(cfg.cpus[0].preset, "host-resources");
    assert_string_equal(cfg.cpus[1].ds, "usage");
    assert_true(cfg.alert_syslog);
    assert_string_equal(cfg.alert_exec, "/usr/local/bin/page-oncall");
    config_free(&cfg);
    unlink(path);
}

struct bad_case {
    const char *text;
    const char *expect; /* substring of the message after "FILE:" */
};

static const struct bad_case bad_cases[] = {
    { "[probe]\nsite = branch.a\n", ":2: site: \"branch.a\" may use only letters" },
    { "[probe]\nsite = \n", ":2: site:" },
    { "[calldb]\nurl = mysql://x@y/z\n", "[calldb]: url \"mysql://x@y/z\" is not a PostgreSQL" },
    { "[calldb]\nspool_mb = 0\n", ":2: spool_mb: 0 is out of range" },
    { "[calldb]\nhost = db\n", ":2: unknown key \"host\" in section [calldb]" },
    { "[probe]\nrtp_timout = 5\n", ":2: unknown key \"rtp_timout\" in section [probe]" },
    { "[probe]\nstep = 10\n\n[prob]\nstep = 5\n", ":4: unknown section [prob]" },
    { "[probe]\nrtp_timeout = ten\n", ":2: rtp_timeout: \"ten\" is not a whole number" },
    { "[probe]\nrtp_timeout = 0\n", ":2: rtp_timeout: 0 is out of range" },
    { "[probe]\nstep = 10\nthis line has no equals sign\n", ":3: syntax error" },
    { "; comment\n[link]\nsnmp = 1.2.3.4\n", ":2: section [link] needs a name" },
    { "[link bad/name]\nrrd = x\n", ":1: section [link bad/name]: name \"bad/name\"" },
    { "[link wan0]\nspeed = fast\n", ":2: speed: \"fast\" is not a bit rate" },
    { "[cpu fw]\nsnmp = 1.2.3.4\npreset = windows\n", ":3: preset: unknown preset \"windows\"" },
    { "[link wan0]\nsnmp = 1.2.3.4\n", ":1: [link wan0]: give ifname = NAME or ifindex = N" },
    { "[cpu fw]\n\nsnmp = 1.2.3.4\n", ":1: [cpu fw]: give preset = NAME or oid" },
    { "[link a]\nrrd = /x.rrd\nds_in = in\nds_out = out\n[link a]\nrrd = /y\n",
      ":5: section [link a] appears twice (first at line 1)" },
    { "[group g]\nsubnets = 10.0.0.0/33\n", ":2: subnets: \"10.0.0.0/33\" is not an address" },
    { "[alert]\nsyslog = maybe\n", ":2: syslog: \"maybe\" is not yes or no" },
    { "rtp_timeout = 5\n", ":1: key outside any section" },
    { "[web]\nlisten =\n", ":2: listen: empty value" },
    { "[probe]\ngeneve_ports = 4789\n",
      ":2: geneve_ports: port 4789 is also in vxlan_ports (its default)" },
    { "[probe]\ngtpu_ports = 2152\ntzsp_ports = 2000-3000\n",
      ":3: tzsp_ports: port 2152 is also in gtpu_ports" },
    { "[probe]\nvxlan_ports = 4789, x\n", ":2: vxlan_ports: \"x\" is not a port" },
    { "[probe]\nstep = 5\n[nonsense]\n", ":3: unknown section [nonsense]" },
    { "[link x]\nsnmp = 10.0.0.1\nversion = 3\nifindex = 2\n", ":1: [link x]: SNMP v3 needs user" },
    { "[probe]\n# a comment\n\nfilter = "
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nstep = 10\n",
      ":4: line too long" },
};

static void test_errors_name_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        cw_config_t cfg;
        char err[512] = "";
        int rc;

        write_file(bad_cases[i].text);
        config_init(&cfg);
        rc = config_load(&cfg, path, err, sizeof(err));
        if (rc == 0)
            fail_msg("case %zu: accepted", i);
        if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, bad_cases[i].expect))
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err, bad_cases[i].expect);
        config_free(&cfg);
    }
    unlink(path);
}

static void test_missing_file(void **state)
{
    cw_config_t cfg;
    char err[512];

    (void)state;
    config_init(&cfg);
    assert_int_not_equal(config_load(&cfg, "/nonexistent/callwatch.ini", err, sizeof(err)), 0);
    assert_string_equal(err, "/nonexistent/callwatch.ini: No such file or directory");
    config_free(&cfg);
}

static void test_defaults(void **state)
{
    cw_config_t cfg;

    (void)state;
    config_init(&cfg);
    assert_int_equal(cfg.rtp_timeout_s, 10);
    assert_int_equal(cfg.step_s, 10);
    assert_null(cfg.interface);
    assert_true(config_name_valid(cfg.site));
    assert_null(cfg.calldb_url);
    assert_int_equal(cfg.calldb_spool_mb, CW_DEF_SPOOL_MB);
    config_free(&cfg);
}

static void test_sites(void **state)
{
    cw_config_t cfg;
    char err[512] = "", site[72];

    (void)state;
    config_default_site(site, sizeof(site));
    assert_true(config_name_valid(site));
    write_file("[probe]\nsite = branch-a\n[calldb]\nurl = postgresql://cw@db:5432/calls\n"
               "spool_mb = 8\n[web]\nexternal_url = https://cw.example.net/\n");
    config_init(&cfg);
    if (config_load(&cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.site, "branch-a");
    assert_string_equal(cfg.calldb_url, "postgresql://cw@db:5432/calls");
    assert_int_equal(cfg.calldb_spool_mb, 8);
    assert_string_equal(cfg.web_external_url, "https://cw.example.net/");
    config_free(&cfg);
    unlink(path);
}

static void test_snmp_v3(void **state)
{
    cw_config_t cfg;
    char err[512] = "";

    (void)state;
    write_file("[cpu fw1]\nsnmp = 127.0.0.1:1161\nversion = 3\nuser = mon\nauth = SHA\n"
               "auth_pass = secret123\npriv = AES\npriv_pass = secret456\noid = "
               "1.3.6.1.4.1.2021.11.9.0\n");
    config_init(&cfg);
    if (config_load(&cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg.cpus[0].snmp.version, 3);
    assert_string_equal(cfg.cpus[0].snmp.priv, "AES");
    assert_null(cfg.cpus[0].snmp.community);
    config_free(&cfg);
    unlink(path);
}

/* The UDP encapsulations' ports: defaults, lists, off. */
static void test_encap_ports(void **state)
{
    static uint8_t map[65536 / 8];
    cw_config_t cfg;
    char err[512] = "";

    (void)state;
    config_init(&cfg);
    assert_true(config_encap_port(&cfg, CW_ENCAP_VXLAN, CW_DEF_VXLAN_PORT));
    assert_true(config_encap_port(&cfg, CW_ENCAP_GENEVE, 6081));
    assert_true(config_encap_port(&cfg, CW_ENCAP_GTPU, 2152));
    assert_true(config_encap_port(&cfg, CW_ENCAP_TZSP, 37008));
    assert_false(config_encap_port(&cfg, CW_ENCAP_TZSP, 4789));
    config_encap_bitmap(&cfg, CW_ENCAP_TZSP, map);
    assert_int_equal(map[37008 / 8], 1u << (37008 % 8));
    config_free(&cfg);

    write_file("[probe]\nvxlan_ports =\ntzsp_ports = 4789, 40000-40002\n");
    config_init(&cfg);
    if (config_load(&cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_false(config_encap_port(&cfg, CW_ENCAP_VXLAN, 4789));
    assert_true(config_encap_port(&cfg, CW_ENCAP_TZSP, 4789));
    assert_true(config_encap_port(&cfg, CW_ENCAP_TZSP, 40001));
    assert_false(config_encap_port(&cfg, CW_ENCAP_TZSP, 37008));
    assert_true(config_encap_port(&cfg, CW_ENCAP_GENEVE, 6081));
    config_encap_bitmap(&cfg, CW_ENCAP_VXLAN, map);
    for (size_t i = 0; i < sizeof(map); i++)
        assert_int_equal(map[i], 0);
    assert_string_equal(config_encap_key(CW_ENCAP_GTPU), "gtpu_ports");
    config_free(&cfg);
    unlink(path);
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(config_name_valid("wan0"));
    assert_true(config_name_valid("branch-a_2"));
    assert_false(config_name_valid(""));
    assert_false(config_name_valid("a.b"));
    assert_false(config_name_valid("a b"));
    assert_false(config_name_valid("../x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_example),
        cmocka_unit_test(test_errors_name_line),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_snmp_v3),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_encap_ports),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
