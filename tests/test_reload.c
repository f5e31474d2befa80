/* reload: which changes of a re-read configuration apply live and which
 * need a restart, as the SIGHUP log names them. */
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
#include "daemon/reload.h"

static void load(cw_config_t *cfg, const char *text)
{
    char path[64], err[512];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/cw-test-reload-%d.ini", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_init(cfg);
    if (config_load(cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    unlink(path);
}

static const char *base = "[probe]\n"
                          "interface = eth1\n"
                          "data_dir = /var/lib/callwatch\n"
                          "[incident]\n"
                          "window = 60\n"
                          "[link wan]\n"
                          "rrd = /tmp/wan.rrd\n"
                          "ds_in = in\n"
                          "ds_out = out\n";

// clang-format off
static const struct {
    const char *what;
    const char *next;
    const char *live;    /* reload_live_changes() */
    const char *restart; /* reload_restart_needed() */
} cases[] = {
    { "the same file", NULL, "", "" },
    { "a link added and a threshold changed",
      "[probe]\ninterface = eth1\ndata_dir = /var/lib/callwatch\n[incident]\nwindow = 120\n"
      "[link wan]\nrrd = /tmp/wan.rrd\nds_in = in\nds_out = out\n"
      "[link lan]\nrrd = /tmp/lan.rrd\nds_in = in\nds_out = out\n",
      "[link lan] added, [incident] window 60 -> 120", "" },
    { "a link removed, a CPU added, an alert program",
      "[probe]\ninterface = eth1\ndata_dir = /var/lib/callwatch\n[incident]\nwindow = 60\n"
      "[cpu fw1]\nrrd = /tmp/cpu.rrd\nds = usage\n[alert]\nexec = /bin/true\nrate_limit = 5\n",
      "[link wan] removed, [cpu fw1] added, [alert] rate_limit 20 -> 5, [alert] exec", "" },
    { "what needs a restart",
      "[probe]\ninterface = eth2\ndata_dir = /srv/cw\nstep = 5\nsip_ports = 5060\n"
      "[web]\nlisten = 0.0.0.0:8080\nusers = /etc/callwatch/users\n[incident]\nwindow = 60\n"
      "scan_hosts = 50\n[group a]\nsubnets = 10.0.0.0/8\n"
      "[link wan]\nrrd = /tmp/wan.rrd\nds_in = in\nds_out = out\n",
      "[web] users",
      "[probe] interface, [probe] data_dir, [web] listen, [probe] step, "
      "[incident] scan_hosts, [probe] sip_ports, [group] sections" },
    { "the user to run as",
      "[probe]\ninterface = eth1\ndata_dir = /var/lib/callwatch\nuser = callwatch\n"
      "[incident]\nwindow = 60\n[link wan]\nrrd = /tmp/wan.rrd\nds_in = in\nds_out = out\n",
      "", "[probe] user" },
};
// clang-format on

static void test_changes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cw_config_t a, b;
        char live[1024], restart[1024];
        int nlive, nrestart;

        load(&a, base);
        load(&b, cases[i].next ? cases[i].next : base);
        nlive = reload_live_changes(&a, &b, live, sizeof(live));
        nrestart = reload_restart_needed(&a, &b, restart, sizeof(restart));
        if (strcmp(live, cases[i].live) != 0 || strcmp(restart, cases[i].restart) != 0)
            fail_msg("%s: live \"%s\" (want \"%s\"), restart \"%s\" (want \"%s\")", cases[i].what,
                     live, cases[i].live, restart, cases[i].restart);
        assert_int_equal(nlive == 0, cases[i].live[0] == '\0');
        assert_int_equal(nrestart == 0, cases[i].restart[0] == '\0');
        config_free(&a);
        config_free(&b);
    }
}

/* A short buffer is cut, never overrun. */
static void test_short_buffer(void **state)
{
    cw_config_t a, b;
    char buf[8];

    (void)state;
    load(&a, base);
    load(&b, "[probe]\ninterface = eth9\ndata_dir = /x\nstep = 7\n");
    assert_int_equal(reload_restart_needed(&a, &b, buf, sizeof(buf)), 3);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    config_free(&a);
    config_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_short_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
