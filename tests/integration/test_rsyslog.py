#!/usr/bin/python3
"""rsyslog -> openstrm over TCP. Our own rsyslogd (not the system service) reads two files
with imfile and forwards them with omfwd: one stream with TCP_Framing="traditional" and the
default template (RSYSLOG_TraditionalForwardFormat, RFC 3164 style), the other with
TCP_Framing="octet-counted" and RSYSLOG_SyslogProtocol23Format (RFC 5424). A third input,
imudp on its own loopback port fed by logger, is relayed through the traditional stream (the
original sender's host and tag must survive the relay). All messages must arrive exactly once
with the right fields."""

import os
import subprocess
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

N_PER_FILE = 2500
N_UDP = 10

CONF = """
global(workDirectory="{wd}" localHostName="{rshost}" maxMessageSize="64k")
module(load="imfile" mode="polling" pollingInterval="1")
module(load="imudp")
input(type="imfile" file="{d}/in1.log" tag="{app1}:" facility="local3" severity="notice"
      ruleset="trad" freshStartTail="off")
input(type="imfile" file="{d}/in2.log" tag="{app2}:" facility="local4" severity="info"
      ruleset="octet" freshStartTail="off")
input(type="imudp" address="127.0.0.1" port="{udpport}" ruleset="trad")
ruleset(name="trad") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
         TCP_Framing="traditional")
}}
ruleset(name="octet") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}}
"""


def main(t):
    strmtest.require_binary(t)
    rsyslogd = strmtest.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        raise strmtest.HarnessError("rsyslogd not installed")
    rid = strmtest.run_id()
    s = t.strm(name="rsyslog", udp=False).start()

    d = t.tempdir("rsyslogd")
    wd = os.path.join(d, "work")
    os.mkdir(wd)
    rshost = "rsys-" + rid
    app1, app2 = "rsa" + rid[:5], "rsb" + rid[:5]
    udpport = strmtest.free_port(("udp",))
    lines = {}
    for k, name in ((1, "in1.log"), (2, "in2.log")):
        lines[k] = ["RSYS-%s-%d-%05d sshd accepted publickey for user%d from 192.0.2.%d port %d"
                    % (rid, k, i, i % 37, i % 250, 1024 + i) for i in range(N_PER_FILE)]
        with open(os.path.join(d, name), "w") as f:
            f.write("\n".join(lines[k]) + "\n")
    conf = os.path.join(d, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(wd=wd, rshost=rshost, d=d, app1=app1, app2=app2, udpport=udpport,
                            port=s.port))
    r = strmtest.run_cmd([rsyslogd, "-N1", "-f", conf], timeout=20)
    if r.returncode != 0:
        raise strmtest.HarnessError("rsyslog config invalid: " + r.stderr[-1000:])
    pidfile = os.path.join(d, "rsyslogd.pid")
    rlog = open(os.path.join(d, "rsyslogd.log"), "wb")
    t0_ms = int(time.time() * 1000)
    rs = strmtest.start_proc([rsyslogd, "-n", "-f", conf, "-i", pidfile], stdout=rlog,
                             stderr=rlog, stdin=subprocess.DEVNULL)
    try:
        if not strmtest.wait_until(lambda: strmtest.port_is_bound_udp(udpport), 10):
            raise strmtest.HarnessError("rsyslogd did not bind imudp port %d" % udpport)
        # relay path: logger -> rsyslog imudp -> omfwd traditional -> openstrm
        for i in range(N_UDP):
            strmtest.run_cmd(["logger", "-n", "127.0.0.1", "-P", str(udpport), "-d",
                              "--rfc3164", "-t", "relay" + rid[:4], "--id=%d" % (700 + i),
                              "-p", "auth.err", "RELAY-%s-%02d su: authentication failure" %
                              (rid, i)], timeout=10)
            time.sleep(0.01)

        total = 2 * N_PER_FILE + N_UDP
        got = strmtest.wait_until(
            lambda: s.count("message LIKE 'R%%-%s-%%'" % rid) >= total, 40, 0.5)
        t.ok(got, "all %d messages forwarded by rsyslog arrive" % total,
             diag=lambda: "count=%d" % s.count("message LIKE 'R%%-%s-%%'" % rid))
        time.sleep(1.0)  # anything extra (duplicates) would show up now
        t1_ms = int(time.time() * 1000)
    finally:
        rc = strmtest.stop_proc(rs, 10)
        rlog.close()
    t.ok(rc is not None, "rsyslogd (our peer) stopped on SIGTERM")

    host = socket.gethostname().split(".")[0]
    for k, app, fmt, fac, sev in ((1, app1, "traditional", 19, 5), (2, app2, "octet-counted",
                                                                       20, 6)):
        label = "rsyslog omfwd %s" % fmt
        t.eq(s.count("appname = '%s'" % app), N_PER_FILE,
             "%s: SELECT COUNT(*) by appname = %d" % (label, N_PER_FILE))
        rows = s.search_csv("SELECT hostname, appname, procid, message, facility, priority, "
                            "devicetime FROM events WHERE appname = '%s' LAST 60 MINUTES" % app)
        msgs = [r.get("message") for r in rows]
        missing = set(lines[k]) - set(msgs)
        t.ok(not missing and len(msgs) == len(set(msgs)) == N_PER_FILE,
             "%s: every line stored exactly once, message text exact" % label,
             diag=lambda: "rows %d, unique %d, missing %d, e.g. %r; got e.g. %r" % (
                 len(msgs), len(set(msgs)), len(missing), sorted(missing)[:2], msgs[:2]))
        bad = [r for r in rows if r.get("hostname") != rshost or r.get("procid", "") != ""
               or str(r.get("facility")) != str(fac) or str(r.get("priority")) != str(sev)]
        t.ok(rows and not bad, "%s: hostname=%s, procid empty, facility %d, priority %d"
             % (label, rshost, fac, sev), diag=lambda: "e.g. %r" % (bad[:2],))
        dts = []
        for r in rows:
            try:
                dts.append(int(r["devicetime"]))
            except (KeyError, ValueError):
                dts.append(0)
        t.ok(dts and all(t0_ms - 3000 <= x <= t1_ms + 1000 for x in dts),
             "%s: devicetime within the run" % label,
             diag="devicetime min %s max %s, run %d..%d" % (min(dts or [0]), max(dts or [0]),
                                                            t0_ms, t1_ms))

    rows = s.search_csv("SELECT hostname, appname, procid, message, facility, priority FROM "
                        "events WHERE message LIKE 'RELAY-%s-%%' LAST 60 MINUTES" % rid)
    t.eq(len(rows), N_UDP, "relay logger -> rsyslog imudp -> openstrm: %d messages" % N_UDP)
    bad = [r for r in rows if r.get("hostname") != host or r.get("appname") != "relay" + rid[:4]
           or not r.get("procid", "").startswith("7") or str(r.get("facility")) != "4"
           or str(r.get("priority")) != "3"
           or not r.get("message", "").endswith("su: authentication failure")]
    t.ok(rows and not bad, "relay keeps the original host %s, tag, pid, facility auth, "
         "severity err" % host, diag=lambda: "e.g. %r" % (bad[:2],))

    st = s.stats()
    t.ok(st.get("parsed_rfc5424", 0) >= N_PER_FILE and st.get("parsed_rfc3164", 0) >=
         N_PER_FILE + N_UDP, "stats: parsed_rfc5424 >= %d and parsed_rfc3164 >= %d"
         % (N_PER_FILE, N_PER_FILE + N_UDP), diag=repr(st))
    t.eq(st.get("tcp_received"), total_msgs(), "stats tcp_received = messages forwarded")
    t.eq(st.get("unparsed"), 0, "stats unparsed = 0")
    t.ok(st.get("tcp_connections", 0) >= 2, "stats tcp_connections >= 2 (one per action)",
         diag=repr(st))
    t.eq(s.stop(), 0, "SIGTERM: clean stop, exit 0")


def total_msgs():
    return 2 * N_PER_FILE + N_UDP


if __name__ == "__main__":
    strmtest.run(main, budget=120)
