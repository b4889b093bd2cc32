#!/usr/bin/python3
"""util-linux logger -> openstrm over UDP and TCP (LF and octet-counted framing), RFC 3164 and
RFC 5424, structured data, messages >= 8 KiB, several messages on one TCP connection.
Every message must be found by search with the right header fields, within 2 s, and the
parser counters must match what was sent."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

FAC = {"user": 1, "local3": 19, "daemon": 3}
SEV = {"warning": 4, "notice": 5, "err": 3, "info": 6}


def main(t):
    strmtest.require_binary(t)
    logger = strmtest.which("logger")
    if not logger:
        raise strmtest.HarnessError("logger (util-linux) not installed")
    s = t.strm(name="logger").start()
    rid = strmtest.run_id()
    host = socket.gethostname()
    cases = []  # dicts: app, transport, fmt, fac, sev, procid, msgid, sd, body, lines
    filler = "".join(chr(ord("a") + i % 26) for i in range(9000))
    plan = [
        ("udp", "3164", False, False), ("udp", "5424", True, False), ("udp", "5424", False, True),
        ("tcp", "3164", False, False), ("tcp", "5424", True, False),
        ("tcp-oc", "5424", True, False), ("tcp-oc", "3164", False, False),
        ("tcp-oc", "5424", True, True), ("tcp", "3164", False, True),
    ]
    for i, (transport, fmt, sd, big) in enumerate(plan):
        fac, sev = (("local3", "warning"), ("user", "notice"), ("daemon", "err"))[i % 3]
        body = "LOGGER-%s-%d %s via %s: user alice failed login from 10.1.2.%d" % (
            rid, i, fmt, transport, i)
        if big:
            body += " " + filler
        cases.append(dict(app="lg%s%d" % (rid[:4], i), transport=transport, fmt=fmt, fac=fac,
                          sev=sev, procid=str(4000 + i), msgid=("MID%d" % i) if fmt == "5424"
                          else "", sd=sd, lines=[body]))
    # many messages on one TCP connection (logger reads them from stdin, one per line)
    for j, transport in enumerate(("tcp", "tcp-oc")):
        lines = ["LOGGER-%s-multi%d-%02d line %d of a burst" % (rid, j, k, k) for k in range(20)]
        cases.append(dict(app="lgm%s%d" % (rid[:4], j), transport=transport, fmt="5424",
                          fac="user", sev="info", procid=str(5000 + j), msgid="BURST", sd=False,
                          lines=lines))

    t0_ms = int(time.time() * 1000)
    for c in cases:
        argv = [logger, "-n", "127.0.0.1", "-P", str(s.port), "-S", "20000",
                "-t", c["app"], "--id=" + c["procid"], "-p", "%s.%s" % (c["fac"], c["sev"])]
        argv += ["-d"] if c["transport"] == "udp" else ["-T"]
        if c["transport"] == "tcp-oc":
            argv.append("--octet-count")
        if c["fmt"] == "3164":
            argv.append("--rfc3164")
        else:
            argv.append("--rfc5424")
            argv += ["--msgid", c["msgid"]]
            if c["sd"]:
                argv += ["--sd-id", "test@32473", "--sd-param", 'k="v w"', "--sd-param",
                         'n="%s"' % c["procid"]]
        if len(c["lines"]) == 1:
            r = strmtest.run_cmd(argv + [c["lines"][0]], timeout=20)
        else:
            r = strmtest.run_cmd(argv, input="\n".join(c["lines"]) + "\n", timeout=20)
        if r.returncode != 0:
            raise strmtest.HarnessError("logger failed: %s %s" % (argv, r.stderr))
        time.sleep(0.02)  # UDP on loopback: no burst that could overflow a socket buffer
    t_sent = time.monotonic()
    t1_ms = int(time.time() * 1000)
    total = sum(len(c["lines"]) for c in cases)

    n = strmtest.wait_until(lambda: s.count("message LIKE 'LOGGER-%s-%%'" % rid) >= total
                            and time.monotonic(), 10, 0.1)
    elapsed = (n - t_sent) if n else None
    t.ok(n, "all %d logger messages are found by search" % total,
         diag=lambda: "found %s" % s.count("message LIKE 'LOGGER-%s-%%'" % rid))
    t.ok(elapsed is not None and elapsed <= 2.5,
         "searchable within 2 s of arrival (+0.5 s CLI margin)",
         diag="took %s s" % elapsed)

    cols = "hostname, appname, procid, msgid, message, payload, devicetime, starttime, " \
           "facility, priority"
    for c in cases:
        label = "%s rfc%s%s%s" % (c["transport"], c["fmt"], " +sd" if c["sd"] else "",
                                  " %d B" % len(c["lines"][0]) if len(c["lines"][0]) > 8192
                                  else "")
        if len(c["lines"]) > 1:
            label += " %d msgs on one connection" % len(c["lines"])
        rows = s.search_csv("SELECT %s FROM events WHERE appname = '%s' LAST 10 MINUTES"
                            % (cols, c["app"]))
        if not t.eq(len(rows), len(c["lines"]), "%s: found once per message by appname" % label):
            continue
        exp_host = host.split(".")[0] if c["fmt"] == "3164" else host
        bad = []
        for row in rows:
            if row.get("hostname") != exp_host:
                bad.append("hostname %r != %r" % (row.get("hostname"), exp_host))
            if row.get("procid") != c["procid"]:
                bad.append("procid %r != %r" % (row.get("procid"), c["procid"]))
            if row.get("msgid", "") != c["msgid"]:
                bad.append("msgid %r != %r" % (row.get("msgid"), c["msgid"]))
            if str(row.get("facility")) != str(FAC[c["fac"]]):
                bad.append("facility %r != %d" % (row.get("facility"), FAC[c["fac"]]))
            if str(row.get("priority")) != str(SEV[c["sev"]]):
                bad.append("priority %r != %d" % (row.get("priority"), SEV[c["sev"]]))
        t.ok(not bad, "%s: hostname, appname, procid, msgid, facility, priority" % label,
             diag="\n".join(bad[:6]))
        got_msgs = sorted(r.get("message", "") for r in rows)
        exp_msgs = sorted(c["lines"])
        t.ok(got_msgs == exp_msgs, "%s: message is the MSG part, exactly" % label,
             diag=lambda: "expected %r\n     got %r" % ([m[:120] for m in exp_msgs[:2]],
                                                      [m[:120] for m in got_msgs[:2]]))
        try:
            dts = [int(r["devicetime"]) for r in rows]
            sts = [int(r["starttime"]) for r in rows]
        except (KeyError, ValueError):
            dts, sts = [], []
        slack = 2000 if c["fmt"] == "3164" else 1000  # RFC 3164 has whole seconds only
        t.ok(dts and all(t0_ms - slack <= d <= t1_ms + 1000 for d in dts),
             "%s: devicetime is the send time" % label,
             diag="devicetime %s, sent between %d and %d" % (dts[:3], t0_ms, t1_ms))
        t.ok(sts and all(t0_ms - 1000 <= d <= t1_ms + 5000 for d in sts),
             "%s: starttime is the arrival time" % label,
             diag="starttime %s, sent between %d and %d" % (sts[:3], t0_ms, t1_ms))
        if c["sd"]:
            sd = '[test@32473 k="v w" n="%s"]' % c["procid"]
            t.ok(all(sd in r.get("payload", "") and r["payload"].startswith(
                "<%d>1 " % (FAC[c["fac"]] * 8 + SEV[c["sev"]])) for r in rows),
                "%s: payload keeps the raw message with its structured data" % label,
                diag="payload starts %r" % rows[0].get("payload", "")[:200])

    n5424 = sum(len(c["lines"]) for c in cases if c["fmt"] == "5424")
    n3164 = total - n5424
    nudp = sum(len(c["lines"]) for c in cases if c["transport"] == "udp")
    ntcpconn = sum(1 for c in cases if c["transport"] != "udp")
    st = s.stats()
    t.eq(st.get("parsed_rfc5424"), n5424, "stats parsed_rfc5424 counts the RFC 5424 messages")
    t.eq(st.get("parsed_rfc3164"), n3164, "stats parsed_rfc3164 counts the RFC 3164 messages")
    t.eq(st.get("unparsed"), 0, "stats unparsed is 0")
    t.eq(st.get("truncated"), 0, "stats truncated is 0 (largest message %d B < 64 KiB)"
         % max(len(c["lines"][0]) for c in cases))
    t.eq(st.get("udp_received"), nudp, "stats udp_received")
    t.eq(st.get("tcp_received"), total - nudp, "stats tcp_received")
    t.eq(st.get("tcp_connections"), ntcpconn, "stats tcp_connections (one per logger run)")
    t.ok(strmtest.wait_until(lambda: s.stat("tcp_active") == 0, 3), "stats tcp_active back to 0")
    t.eq(st.get("stored"), total, "stats stored")
    t.eq(st.get("store_writer_waits"), 0, "stats store_writer_waits: intake never waited")
    # the 64 MiB of memtable memory this instance takes at start are touched by a thread of
    # their own while the listeners already run: the counter goes down to 0
    t.ok(strmtest.wait_until(lambda: s.stat("memtable_prewarm_left_bytes") == 0, 10),
         "stats memtable_prewarm_left_bytes reaches 0 (pre-warming done)",
         diag="left %r" % s.stat("memtable_prewarm_left_bytes"))
    t.eq(s.stop(), 0, "SIGTERM: clean stop, exit 0")


if __name__ == "__main__":
    strmtest.run(main, budget=90)
