/*
 * Unit tests for the network hierarchy (src/core/network.c) and its configuration keys, and
 * the flow keys of src/core/config.c: longest-prefix match over IPv4 and IPv6, flow
 * direction, the compiled lookup against a linear scan, and `networks` parsing with its
 * errors (file:line and key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

static struct strm_config *new_cfg(void)
{
    struct strm_config *cfg = malloc(sizeof(*cfg));
    assert_non_null(cfg);
    strm_config_defaults(cfg);
    return cfg;
}

static int parse(struct strm_config *cfg, const char *yaml, char *err, size_t errlen)
{
    strm_config_defaults(cfg);
    err[0] = '\0';
    return strm_config_parse(cfg, "t.yaml", yaml, strlen(yaml), err, errlen);
}

static struct strm_ip ip(const char *s)
{
    struct strm_ip a;
    assert_int_equal(strm_ip_parse(&a, s, strlen(s)), 0);
    return a;
}

/* Name of the network holding s, or "" when remote. */
static const char *net_of(const struct strm_config *cfg, const char *s)
{
    struct strm_ip a = ip(s);
    const struct strm_network *n = strm_network_find(cfg, &a);
    return n ? n->name : "";
}

static void add(struct strm_config *cfg, const char *name, const char *cidr)
{
    struct strm_network *n = &cfg->networks[cfg->n_networks++];
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    assert_int_equal(strm_cidr_parse(cidr, strlen(cidr), &n->addr, &n->prefix, NULL), 0);
}

static void cidr_parse_forms(void **state)
{
    struct strm_ip a;
    uint8_t p;
    bool hb;
    assert_int_equal(strm_cidr_parse("10.1.0.0/16", 11, &a, &p, &hb), 0);
    assert_int_equal(p, 96 + 16);
    assert_false(hb);
    struct strm_ip want = ip("10.1.0.0");
    assert_int_equal(strm_ip_cmp(&a, &want), 0);
    assert_int_equal(strm_cidr_parse("10.1.2.3/16", 11, &a, &p, &hb), 0);
    assert_true(hb);
    assert_memory_equal(a.b, want.b, 16);
    assert_int_equal(strm_cidr_parse("192.168.1.7", 11, &a, &p, &hb), 0);
    assert_int_equal(p, 128);
    assert_int_equal(strm_cidr_parse("0.0.0.0/0", 9, &a, &p, &hb), 0);
    assert_int_equal(p, 96);
    assert_int_equal(strm_cidr_parse("2001:db8::/32", 13, &a, &p, &hb), 0);
    assert_int_equal(p, 32);
    assert_int_equal(strm_cidr_parse("::/0", 4, &a, &p, &hb), 0);
    assert_int_equal(p, 0);
    assert_int_equal(strm_cidr_parse("2001:db8::1/64", 14, &a, &p, &hb), 0);
    assert_true(hb);
    const char *bad[] = {"10.1.0.0/33", "10.1.0.0/",   "/8",     "10.1.0/8", "2001:db8::/129",
                         "10.0.0.0/8x", "10.0.0.0/-1", "host/8", "",         "10.0.0.0/0008"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(strm_cidr_parse(bad[i], strlen(bad[i]), &a, &p, &hb), 0);
}

static void longest_prefix_wins(void **state)
{
    struct strm_config *cfg = new_cfg();
    char err[256];
    cfg->n_networks = 0;
    add(cfg, "Corp", "10.0.0.0/8");
    add(cfg, "Corp.DMZ", "10.1.0.0/16");
    add(cfg, "Corp.DMZ.Web", "10.1.2.0/24");
    add(cfg, "Corp.DMZ.Mail", "10.1.2.25/32");
    add(cfg, "Lab", "192.168.0.0/16");
    add(cfg, "V6.Site", "2001:db8::/32");
    add(cfg, "V6.Site.Servers", "2001:db8:1::/48");
    add(cfg, "Zero", "10.0.0.0/12"); /* same start as Corp, longer */
    /* before compiling: linear scan */
    assert_string_equal(net_of(cfg, "10.1.2.3"), "Corp.DMZ.Web");
    assert_int_equal(strm_networks_compile(cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->n_networks_compiled, cfg->n_networks);
    assert_string_equal(net_of(cfg, "10.1.2.3"), "Corp.DMZ.Web");
    assert_string_equal(net_of(cfg, "10.1.2.25"), "Corp.DMZ.Mail");
    assert_string_equal(net_of(cfg, "10.1.2.26"), "Corp.DMZ.Web");
    assert_string_equal(net_of(cfg, "10.1.3.1"), "Corp.DMZ");
    assert_string_equal(net_of(cfg, "10.1.255.255"), "Corp.DMZ");
    assert_string_equal(net_of(cfg, "10.2.0.1"), "Zero");
    assert_string_equal(net_of(cfg, "10.16.0.1"), "Corp");
    assert_string_equal(net_of(cfg, "10.255.255.255"), "Corp");
    assert_string_equal(net_of(cfg, "11.0.0.0"), "");
    assert_string_equal(net_of(cfg, "9.255.255.255"), "");
    assert_string_equal(net_of(cfg, "192.168.44.1"), "Lab");
    assert_string_equal(net_of(cfg, "2001:db8:1::5"), "V6.Site.Servers");
    assert_string_equal(net_of(cfg, "2001:db8:2::5"), "V6.Site");
    assert_string_equal(net_of(cfg, "2001:db9::1"), "");
    /* an IPv4 address is not inside an IPv6 network that does not map it */
    assert_string_equal(net_of(cfg, "::a01:203"), "");
    /* the null address is never local */
    struct strm_ip zero;
    memset(&zero, 0, sizeof(zero));
    assert_null(strm_network_find(cfg, &zero));
    /* the same CIDR twice is refused */
    add(cfg, "Again", "10.1.0.0/16");
    assert_int_equal(strm_networks_compile(cfg, err, sizeof(err)), STRM_ERR_INVAL);
    assert_non_null(strstr(err, "10.1.0.0/16 is listed twice"));
    free(cfg);
}

static void direction_table(void **state)
{
    struct strm_config *cfg = new_cfg();
    char err[256];
    cfg->n_networks = 0;
    add(cfg, "Corp", "10.0.0.0/8");
    add(cfg, "V6", "fd00::/8");
    assert_int_equal(strm_networks_compile(cfg, err, sizeof(err)), 0);
    struct {
        const char *s, *d;
        enum strm_flow_dir dir;
    } cases[] = {
        {"10.0.0.1", "10.9.9.9", STRM_FLOWDIR_L2L}, {"10.0.0.1", "8.8.8.8", STRM_FLOWDIR_L2R},
        {"8.8.8.8", "10.0.0.1", STRM_FLOWDIR_R2L},  {"8.8.8.8", "1.1.1.1", STRM_FLOWDIR_R2R},
        {"fd00::1", "10.0.0.1", STRM_FLOWDIR_L2L},  {"fd00::1", "2001::1", STRM_FLOWDIR_L2R},
        {"2001::1", "fd12::1", STRM_FLOWDIR_R2L},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strm_ip s = ip(cases[i].s), d = ip(cases[i].d);
        assert_int_equal(strm_flow_direction(cfg, &s, &d), cases[i].dir);
    }
    assert_string_equal(strm_flowdir_names[STRM_FLOWDIR_L2R], "L2R");
    /* no local networks: everything is remote */
    cfg->n_networks = 0;
    struct strm_ip s = ip("10.0.0.1"), d = ip("10.0.0.2");
    assert_int_equal(strm_flow_direction(cfg, &s, &d), STRM_FLOWDIR_R2R);
    free(cfg);
}

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Many random nested networks: the compiled lookup agrees with a linear scan, and is fast. */
static void compiled_matches_linear_and_is_fast(void **state)
{
    struct strm_config *cfg = new_cfg(), *lin = new_cfg();
    char err[256];
    cfg->n_networks = 0;
    while (cfg->n_networks < STRM_MAX_NETWORKS) {
        struct strm_network n;
        memset(&n, 0, sizeof(n));
        bool v6 = rnd() % 4 == 0;
        unsigned bits = v6 ? 24 + (unsigned)(rnd() % 41) : 14 + (unsigned)(rnd() % 19);
        if (v6) {
            uint64_t r = rnd();
            n.addr.b[0] = 0x20;
            n.addr.b[1] = 0x01;
            for (int k = 2; k < 8; k++)
                n.addr.b[k] = (uint8_t)(r >> (8 * k)) & 0x0f; /* dense: lots of nesting */
            n.prefix = (uint8_t)bits;
        } else {
            uint32_t a = (uint32_t)(10u << 24 | (rnd() & 0x000f0f0fu));
            strm_ip_from_v4(&n.addr, a);
            n.prefix = (uint8_t)(96 + bits);
        }
        /* clear host bits */
        for (unsigned b = n.prefix; b < 128; b++)
            n.addr.b[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        bool dup = false;
        for (int i = 0; i < cfg->n_networks && !dup; i++)
            dup = cfg->networks[i].prefix == n.prefix &&
                  !memcmp(cfg->networks[i].addr.b, n.addr.b, 16);
        if (dup) continue;
        snprintf(n.name, sizeof(n.name), "n%d", cfg->n_networks);
        cfg->networks[cfg->n_networks++] = n;
    }
    memcpy(lin, cfg, sizeof(*cfg));
    lin->n_networks_compiled = 0; /* linear */
    assert_int_equal(strm_networks_compile(cfg, err, sizeof(err)), 0);
    struct strm_ip probes[4096];
    for (int i = 0; i < 4096; i++) {
        if (i % 3 == 0) {
            memset(&probes[i], 0, sizeof(probes[i]));
            probes[i].b[0] = 0x20;
            probes[i].b[1] = 0x01;
            uint64_t r = rnd();
            for (int k = 2; k < 16; k++)
                probes[i].b[k] = (uint8_t)(r >> (4 * k)) & 0x0f;
        } else {
            strm_ip_from_v4(&probes[i], (uint32_t)(10u << 24 | (rnd() & 0x001f1f1fu)));
        }
        const struct strm_network *a = strm_network_find(cfg, &probes[i]);
        const struct strm_network *b = strm_network_find(lin, &probes[i]);
        if (!a || !b) {
            assert_ptr_equal(a, b);
        } else {
            assert_int_equal(a->prefix, b->prefix);
            assert_memory_equal(a->addr.b, b->addr.b, 16);
        }
    }
    /* 4 M lookups (2 M records' worth): at least a few million per second even unoptimized */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned hits = 0;
    for (int r = 0; r < 1024; r++)
        for (int i = 0; i < 4096; i++)
            hits += strm_network_find(cfg, &probes[i]) != NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double rate = 4194304.0 / s;
    print_message("# %u hits, %.1f M lookups/s over %d networks\n", hits, rate / 1e6,
                  cfg->n_networks);
    assert_true(hits > 100 && hits < 4096u * 1024u); /* both hits and misses were probed */
    assert_true(rate > 4e6);
    free(cfg);
    free(lin);
}

/*
 * The direction from the per-/16 states (network.c) is the one the lookups give: networks
 * wider than, equal to and narrower than a /16, nested, and one holding all of IPv4.
 */
static void direction_by_16_matches_lookup(void **state)
{
    (void)state;
    static const char *const sets[][6] = {
        {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", NULL},
        {"10.20.0.0/16", "10.21.128.0/17", "10.22.3.0/24", "10.22.3.7/32", "11.0.0.0/7", NULL},
        {"::ffff:0:0/96", "fd00::/8", NULL},
        {"::/0", NULL},
        {"2001:db8::/32", "192.0.2.0/24", NULL},
    };
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
        struct strm_config *cfg = new_cfg(), *lin = new_cfg();
        char err[256];
        cfg->n_networks = 0;
        for (int i = 0; sets[k][i]; i++) {
            char name[16];
            snprintf(name, sizeof name, "n%d", i);
            add(cfg, name, sets[k][i]);
        }
        assert_int_equal(strm_networks_compile(cfg, err, sizeof(err)), 0);
        memcpy(lin, cfg, sizeof(*cfg));
        for (int i = 0; i < 20000; i++) {
            uint64_t r = rnd();
            uint32_t a = (uint32_t)r, b = (uint32_t)(r >> 32);
            if (i % 2) a = (a & 0x00ffffffu) | (i % 4 == 1 ? 0x0a000000u : 0xc0a80000u);
            if (i % 3 == 0) b = (b & 0x0000ffffu) | 0x0a160000u;
            struct strm_ip s, d;
            strm_ip_from_v4(&s, a);
            strm_ip_from_v4(&d, b);
            bool sl = strm_network_find(lin, &s) != NULL, dl = strm_network_find(lin, &d) != NULL;
            enum strm_flow_dir want = sl ? (dl ? STRM_FLOWDIR_L2L : STRM_FLOWDIR_L2R)
                                         : (dl ? STRM_FLOWDIR_R2L : STRM_FLOWDIR_R2R);
            assert_int_equal(strm_flow_direction(cfg, &s, &d), want);
        }
        free(cfg);
        free(lin);
    }
}

static void defaults_are_rfc1918_and_flow_ports(void **state)
{
    struct strm_config *cfg = new_cfg();
    assert_int_equal(cfg->n_netflow_udp, 2);
    assert_int_equal(cfg->netflow_udp[0].port, 2055);
    assert_int_equal(cfg->netflow_udp[1].port, 9995);
    assert_string_equal(cfg->netflow_udp[0].host, "");
    assert_int_equal(cfg->n_ipfix_udp, 1);
    assert_int_equal(cfg->ipfix_udp[0].port, 4739);
    assert_int_equal(cfg->n_ipfix_tcp, 1);
    assert_int_equal(cfg->ipfix_tcp[0].port, 4739);
    assert_int_equal(cfg->n_sflow_udp, 1);
    assert_int_equal(cfg->sflow_udp[0].port, 6343);
    assert_int_equal(cfg->n_flows_capture, 0);
    assert_int_equal(cfg->flows_active_timeout_s, 60);
    assert_int_equal(cfg->flows_inactive_timeout_s, 15);
    assert_int_equal(cfg->n_networks, 3);
    assert_string_equal(net_of(cfg, "172.20.1.1"), "Net-10-172-192.Net_172_16_0_0");
    assert_string_equal(net_of(cfg, "192.168.1.1"), "Net-10-172-192.Net_192_168_0_0");
    assert_string_equal(net_of(cfg, "10.9.8.7"), "Net-10-172-192.Net_10_0_0_0");
    assert_string_equal(net_of(cfg, "172.32.0.1"), "");
    free(cfg);
}

static void flow_keys_parse(void **state)
{
    struct strm_config *cfg = new_cfg();
    char err[512];
    const char *yaml = "netflow:\n"
                       "  udp: [\"127.0.0.1:12055\"]\n"
                       "ipfix:\n"
                       "  udp: []\n"
                       "  tcp: [\"[::1]:14739\"]\n"
                       "sflow:\n"
                       "  udp: []\n"
                       "flows:\n"
                       "  capture: [eth0, \"any\"]\n"
                       "  active_timeout: 120\n"
                       "  inactive_timeout: 5\n"
                       "networks:\n"
                       "  - name: Corp.DMZ\n"
                       "    cidr: 10.1.0.0/16\n"
                       "  - name: Corp.Users\n"
                       "    cidrs: [10.2.0.0/16, 10.3.0.0/16, \"2001:db8:5::/48\"]\n"
                       "  - name: Corp\n"
                       "    cidr: 10.0.0.0/8\n"
                       "    cidrs: [172.16.0.0/12]\n";
    assert_int_equal(parse(cfg, yaml, err, sizeof(err)), 0);
    assert_int_equal(cfg->n_netflow_udp, 1);
    assert_int_equal(cfg->netflow_udp[0].port, 12055);
    assert_int_equal(cfg->n_ipfix_udp, 0);
    assert_int_equal(cfg->n_ipfix_tcp, 1);
    assert_string_equal(cfg->ipfix_tcp[0].host, "::1");
    assert_int_equal(cfg->n_sflow_udp, 0);
    assert_int_equal(cfg->n_flows_capture, 2);
    assert_string_equal(cfg->flows_capture[0], "eth0");
    assert_string_equal(cfg->flows_capture[1], "any");
    assert_int_equal(cfg->flows_active_timeout_s, 120);
    assert_int_equal(cfg->flows_inactive_timeout_s, 5);
    assert_int_equal(cfg->n_networks, 6);
    assert_int_equal(cfg->n_networks_compiled, 6);
    assert_string_equal(net_of(cfg, "10.1.9.9"), "Corp.DMZ");
    assert_string_equal(net_of(cfg, "10.3.0.1"), "Corp.Users");
    assert_string_equal(net_of(cfg, "2001:db8:5:1::1"), "Corp.Users");
    assert_string_equal(net_of(cfg, "10.4.0.1"), "Corp");
    assert_string_equal(net_of(cfg, "172.16.0.1"), "Corp");
    assert_string_equal(net_of(cfg, "192.168.0.1"), ""); /* the defaults were replaced */
    /* [] turns everything off */
    assert_int_equal(parse(cfg, "networks: []\nflows:\n  capture: []\n", err, sizeof(err)), 0);
    assert_int_equal(cfg->n_networks, 0);
    assert_int_equal(cfg->n_flows_capture, 0);
    assert_string_equal(net_of(cfg, "10.0.0.1"), "");
    free(cfg);
}

static void network_errors_name_line_and_key(void **state)
{
    struct strm_config *cfg = new_cfg();
    char err[512];
    struct {
        const char *yaml, *want;
    } cases[] = {
        {"networks:\n  - name: A\n    cidr: 10.0.0.0/33\n",
         "t.yaml:3: key 'networks.cidr': '10.0.0.0/33' is not a CIDR"},
        {"networks:\n  - name: A\n    cidr: 10.1.2.3/16\n",
         "t.yaml:3: key 'networks.cidr': '10.1.2.3/16' has host bits set (the network is "
         "10.1.0.0/16)"},
        {"networks:\n  - name: A\n    cidr: 10.0.0.0/8\n  - name: B\n    cidrs: [11.0.0.0/8, "
         "10.0.0.0/8]\n",
         "t.yaml:5: key 'networks.cidrs': 10.0.0.0/8 of 'B' is already in network 'A'"},
        {"networks:\n  - name: A\n    cidrs: [10.0.0.0/8, 10.0.0.0/8]\n",
         "t.yaml:3: key 'networks.cidrs': 10.0.0.0/8 is listed twice in 'A'"},
        {"networks:\n  - cidr: 10.0.0.0/8\n", "t.yaml:2: key 'networks': a network has no name"},
        {"networks:\n  - name: A\n", "t.yaml:2: key 'networks': network 'A' has no cidr"},
        {"networks:\n  - name: A..B\n    cidr: 10.0.0.0/8\n",
         "t.yaml:2: key 'networks.name': 'A..B' is not a network name"},
        {"networks:\n  - name: A\n    cidr: 10.0.0.0/8\n    mask: 8\n",
         "t.yaml:4: key 'networks.mask': unknown key"},
        {"networks:\n  - name: A\n    cidrs: []\n",
         "t.yaml:2: key 'networks.cidrs': network 'A' has an empty cidrs list"},
        {"networks: 10.0.0.0/8\n", "t.yaml:1: key 'networks': expected a list of networks"},
        {"networks:\n  - 10.0.0.0/8\n", "key 'networks': each network is a mapping"},
        {"netflow:\n  udp: [\"x:0\"]\n", "t.yaml:2: key 'netflow.udp': 'x:0' is not host:port"},
        {"sflow:\n  udp: 6343\n", "key 'sflow.udp': expected a list of host:port"},
        {"ipfix:\n  sctp: []\n", "key 'ipfix.sctp': unknown key"},
        {"flows:\n  active_timeout: 0\n", "key 'flows.active_timeout': 0 is out of range"},
        {"flows:\n  capture: [\"eth 0\"]\n", "key 'flows.capture': 'eth 0' is not an interface"},
        {"flows:\n  capture: [eth0, eth0]\n", "interface 'eth0' is listed twice"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cfg, cases[i].yaml, err, sizeof(err));
        if (rc == 0 || !strstr(err, cases[i].want))
            fail_msg("case %zu: rc %d, error '%s', want '%s'", i, rc, err, cases[i].want);
    }
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cidr_parse_forms),
        cmocka_unit_test(longest_prefix_wins),
        cmocka_unit_test(direction_table),
        cmocka_unit_test(compiled_matches_linear_and_is_fast),
        cmocka_unit_test(direction_by_16_matches_lookup),
        cmocka_unit_test(defaults_are_rfc1918_and_flow_ports),
        cmocka_unit_test(flow_keys_parse),
        cmocka_unit_test(network_errors_name_line_and_key),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
