/*
 * test_dsm_os.c - the OS DSMs (dsm_linux.c, dsm_windows.c): field-level normalization of
 * known lines, rejection of other devices' lines, robustness on garbage and cut lines, the
 * sample files tests/dsm/linux.log and windows.log, and the real corpus
 * (../shared/corpus/syslog: Linux_2k.log, OpenSSH_2k.log): at least 99% of its lines are
 * recognized by "linux", and all lines of one event template (the *_structured.csv EventId)
 * get one QID.
 *
 * Each line goes through syslog_parse first, as in the pipeline, then through one DSM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

#define LINE_MAX_LEN 65536

static struct strm_arena arena;

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

static const struct dsm_def *dsm(const char *name)
{
    const struct dsm_def *d = dsm_by_name(name);
    assert_non_null(d);
    return d;
}

/* syslog_parse + one DSM; the event keeps pointing into `line`, which the caller owns. */
static bool run(const char *name, const char *line, size_t len, struct strm_event *ev)
{
    strm_event_init(ev);
    ev->starttime = strm_now_ms();
    ev->payload.p = line;
    ev->payload.len = (uint32_t)len;
    syslog_parse(ev, &arena);
    struct dsm_ctx ctx = {0, 0};
    return dsm(name)->parse(ev, &arena, &ctx);
}

static bool runs(const char *name, const char *line, struct strm_event *ev)
{
    return run(name, line, strlen(line), ev);
}

static const char *qname(const struct strm_event *ev)
{
    const struct qid_def *q = qid_lookup(ev->qid);
    return q ? q->name : "(none)";
}

static void assert_str(struct strm_str s, const char *want)
{
    char buf[512];
    size_t n = s.len < sizeof buf - 1 ? s.len : sizeof buf - 1;
    memcpy(buf, s.p ? s.p : "", n);
    buf[n] = 0;
    assert_string_equal(buf, want);
}

static void assert_ip(const struct strm_ip *ip, const char *want)
{
    char buf[64];
    if (!want) {
        assert_true(strm_ip_is_null(ip));
        return;
    }
    strm_ip_format(ip, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void assert_prop(const struct strm_event *ev, const char *key, const char *want)
{
    char buf[512];
    assert_true(dsm_props_get(ev->properties, key, buf, sizeof buf));
    assert_string_equal(buf, want);
}

/* Expected outcome of one line. */
struct want {
    const char *line;
    const char *qid;  /* QID name */
    const char *user; /* NULL: not checked; "": must be empty */
    const char *src;  /* NULL: must be empty */
    uint16_t sport;
    const char *dst;
    uint16_t dport;
};

static void check_wants(const char *name, const struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct strm_event ev;
        if (!runs(name, w[i].line, &ev)) fail_msg("not recognized: %s", w[i].line);
        if (strcmp(qname(&ev), w[i].qid) != 0)
            fail_msg("line %zu: got QID '%s', want '%s': %s", i, qname(&ev), w[i].qid, w[i].line);
        if (w[i].user) assert_str(ev.username, w[i].user);
        assert_ip(&ev.sourceip, w[i].src);
        assert_int_equal(ev.sourceport, w[i].sport);
        assert_ip(&ev.destinationip, w[i].dst);
        assert_int_equal(ev.destinationport, w[i].dport);
        assert_int_equal(ev.devicetype, dsm(name)->type_id);
        const struct qid_def *q = qid_lookup(ev.qid);
        assert_non_null(q);
        assert_int_equal(ev.category, q->category);
        assert_int_equal(ev.highlevelcategory, dsm_category_high(q->category));
    }
}

/* ---------------------------------------------------------------- Linux */

static void test_linux_sshd(void **state)
{
    (void)state;
    static const struct want w[] = {
        {"<38>Nov 25 10:00:01 h sshd[1]: Accepted password for alice from 192.0.2.10 port 52144 "
         "ssh2",
         "SSH Login Succeeded", "alice", "192.0.2.10", 52144, NULL, 0},
        {"<38>Nov 25 10:00:01 h sshd[1]: Accepted publickey for deploy from 2001:db8::25 port "
         "40022 ssh2: ED25519 SHA256:abc",
         "SSH Login Succeeded", "deploy", "2001:db8::25", 40022, NULL, 0},
        {"Dec 10 09:32:20 LabSZ sshd[24680]: Failed password for root from 5.36.59.76 port 42393 "
         "ssh2",
         "SSH Login Failed", "root", "5.36.59.76", 42393, NULL, 0},
        {"Dec 10 09:32:20 LabSZ sshd[24680]: Failed password for invalid user a b from c from "
         "5.36.59.76 port 4 ssh2",
         "SSH Login Failed - Invalid User", "a b from c", "5.36.59.76", 4, NULL, 0},
        {"<38>1 2026-11-25T10:00:03Z h sshd 2 - - Invalid user test from 203.0.113.68 port 51515",
         "SSH Invalid User", "test", "203.0.113.68", 51515, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: input_userauth_request: invalid user webmaster [preauth]",
         "SSH Invalid User", "webmaster", NULL, 0, NULL, 0},
        {"Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for "
         "ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
         "SSH Possible Break-in Attempt", "", "173.234.31.186", 0, NULL, 0},
        {"Dec 10 06:55:46 LabSZ sshd[1]: Did not receive identification string from 123.235.32.19",
         "SSH No Identification String", "", "123.235.32.19", 0, NULL, 0},
        {"Dec 10 06:55:46 LabSZ sshd[1]: Received disconnect from 52.80.34.196: 11: Bye Bye "
         "[preauth]",
         "SSH Disconnect Received", "", "52.80.34.196", 0, NULL, 0},
        {"Dec 10 06:55:46 LabSZ sshd[1]: error: Received disconnect from 195.154.37.122: 3: "
         "com.jcraft.jsch.JSchException: Auth fail [preauth]",
         "SSH Disconnect Received With Error", "", "195.154.37.122", 0, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: Connection closed by authenticating user root 203.0.113.73 "
         "port 50002 [preauth]",
         "SSH Connection Closed", "root", "203.0.113.73", 50002, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: Disconnected from invalid user guest 203.0.113.74 port 50003 "
         "[preauth]",
         "SSH Connection Closed", "guest", "203.0.113.74", 50003, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: error: maximum authentication attempts exceeded for invalid "
         "user x from 203.0.113.76 port 5 ssh2 [preauth]",
         "SSH Too Many Authentication Failures", "x", "203.0.113.76", 5, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: Disconnecting: Too many authentication failures for admin "
         "[preauth]",
         "SSH Too Many Authentication Failures", "admin", NULL, 0, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: Bad protocol version identification 'GET / HTTP/1.1' from "
         "198.51.100.98 port 42100",
         "SSH Protocol Negotiation Failed", "", "198.51.100.98", 42100, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: PAM 2 more authentication failures; logname= uid=0 euid=0 "
         "tty=ssh ruser= rhost=203.0.113.66  user=root",
         "PAM Repeated Authentication Failures", "root", "203.0.113.66", 0, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 "
         "euid=0 tty=ssh ruser= rhost=203.0.113.66  user=root",
         "PAM Authentication Failure", "root", "203.0.113.66", 0, NULL, 0},
        {"Nov 25 10:00:01 h sshd[1]: pam_unix(sshd:session): session opened for user "
         "alice(uid=1000) by (uid=0)",
         "PAM Session Opened", "alice", NULL, 0, NULL, 0},
        {"Nov 25 10:00:01 h sshd-session[1]: Accepted publickey for carol from 192.0.2.11 port "
         "52170 ssh2",
         "SSH Login Succeeded", "carol", "192.0.2.11", 52170, NULL, 0},
    };
    check_wants("linux", w, sizeof w / sizeof w[0]);

    /* rsyslog's repeat wrapper: the inner text decides, the count is the event count */
    struct strm_event ev;
    assert_true(runs("linux",
                     "Dec 10 11:03:43 LabSZ sshd[25455]: message repeated 5 times: [ Failed "
                     "password for root from 183.62.140.253 port 38195]",
                     &ev));
    assert_string_equal(qname(&ev), "SSH Login Failed");
    assert_int_equal(ev.eventcount, 5);
    assert_str(ev.username, "root");
    assert_int_equal(ev.sourceport, 38195);
    assert_int_equal(ev.protocolid, 6);
    assert_prop(&ev, "method", "password");
}

static void test_linux_auth_tools(void **state)
{
    (void)state;
    static const struct want w[] = {
        {"<85>Nov 25 10:02:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
         "COMMAND=/usr/bin/id -a",
         "sudo Command Succeeded", "alice", NULL, 0, NULL, 0},
        {"<85>Nov 25 10:02:01 h sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; "
         "PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
         "sudo Authentication Failed", "bob", NULL, 0, NULL, 0},
        {"<85>Nov 25 10:02:02 h sudo:  mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; "
         "USER=root ; COMMAND=/bin/sh",
         "sudo User Not In Sudoers", "mallory", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:03:00 h su[1]: Successful su for root by alice", "su Succeeded", "alice",
         NULL, 0, NULL, 0},
        {"<86>Nov 25 10:03:00 h su[1]: FAILED SU (to root) mallory on pts/3", "su Failed",
         "mallory", NULL, 0, NULL, 0},
        {"Jun 14 15:16:01 combo su(pam_unix)[1]: session opened for user cyrus by (uid=0)",
         "PAM Session Opened", "cyrus", NULL, 0, NULL, 0},
        {"Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2", "Login Succeeded", "root",
         NULL, 0, NULL, 0},
        {"<86>Nov 25 10:04:02 h login[702]: FAILED LOGIN (1) on '/dev/tty3' FOR 'bob', "
         "Authentication failure",
         "Login Failed", "bob", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:01 h useradd[800]: new user: name=newhire, UID=1005, GID=1005, "
         "home=/home/newhire, shell=/bin/bash",
         "User Account Added", "newhire", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:09 h userdel[806]: delete user 'leaver'", "User Account Removed",
         "leaver", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:04 h usermod[802]: add 'newhire' to group 'developers'",
         "Group Member Added", "newhire", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:14 h passwd[810]: password for 'bob' changed by 'root'",
         "Password Changed", "bob", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:13 h passwd[809]: pam_unix(passwd:chauthtok): password changed for "
         "newhire",
         "Password Changed", "newhire", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:05:02 h groupadd[801]: group added to /etc/group: name=developers, "
         "GID=1010",
         "Group Added", "", NULL, 0, NULL, 0},
        {"<78>Nov 25 10:06:00 h CRON[900]: (root) CMD (   cd / && run-parts --report "
         "/etc/cron.hourly)",
         "Cron Job Executed", "root", NULL, 0, NULL, 0},
        {"<30>Nov 25 10:07:04 h systemd[1]: Failed to start postgresql.service - PostgreSQL RDBMS.",
         "Service Failure", "", NULL, 0, NULL, 0},
        {"<30>Nov 25 10:07:00 h systemd[1]: Started Session 42 of User alice.", "Service Started",
         "", NULL, 0, NULL, 0},
        {"<30>Nov 25 10:07:08 h systemd-logind[600]: New session 42 of user alice.",
         "User Session Started", "alice", NULL, 0, NULL, 0},
        {"Jun 20 03:40:59 combo ftpd[8829]: connection from 222.33.90.199 () at Mon Jun 20 "
         "03:40:59 2005",
         "FTP Connection Opened", "", "222.33.90.199", 0, NULL, 0},
        {"<30>Nov 25 10:11:06 h vsftpd[7006]: [pid 7008] [alice] OK LOGIN: Client "
         "\"198.51.100.45\"",
         "FTP Login Succeeded", "alice", "198.51.100.45", 0, NULL, 0},
    };
    check_wants("linux", w, sizeof w / sizeof w[0]);

    struct strm_event ev;
    assert_true(runs("linux",
                     "<85>Nov 25 10:02:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; "
                     "USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
                     &ev));
    assert_prop(&ev, "command", "/usr/bin/systemctl restart nginx");
    assert_prop(&ev, "target_user", "root");
    assert_int_equal(ev.category, LLC_PRIV_ESCALATION_SUCCEEDED);
    assert_true(
        runs("linux", "<78>Nov 25 10:06:00 h CRON[900]: (root) CMD (run-parts /etc/x)", &ev));
    assert_prop(&ev, "command", "run-parts /etc/x");
}

static void test_linux_kernel_audit(void **state)
{
    (void)state;
    static const struct want w[] = {
        {"<4>Nov 25 10:08:00 fw kernel: [123456.789012] [UFW BLOCK] IN=eth0 OUT= "
         "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.90 DST=192.0.2.1 LEN=60 "
         "TOS=0x00 PREC=0x00 TTL=52 ID=4242 DF PROTO=TCP SPT=51515 DPT=3389 WINDOW=64240 RES=0x00 "
         "SYN URGP=0",
         "Firewall Deny", "", "203.0.113.90", 51515, "192.0.2.1", 3389},
        {"<4>Nov 25 10:08:03 fw kernel: ACCEPT-WEB IN=eth0 OUT=eth1 SRC=198.51.100.6 DST=10.0.0.80 "
         "LEN=60 PROTO=TCP SPT=50123 DPT=443",
         "Firewall Permit", "", "198.51.100.6", 50123, "10.0.0.80", 443},
        {"<4>Nov 25 10:08:02 fw kernel: IPTABLES-DROP: IN=eth1 OUT=eth0 SRC=10.0.0.15 DST=8.8.8.8 "
         "LEN=73 PROTO=UDP SPT=5353 DPT=53 LEN=53",
         "Firewall Deny", "", "10.0.0.15", 5353, "8.8.8.8", 53},
        {"<4>Nov 25 10:08:05 fw kernel: nft-in IN=eth0 OUT= SRC=2001:db8::99 DST=2001:db8::1 "
         "LEN=80 PROTO=ICMPv6 TYPE=128 CODE=0",
         "Firewall Packet Logged", "", "2001:db8::99", 0, "2001:db8::1", 0},
        {"<6>Nov 25 10:08:07 h kernel: [ 1234.5678] e1000e 0000:00:19.0 eth0: NIC Link is Up",
         "Linux Kernel Information", "", NULL, 0, NULL, 0},
        {"<4>Nov 25 10:08:08 h kernel: [ 1235.0001] ACPI Warning: conflicts with OpRegion",
         "Linux Kernel Warning", "", NULL, 0, NULL, 0},
        {"<3>Nov 25 10:08:09 h kernel: EXT4-fs error (device sda1): reading directory lblock 0",
         "Linux Kernel Error", "", NULL, 0, NULL, 0},
        {"Jun 14 15:16:01 combo kernel: Memory: 125312k/129720k available",
         "Linux Kernel Information", "", NULL, 0, NULL, 0},
        {"<86>Nov 25 10:09:01 h audit[1501]: type=USER_LOGIN msg=audit(1795600141.001:102): "
         "pid=1501 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"root\" "
         "exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.66 terminal=sshd res=failed'",
         "Audit User Login Failed", "root", "203.0.113.66", 0, NULL, 0},
        {"<86>Nov 25 10:09:04 h audit: node=h type=ADD_USER msg=audit(1795600144.001:105): pid=800 "
         "uid=0 auid=1000 ses=5 msg='op=add-user acct=\"newhire\" exe=\"/usr/sbin/useradd\" "
         "hostname=h addr=? terminal=pts/0 res=success'",
         "Audit User Account Added", "newhire", NULL, 0, NULL, 0},
        {"<5>Nov 25 10:08:12 h kernel: [ 1239.0005] audit: type=1400 audit(1795600092.123:88): "
         "apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\" name=\"/etc/shadow\"",
         "Audit Access Denied (SELinux/AppArmor)", "", NULL, 0, NULL, 0},
    };
    check_wants("linux", w, sizeof w / sizeof w[0]);

    struct strm_event ev;
    assert_true(runs("linux", w[0].line, &ev));
    assert_int_equal(ev.protocolid, 6);
    assert_prop(&ev, "prefix", "[UFW BLOCK]");
    assert_prop(&ev, "in_interface", "eth0");
    static const uint8_t dmac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t smac[6] = {0x52, 0x54, 0x00, 0x65, 0x43, 0x21};
    assert_memory_equal(ev.destinationmac, dmac, 6);
    assert_memory_equal(ev.sourcemac, smac, 6);
    assert_int_equal(ev.category, LLC_FIREWALL_DENY);
    assert_true(runs("linux", w[3].line, &ev));
    assert_int_equal(ev.protocolid, 58);
}

/* Lines of a known program with text nobody mapped: the family's QID, never a crash. */
static void test_linux_garbage(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_true(
        runs("linux", "<38>Nov 25 10:00:01 h sshd[1]: \x01\x02 zzz Failed for from port", &ev));
    assert_string_equal(qname(&ev), "Linux SSH Message");
    assert_true(runs("linux", "<38>Nov 25 10:00:01 h sshd[1]: Accepted ", &ev));
    assert_string_equal(qname(&ev), "Linux SSH Message");
    assert_true(runs("linux", "<38>Nov 25 10:00:01 h sshd[1]: Failed password for root from", &ev));
    assert_true(runs("linux", "<38>Nov 25 10:00:01 h sshd[1]:", &ev));
    assert_true(runs("linux", "<38>Nov 25 10:00:01 h sudo: x : ", &ev));
    assert_string_equal(qname(&ev), "Linux sudo Message");
    assert_true(runs("linux", "<4>Nov 25 10:00:01 h kernel: IN= SRC=", &ev));
    assert_true(runs(
        "linux", "<38>Nov 25 10:00:01 h sshd[1]: message repeated 99999999999 times: [ x", &ev));
    assert_true(runs("linux",
                     "<38>Nov 25 10:00:01 h sshd[1]: message repeated 2 times: [ message repeated "
                     "2 times: [ Accepted x",
                     &ev));
    assert_true(runs("linux", "<38>Nov 25 10:00:01 h audit: type=", &ev));
    assert_true(
        runs("linux", "<38>Nov 25 10:00:01 h sshd(pam_unix)[1]: session opened for user ", &ev));
    assert_string_equal(qname(&ev), "PAM Session Opened");
}

/* ---------------------------------------------------------------- Windows */

static void test_windows_forms(void **state)
{
    (void)state;
    /* One 4625 (network logon failure) in the four forwarder forms. */
    static const char *const lines[] = {
        "<12>Nov 25 10:00:00 dc01 MSWinEventLog\t1\tSecurity\t77\tWed Nov 25 10:00:00 2026\t4625\t"
        "Microsoft-Windows-Security-Auditing\tN/A\tN/A\tFailure Audit\tdc01.corp.local\tLogon\t\t"
        "An account failed to log on.    Subject:    Security ID:    S-1-5-18    Account Name:    "
        "DC01$    Account Domain:    CORP    Logon ID:    0x3E7    Logon Type:    3    Account "
        "For Which Logon Failed:    Security ID:    S-1-0-0    Account Name:    administrator    "
        "Account Domain:    CORP    Failure Information:    Failure Reason:    Unknown user name "
        "or bad password.    Status:    0xC000006D    Sub Status:    0xC000006A    Network "
        "Information:    Workstation Name:    KALI    Source Network Address:    203.0.113.50    "
        "Source Port:    44321\t78",
        "<13>Nov 25 10:00:00 relay AgentDevice=WindowsLog\tAgentLogFile=Security\tSource="
        "Microsoft-Windows-Security-Auditing\tComputer=dc01.corp.local\tUser=\tDomain=\tEventID="
        "4625"
        "\tEventIDCode=4625\tEventType=16\tTimeGenerated=1795600800\tKeywords=Audit Failure\t"
        "Message=An account failed to log on.  Subject:  Security ID:  S-1-5-18  Account Name:  "
        "DC01$  Account Domain:  CORP  Logon Type:  3  Account For Which Logon Failed:  Security "
        "ID:  S-1-0-0  Account Name:  administrator  Account Domain:  CORP  Failure Information: "
        " Failure Reason:  Unknown user name or bad password.  Status:  0xC000006D  Sub Status:  "
        "0xC000006A  Network Information:  Workstation Name:  KALI  Source Network Address:  "
        "203.0.113.50  Source Port:  44321",
        "<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[612]: {\"EventTime\":"
        "\"2026-11-25 10:00:00\",\"Hostname\":\"dc01.corp.local\",\"EventType\":\"AUDIT_FAILURE\","
        "\"EventID\":4625,\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"Channel\":"
        "\"Security\",\"Message\":\"An account failed to log on.\\r\\n\",\"SubjectUserName\":"
        "\"DC01$\",\"TargetUserName\":\"administrator\",\"TargetDomainName\":\"CORP\",\"Status\":"
        "\"0xc000006d\",\"SubStatus\":\"0xc000006a\",\"LogonType\":\"3\",\"WorkstationName\":"
        "\"KALI\",\"IpAddress\":\"203.0.113.50\",\"IpPort\":\"44321\",\"Nested\":{\"a\":[1,2]}}",
        "<14>1 2026-11-25T10:00:00Z dc01.corp.local Microsoft-Windows-Security-Auditing 612 - - "
        "EventTime=\"2026-11-25 10:00:00\" Hostname=dc01.corp.local EventType=AUDIT_FAILURE "
        "EventID=4625 SourceName=Microsoft-Windows-Security-Auditing Channel=Security "
        "SubjectUserName=DC01$ TargetUserName=administrator LogonType=3 Status=0xc000006d "
        "SubStatus=0xc000006a WorkstationName=KALI IpAddress=203.0.113.50 IpPort=44321",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct strm_event ev;
        if (!runs("windows", lines[i], &ev)) fail_msg("form %zu not recognized", i);
        assert_string_equal(qname(&ev), "Windows Network Logon Failed");
        assert_int_equal(ev.category, LLC_HOST_LOGIN_FAILED);
        assert_str(ev.username, "administrator");
        assert_ip(&ev.sourceip, "203.0.113.50");
        assert_int_equal(ev.sourceport, 44321);
        assert_str(ev.hostname, "dc01.corp.local");
        assert_prop(&ev, "LogonType", "3");
        assert_prop(&ev, "WorkstationName", "KALI");
        assert_prop(&ev, "SubjectUserName", "DC01$");
        char st[32];
        assert_true(dsm_props_get(ev.properties, "Status", st, sizeof st));
        assert_true(strcasecmp(st, "0xC000006D") == 0);
        assert_true(ev.devicetime != 0);
        assert_int_equal(ev.devicetype, DSM_T_WINDOWS);
    }
    /* NXLog's plain BSD output: only the rendered text; the first sentence names the event. */
    struct strm_event r;
    assert_true(runs("windows",
                     "<14>Nov 25 12:01:00 dc01 Microsoft-Windows-Security-Auditing[612]: An "
                     "account failed to log on.\t\tSubject:\t\tSecurity ID:\t\tS-1-0-0\t\t"
                     "Account Name:\t\t-\t\tLogon Type:\t\t\t3\t\tAccount For Which Logon "
                     "Failed:\t\tSecurity ID:\t\tS-1-0-0\t\tAccount Name:\t\tguest\t\t"
                     "Network Information:\t\tWorkstation Name:\tKALI\t\tSource Network "
                     "Address:\t203.0.113.52\t\tSource Port:\t\t51000",
                     &r));
    assert_string_equal(qname(&r), "Windows Network Logon Failed");
    assert_str(r.username, "guest");
    assert_ip(&r.sourceip, "203.0.113.52");
    assert_int_equal(r.sourceport, 51000);
    assert_true(runs("windows",
                     "<14>Nov 25 12:01:00 dc01 Microsoft-Windows-Security-Auditing[612]: "
                     "Something new.",
                     &r));
    assert_string_equal(qname(&r), "Microsoft Windows Security Event Log Unknown Event");

    /* Snare and WinCollect carry the same instant; Snare's is device-local (tz 0 here). */
    struct strm_event a, b;
    assert_true(runs("windows", lines[0], &a));
    assert_true(runs("windows", lines[1], &b));
    assert_true(a.devicetime == b.devicetime);
    assert_true(a.devicetime == 1795600800000LL);
}

static void test_windows_events(void **state)
{
    (void)state;
    static const struct want w[] = {
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4624,\"SourceName\":\"Microsoft-Windows-Security-Auditing\","
         "\"TargetUserName\":\"carol\",\"LogonType\":\"10\",\"IpAddress\":\"198.51.100.7\","
         "\"IpPort\":\"61001\"}",
         "Windows Remote Interactive Logon Succeeded", "carol", "198.51.100.7", 61001, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4624,\"SourceName\":\"Microsoft-Windows-Security-Auditing\","
         "\"TargetUserName\":\"alice\",\"LogonType\":\"2\",\"IpAddress\":\"-\",\"IpPort\":\"-\"}",
         "Windows Interactive Logon Succeeded", "alice", NULL, 0, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":5156,\"Channel\":\"Security\",\"Direction\":\"%%14593\",\"SourceAddress\":"
         "\"10.20.30.40\",\"SourcePort\":\"50522\",\"DestAddress\":\"93.184.216.34\",\"DestPort\":"
         "\"443\",\"Protocol\":\"6\"}",
         "Windows Filtering Platform Connection Permitted", "", "10.20.30.40", 50522,
         "93.184.216.34", 443},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":5157,\"Channel\":\"Security\",\"SourceAddress\":\"10.20.30.40\","
         "\"SourcePort\":\"137\",\"DestAddress\":\"10.20.30.255\",\"DestPort\":\"137\","
         "\"Protocol\":\"17\"}",
         "Windows Filtering Platform Connection Blocked", "", "10.20.30.40", 137, "10.20.30.255",
         137},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4768,\"Channel\":\"Security\",\"TargetUserName\":\"mallory\",\"IpAddress\":"
         "\"::ffff:10.20.30.40\",\"IpPort\":\"49822\",\"Status\":\"0x6\"}",
         "Windows Kerberos TGT Request Failed", "mallory", "10.20.30.40", 49822, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4776,\"Channel\":\"Security\",\"TargetUserName\":\"bob\",\"Workstation\":"
         "\"WS1\",\"Status\":\"0x0\"}",
         "Windows NTLM Credential Validation Succeeded", "bob", NULL, 0, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4728,\"Channel\":\"Security\",\"SubjectUserName\":\"admin\",\"MemberName\":"
         "\"CN=Bob,DC=corp\",\"TargetUserName\":\"Domain Admins\"}",
         "Windows Member Added To Security Group", "CN=Bob,DC=corp", NULL, 0, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":1102,\"Channel\":\"Security\",\"SubjectUserName\":\"admin\"}",
         "Windows Audit Log Cleared", "admin", NULL, 0, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4740,\"Channel\":\"Security\",\"SubjectUserName\":\"DC01$\","
         "\"TargetUserName\":\"bob\"}",
         "Windows User Account Locked Out", "bob", NULL, 0, NULL, 0},
        {"<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
         "{\"EventID\":4999,\"Channel\":\"Security\"}",
         "Microsoft Windows Security Event Log Unknown Event", "", NULL, 0, NULL, 0},
    };
    check_wants("windows", w, sizeof w / sizeof w[0]);

    /* 4688: the actor is the user; the process and command line are properties (JSON escapes
     * undone). */
    struct strm_event ev;
    assert_true(runs("windows",
                     "<14>Nov 25 10:00:00 dc01 Microsoft-Windows-Security-Auditing[4]: "
                     "{\"EventID\":4688,\"Channel\":\"Security\",\"SubjectUserName\":\"alice\","
                     "\"TargetUserName\":\"-\",\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\"
                     "cmd.exe\",\"CommandLine\":\"cmd.exe /c \\\"whoami\\\"\"}",
                     &ev));
    assert_string_equal(qname(&ev), "Windows Process Created");
    assert_str(ev.username, "alice");
    assert_prop(&ev, "NewProcessName", "C:\\Windows\\System32\\cmd.exe");
    assert_prop(&ev, "CommandLine", "cmd.exe /c \"whoami\"");
    assert_int_equal(ev.category, LLC_PROCESS_CREATED);
}

/* ---------------------------------------------------------------- rejection, robustness */

static const char *const foreign[] = {
    "<166>Nov 25 10:00:00 asa01 %ASA-6-302013: Built outbound TCP connection 1 for "
    "outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.0.0.5/51234 (203.0.113.5/51234)",
    "<14>1 2026-11-25T10:00:00Z srx01 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.40 "
    "source-address=\"10.0.0.1\"] session created",
    "<134>Nov 25 10:00:00 fw01 CEF:0|Vendor|Product|1.0|100|Attack|9|src=10.0.0.1 dst=192.168.1.1",
    "10.0.0.1 - - [25/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"curl/8.0\"",
    "<13>Nov 25 10:00:00 host nginx: 10.0.0.1 - - \"GET /\" 200",
    "<13>Nov 25 10:00:00 host postfix/smtpd[123]: connect from unknown[203.0.113.5]",
    "<13>Nov 25 10:00:00 host named[2306]: client 10.0.0.1#5353: query: example.com IN A",
    "<13>Nov 25 10:00:00 host {\"a\":1,\"b\":\"EventID\"}",
    "{\"msg\":\"hello\",\"level\":\"info\"}",
    "<13>Nov 25 10:00:00 host app: EventID=4625 but not from Windows",
    "<13>Nov 25 10:00:00 host sshdx[1]: Accepted password for a from 1.2.3.4 port 1 ssh2",
    "<13>Nov 25 10:00:00 host foo(bar)[1]: session opened for user root",
    "garbage without any header at all",
    /* Linux program names used by other systems (regressions: claimed before their DSMs) */
    "<12>Nov 25 10:06:00 srx01 sshd[5555]: SSHD_LOGIN_FAILED: Login failed for user 'root' from "
    "host '198.51.100.66'",
    "<12>Nov 25 10:06:01 srx01 login[5556]: LOGIN_FAILED: Login failed for user operator from host "
    "198.51.100.67",
    "<38>1 2026-11-25T10:01:02+01:00 opn audit 1234 - - /index.php: Web GUI authentication error "
    "for 'mallory' from 198.51.100.67",
};

static void test_rejects_foreign(void **state)
{
    (void)state;
    const char *names[] = {"linux", "windows"};
    for (size_t d = 0; d < 2; d++) {
        for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
            struct strm_event ev, before;
            strm_event_init(&ev);
            ev.starttime = strm_now_ms();
            ev.payload.p = foreign[i];
            ev.payload.len = (uint32_t)strlen(foreign[i]);
            syslog_parse(&ev, &arena);
            before = ev;
            struct dsm_ctx ctx = {0, 0};
            if (dsm(names[d])->parse(&ev, &arena, &ctx))
                fail_msg("%s claimed a foreign line: %s", names[d], foreign[i]);
            assert_memory_equal(&ev, &before, sizeof ev);
        }
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* Calls fn(line, len) for each line of a file (without the newline). */
static size_t each_line(const char *path, void (*fn)(const char *, size_t, void *), void *arg)
{
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf) fail_msg("cannot read %s", path);
    size_t count = 0;
    for (char *p = buf, *e = buf + len; p < e;) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        if (n && p[n - 1] == '\r') n--;
        if (n) {
            fn(p, n, arg);
            count++;
        }
        p = nl ? nl + 1 : e;
    }
    free(buf);
    return count;
}

struct sample_arg {
    const char *dsm;
    const char *other;
    size_t ok;
};

static void sample_line(const char *line, size_t n, void *arg)
{
    struct sample_arg *a = arg;
    struct strm_event ev;
    if (run(a->dsm, line, n, &ev))
        a->ok++;
    else
        print_message("# %s did not recognize: %.*s\n", a->dsm, (int)n, line);
    if (run(a->other, line, n, &ev))
        fail_msg("%s claimed a %s sample: %.*s", a->other, a->dsm, (int)n, line);
}

static void test_samples(void **state)
{
    (void)state;
    struct sample_arg l = {"linux", "windows", 0}, w = {"windows", "linux", 0};
    size_t nl = each_line(STRM_SRC_DIR "/tests/dsm/linux.log", sample_line, &l);
    size_t nw = each_line(STRM_SRC_DIR "/tests/dsm/windows.log", sample_line, &w);
    assert_true(nl > 100 && nw > 50);
    assert_int_equal(l.ok, nl);
    assert_int_equal(w.ok, nw);
}

/* Every prefix of every sample line, and byte-flipped copies: no crash, no overread (ASan). */
static void cut_line(const char *line, size_t n, void *arg)
{
    (void)arg;
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    struct strm_event ev;
    for (size_t k = 0; k <= n; k++) {
        char *cut = malloc(k ? k : 1); /* exactly k bytes: ASan catches reads past them */
        assert_non_null(cut);
        memcpy(cut, line, k);
        run("linux", cut, k, &ev);
        run("windows", cut, k, &ev);
        free(cut);
    }
    unsigned seed = (unsigned)n;
    for (int r = 0; r < 20; r++) {
        memcpy(copy, line, n);
        for (int j = 0; j < 4 && n; j++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] = (char)(seed >> 16);
        }
        run("linux", copy, n, &ev);
        run("windows", copy, n, &ev);
    }
    free(copy);
}

static void test_cut_lines(void **state)
{
    (void)state;
    each_line(STRM_SRC_DIR "/tests/dsm/linux.log", cut_line, NULL);
    each_line(STRM_SRC_DIR "/tests/dsm/windows.log", cut_line, NULL);
    strm_arena_reset(&arena);
}

/* ---------------------------------------------------------------- real corpus */

#define CORPUS STRM_CORPUS_DIR "/syslog/"
#define MAX_TEMPLATES 512

struct tmpl {
    char id[16];
    uint32_t qid;
    bool unrecognized_seen;
};

/* Splits one CSV record starting at p (quotes as RFC 4180); returns the byte after it. */
static const char *csv_record(const char *p, const char *e, const char **f, size_t *fl, int max,
                              int *nf)
{
    *nf = 0;
    while (p < e) {
        const char *s = p;
        if (*p == '"') {
            s = ++p;
            while (p < e) {
                if (*p == '"' && p + 1 < e && p[1] == '"') {
                    p += 2;
                    continue;
                }
                if (*p == '"') break;
                p++;
            }
            if (*nf < max) f[*nf] = s, fl[*nf] = (size_t)(p - s);
            if (p < e) p++;
        } else {
            while (p < e && *p != ',' && *p != '\n' && *p != '\r')
                p++;
            if (*nf < max) f[*nf] = s, fl[*nf] = (size_t)(p - s);
        }
        (*nf)++;
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        while (p < e && (*p == '\r' || *p == '\n'))
            p++;
        break;
    }
    return p;
}

static void corpus_check(const char *log, const char *csv)
{
    size_t loglen, csvlen;
    char *lb = read_file(log, &loglen);
    char *cb = read_file(csv, &csvlen);
    if (!lb || !cb) fail_msg("corpus missing: %s", log);
    const char *f[16];
    size_t fl[16];
    int nf, col = -1;
    const char *cp = csv_record(cb, cb + csvlen, f, fl, 16, &nf);
    for (int i = 0; i < nf && i < 16; i++)
        if (fl[i] == 7 && memcmp(f[i], "EventId", 7) == 0) col = i;
    assert_true(col >= 0);

    static struct tmpl t[MAX_TEMPLATES];
    size_t nt = 0, lines = 0, recognized = 0, inconsistent = 0;
    for (char *p = lb, *e = lb + loglen; p < e;) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        if (n && p[n - 1] == '\r') n--;
        char *line = p;
        p = nl ? nl + 1 : e;
        if (!n) continue;
        cp = csv_record(cp, cb + csvlen, f, fl, 16, &nf);
        assert_true(nf > col);
        lines++;
        struct strm_event ev;
        bool ok = run("linux", line, n, &ev);
        if (ok) recognized++;
        struct tmpl *tp = NULL;
        for (size_t i = 0; i < nt; i++)
            if (strlen(t[i].id) == fl[col] && memcmp(t[i].id, f[col], fl[col]) == 0) tp = &t[i];
        if (!tp) {
            assert_true(nt < MAX_TEMPLATES && fl[col] < sizeof t[0].id);
            tp = &t[nt++];
            memcpy(tp->id, f[col], fl[col]);
            tp->id[fl[col]] = 0;
            tp->qid = ok ? ev.qid : 0;
            tp->unrecognized_seen = !ok;
            continue;
        }
        uint32_t q = ok ? ev.qid : 0;
        if (q != tp->qid) {
            inconsistent++;
            print_message("# template %s: QID %u and %u: %.*s\n", tp->id, tp->qid, q, (int)n, line);
        }
    }
    print_message("# %s: %zu/%zu recognized (%.2f%%), %zu templates, %zu inconsistent lines\n", log,
                  recognized, lines, 100.0 * (double)recognized / (double)lines, nt, inconsistent);
    assert_true(lines >= 2000);
    assert_true(recognized * 100 >= lines * 99);
    assert_int_equal(inconsistent, 0);
    free(lb);
    free(cb);
    strm_arena_reset(&arena);
}

static void test_corpus_linux(void **state)
{
    (void)state;
    corpus_check(CORPUS "linux/Linux_2k.log", CORPUS "linux/Linux_2k.log_structured.csv");
}

static void test_corpus_openssh(void **state)
{
    (void)state;
    corpus_check(CORPUS "openssh/OpenSSH_2k.log", CORPUS "openssh/OpenSSH_2k.log_structured.csv");
}

/* Every QID a DSM declares is in its range, has a name and a known category. */
static void test_qid_tables(void **state)
{
    (void)state;
    const char *names[] = {"linux", "windows"};
    for (size_t d = 0; d < 2; d++) {
        const struct dsm_def *def = dsm(names[d]);
        bool unknown = false;
        for (size_t i = 0; i < def->n_qids; i++) {
            const struct qid_def *q = &def->qids[i];
            assert_int_equal(q->qid / 100000u, def->type_id);
            assert_non_null(q->name);
            assert_non_null(dsm_category_get(q->category));
            assert_true(q->severity <= 10);
            if (q->qid == DSM_QID_UNKNOWN(def->type_id)) unknown = true;
        }
        assert_true(unknown);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qid_tables),       cmocka_unit_test(test_linux_sshd),
        cmocka_unit_test(test_linux_auth_tools), cmocka_unit_test(test_linux_kernel_audit),
        cmocka_unit_test(test_linux_garbage),    cmocka_unit_test(test_windows_forms),
        cmocka_unit_test(test_windows_events),   cmocka_unit_test(test_rejects_foreign),
        cmocka_unit_test(test_samples),          cmocka_unit_test(test_cut_lines),
        cmocka_unit_test(test_corpus_linux),     cmocka_unit_test(test_corpus_openssh),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, setup, teardown);
}
