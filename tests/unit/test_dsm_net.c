/*
 * test_dsm_net.c - the network-device DSMs (Juniper Junos and NetScreen, Cisco ASA/FTD and
 * IOS/NX-OS, Palo Alto PAN-OS, Fortinet FortiGate, Check Point, pfSense/OPNsense, Sophos).
 *
 * Field-level expectations for representative lines of each DSM (addresses, ports, NAT,
 * user, protocol, device time, QID name and category, properties), then properties that
 * must hold over the sample corpus tests/dsm/<name>.log: every line is recognized by its own
 * DSM and rejected by the eight others (which must leave the event untouched), and every
 * prefix and byte-garbled variant of every line either is rejected untouched or maps to a
 * QID of the DSM's own range (never a crash or an out-of-bounds read: run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

#ifndef STRM_SRC_DIR
#define STRM_SRC_DIR "."
#endif

static const char *const net_names[] = {"junos",      "netscreen", "cisco_asa",
                                        "cisco_ios",  "panos",     "fortigate",
                                        "checkpoint", "pfsense",   "sophos"};
#define N_NET (sizeof(net_names) / sizeof(net_names[0]))

static struct strm_arena arena;
static struct strm_event ev;
static char linebuf[70000];

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    strm_arena_init(&arena, 65536);
    return dsm_init();
}

static int teardown(void **state)
{
    (void)state;
    strm_arena_free(&arena);
    return 0;
}

/* 2026-11-25T10:00:00Z */
#define T_1000 1795600800000LL

/* syslog_parse then the named DSM's parse; the event is in `ev`. */
static bool run_tz(const char *name, const char *line, int tz_min)
{
    const struct dsm_def *d = dsm_by_name(name);
    assert_non_null(d);
    strm_arena_reset(&arena);
    size_t n = strlen(line);
    assert_true(n < sizeof(linebuf));
    memcpy(linebuf, line, n);
    strm_event_init(&ev);
    ev.starttime = T_1000 + 3600 * 1000;
    ev.payload.p = linebuf;
    ev.payload.len = (uint32_t)n;
    syslog_parse(&ev, &arena);
    struct dsm_ctx ctx = {tz_min, 0};
    return d->parse(&ev, &arena, &ctx);
}

static bool run(const char *name, const char *line)
{
    return run_tz(name, line, 0);
}

static void expect_ip(const struct strm_ip *ip, const char *want)
{
    char buf[64];
    if (!want) {
        assert_true(strm_ip_is_null(ip));
        return;
    }
    strm_ip_format(ip, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void expect_user(const char *want)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%.*s", (int)ev.username.len, ev.username.p ? ev.username.p : "");
    assert_string_equal(buf, want);
}

static void expect_prop(const char *key, const char *want)
{
    char buf[512];
    if (!want) {
        assert_false(dsm_props_get(ev.properties, key, buf, sizeof(buf)));
        return;
    }
    assert_true(dsm_props_get(ev.properties, key, buf, sizeof(buf)));
    assert_string_equal(buf, want);
}

static void expect_qid(const char *name, uint16_t llc)
{
    const struct qid_def *q = qid_lookup(ev.qid);
    assert_non_null(q);
    assert_string_equal(q->name, name);
    assert_int_equal(ev.category, llc);
    assert_int_equal(ev.highlevelcategory, dsm_category_high(llc));
}

/* ---------------------------------------------------------------- Junos */

static void test_junos_flow_bsd(void **state)
{
    (void)state;
    assert_true(run("junos",
                    "<14>Nov 25 10:00:00 srx01 RT_FLOW: RT_FLOW_SESSION_CREATE: session created "
                    "10.0.0.5/51234->93.184.216.34/443 0x0 junos-https "
                    "203.0.113.5/40001->93.184.216.34/443 0x0 source rule snat-out N/A N/A 6 "
                    "allow-web trust untrust 120045 N/A(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN"));
    expect_qid("Junos Flow Session Created", LLC_FIREWALL_PERMIT);
    assert_int_equal(ev.devicetype, DSM_T_JUNOS);
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.prenatsourceip, "10.0.0.5");
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.postnatdestinationip, NULL); /* unchanged destination: no translation */
    assert_int_equal(ev.protocolid, 6);
    expect_prop("policy", "allow-web");
    expect_prop("srczone", "trust");
    expect_prop("dstzone", "untrust");
    expect_prop("eventid", "RT_FLOW_SESSION_CREATE");

    assert_true(run("junos", "<14>Nov 25 10:00:30 srx01 RT_FLOW: RT_FLOW_SESSION_CLOSE: session "
                             "closed TCP FIN: 10.0.0.5/51234->93.184.216.34/443 0x0 junos-https "
                             "203.0.113.5/40001->93.184.216.34/443 0x0 N/A N/A N/A N/A 6 "
                             "allow-web trust untrust 120045 12(1840) 10(9321) 30 SSL"));
    expect_qid("Junos Flow Session Closed", LLC_FIREWALL_SESSION_CLOSED);
    expect_prop("reason", "TCP FIN");
    expect_prop("bytesout", "1840");
    expect_prop("bytesin", "9321");
    expect_prop("packetsout", "12");
    expect_prop("duration", "30");

    assert_true(run("junos", "<14>Nov 25 10:00:31 srx01 RT_FLOW: RT_FLOW_SESSION_DENY: session "
                             "denied 198.51.100.23/40511->203.0.113.10/23 0x0 junos-telnet 6(0) "
                             "deny-all untrust trust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/0.0 No policy "
                             "deny N/A N/A -1"));
    expect_qid("Junos Flow Session Denied", LLC_FIREWALL_DENY);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 23);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("policy", "deny-all");
    expect_prop("reason", "policy deny");
}

static void test_junos_structured(void **state)
{
    (void)state;
    assert_true(run("junos",
                    "<14>1 2026-11-25T11:00:00.123+01:00 srx01 RT_FLOW - RT_FLOW_SESSION_CLOSE "
                    "[junos@2636.1.1.1.2.129 reason=\"idle Timeout\" source-address=\"10.0.0.6\" "
                    "source-port=\"50000\" destination-address=\"8.8.8.8\" destination-port=\"53\" "
                    "nat-source-address=\"203.0.113.5\" nat-source-port=\"41000\" "
                    "protocol-id=\"17\" policy-name=\"allow-dns\" bytes-from-client=\"64\" "
                    "bytes-from-server=\"128\" application=\"DNS\" username=\"jdoe\"]"));
    expect_qid("Junos Flow Session Closed", LLC_FIREWALL_SESSION_CLOSED);
    assert_int_equal(ev.devicetime, T_1000 + 123);
    expect_ip(&ev.sourceip, "10.0.0.6");
    assert_int_equal(ev.sourceport, 50000);
    expect_ip(&ev.destinationip, "8.8.8.8");
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 41000);
    expect_ip(&ev.prenatsourceip, "10.0.0.6");
    assert_int_equal(ev.protocolid, 17);
    expect_user("jdoe");
    expect_prop("application", "DNS");
    expect_prop("bytesin", "128");
    expect_prop("reason", "idle Timeout");
}

static void test_junos_screen_utm_mgmt(void **state)
{
    (void)state;
    assert_true(run("junos", "<11>Nov 25 10:01:01 srx01 RT_IDS: RT_SCREEN_TCP: TCP port scan! "
                             "source: 198.51.100.9:4445, destination: 203.0.113.10:22, zone name: "
                             "untrust, interface name: ge-0/0/0.0, action: drop"));
    expect_qid("Junos Screen TCP Port Scan", LLC_HOST_PORT_SCAN);
    expect_ip(&ev.sourceip, "198.51.100.9");
    assert_int_equal(ev.sourceport, 4445);
    assert_int_equal(ev.destinationport, 22);
    expect_prop("ifin", "ge-0/0/0.0");
    expect_prop("action", "drop");

    assert_true(run("junos", "<11>Nov 25 10:01:02 srx01 RT_IDS: RT_SCREEN_ICMP: ICMP flood! "
                             "source: 198.51.100.9, destination: 203.0.113.10, zone name: untrust, "
                             "interface name: ge-0/0/0.0, action: drop"));
    expect_qid("Junos Screen ICMP Flood", LLC_ICMP_DOS);
    assert_int_equal(ev.protocolid, 1);

    assert_true(run("junos",
                    "<12>Nov 25 10:03:00 srx01 RT_UTM: WEBFILTER_URL_BLOCKED: WebFilter: "
                    "ACTION=\"URL Blocked\" 10.0.0.5(51300)->198.51.100.80(80) "
                    "CATEGORY=\"Enhanced_Gambling\" REASON=\"BY_PRE_DEFINED\" PROFILE=\"wf\" "
                    "URL=casino.example.net OBJ=/ username jdoe roles N/A"));
    expect_qid("Junos Web Filter URL Blocked", LLC_WEB_POLICY_VIOLATION);
    expect_ip(&ev.destinationip, "198.51.100.80");
    assert_int_equal(ev.sourceport, 51300);
    expect_prop("url", "casino.example.net");
    expect_prop("urlcategory", "Enhanced_Gambling");
    expect_user("jdoe");

    assert_true(run("junos", "<13>Nov 25 10:04:00 srx01 mgd[4321]: UI_LOGIN_EVENT: User 'admin' "
                             "login, class 'j-super-user' [4321], ssh-connection '10.0.0.50 51000 "
                             "10.0.0.1 22', client-mode 'cli'"));
    expect_qid("Junos User Login", LLC_ADMIN_LOGIN_SUCCEEDED);
    expect_user("admin");
    expect_ip(&ev.sourceip, "10.0.0.50");
    expect_ip(&ev.destinationip, "10.0.0.1");
    assert_int_equal(ev.destinationport, 22);

    assert_true(run("junos", "<12>Nov 25 10:06:00 srx01 sshd[5555]: SSHD_LOGIN_FAILED: Login "
                             "failed for user 'root' from host '198.51.100.66'"));
    expect_qid("Junos SSH Login Failed", LLC_SSH_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    /* a Junos-looking tag that is not mapped: recognized, unknown QID */
    assert_true(run("junos", "<14>Nov 25 10:07:00 srx01 rpd[1]: RT_SOMETHING_NEW: text"));
    assert_int_equal(ev.qid, DSM_QID_UNKNOWN(DSM_T_JUNOS));
    /* upper-case tags of other software are not Junos */
    assert_false(run("junos", "<14>Nov 25 10:07:00 host app[1]: FOO_BAR: text"));
}

/* ---------------------------------------------------------------- NetScreen */

static void test_netscreen(void **state)
{
    (void)state;
    assert_true(run("netscreen",
                    "<134>Nov 25 10:00:30 ns5gt ns5gt: NetScreen device_id=ns5gt  "
                    "[Root]system-notification-00257(traffic): start_time=\"2026-11-25 10:00:00\" "
                    "duration=30 policy_id=2 service=http proto=6 src zone=Trust dst zone=Untrust "
                    "action=Permit sent=1840 rcvd=9321 src=10.0.0.5 dst=93.184.216.34 "
                    "src_port=51234 dst_port=80 src-xlated ip=203.0.113.5 port=40001 dst-xlated "
                    "ip=93.184.216.34 port=80 session_id=1234 reason=Close - TCP FIN"));
    expect_qid("NetScreen Traffic Permitted", LLC_FIREWALL_PERMIT);
    assert_int_equal(ev.devicetype, DSM_T_NETSCREEN);
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 80);
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.postnatdestinationip, NULL);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("eventid", "00257");
    expect_prop("srczone", "Trust");
    expect_prop("dstzone", "Untrust");
    expect_prop("bytesout", "1840");
    expect_prop("reason", "Close - TCP FIN");
    expect_prop("policy", "2");

    assert_true(run("netscreen",
                    "<134>Nov 25 10:00:31 ns5gt ns5gt: NetScreen device_id=ns5gt  "
                    "[Root]system-notification-00257(traffic): start_time=\"2026-11-25 10:00:31\" "
                    "duration=0 policy_id=320001 service=tcp/port:3389 proto=6 src zone=Untrust "
                    "dst zone=Trust action=Deny sent=0 rcvd=40 src=198.51.100.23 "
                    "dst=203.0.113.10 src_port=40511 dst_port=3389 session_id=0 reason=Traffic "
                    "Denied"));
    expect_qid("NetScreen Traffic Denied", LLC_FIREWALL_DENY);
    assert_int_equal(ev.destinationport, 3389);

    assert_true(run("netscreen", "<130>Nov 25 10:01:00 ns5gt ns5gt: NetScreen device_id=ns5gt  "
                                 "[Root]system-critical-00016: Port scan! From 198.51.100.9:4445 "
                                 "to 203.0.113.10:22, proto TCP (zone Untrust, int ethernet3). "
                                 "Occurred 1 times."));
    expect_qid("NetScreen Port Scan", LLC_HOST_PORT_SCAN);
    expect_ip(&ev.sourceip, "198.51.100.9");
    assert_int_equal(ev.sourceport, 4445);
    expect_ip(&ev.destinationip, "203.0.113.10");
    assert_int_equal(ev.protocolid, 6);
    expect_prop("ifin", "ethernet3");

    assert_true(run("netscreen", "<132>Nov 25 10:02:01 ns5gt ns5gt: NetScreen device_id=ns5gt  "
                                 "[Root]system-warning-00518: Admin user \"root\" login attempt "
                                 "for Telnet management (port 23) from 198.51.100.66:4000 "
                                 "failed."));
    expect_qid("NetScreen Admin Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");
    assert_int_equal(ev.sourceport, 4000);
}

/* ---------------------------------------------------------------- Cisco ASA */

static void test_asa_connections(void **state)
{
    (void)state;
    /* inbound: the first endpoint initiates; the destination was reached via its mapped
       address (pre-NAT 203.0.113.10, post-NAT the real 10.0.0.10) */
    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:00:00 asa01 : %ASA-6-302013: Built inbound "
                                 "TCP connection 4123 for outside:198.51.100.23/40511 "
                                 "(198.51.100.23/40511) to inside:10.0.0.10/443 "
                                 "(203.0.113.10/443)"));
    expect_qid("ASA Built TCP Connection", LLC_FIREWALL_SESSION_OPENED);
    assert_int_equal(ev.devicetype, DSM_T_CISCO_ASA);
    assert_int_equal(ev.devicetime, T_1000);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.sourceport, 40511);
    expect_ip(&ev.destinationip, "10.0.0.10");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.prenatdestinationip, "203.0.113.10");
    expect_ip(&ev.postnatdestinationip, "10.0.0.10");
    expect_ip(&ev.postnatsourceip, NULL);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("ifin", "outside");
    expect_prop("ifout", "inside");

    /* outbound: the second endpoint initiates and is source-NATed */
    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:00:01 asa01 : %ASA-6-302013: Built outbound "
                                 "TCP connection 4124 for outside:93.184.216.34/443 "
                                 "(93.184.216.34/443) to inside:10.0.0.5/51234 "
                                 "(203.0.113.5/40001) (jdoe)"));
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    expect_ip(&ev.prenatsourceip, "10.0.0.5");
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);

    /* device time read in the log source's zone when the header has none */
    assert_true(run_tz("cisco_asa",
                       "<164>Nov 25 2026 11:00:00 asa01 : %ASA-4-106023: Deny tcp src "
                       "outside:198.51.100.23/40513 dst inside:10.0.0.10/3389 by access-group "
                       "\"outside_access_in\" [0x0, 0x0]",
                       60));
    assert_int_equal(ev.devicetime, T_1000);
    expect_qid("ASA Access Group Denied", LLC_ACL_DENY);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 3389);
    expect_prop("acl", "outside_access_in");

    assert_true(run("cisco_asa", "<164>Nov 25 2026 10:01:09 asa01 : %ASA-4-106100: access-list "
                                 "outside_access_in denied udp outside/198.51.100.23(40515) -> "
                                 "inside/10.0.0.10(161) hit-cnt 3 300-second interval "
                                 "[0x1a2b3c4e, 0x0]"));
    expect_qid("ASA Access List Denied", LLC_ACL_DENY);
    assert_int_equal(ev.sourceport, 40515);
    expect_ip(&ev.destinationip, "10.0.0.10");
    assert_int_equal(ev.destinationport, 161);
    assert_int_equal(ev.protocolid, 17);

    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:00:09 asa01 : %ASA-6-305011: Built dynamic "
                                 "TCP translation from inside:10.0.0.5/51234 to "
                                 "outside:203.0.113.5/40001"));
    expect_qid("ASA Built Translation", LLC_NAT_SUCCEEDED);
    expect_ip(&ev.prenatsourceip, "10.0.0.5");
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
}

static void test_asa_users_ftd(void **state)
{
    (void)state;
    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:02:10 asa01 : %ASA-6-716001: Group "
                                 "<RemoteVPN> User <jdoe> IP <198.51.100.30> WebVPN session "
                                 "started."));
    expect_qid("ASA WebVPN Session Started", LLC_VPN_LOGIN_SUCCEEDED);
    expect_user("jdoe");
    expect_ip(&ev.sourceip, "198.51.100.30");
    expect_prop("group", "RemoteVPN");

    assert_true(run("cisco_asa", "<164>Nov 25 2026 10:02:01 asa01 : %ASA-4-605004: Login denied "
                                 "from 198.51.100.66/4000 to outside:203.0.113.1/ssh for user "
                                 "\"root\""));
    expect_qid("ASA Admin Login Denied", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:02:08 asa01 : %ASA-6-113005: AAA user "
                                 "authentication Rejected : reason = AAA failure : server = "
                                 "10.0.0.20 : user = mallory : user IP = 198.51.100.77"));
    expect_qid("ASA AAA Authentication Rejected", LLC_AUTH_SERVER_LOGIN_FAILED);
    expect_user("mallory");
    expect_ip(&ev.sourceip, "198.51.100.77");

    assert_true(run("cisco_asa",
                    "<166>Nov 25 2026 10:03:01 ftd01 : %FTD-6-430002: EventPriority: Low, "
                    "ConnectionID: 5002, AccessControlRuleAction: Block, SrcIP: 198.51.100.23, "
                    "DstIP: 203.0.113.10, SrcPort: 40520, DstPort: 445, Protocol: tcp, "
                    "IngressInterface: outside, EgressInterface: inside, ACPolicy: Corp-AC, "
                    "AccessControlRuleName: Block-SMB, User: No Authentication Required"));
    expect_qid("FTD Connection Blocked", LLC_FIREWALL_DENY);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 445);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("rule", "Block-SMB");
    assert_int_equal(ev.username.len, 0);

    /* a message id this DSM does not map */
    assert_true(run("cisco_asa", "<166>Nov 25 2026 10:05:00 asa01 : %ASA-6-199999: text"));
    assert_int_equal(ev.qid, DSM_QID_UNKNOWN(DSM_T_CISCO_ASA));
    /* no header at all */
    assert_true(run("cisco_asa", "%ASA-6-302014: Teardown TCP connection 1 for "
                                 "outside:1.2.3.4/443 to inside:10.0.0.5/51234 duration 0:00:29 "
                                 "bytes 11161 TCP FINs"));
    expect_qid("ASA Teardown TCP Connection", LLC_FIREWALL_SESSION_CLOSED);
    expect_prop("bytes", "11161");
    expect_prop("reason", "TCP FINs");
}

/* ---------------------------------------------------------------- Cisco IOS */

static void test_ios(void **state)
{
    (void)state;
    assert_true(run("cisco_ios", "<190>125: Nov 25 10:00:02.001 UTC: %SEC-6-IPACCESSLOGP: list "
                                 "INBOUND denied tcp 198.51.100.23(40512) (GigabitEthernet0/0 "
                                 "0011.2233.4455) -> 10.2.2.2(445), 1 packet"));
    expect_qid("IOS Access List Denied", LLC_ACL_DENY);
    assert_int_equal(ev.devicetype, DSM_T_CISCO_IOS);
    assert_int_equal(ev.devicetime, T_1000 + 2001);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.sourceport, 40512);
    expect_ip(&ev.destinationip, "10.2.2.2");
    assert_int_equal(ev.destinationport, 445);
    assert_int_equal(ev.protocolid, 6);
    static const uint8_t mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    assert_memory_equal(ev.sourcemac, mac, 6);
    expect_prop("acl", "INBOUND");
    expect_prop("ifin", "GigabitEthernet0/0");
    expect_prop("eventid", "SEC-IPACCESSLOGP");

    /* unsynchronized clock ('*'): the device time is not trusted */
    assert_true(run("cisco_ios", "<190>123: *Mar  1 18:46:11.123: %SEC-6-IPACCESSLOGP: list 101 "
                                 "permitted udp 10.1.1.5(51000) -> 10.2.2.2(53), 5 packets"));
    expect_qid("IOS Access List Permitted", LLC_ACL_PERMIT);
    assert_int_equal(ev.devicetime, 0);
    assert_int_equal(ev.protocolid, 17);

    assert_true(run("cisco_ios", "<188>Nov 25 10:01:05 rtr01 130: Nov 25 10:01:05.200 UTC: "
                                 "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: root] [Source: "
                                 "198.51.100.66] [localport: 22] [Reason: Login Authentication "
                                 "Failed] at 10:01:05 UTC Wed Nov 25 2026"));
    expect_qid("IOS Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");
    assert_int_equal(ev.destinationport, 22);
    expect_prop("reason", "Login Authentication Failed");

    assert_true(run("cisco_ios", "<189>Nov 25 10:02:00 rtr01 132: Nov 25 10:02:00.000 UTC: "
                                 "%SYS-5-CONFIG_I: Configured from console by admin on vty0 "
                                 "(10.0.0.50)"));
    expect_qid("IOS Configuration Changed", LLC_DEVICE_CONFIG_CHANGE);
    expect_user("admin");
    expect_ip(&ev.sourceip, "10.0.0.50");

    assert_true(run("cisco_ios", "<187>Nov 25 10:04:00 rtr01 137: Nov 25 10:04:00.000 UTC: "
                                 "%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to "
                                 "down"));
    expect_qid("IOS Interface Down", LLC_SYSTEM_STATUS);
    expect_prop("interface", "GigabitEthernet0/1");

    assert_true(run("cisco_ios", "<189>2026 Nov 25 10:06:02 nx01 %ETHPORT-5-IF_DOWN_LINK_FAILURE: "
                                 "Interface Ethernet1/1 is down (Link failure)"));
    expect_qid("NX-OS Interface Down", LLC_SYSTEM_STATUS);
    expect_prop("interface", "Ethernet1/1");

    /* ASA-family messages (numeric mnemonic) are not IOS */
    assert_false(run("cisco_ios", "<166>Nov 25 2026 10:00:00 asa01 : %ASA-6-302013: Built "
                                  "inbound TCP connection 1 for a:1.2.3.4/1 (1.2.3.4/1) to "
                                  "b:5.6.7.8/2 (5.6.7.8/2)"));
}

/* ---------------------------------------------------------------- PAN-OS */

static void test_panos(void **state)
{
    (void)state;
    assert_true(run_tz(
        "panos",
        "<14>Nov 25 10:00:30 PA-VM 1,2026/11/25 11:00:30,013201001234,TRAFFIC,end,2561,2026/11/25 "
        "11:00:30,10.0.0.5,93.184.216.34,203.0.113.5,93.184.216.34,allow-web,corp\\jdoe,,ssl,"
        "vsys1,trust,untrust,ethernet1/2,ethernet1/1,Forward-All,2026/11/25 11:00:30,120045,1,"
        "51234,443,40001,443,0x400000,tcp,allow,11161,1840,9321,22,2026/11/25 10:59:30,30,"
        "computer-and-internet-info,0,7253419119627122716,0x8000000000000000,10.0.0.0-10.255.255."
        "255,United States,0,12,10,tcp-fin",
        60));
    expect_qid("PAN-OS Traffic Session End", LLC_FIREWALL_SESSION_CLOSED);
    assert_int_equal(ev.devicetype, DSM_T_PANOS);
    assert_int_equal(ev.devicetime, T_1000 + 30000); /* generated time, in tz +01:00 */
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.prenatsourceip, "10.0.0.5");
    expect_ip(&ev.postnatdestinationip, NULL);
    assert_int_equal(ev.protocolid, 6);
    expect_user("corp\\jdoe");
    expect_prop("rule", "allow-web");
    expect_prop("application", "ssl");
    expect_prop("ifin", "ethernet1/2");
    expect_prop("bytes", "11161");
    expect_prop("eventid", "TRAFFIC:end:allow");

    /* quoted field holding commas; THREAT fields after the action */
    assert_true(run("panos",
                    "<12>Nov 25 10:05:00 PA-VM 1,2026/11/25 10:05:00,013201001234,THREAT,"
                    "vulnerability,2561,2026/11/25 10:05:00,198.51.100.9,10.0.0.10,0.0.0.0,"
                    "0.0.0.0,inbound-web,,,web-browsing,vsys1,untrust,trust,ethernet1/1,"
                    "ethernet1/2,Forward-All,2026/11/25 10:05:00,120050,1,4321,80,0,0,0x2000,tcp,"
                    "reset-both,\"index.php?id=1,2\",Generic SQL Injection Attempt(39212),"
                    "code-execution,critical,client-to-server,7253419119627122999"));
    expect_qid("PAN-OS Vulnerability Exploit Detected", LLC_MISC_EXPLOIT);
    expect_ip(&ev.postnatsourceip, NULL); /* 0.0.0.0 = no NAT */
    expect_prop("filename", "index.php?id=1,2");
    expect_prop("threat", "Generic SQL Injection Attempt(39212)");
    expect_prop("threatseverity", "critical");
    expect_prop("direction", "client-to-server");

    assert_true(run("panos", "<14>Nov 25 10:00:31 PA-VM 1,2026/11/25 10:00:31,013201001234,"
                             "TRAFFIC,drop,2561,2026/11/25 10:00:31,198.51.100.24,203.0.113.10,"
                             "0.0.0.0,0.0.0.0,interzone-default,,,not-applicable,vsys1,untrust,"
                             "trust,ethernet1/1,,Forward-All,2026/11/25 10:00:31,0,1,40512,445,0,"
                             "0,0x0,tcp,drop,0,0,0,1,2026/11/25 10:00:31,0,any"));
    expect_qid("PAN-OS Traffic Dropped", LLC_FIREWALL_DENY);

    assert_true(run("panos", "<12>Nov 25 10:06:00 PA-VM 1,2026/11/25 10:06:00,013201001234,"
                             "SYSTEM,auth,2561,2026/11/25 10:06:00,,auth-fail,admin,0,0,general,"
                             "medium,\"failed authentication for user 'admin'. Reason: Invalid "
                             "username or password. From: 198.51.100.66.\",7253419119627123000"));
    expect_qid("PAN-OS Admin Authentication Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("admin");
    expect_ip(&ev.sourceip, "198.51.100.66");

    assert_true(run("panos", "<14>Nov 25 10:07:00 PA-VM 1,2026/11/25 10:07:00,013201001234,"
                             "CONFIG,0,2561,2026/11/25 10:07:00,10.0.0.50,,edit,admin,Web,"
                             "Succeeded, vsys  vsys1 rulebase security rules allow-web,1"));
    expect_qid("PAN-OS Configuration Change", LLC_DEVICE_CONFIG_CHANGE);
    expect_user("admin");
    expect_ip(&ev.sourceip, "10.0.0.50");
    expect_prop("command", "edit");

    assert_true(run("panos", "<14>Nov 25 10:10:01 PA-VM LEEF:1.0|Palo Alto Networks|PAN-OS "
                             "Syslog Integration|10.2.4|trafficdeny|cat=TRAFFIC\tSubtype=deny\t"
                             "src=198.51.100.23\tdst=203.0.113.10\tRuleName=deny-rdp\t"
                             "srcPort=40513\tdstPort=3389\tproto=tcp\taction=deny"));
    expect_qid("PAN-OS Traffic Denied", LLC_FIREWALL_DENY);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 3389);
    expect_prop("rule", "deny-rdp");

    /* the CSV shape without a known log type is not PAN-OS */
    assert_false(run("panos", "<14>Nov 25 10:00:00 h 1,2026/11/25 10:00:00,0123,OTHER,x,1,2,3"));
}

/* ---------------------------------------------------------------- FortiGate */

static void test_fortigate(void **state)
{
    (void)state;
    assert_true(run("fortigate",
                    "<189>date=2026-11-25 time=11:00:00 devname=\"FGT60F\" "
                    "devid=\"FGT60FTK20000000\" eventtime=1795600800123456789 tz=\"+0100\" "
                    "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" "
                    "vd=\"root\" srcip=10.0.0.5 srcport=51234 srcintf=\"internal\" "
                    "dstip=93.184.216.34 dstport=443 dstintf=\"wan1\" sessionid=120045 proto=6 "
                    "action=\"close\" policyid=1 service=\"HTTPS\" trandisp=\"snat\" "
                    "transip=203.0.113.5 transport=40001 duration=30 sentbyte=1840 "
                    "rcvdbyte=9321 srcmac=\"00:11:22:33:44:55\" user=\"jdoe\""));
    expect_qid("FortiGate Session Closed", LLC_FIREWALL_SESSION_CLOSED);
    assert_int_equal(ev.devicetype, DSM_T_FORTIGATE);
    assert_int_equal(ev.devicetime, T_1000); /* 11:00 at +01:00 */
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.prenatsourceip, "10.0.0.5");
    assert_int_equal(ev.protocolid, 6);
    expect_user("jdoe");
    static const uint8_t mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    assert_memory_equal(ev.sourcemac, mac, 6);
    expect_prop("ifin", "internal");
    expect_prop("ifout", "wan1");
    expect_prop("policy", "1");
    expect_prop("bytesout", "1840");
    expect_prop("eventid", "0000000013");

    assert_true(run("fortigate",
                    "<189>date=2026-11-25 time=10:00:02 devname=\"FGT60F\" devid=\"FGT60F\" "
                    "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" "
                    "srcip=198.51.100.24 srcport=40512 dstip=203.0.113.20 dstport=80 proto=6 "
                    "action=\"accept\" policyid=5 tranip=172.16.0.10 tranport=8080"));
    expect_qid("FortiGate Traffic Accepted", LLC_FIREWALL_PERMIT);
    assert_int_equal(ev.devicetime, T_1000 + 2000); /* no tz: ctx zone (UTC) */
    expect_ip(&ev.prenatdestinationip, "203.0.113.20");
    expect_ip(&ev.postnatdestinationip, "172.16.0.10");
    assert_int_equal(ev.postnatdestinationport, 8080);

    assert_true(run("fortigate",
                    "<185>date=2026-11-25 time=10:02:01 devname=\"FGT60F\" devid=\"FGT60F\" "
                    "logid=\"0100032002\" type=\"event\" subtype=\"system\" level=\"alert\" "
                    "vd=\"root\" logdesc=\"Admin login failed\" user=\"root\" "
                    "ui=\"ssh(198.51.100.66)\" srcip=198.51.100.66 dstip=203.0.113.1 "
                    "action=\"login\" status=\"failed\" reason=\"name_invalid\""));
    expect_qid("FortiGate Admin Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    assert_true(run("fortigate",
                    "<185>date=2026-11-25 time=10:01:00 devname=\"FGT60F\" devid=\"FGT60F\" "
                    "logid=\"0211008192\" type=\"utm\" subtype=\"virus\" action=\"blocked\" "
                    "srcip=10.0.0.5 dstip=198.51.100.81 srcport=51302 dstport=80 proto=6 "
                    "virus=\"EICAR_TEST_FILE\" url=\"http://dl.example.net/eicar.com\""));
    expect_qid("FortiGate Virus Blocked", LLC_VIRUS_DETECTED);
    expect_prop("threat", "EICAR_TEST_FILE");
    expect_prop("url", "http://dl.example.net/eicar.com");

    /* logid must be ten digits */
    assert_false(run("fortigate", "<189>date=2026-11-25 time=10:00:00 devid=\"X\" logid=\"abc\" "
                                  "type=\"traffic\" srcip=1.2.3.4"));
}

/* ---------------------------------------------------------------- Check Point */

static void test_checkpoint(void **state)
{
    (void)state;
    assert_true(run("checkpoint",
                    "<134>1 2026-11-25T10:00:00Z mgmt01 CheckPoint 12345 - [action:\"Accept\"; "
                    "ifdir:\"outbound\"; ifname:\"eth1\"; origin:\"10.0.0.1\"; "
                    "time:\"1795600800\"; dst:\"93.184.216.34\"; rule_name:\"allow-web\"; "
                    "product:\"VPN-1 & FireWall-1\"; proto:\"6\"; s_port:\"51234\"; "
                    "service:\"443\"; src:\"10.0.0.5\"; xlatedport:\"0\"; xlatedst:\"0.0.0.0\"; "
                    "xlatesport:\"40001\"; xlatesrc:\"203.0.113.5\"]"));
    expect_qid("Check Point Firewall Accept", LLC_FIREWALL_PERMIT);
    assert_int_equal(ev.devicetype, DSM_T_CHECKPOINT);
    assert_int_equal(ev.devicetime, T_1000);
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.postnatdestinationip, NULL);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("rule", "allow-web");
    expect_prop("ifin", "eth1");
    expect_prop("product", "VPN-1 & FireWall-1");
    expect_prop("action", "Accept");

    assert_true(run("checkpoint",
                    "<132>1 2026-11-25T10:01:02Z mgmt01 CheckPoint 12345 - [action:\"Prevent\"; "
                    "dst:\"198.51.100.99\"; malware_family:\"Emotet\"; product:\"Anti-Bot\"; "
                    "proto:\"6\"; protection_name:\"Trojan.Win32.Emotet.TC.a\"; "
                    "s_port:\"51303\"; service:\"443\"; src:\"10.0.0.5\"; "
                    "src_user_name:\"jdoe\"]"));
    expect_qid("Check Point Anti-Bot Prevent", LLC_BOTNET);
    expect_user("jdoe");
    expect_prop("threat", "Trojan.Win32.Emotet.TC.a");

    assert_true(run("checkpoint",
                    "<132>1 2026-11-25T10:03:01Z mgmt01 CheckPoint 12345 - [action:\"Failed Log "
                    "In\"; operation:\"Log In\"; administrator:\"root\"; "
                    "client_ip:\"198.51.100.66\"; product:\"SmartConsole\"; reason:\"Wrong "
                    "\\\"password\\\"\"]"));
    expect_qid("Check Point Admin Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    assert_true(run("checkpoint", "<134>Nov 25 10:04:01 mgmt01 CEF:0|Check Point|VPN-1 & "
                                  "FireWall-1|Check Point|Log|ms-rdp|Unknown|act=Drop "
                                  "cs2Label=Rule Name cs2=Cleanup rt=1795600800000 spt=40513 "
                                  "dpt=3389 src=198.51.100.23 dst=203.0.113.10 proto=TCP"));
    expect_qid("Check Point Firewall Drop", LLC_FIREWALL_DENY);
    assert_int_equal(ev.devicetime, T_1000);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 3389);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("rule", "Cleanup");

    /* CEF of another vendor is not Check Point */
    assert_false(run("checkpoint", "<134>Nov 25 10:04:01 h CEF:0|Other|Product|1|100|Name|5|"
                                   "src=1.2.3.4 act=Drop"));
}

/* ---------------------------------------------------------------- pfSense */

static void test_pfsense(void **state)
{
    (void)state;
    assert_true(run("pfsense", "<134>Nov 25 10:00:00 filterlog[6789]: 5,,,1000000103,em0,match,"
                               "block,in,4,0x0,,64,12345,0,none,6,tcp,60,198.51.100.23,"
                               "203.0.113.10,40511,22,0,S,123456789,,64240,,mss;sackOK"));
    expect_qid("pfSense Filter Block", LLC_FIREWALL_DENY);
    assert_int_equal(ev.devicetype, DSM_T_PFSENSE);
    assert_int_equal(ev.devicetime, T_1000);
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.sourceport, 40511);
    expect_ip(&ev.destinationip, "203.0.113.10");
    assert_int_equal(ev.destinationport, 22);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("ifin", "em0");
    expect_prop("rule", "5");
    expect_prop("tracker", "1000000103");
    expect_prop("direction", "in");
    expect_prop("tcpflags", "S");

    assert_true(run("pfsense", "<134>Nov 25 10:00:04 filterlog[6789]: 80,,,1614000010,em1,match,"
                               "pass,out,6,0x00,0x00000,64,tcp,6,40,2001:db8::5,2001:db8:1::10,"
                               "51234,443,0,S,1234567,,64800,,mss"));
    expect_qid("pfSense Filter Pass", LLC_FIREWALL_PERMIT);
    expect_ip(&ev.sourceip, "2001:db8::5");
    expect_ip(&ev.destinationip, "2001:db8:1::10");
    assert_int_equal(ev.destinationport, 443);

    assert_true(run("pfsense", "<134>Nov 25 10:00:06 filterlog[6789]: 12,,,1000002620,em0,"
                               "bad-offset,block,in,4,0x0,,64,3457,8189,+,6,tcp,1500,"
                               "198.51.100.71,203.0.113.10,40513,80,0,S,1,,1024,,"));
    expect_qid("pfSense Filter Bad Packet", LLC_SUSPICIOUS_PACKET);

    assert_true(run("pfsense", "<37>Nov 25 10:01:01 php-fpm[345]: /index.php: webConfigurator "
                               "authentication error for user 'root' from: 198.51.100.66"));
    expect_qid("pfSense WebConfigurator Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    /* other php-fpm lines are not ours */
    assert_false(run("pfsense", "<37>Nov 25 10:01:01 php-fpm[345]: /index.php: page rendered"));
}

/* ---------------------------------------------------------------- Sophos */

static void test_sophos(void **state)
{
    (void)state;
    assert_true(run_tz("sophos",
                       "<30>device=\"SFW\" date=2026-11-25 time=11:00:00 timezone=\"CET\" "
                       "device_name=\"XG230\" device_id=C01001ABCDEF123 log_id=010101600001 "
                       "log_type=\"Firewall\" log_component=\"Firewall Rule\" "
                       "log_subtype=\"Allowed\" status=\"Allow\" fw_rule_id=5 user_name=\"jdoe\" "
                       "in_interface=\"Port1\" out_interface=\"Port2\" "
                       "src_mac=00:11:22:33:44:55 src_ip=10.0.0.5 dst_ip=93.184.216.34 "
                       "protocol=\"TCP\" src_port=51234 dst_port=443 sent_bytes=1840 "
                       "recv_bytes=9321 tran_src_ip=203.0.113.5 tran_src_port=40001 "
                       "tran_dst_ip= tran_dst_port=0",
                       60));
    expect_qid("Sophos Firewall Allowed", LLC_FIREWALL_PERMIT);
    assert_int_equal(ev.devicetype, DSM_T_SOPHOS);
    assert_int_equal(ev.devicetime, T_1000); /* zone name only: ctx zone (+01:00) */
    expect_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 51234);
    expect_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    expect_ip(&ev.postnatsourceip, "203.0.113.5");
    assert_int_equal(ev.postnatsourceport, 40001);
    expect_ip(&ev.postnatdestinationip, NULL);
    assert_int_equal(ev.protocolid, 6);
    expect_user("jdoe");
    expect_prop("rule", "5");
    expect_prop("ifin", "Port1");
    expect_prop("eventid", "010101600001");

    assert_true(run("sophos", "<28>device=\"SFW\" date=2026-11-25 time=10:02:01 "
                              "log_id=062910617702 log_type=\"Event\" log_component=\"GUI\" "
                              "log_subtype=\"Admin\" status=\"Failed\" user_name=\"root\" "
                              "src_ip=198.51.100.66 message=\"Login failed for user root\""));
    expect_qid("Sophos Admin Login Failed", LLC_ADMIN_LOGIN_FAILED);
    expect_user("root");
    expect_ip(&ev.sourceip, "198.51.100.66");

    assert_true(run("sophos", "<30>2026:11:25-10:03:00 utm01 ulogd[4321]: id=\"2001\" "
                              "severity=\"info\" sys=\"SecureNet\" sub=\"packetfilter\" "
                              "name=\"Packet dropped\" action=\"drop\" fwrule=\"60001\" "
                              "initf=\"eth1\" srcip=\"198.51.100.23\" dstip=\"203.0.113.10\" "
                              "proto=\"6\" srcport=\"40511\" dstport=\"22\" tcpflags=\"SYN\""));
    expect_qid("Sophos Firewall Denied", LLC_FIREWALL_DENY);
    assert_int_equal(ev.devicetime, T_1000 + 180000); /* UTM's own "2026:11:25-10:03:00" */
    expect_ip(&ev.sourceip, "198.51.100.23");
    assert_int_equal(ev.destinationport, 22);
    assert_int_equal(ev.protocolid, 6);
    expect_prop("rule", "60001");
    expect_prop("eventid", "2001");

    assert_true(run("sophos", "<30>2026:11:25-10:03:03 utm01 httpproxy[6543]: id=\"0060\" "
                              "severity=\"info\" sys=\"SecureWeb\" sub=\"http\" name=\"web "
                              "request blocked\" action=\"block\" srcip=\"10.0.0.5\" "
                              "dstip=\"198.51.100.80\" user=\"jdoe\" "
                              "url=\"http://casino.example.net/\" categoryname=\"Gambling\""));
    expect_qid("Sophos Web Denied", LLC_WEB_POLICY_VIOLATION);
    expect_user("jdoe");
    expect_prop("url", "http://casino.example.net/");
    expect_prop("category", "Gambling");
}

/* ---------------------------------------------------------------- corpus properties */

struct corpus {
    char *buf;
    const char *line[256];
    size_t len[256];
    int n;
};

static struct corpus corpora[N_NET];

static void load_corpus(int i)
{
    struct corpus *c = &corpora[i];
    if (c->buf) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/dsm/%s.log", STRM_SRC_DIR, net_names[i]);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->buf = malloc((size_t)sz + 1);
    assert_non_null(c->buf);
    assert_int_equal(fread(c->buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    c->buf[sz] = '\0';
    char *p = c->buf;
    while (*p && c->n < 256) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l > 0 && p[0] != '#') {
            c->line[c->n] = p;
            c->len[c->n] = l;
            c->n++;
        }
        if (!nl) break;
        p = nl + 1;
    }
    assert_true(c->n > 0);
}

/*
 * Parses bytes[0..n) (an exact-size heap copy, so ASan sees any overread) with DSM d.
 * Returns 1 recognized, 0 rejected; a rejection must leave the event as syslog_parse left it.
 */
static int parse_exact(const struct dsm_def *d, const char *bytes, size_t n)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    strm_arena_reset(&arena);
    strm_event_init(&ev);
    ev.starttime = T_1000;
    ev.payload.p = copy;
    ev.payload.len = (uint32_t)n;
    syslog_parse(&ev, &arena);
    struct strm_event before = ev;
    struct dsm_ctx ctx = {0, 0};
    int r;
    if (d->parse(&ev, &arena, &ctx)) {
        assert_int_equal(ev.devicetype, d->type_id);
        assert_int_equal(ev.qid / 100000u, d->type_id);
        assert_non_null(qid_lookup(ev.qid));
        r = 1;
    } else {
        assert_memory_equal(&before, &ev, sizeof(ev));
        r = 0;
    }
    free(copy);
    return r;
}

static void test_corpus_own_and_others(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_NET; i++)
        load_corpus((int)i);
    for (size_t di = 0; di < N_NET; di++) {
        const struct dsm_def *d = dsm_by_name(net_names[di]);
        assert_non_null(d);
        for (size_t ci = 0; ci < N_NET; ci++) {
            struct corpus *c = &corpora[ci];
            for (int k = 0; k < c->n; k++) {
                int r = parse_exact(d, c->line[k], c->len[k]);
                if (r != (di == ci ? 1 : 0))
                    fail_msg("%s %s line %d of %s.log", net_names[di],
                             di == ci ? "rejected" : "accepted", k + 1, net_names[ci]);
            }
        }
    }
}

/* Every QID a DSM declares (except its unknown QID) is produced by its corpus. */
static void test_corpus_covers_qids(void **state)
{
    (void)state;
    int missing = 0;
    for (size_t di = 0; di < N_NET; di++) {
        const struct dsm_def *d = dsm_by_name(net_names[di]);
        load_corpus((int)di);
        struct corpus *c = &corpora[di];
        static bool seen[100000];
        memset(seen, 0, sizeof(seen));
        for (int k = 0; k < c->n; k++)
            if (parse_exact(d, c->line[k], c->len[k])) seen[ev.qid % 100000u] = true;
        for (size_t q = 0; q < d->n_qids; q++) {
            uint32_t n = d->qids[q].qid % 100000u;
            if (d->qids[q].qid == DSM_QID_UNKNOWN(d->type_id)) continue;
            if (!seen[n]) {
                print_error("%s: no corpus line for QID %u (%s)\n", d->name, d->qids[q].qid,
                            d->qids[q].name);
                missing++;
            }
        }
        assert_non_null(qid_lookup(DSM_QID_UNKNOWN(d->type_id)));
    }
    assert_int_equal(missing, 0);
}

/* Every prefix of every line, with every DSM: no crash, rejected untouched or own QID. */
static void test_truncated(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < N_NET; ci++) {
        load_corpus((int)ci);
        struct corpus *c = &corpora[ci];
        for (int k = 0; k < c->n; k++)
            for (size_t cut = 0; cut < c->len[k]; cut++)
                for (size_t di = 0; di < N_NET; di++)
                    parse_exact(dsm_by_name(net_names[di]), c->line[k], cut);
    }
}

/* Byte-garbled variants (fixed seed): same invariants. */
static void test_garbled(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    char buf[4096];
    static const char nasty[] = {'"', '\'', ' ', ',',  ';',  '=',  ':',  '/', '(', ')', '[',
                                 ']', '<',  '>', '\\', '\t', '\0', '\n', '-', '.', '|', 'x'};
    for (size_t ci = 0; ci < N_NET; ci++) {
        load_corpus((int)ci);
        struct corpus *c = &corpora[ci];
        for (int k = 0; k < c->n; k++) {
            size_t n = c->len[k] < sizeof(buf) ? c->len[k] : sizeof(buf);
            for (int round = 0; round < 40; round++) {
                memcpy(buf, c->line[k], n);
                int flips = 1 + (int)(seed % 6);
                for (int f = 0; f < flips; f++) {
                    seed = seed * 1103515245u + 12345u;
                    size_t pos = (seed >> 8) % n;
                    seed = seed * 1103515245u + 12345u;
                    buf[pos] =
                        (seed & 1) ? (char)(seed >> 16) : nasty[(seed >> 16) % sizeof(nasty)];
                }
                for (size_t di = 0; di < N_NET; di++)
                    parse_exact(dsm_by_name(net_names[di]), buf, n);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junos_flow_bsd),
        cmocka_unit_test(test_junos_structured),
        cmocka_unit_test(test_junos_screen_utm_mgmt),
        cmocka_unit_test(test_netscreen),
        cmocka_unit_test(test_asa_connections),
        cmocka_unit_test(test_asa_users_ftd),
        cmocka_unit_test(test_ios),
        cmocka_unit_test(test_panos),
        cmocka_unit_test(test_fortigate),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_pfsense),
        cmocka_unit_test(test_sophos),
        cmocka_unit_test(test_corpus_own_and_others),
        cmocka_unit_test(test_corpus_covers_qids),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbled),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    for (size_t i = 0; i < N_NET; i++)
        free(corpora[i].buf);
    return rc;
}
