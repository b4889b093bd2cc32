/*
 * test_dsm_app.c - the app group of DSMs (apache, nginx, iis, squid, bind, postfix, openvpn,
 * suricata, snort, zeek): field-level expectations on sample lines, rejection of the other
 * DSMs' lines and of the real Linux/OpenSSH corpus, and robustness on every truncation and on
 * byte-garbled variants of every sample line.
 *
 * Each line goes through syslog_parse and then straight into one DSM's parse() (no try order)
 * with ctx.tz_min = 0 and no hint. TZ=UTC. Truncated variants are copied into buffers of their
 * exact size so that ASan catches any read past the end.
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
#include "dsm/app_common.h"
#include "dsm/dsm.h"

#define SAMPLES STRM_SRC_DIR "/tests/dsm/"
#define CORPUS STRM_CORPUS_DIR "/syslog/"

static const char *const app_names[] = {"apache",  "nginx",   "iis",      "squid", "bind",
                                        "postfix", "openvpn", "suricata", "snort", "zeek"};
#define N_APP (sizeof(app_names) / sizeof(app_names[0]))

static struct strm_arena arena;
static struct strm_event ev;

static int setup(void **state)
{
    (void)state;
    strm_arena_init(&arena, 1 << 16);
    return dsm_init();
}

static int teardown(void **state)
{
    (void)state;
    strm_arena_free(&arena);
    return 0;
}

/* syslog_parse + one DSM; whether it took the line. */
static bool run(const char *dsm, const char *text, size_t len)
{
    const struct dsm_def *d = dsm_by_name(dsm);
    assert_non_null(d);
    strm_event_init(&ev);
    ev.payload.p = text;
    ev.payload.len = (uint32_t)len;
    ev.starttime = 1714564800000LL; /* 2024-05-01 12:00:00 UTC */
    syslog_parse(&ev, &arena);
    struct dsm_ctx ctx = {0, 0};
    return d->parse(&ev, &arena, &ctx);
}

static void take(const char *dsm, const char *line)
{
    if (!run(dsm, line, strlen(line))) fail_msg("%s rejected: %s", dsm, line);
    const struct dsm_def *d = dsm_by_name(dsm);
    assert_int_equal(ev.devicetype, d->type_id);
}

static void want_str(struct strm_str s, const char *want)
{
    char buf[512];
    size_t n = s.len < sizeof(buf) - 1 ? s.len : sizeof(buf) - 1;
    if (n) memcpy(buf, s.p, n);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void want_ip(const struct strm_ip *ip, const char *want)
{
    char buf[64];
    strm_ip_format(ip, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void want_prop(const char *key, const char *want)
{
    char buf[512];
    if (!dsm_props_get(ev.properties, key, buf, sizeof buf))
        fail_msg("property %s missing in %.*s", key, (int)ev.properties.len,
                 ev.properties.p ? ev.properties.p : "");
    assert_string_equal(buf, want);
}

static void want_qid(const char *name)
{
    const struct qid_def *q = qid_lookup(ev.qid);
    assert_non_null(q);
    assert_string_equal(q->name, name);
    assert_int_equal(ev.category, q->category);
}

/* ---------------------------------------------------------------- per DSM */

static void test_apache(void **state)
{
    (void)state;
    take("apache", "<150>May  1 12:00:01 web01 httpd: 192.0.2.11 - bob [01/May/2024:12:00:01 "
                   "+0200] \"GET /private/ HTTP/1.1\" 401 381");
    want_qid("Apache Authentication Failed");
    assert_int_equal(ev.category, LLC_WEB_LOGIN_FAILED);
    want_ip(&ev.sourceip, "192.0.2.11");
    want_str(ev.username, "bob");
    assert_int_equal(ev.devicetime, 1714557601000LL);
    want_prop("url", "/private/");
    want_prop("method", "GET");
    want_prop("status", "401");
    want_prop("bytes", "381");

    /* any appname when the line is exactly CLF; vhost_combined */
    take("apache",
         "<150>May  1 12:00:08 web01 filebeat: www.example.com:443 192.0.2.18 - - "
         "[01/May/2024:12:00:08 +0200] \"GET / HTTP/2.0\" 200 8812 \"-\" \"Mozilla/5.0\"");
    want_qid("Apache Request Succeeded");
    want_prop("vhost", "www.example.com");
    want_prop("user_agent", "Mozilla/5.0");
    assert_int_equal(ev.destinationport, 443);
    assert_int_equal(ev.username.len, 0);

    take("apache", "<155>May  1 12:00:12 web01 httpd: [Wed May 01 12:00:12.250000 2024] "
                   "[auth_basic:error] [pid 1236:tid 140202] [client 192.0.2.22:51236] AH01617: "
                   "user bob: authentication failure for \"/private\": Password Mismatch");
    want_qid("Apache User Authentication Failed");
    want_str(ev.username, "bob");
    want_ip(&ev.sourceip, "192.0.2.22");
    assert_int_equal(ev.sourceport, 51236);
    assert_int_equal(ev.devicetime, 1714564812250LL);
    want_prop("module", "auth_basic");

    take("apache", "<155>May  1 12:00:26 web01 httpd: [Wed May 01 12:00:26 2024] [error] "
                   "[client 192.0.2.29] client denied by server configuration: /x");
    want_qid("Apache Client Denied by Server Configuration");
    take("apache", "<155>May  1 12:00:26 web01 httpd: [core:warn] [pid 1] something odd");
    want_qid("Apache Warning");

    /* not Apache: CLF-ish but a bad time, or a bracket that is no time under another app */
    assert_false(run("apache",
                     "<1>May  1 12:00:00 h app: 1.2.3.4 - - [01/Foo/2024:12:00:00 "
                     "+0000] \"GET / HTTP/1.1\" 200 1",
                     80));
    const char *k = "<1>May  1 12:00:00 h kernel: [12345.678] usb 1-1: new device";
    assert_false(run("apache", k, strlen(k)));
}

static void test_nginx(void **state)
{
    (void)state;
    take("nginx", "<190>May  1 12:00:04 web02 nginx: 198.51.100.11 - - [01/May/2024:12:00:04 "
                  "+0000] \"GET /blog HTTP/1.1\" 302 145 \"https://example.org/\" \"Mozilla/5.0\"");
    want_qid("nginx Request Redirected");
    want_prop("referer", "https://example.org/");
    assert_int_equal(ev.devicetime, 1714564804000LL);

    take("nginx", "<187>May  1 12:00:09 web02 nginx: 2024/05/01 12:00:09 [error] 1234#5678: *10 "
                  "limiting requests, excess: 20.500 by zone \"one\", client: 198.51.100.16, "
                  "server: example.com, request: \"GET /api HTTP/1.1\", host: \"example.com\"");
    want_qid("nginx Request Rate Limited");
    assert_int_equal(ev.category, LLC_RATE_LIMITING);
    want_ip(&ev.sourceip, "198.51.100.16");
    want_prop("server", "example.com");
    want_prop("url", "/api");
    want_prop("host", "example.com");
    assert_int_equal(ev.devicetime, 1714564809000LL);

    take("nginx", "<187>May  1 12:00:13 web02 nginx: 2024/05/01 12:00:13 [error] 1#2: *14 user "
                  "\"guest\" was not found in \"/etc/nginx/.htpasswd\", client: 10.0.0.1, "
                  "server: x, request: \"GET / HTTP/1.1\", host: \"x\"");
    want_qid("nginx Basic Authentication Failed");
    want_str(ev.username, "guest");

    take("nginx", "<187>May  1 12:00:17 web02 nginx: 2024/05/01 12:00:17 [alert] 1#1: worker "
                  "process 1300 exited on signal 11");
    want_qid("nginx Alert");

    /* access lines need the nginx appname (Apache's DSM takes bare CLF) */
    const char *a = "<190>May  1 12:00:04 web02 httpd: 1.2.3.4 - - [01/May/2024:12:00:04 +0000] "
                    "\"GET / HTTP/1.1\" 200 1";
    assert_false(run("nginx", a, strlen(a)));
}

static void test_iis(void **state)
{
    (void)state;
    take("iis", "<134>May  1 12:00:01 iis01 IIS: 2024-05-01 12:00:01 10.1.1.5 POST /owa/auth.owa "
                "- 443 CONTOSO\\jdoe 203.0.113.51 Mozilla/5.0 https://mail.contoso.com/owa/ 302 "
                "0 0 46");
    want_qid("IIS Request Redirected");
    want_ip(&ev.sourceip, "203.0.113.51");
    want_ip(&ev.destinationip, "10.1.1.5");
    assert_int_equal(ev.destinationport, 443);
    want_str(ev.username, "CONTOSO\\jdoe");
    assert_int_equal(ev.devicetime, 1714564801000LL);
    want_prop("url", "/owa/auth.owa");
    want_prop("time_taken", "46");

    take("iis", "<134>May  1 12:00:04 iis01 IIS: 2024-05-01 12:00:04 10.1.1.5 GET /nope.aspx id=1 "
                "80 - 203.0.113.54 Mozilla/5.0 - 404 0 2 3");
    want_qid("IIS Resource Not Found");
    want_prop("query", "id=1");
    assert_int_equal(ev.username.len, 0);

    /* one field short of the default set */
    const char *s = "<134>May  1 12:00:04 iis01 IIS: 2024-05-01 12:00:04 10.1.1.5 GET /x - 80 - "
                    "203.0.113.54 Mozilla/5.0 404 0 2 3";
    assert_false(run("iis", s, strlen(s)));
}

static void test_squid(void **state)
{
    (void)state;
    take("squid",
         "<134>May  1 12:00:03 proxy01 squid: 1714564803.002   5000 10.0.0.8 "
         "TCP_TUNNEL/200 6520 CONNECT www.example.com:443 alice HIER_DIRECT/93.184.216.34 -");
    want_qid("Squid Tunnel Established");
    want_ip(&ev.sourceip, "10.0.0.8");
    want_ip(&ev.destinationip, "93.184.216.34");
    assert_int_equal(ev.destinationport, 443);
    want_str(ev.username, "alice");
    assert_int_equal(ev.devicetime, 1714564803002LL);
    want_prop("action", "TCP_TUNNEL");

    take("squid", "<134>May  1 12:00:02 proxy01 squid: 1714564802.001      0 10.0.0.7 "
                  "TCP_DENIED/403 3900 GET http://blocked.example.net/ - HIER_NONE/- text/html");
    want_qid("Squid Web Access Denied");
    assert_int_equal(ev.category, LLC_WEB_ACCESS_DENIED);
    want_prop("url", "http://blocked.example.net/");
    want_prop("content_type", "text/html");

    take("squid", "<134>May  1 12:00:01 proxy01 squid: 1714564801.456      2 10.0.0.6 "
                  "TCP_MEM_HIT/200 5120 GET http://example.com/logo.png - HIER_NONE/- image/png");
    assert_int_equal(ev.category, LLC_OBJECT_CACHED);
}

static void test_bind(void **state)
{
    (void)state;
    take("bind", "<30>May  1 12:00:00 ns1 named[812]: client @0x7f3a2c001234 10.0.0.5#53211 "
                 "(example.com): query: example.com IN A +E(0)K (10.0.0.1)");
    want_qid("BIND DNS Query");
    want_ip(&ev.sourceip, "10.0.0.5");
    assert_int_equal(ev.sourceport, 53211);
    want_ip(&ev.destinationip, "10.0.0.1");
    want_prop("dns_name", "example.com");
    want_prop("dns_type", "A");

    take("bind", "<30>May  1 12:00:03 ns1 named[812]: security: info: client @0x7f 203.0.113.9#53 "
                 "(x.example.net): query (cache) 'x.example.net/A/IN' denied");
    want_qid("BIND DNS Query Denied");
    want_prop("dns_name", "x.example.net");

    take("bind", "<30>May  1 12:00:05 ns1 named[812]: client @0x7f 10.0.0.2#43213 (example.com): "
                 "transfer of 'example.com/IN': AXFR started (serial 1)");
    want_qid("BIND Zone Transfer Started");
    want_prop("zone", "example.com");

    take("bind", "<30>May  1 12:00:10 ns1 named[812]: lame server resolving 'www.example.biz' "
                 "(in 'example.biz'?): 192.0.2.53#53");
    want_qid("BIND Lame Server");
    want_ip(&ev.destinationip, "192.0.2.53");

    /* regression: a "debug N" severity prefix ending the message was read one byte past it */
    const char *dbg = "<30>May  1 12:00:00 ns1 named[1]: debug 3";
    char *b = malloc(strlen(dbg));
    assert_non_null(b);
    memcpy(b, dbg, strlen(dbg));
    assert_true(run("bind", b, strlen(dbg)));
    free(b);

    const char *o = "<30>May  1 12:00:00 ns1 unbound[1]: client 1.2.3.4#53: query: x IN A";
    assert_false(run("bind", o, strlen(o)));
}

static void test_postfix(void **state)
{
    (void)state;
    take("postfix", "<22>May  1 12:00:02 mx1 postfix/smtpd[2002]: NOQUEUE: reject: RCPT from "
                    "unknown[203.0.113.66]: 554 5.7.1 <victim@example.com>: Relay access denied; "
                    "from=<spam@example.net> to=<victim@example.com> proto=ESMTP helo=<spammer>");
    want_qid("Postfix Mail Rejected");
    assert_int_equal(ev.category, LLC_MAIL_REJECTED);
    want_ip(&ev.sourceip, "203.0.113.66");
    want_prop("from", "spam@example.net");
    want_prop("to", "victim@example.com");

    take("postfix", "<22>May  1 12:00:04 mx1 postfix/submission/smtpd[2004]: 4VTxyz1AbCz9sQ: "
                    "client=laptop.example.com[198.51.100.30], sasl_method=PLAIN, "
                    "sasl_username=alice@example.com");
    want_qid("Postfix SASL Authentication Succeeded");
    want_str(ev.username, "alice@example.com");
    want_prop("queue_id", "4VTxyz1AbCz9sQ");

    take("postfix", "<22>May  1 12:00:03 mx1 postfix/smtpd[2003]: warning: unknown[203.0.113.67]: "
                    "SASL LOGIN authentication failed: UGFzc3dvcmQ6");
    want_qid("Postfix SASL Authentication Failed");
    assert_int_equal(ev.category, LLC_MAIL_LOGIN_FAILED);
    want_ip(&ev.sourceip, "203.0.113.67");

    take("postfix",
         "<22>May  1 12:00:08 mx1 postfix/smtp[2008]: 3F1B22A0D6: to=<nobody@example.com>, "
         "relay=mx.example.com[192.0.2.81]:25, delay=0.5, dsn=5.1.1, status=bounced "
         "(host said: 550 5.1.1 User unknown)");
    want_qid("Postfix Mail Bounced");
    want_ip(&ev.destinationip, "192.0.2.81");
    assert_int_equal(ev.destinationport, 25);
    want_prop("status", "bounced");
}

static void test_openvpn(void **state)
{
    (void)state;
    take("openvpn", "<29>May  1 12:00:04 vpn1 openvpn[3000]: 198.51.100.40:51234 TLS: "
                    "Username/Password authentication succeeded for username 'bob'");
    want_qid("OpenVPN Login Succeeded");
    assert_int_equal(ev.category, LLC_VPN_LOGIN_SUCCEEDED);
    want_str(ev.username, "bob");
    want_ip(&ev.sourceip, "198.51.100.40");
    assert_int_equal(ev.sourceport, 51234);

    take("openvpn", "<29>May  1 12:00:07 vpn1 openvpn[3000]: bob/198.51.100.40:51234 MULTI: Learn: "
                    "10.8.0.6 -> bob/198.51.100.40:51234");
    want_prop("vpn_ip", "10.8.0.6");
    want_str(ev.username, "bob");

    take("openvpn", "<29>May  1 12:00:08 vpn1 openvpn[3000]: bob/198.51.100.40:51234 "
                    "SIGTERM[soft,remote-exit] received, client-instance exiting");
    assert_int_equal(ev.category, LLC_VPN_LOGOUT);

    take("openvpn", "<29>May  1 12:00:17 vpn1 openvpn[3000]: 203.0.113.83:40003 AUTH-FAILED");
    assert_int_equal(ev.category, LLC_VPN_LOGIN_FAILED);

    take("openvpn", "<29>May  1 12:00:01 vpn1 openvpn[3000]: Initialization Sequence Completed");
    assert_int_equal(ev.category, LLC_SERVICE_STARTED);
}

static void test_suricata(void **state)
{
    (void)state;
    take("suricata",
         "{\"timestamp\":\"2024-05-01T12:00:01.250000+0200\",\"event_type\":\"alert\","
         "\"src_ip\":\"203.0.113.6\",\"src_port\":4444,\"dest_ip\":\"10.0.0.2\",\"dest_port\":"
         "49152,\"proto\":\"TCP\",\"alert\":{\"action\":\"blocked\",\"gid\":1,\"signature_id\":"
         "2024217,\"rev\":2,\"signature\":\"ET MALWARE X\",\"category\":\"A Network Trojan was "
         "detected\",\"severity\":1}}");
    want_qid("Suricata: A Network Trojan was detected");
    assert_int_equal(ev.category, LLC_TROJAN);
    assert_int_equal(ev.severity, 8);
    want_ip(&ev.sourceip, "203.0.113.6");
    assert_int_equal(ev.destinationport, 49152);
    assert_int_equal(ev.protocolid, 6);
    assert_int_equal(ev.devicetime, 1714557601250LL);
    want_prop("signature", "ET MALWARE X");
    want_prop("signature_id", "2024217");
    want_prop("action", "blocked");

    take("suricata", "{\"timestamp\":\"2024-05-01T12:00:02Z\",\"event_type\":\"alert\",\"alert\":"
                     "{\"category\":\"Attempted Administrator Privilege Gain\",\"severity\":2}}");
    assert_int_equal(ev.highlevelcategory, HLC_EXPLOIT);
    assert_int_equal(ev.severity, 6);
    take("suricata", "{\"timestamp\":\"2024-05-01T12:00:02Z\",\"event_type\":\"alert\",\"alert\":"
                     "{\"category\":\"Potential Corporate Privacy Violation\",\"severity\":3}}");
    assert_int_equal(ev.highlevelcategory, HLC_POLICY);

    take("suricata", "05/01/2024-12:00:16.123456  [**] [1:2010935:3] ET POLICY Suspicious inbound "
                     "[**] [Classification: Potential Corporate Privacy Violation] [Priority: 1] "
                     "{TCP} 198.51.100.5:1234 -> 10.0.0.2:1433");
    want_qid("Suricata: Potential Corporate Privacy Violation");
    want_ip(&ev.destinationip, "10.0.0.2");
    assert_int_equal(ev.destinationport, 1433);
    assert_int_equal(ev.devicetime, 1714564816123LL);
    want_prop("sid", "1:2010935:3");

    /* JSON that is not EVE is left to the generic JSON DSM */
    const char *j = "{\"ts\":1,\"id.orig_h\":\"1.2.3.4\"}";
    assert_false(run("suricata", j, strlen(j)));
    const char *j2 = "{\"user\":\"bob\",\"action\":\"login\"}";
    assert_false(run("suricata", j2, strlen(j2)));
}

static void test_snort(void **state)
{
    (void)state;
    take("snort", "<33>May  1 12:00:02 ids2 snort[5000]: [1:31978:5] OS-OTHER Bash CGI injection "
                  "[Classification: Attempted Administrator Privilege Gain] [Priority: 1]: {TCP} "
                  "198.51.100.60:40000 -> 10.0.0.80:80");
    want_qid("Snort: Attempted Administrator Privilege Gain");
    want_ip(&ev.sourceip, "198.51.100.60");
    assert_int_equal(ev.destinationport, 80);
    assert_int_equal(ev.severity, 8);
    want_prop("signature", "OS-OTHER Bash CGI injection");

    take("snort", "{ \"timestamp\" : \"05/01-12:00:07.000003\", \"pkt_num\" : 14, \"proto\" : "
                  "\"TCP\", \"src_ap\" : \"10.0.0.7:22\", \"dst_ap\" : \"198.51.100.64:40004\", "
                  "\"rule\" : \"1:1000003:1\", \"action\" : \"drop\", \"msg\" : \"LOCAL SSH\", "
                  "\"class\" : \"Detection of a Network Scan\", \"priority\" : 2 }");
    want_qid("Snort: Detection of a Network Scan");
    assert_int_equal(ev.category, LLC_NETWORK_SWEEP);
    assert_int_equal(ev.sourceport, 22);
    want_ip(&ev.destinationip, "198.51.100.64");
    assert_int_equal(ev.devicetime, 1714564807000LL);
    want_prop("action", "drop");

    /* same class -> same category as Suricata */
    uint16_t cat = ev.category;
    take("suricata", "{\"event_type\":\"alert\",\"alert\":{\"category\":\"Detection of a Network "
                     "Scan\",\"severity\":2}}");
    assert_int_equal(ev.category, cat);
}

static void test_zeek(void **state)
{
    (void)state;
    take("zeek", "{\"ts\":1714564801.5,\"uid\":\"C1\",\"id.orig_h\":\"203.0.113.50\",\"id.orig_p\":"
                 "40000,\"id.resp_h\":\"10.0.0.5\",\"id.resp_p\":23,\"proto\":\"tcp\","
                 "\"conn_state\":\"S0\"}");
    want_qid("Zeek Connection Attempt Without Reply");
    assert_int_equal(ev.highlevelcategory, HLC_RECON);
    want_ip(&ev.sourceip, "203.0.113.50");
    assert_int_equal(ev.destinationport, 23);
    assert_int_equal(ev.protocolid, 6);
    assert_int_equal(ev.devicetime, 1714564801500LL);
    want_prop("uid", "C1");

    take("zeek", "{\"ts\":1714564809.0,\"note\":\"Scan::Port_Scan\",\"msg\":\"scan\",\"src\":"
                 "\"203.0.113.50\",\"dst\":\"10.0.0.5\"}");
    assert_int_equal(ev.category, LLC_HOST_PORT_SCAN);
    want_ip(&ev.sourceip, "203.0.113.50");
    take("zeek", "{\"ts\":1714564810.0,\"note\":\"SSH::Password_Guessing\",\"src\":\"1.2.3.4\"}");
    assert_int_equal(ev.category, LLC_PASSWORD_GUESS);

    take("zeek", "{\"ts\":1714564815.0,\"uid\":\"CD2\",\"id.orig_h\":\"10.0.0.5\",\"id.orig_p\":1,"
                 "\"id.resp_h\":\"10.0.0.53\",\"id.resp_p\":53,\"proto\":\"udp\",\"query\":"
                 "\"nx.example\",\"qtype_name\":\"AAAA\",\"rcode_name\":\"NXDOMAIN\"}");
    want_qid("Zeek DNS Query Error");
    want_prop("query", "nx.example");
    want_prop("qtype", "AAAA");

    const char *j = "{\"timestamp\":\"x\",\"event_type\":\"alert\"}";
    assert_false(run("zeek", j, strlen(j)));
    const char *j2 = "{\"ts\":1,\"user\":\"bob\"}";
    assert_false(run("zeek", j2, strlen(j2)));
}

/* ---------------------------------------------------------------- JSON walker */

static const struct app_jfield jf[] = {
    APP_JF("a.b", NULL), APP_JF("a.c", NULL), APP_JF("a.c.d", NULL),
    APP_JF("e", NULL),   APP_JF("f", NULL),   APP_JF("g", NULL),
};

static bool collect(const char *text, struct app_jslots *s)
{
    s->fields = jf;
    s->n = sizeof(jf) / sizeof(jf[0]);
    size_t n = strlen(text);
    char *b = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    assert_non_null(b);
    memcpy(b, text, n);
    bool ok = dsm_app_json_collect(b, n, s);
    free(b);
    return ok;
}

static void test_json_walker(void **state)
{
    (void)state;
    struct app_jslots s;
    const char *t = "{\"a\":{\"b\":\"x\\\"y\\u00e9\\ud83d\\ude00\",\"c\":[1,{\"d\":\"z\"}]},"
                    "\"e\":true,\"f\":null,\"g\":-1.5e3}  ";
    s.fields = jf;
    s.n = sizeof(jf) / sizeof(jf[0]);
    assert_true(dsm_app_json_collect(t, strlen(t), &s));
    char buf[64];
    const char *p;
    size_t n;
    assert_true(app_jstr(&s, 0, buf, sizeof buf, &p, &n));
    assert_int_equal(n, 9); /* x " y, U+00E9 (2 bytes), U+1F600 (4 bytes) */
    assert_memory_equal(p, "x\"y\xc3\xa9\xf0\x9f\x98\x80", 9);
    assert_int_equal(s.v[1].type, APP_J_NUM); /* first element of the array a.c */
    assert_int_equal(s.v[2].type, APP_J_STR);
    assert_int_equal(s.v[3].type, APP_J_TRUE);
    assert_int_equal(s.v[4].type, APP_J_NULL);
    assert_false(app_jstr(&s, 4, buf, sizeof buf, &p, &n)); /* null reads as absent */
    assert_int_equal(s.v[5].n, 6);

    static const char *const bad[] = {
        "",           "[1]",       "{\"a\":1,}",        "{\"a\" 1}",    "{\"a\":tru}",
        "{\"a\":\"x", "{\"a\":1",  "{\"a\":{\"b\":2}",  "{\"a\":[1,2}", "{\"a\":\"x\\",
        "{,}",        "{\"a\":-}", "{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (collect(bad[i], &s)) fail_msg("accepted malformed %s", bad[i]);
    assert_true(collect("{}", &s));
    assert_true(collect("{\"a\":1} trailing", &s));
    /* deeper than the walker's stack */
    char deep[128] = "{";
    for (int i = 0; i < 20; i++)
        strcat(deep, "\"k\":{");
    assert_false(collect(deep, &s));
}

/* Every QID of the group: in its DSM's range, unique, a known low-level category, severity
 * 0-10, and the "<Device> Unknown Event" QID present. */
static void test_qid_tables(void **state)
{
    (void)state;
    for (size_t d = 0; d < N_APP; d++) {
        const struct dsm_def *def = dsm_by_name(app_names[d]);
        assert_non_null(def);
        bool unknown = false;
        for (size_t i = 0; i < def->n_qids; i++) {
            const struct qid_def *q = &def->qids[i];
            if (q->qid / 100000 != def->type_id)
                fail_msg("%s: QID %u out of range", def->name, q->qid);
            if (!dsm_category_get(q->category) || q->category % 1000 == 0)
                fail_msg("%s: %s has no low-level category %u", def->name, q->name, q->category);
            assert_true(q->severity <= 10);
            assert_non_null(q->name);
            assert_non_null(q->description);
            for (size_t j = 0; j < i; j++)
                if (def->qids[j].qid == q->qid) fail_msg("%s: QID %u twice", def->name, q->qid);
            if (q->qid == DSM_QID_UNKNOWN(def->type_id)) {
                unknown = true;
                assert_non_null(strstr(q->name, "Unknown Event"));
            }
            assert_ptr_equal(qid_lookup(q->qid), q);
        }
        assert_true(unknown);
    }
}

/* ---------------------------------------------------------------- cross checks */

struct lines {
    char *buf;
    char *line[256];
    size_t len[256];
    int n;
};

static void load(const char *path, struct lines *l)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    l->buf = malloc((size_t)sz + 1);
    assert_non_null(l->buf);
    assert_int_equal(fread(l->buf, 1, (size_t)sz, f), (size_t)sz);
    l->buf[sz] = '\0';
    fclose(f);
    l->n = 0;
    for (char *p = l->buf; *p && l->n < 256;) {
        char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if (e > p) {
            l->line[l->n] = p;
            l->len[l->n] = (size_t)(e - p);
            l->n++;
        }
        if (!*e) break;
        *e = '\0';
        p = e + 1;
    }
}

/* Every DSM rejects every other DSM's sample lines; the one exception by design: Apache takes
 * an exact CLF line under any appname, so it takes nginx's access lines (nginx is tried first). */
static void test_reject_others(void **state)
{
    (void)state;
    for (size_t f = 0; f < N_APP; f++) {
        char path[512];
        snprintf(path, sizeof path, SAMPLES "%s.log", app_names[f]);
        struct lines l;
        load(path, &l);
        for (int i = 0; i < l.n; i++) {
            for (size_t d = 0; d < N_APP; d++) {
                if (d == f) {
                    if (!run(app_names[d], l.line[i], l.len[i]))
                        fail_msg("%s rejected its own line %s:%d", app_names[d], path, i + 1);
                    continue;
                }
                bool took = run(app_names[d], l.line[i], l.len[i]);
                if (took && !strcmp(app_names[d], "apache") && !strcmp(app_names[f], "nginx") &&
                    memchr(l.line[i], '[', l.len[i]) && ev.qid % 100000 < 10)
                    continue;
                if (took) fail_msg("%s took %s line %d", app_names[d], app_names[f], i + 1);
            }
        }
        free(l.buf);
    }
}

/* The real Linux and OpenSSH corpora belong to the OS DSMs (but named's lines in it are BIND's). */
static void test_reject_corpus(void **state)
{
    (void)state;
    const char *files[] = {CORPUS "linux/Linux_2k.log", CORPUS "openssh/OpenSSH_2k.log"};
    for (size_t k = 0; k < 2; k++) {
        FILE *f = fopen(files[k], "rb");
        if (!f) continue; /* corpus not checked out */
        char line[4096];
        int ln = 0;
        while (fgets(line, sizeof line, f)) {
            ln++;
            size_t n = strcspn(line, "\r\n");
            if (strstr(line, " named[")) continue; /* BIND's own lines: the bind DSM's */
            for (size_t d = 0; d < N_APP; d++)
                if (run(app_names[d], line, n))
                    fail_msg("%s took %s:%d", app_names[d], files[k], ln);
        }
        fclose(f);
    }
}

/* Every prefix of every sample line, in an exact-size buffer, through every DSM. */
static void test_truncated(void **state)
{
    (void)state;
    for (size_t f = 0; f < N_APP; f++) {
        char path[512];
        snprintf(path, sizeof path, SAMPLES "%s.log", app_names[f]);
        struct lines l;
        load(path, &l);
        for (int i = 0; i < l.n; i++) {
            for (size_t cut = 0; cut <= l.len[i]; cut++) {
                char *b = malloc(cut ? cut : 1);
                assert_non_null(b);
                memcpy(b, l.line[i], cut);
                for (size_t d = 0; d < N_APP; d++)
                    run(app_names[d], b, cut);
                free(b);
            }
            strm_arena_reset(&arena);
        }
        free(l.buf);
    }
}

/* Sample lines with bytes replaced by delimiters and junk (deterministic). */
static void test_garbled(void **state)
{
    (void)state;
    static const char junk[] = {' ', '[',  ']',  '"',    ':', '/', '{', '}',
                                '#', '\0', '\\', '\xff', '-', '.', '=', ','};
    uint32_t seed = 12345;
    for (size_t f = 0; f < N_APP; f++) {
        char path[512];
        snprintf(path, sizeof path, SAMPLES "%s.log", app_names[f]);
        struct lines l;
        load(path, &l);
        for (int i = 0; i < l.n; i++) {
            for (int round = 0; round < 40; round++) {
                char *b = malloc(l.len[i]);
                assert_non_null(b);
                memcpy(b, l.line[i], l.len[i]);
                for (int k = 0; k < 4; k++) {
                    seed = seed * 1103515245u + 12345u;
                    size_t pos = (seed >> 8) % l.len[i];
                    b[pos] = junk[(seed >> 4) % sizeof junk];
                }
                for (size_t d = 0; d < N_APP; d++)
                    run(app_names[d], b, l.len[i]);
                free(b);
            }
            strm_arena_reset(&arena);
        }
        free(l.buf);
    }
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apache),        cmocka_unit_test(test_nginx),
        cmocka_unit_test(test_iis),           cmocka_unit_test(test_squid),
        cmocka_unit_test(test_bind),          cmocka_unit_test(test_postfix),
        cmocka_unit_test(test_openvpn),       cmocka_unit_test(test_suricata),
        cmocka_unit_test(test_snort),         cmocka_unit_test(test_zeek),
        cmocka_unit_test(test_json_walker),   cmocka_unit_test(test_qid_tables),
        cmocka_unit_test(test_reject_others), cmocka_unit_test(test_reject_corpus),
        cmocka_unit_test(test_truncated),     cmocka_unit_test(test_garbled),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, setup, teardown);
}
