#!/usr/bin/python3
"""The strm command line: config errors (exit 2 naming key and line), listener lists set to
[], AQL syntax errors (exit 2 with the position), stats without an instance (exit 1), search
without an instance (read-only store), ingest of the OpenSSH corpus (2000 lines) and from
stdin, the store lock against ingest while running, AQL operators checked against counts
computed here from the same file, and the table/csv/json output formats."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

OPENSSH = os.path.join(strmtest.CORPUS, "syslog", "openssh", "OpenSSH_2k.log")
WIDE = "LAST 3650 DAYS"
LINE_RE = re.compile(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[:]+)\[(\d+)\]: (.*)$")


def config_errors(t):
    cases = [
        ("unknown key", "data_dir: {d}\nsyslog:\n  udp: []\n  bogus_key: 1\n  tcp: []\n",
         "bogus_key", 4),
        ("unknown top-level key", "data_dir: {d}\nstorage:\n  fsync: interval\nfrobnicate: yes\n",
         "frobnicate", 4),
        ("bad port 99999", "data_dir: {d}\nsyslog:\n  udp: [\"127.0.0.1:99999\"]\n  tcp: []\n",
         "udp", 3),
        ("non-numeric port", "data_dir: {d}\nsyslog:\n  udp: []\n  tcp: [\"127.0.0.1:http\"]\n",
         "tcp", 4),
        ("bad fsync value", "data_dir: {d}\nstorage:\n  fsync: sometimes\n", "fsync", 3),
    ]
    for label, text, key, line in cases:
        s = t.strm(name="cfg", config_text=text.format(d="/tmp/never-used-%s" %
                                                        strmtest.run_id()))
        r = strmtest.run_cmd([strmtest.STRM, "run", "--config", s.config], timeout=10)
        msg = r.stderr + r.stdout
        t.eq(r.returncode, 2, "config error (%s): strm run exits 2" % label)
        t.ok(key in msg and re.search(r"(line\s*%d\b|:%d\b)" % (line, line), msg),
             "config error (%s): message names key '%s' and line %d" % (label, key, line),
             diag="stderr: %r" % msg[-400:])


def main(t):
    strmtest.require_binary(t)
    rid = strmtest.run_id()
    config_errors(t)

    # listener lists set to []: that transport is off
    s0 = t.strm(name="nolisten", udp=False, tcp=True).start()
    t.ok(strmtest.tcp_connects(s0.port), "tcp: [\"...\"] binds the TCP port")
    t.ok(not strmtest.port_is_bound_udp(s0.port), "udp: [] binds no UDP port")
    t.eq(s0.stop(), 0, "clean stop (udp off)")
    s1 = t.strm(name="nolisten2", udp=False, tcp=False).start()
    t.ok(not strmtest.tcp_connects(s1.port) and not strmtest.port_is_bound_udp(s1.port),
         "udp: [] and tcp: []: runs, binds nothing")
    t.eq(s1.stats().get("tcp_received"), 0, "stats answers with no listener")
    t.eq(s1.stop(), 0, "clean stop (no listeners)")

    s = t.strm(name="cli", udp=False, tcp=True)
    r = s.cli("stats", timeout=10)
    t.eq(r.returncode, 1, "strm stats with no instance running exits 1")

    # AQL syntax errors (no instance: read-only path; the store may not exist yet)
    for aql, token in (("SELECT * FORM events", "FORM"),
                       ("SELECT hostname FROM events WHERE", None),
                       ("SELECT COUNT(*) FROM events WHERE hostname = 'x' LIMIT abc", "abc")):
        pos = aql.index(token) if token else len(aql)
        r = s.search(aql, "csv", timeout=10)
        out = r.stderr + r.stdout
        t.eq(r.returncode, 2, "syntax error exits 2: %s" % aql)
        t.ok(re.search(r"\b(%d|%d)\b" % (pos, pos + 1), out),
             "syntax error shows the position (%d, or %d counting from 1): %s" % (pos, pos + 1,
                                                                                  aql),
             diag="output: %r" % out[-300:])

    if not os.path.exists(OPENSSH):
        t.skip("ingest of OpenSSH_2k.log", "corpus missing at %s" % OPENSSH)
        return
    with open(OPENSSH, encoding="utf-8", errors="replace") as f:
        lines = [ln.rstrip("\n") for ln in f]
    parsed = [LINE_RE.match(ln) for ln in lines]
    if len(lines) != 2000 or not all(parsed):
        raise strmtest.HarnessError("corpus changed: %d lines" % len(lines))

    t0 = time.monotonic()
    r = s.cli("ingest", OPENSSH, timeout=120)
    t.eq(r.returncode, 0, "strm ingest OpenSSH_2k.log exits 0 (%.1f s)" % (time.monotonic() - t0))
    if r.returncode != 0:
        strmtest.diag(r.stderr[-1000:])
    t.eq(s.count(None, None), 2000, "no instance: SELECT COUNT(*) FROM events (default window) "
         "= 2000 (read-only store)")
    t.eq(s.count("hostname = 'LabSZ'", None), 2000, "hostname = 'LabSZ' returns 2000")
    t.ok(not os.path.exists(s.sock_path), "read-only search leaves no control socket behind")

    # operators, checked against counts computed here from the same file
    msgs = [m.group(5) for m in parsed]
    pids = [m.group(4) for m in parsed]

    def n(pred):
        return sum(1 for i in range(2000) if pred(i))

    checks = [
        ("message LIKE '%Invalid user%'", n(lambda i: "Invalid user" in msgs[i])),
        ("message ILIKE '%invalid USER%'", n(lambda i: "invalid user" in msgs[i].lower())),
        ("procid = '24200'", n(lambda i: pids[i] == "24200")),
        ("procid != '24200'", n(lambda i: pids[i] != "24200")),
        ("NOT message LIKE '%preauth%'", n(lambda i: "preauth" not in msgs[i])),
        ("procid = '24200' OR message LIKE 'Failed password%'",
         n(lambda i: pids[i] == "24200" or msgs[i].startswith("Failed password"))),
        ("appname = 'sshd' AND message LIKE '%root%'", n(lambda i: "root" in msgs[i])),
        ("procid > '25000'", n(lambda i: pids[i] > "25000")),
        ("procid <= '24500'", n(lambda i: pids[i] <= "24500")),
        ("message LIKE 'Received disconnect from _%'",
         n(lambda i: msgs[i].startswith("Received disconnect from ") and len(msgs[i]) > 25)),
    ]
    for where, expected in checks:
        got = s.count(where, WIDE)
        t.eq(got, expected, "WHERE %s -> %d" % (where, expected))
    rows = s.search_csv("SELECT message FROM events WHERE hostname = 'LabSZ' %s" % WIDE)
    got = sorted(r.get("message", "") for r in rows)
    exp = sorted(msgs)
    exact = sum(1 for a, b in zip(got, exp) if a == b)
    t.ok(got == exp, "every stored message equals the MSG part of its line",
         diag=lambda: "%d of %d equal; first differences: %r" % (
             exact, len(exp), [(a, b) for a, b in zip(got, exp) if a != b][:3]))
    rows = s.search_csv("SELECT devicetime, procid FROM events WHERE hostname = 'LabSZ' "
                        "ORDER BY devicetime ASC LIMIT 3 %s" % WIDE)
    t.ok(len(rows) == 3 and rows[0].get("procid") == "24200",
         "ORDER BY devicetime ASC LIMIT 3: first row is the first line (pid 24200)",
         diag=repr(rows))
    try:
        dt = int(rows[0]["devicetime"]) / 1000.0
        lt = time.localtime(dt)
        ok = (lt.tm_mon, lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec) == (12, 10, 6, 55, 46)
        ok = ok and time.time() - 366 * 86400 < dt <= time.time() + 86400
    except (KeyError, ValueError, IndexError):
        ok, dt = False, None
    t.ok(ok, "devicetime of 'Dec 10 06:55:46' is Dec 10 06:55:46 local, within the last year",
         diag="devicetime %r" % dt)

    # ingest from stdin
    stdin_lines = ["<38>Nov  1 10:00:%02d stdinhost stdinapp[%d]: STDIN-%s-%02d via -"
                   % (i, 100 + i, rid, i) for i in range(50)]
    r = s.cli("ingest", "-", input="\n".join(stdin_lines) + "\n", timeout=60)
    t.eq(r.returncode, 0, "strm ingest - (stdin) exits 0")
    t.eq(s.count("message LIKE 'STDIN-%s-%%'" % rid, WIDE), 50, "50 lines from stdin stored")
    rows = s.search_csv("SELECT hostname, appname, procid, facility, priority FROM events "
                        "WHERE hostname = 'stdinhost' %s" % WIDE)
    t.ok(len(rows) == 50 and all(r.get("appname") == "stdinapp" and r.get("facility") == "4"
                                 and r.get("priority") == "6" for r in rows),
         "stdin lines parsed: hostname, appname, facility 4, priority 6",
         diag=repr(rows[:2]))
    t.eq(s.count(None, WIDE), 2050, "total after both ingests = 2050")

    # running instance: search goes to it; ingest is refused (store lock)
    s.start()
    t.eq(s.count("hostname = 'LabSZ'", WIDE), 2000, "running instance serves the same data")
    r = s.cli("ingest", "-", input="<13>Nov  1 10:00:00 h a: LOCKED-%s\n" % rid, timeout=20)
    t.ok(r.returncode != 0, "ingest while an instance runs is refused (store lock)",
         diag="exit %d, stderr %r" % (r.returncode, r.stderr[-200:]))
    t.ok(s.alive(), "instance still running after the refused ingest")

    # output formats
    q = "SELECT hostname, procid, message FROM events WHERE hostname = 'LabSZ' " \
        "ORDER BY devicetime ASC LIMIT 5 %s" % WIDE
    r = s.search(q, "json")
    try:
        doc = json.loads(r.stdout)
        ev = doc["events"]
        ok = len(ev) == 5 and all(e.get("hostname") == "LabSZ" and e.get("message") in
                                     msgs[:5] for e in ev)
    except (ValueError, KeyError, TypeError) as e:
        ok, doc = False, repr(e)
    t.ok(r.returncode == 0 and ok, "--format json parses: {\"events\": [5 rows]} with fields",
         diag="exit %d: %r" % (r.returncode, r.stdout[:300]))
    r = s.search(q, "csv")
    lines_csv = r.stdout.splitlines()
    t.ok(r.returncode == 0 and len(lines_csv) == 6 and
         [c.strip() for c in lines_csv[0].split(",")] == ["hostname", "procid", "message"],
         "--format csv: header row then one row per result", diag=repr(lines_csv[:3]))
    r = s.search(q, "table")
    t.ok(r.returncode == 0 and "hostname" in r.stdout and r.stdout.count("LabSZ") == 5,
         "--format table: header and 5 rows", diag=r.stdout[:400])
    r = s.search("SELECT * FROM events WHERE hostname = 'LabSZ' LIMIT 1 %s" % WIDE, "json")
    try:
        e = json.loads(r.stdout)["events"][0]
        need = {"starttime", "devicetime", "hostname", "appname", "procid", "msgid", "message",
                "payload", "facility", "priority", "severity", "sourceip", "username", "qid"}
        missing = need - set(e)
    except (ValueError, KeyError, IndexError, TypeError) as ex:
        missing = {"<%r>" % ex}
    t.ok(not missing, "SELECT * includes the documented columns", diag="missing %s" % missing)

    # awkward bytes survive csv and json output
    esc = [b'ESC-%s-quote "double" and, comma' % rid.encode(),
           b"ESC-%s-backslash \\ and tab\there" % rid.encode(),
           b"ESC-%s-ctrl \x01\x1b[31m bell\x07" % rid.encode(),
           b"ESC-%s-utf8 gr\xc3\xbc\xc3\x9fe \xe2\x82\xac" % rid.encode(),
           b"ESC-%s-bad utf8 \xff\xfe\xc3(" % rid.encode()]
    t.eq(s.stop(), 0, "clean stop before the ingest of awkward bytes")
    r = s.cli("ingest", "-", input=b"".join(b"<13>Nov  1 10:00:00 eschost escapp: " + m + b"\n"
                                            for m in esc), timeout=30)
    t.eq(r.returncode, 0, "ingest of lines with quotes, commas, control bytes, bad UTF-8")
    s.start()
    q = "SELECT message FROM events WHERE hostname = 'eschost' %s" % WIDE
    r = s.search(q, "json")
    try:
        got = sorted(e["message"] for e in json.loads(r.stdout)["events"])
        err = None
    except (ValueError, KeyError, TypeError) as e:
        got, err = [], e
    t.ok(err is None and len(got) == 5, "--format json stays valid JSON with control bytes and "
         "invalid UTF-8", diag="%r; output %r" % (err, r.stdout[:600]))
    clean = [m.decode() for m in esc[:2] + esc[3:4]]
    t.ok(all(m in got for m in clean), "--format json: quotes, backslash, tab, UTF-8 exact",
         diag="expected %r\n     got %r" % (clean, got))
    rows = s.search_csv(q)
    got = [r.get("message") for r in rows]
    t.ok(len(rows) == 5 and all(m in got for m in clean[:2]),
         "--format csv: quoting keeps commas, quotes and tabs inside one field",
         diag="got %r" % got)

    # errors reported by the running instance as well
    aql = "SELECT * FORM events"
    r = s.search(aql, "csv")
    t.ok(r.returncode == 2 and re.search(r"\b(9|10)\b", r.stderr + r.stdout),
         "running instance: syntax error exits 2 with the position",
         diag="exit %d: %r" % (r.returncode, (r.stderr + r.stdout)[-300:]))
    r = s.search("SELECT nosuchcolumn FROM events", "csv")
    t.ok(r.returncode == 2 and "nosuchcolumn" in r.stderr + r.stdout,
         "unknown column: exit 2 naming it",
         diag="exit %d: %r" % (r.returncode, (r.stderr + r.stdout)[-300:]))
    r = s.search("SELECT hostname FROM events WHERE hostname = 'nomatch-%s' LAST 1 HOURS" % rid,
                 "csv")
    t.ok(r.returncode == 0 and r.stdout.strip() == "hostname",
         "empty result: CSV header only", diag=repr(r.stdout[:200]))
    t.eq(s.count("hostname = 'LabSZ'", "LAST 1 HOURS"), 2000, "LAST 1 HOURS covers the ingest")

    # a second instance on the same data dir must not start
    p2 = strmtest.start_proc([strmtest.STRM, "run", "--config", s.config],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rc2 = p2.wait(timeout=10)
        out2 = p2.stderr.read().decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc2, out2 = None, "still running after 10 s"
        strmtest.stop_proc(p2)
    t.ok(rc2 not in (0, None), "a second strm run on the same data dir refuses to start",
         diag="exit %s: %r" % (rc2, out2[-300:]))
    t.ok(s.alive() and s.count("hostname = 'LabSZ'", WIDE) == 2000,
         "the first instance keeps running and serving")
    t.eq(strmtest.stop_proc(s.proc, 15, signal.SIGINT), 0, "SIGINT: clean stop, exit 0")
    s.proc = None

    # a listener port that is taken: error naming the address
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    bport = busy.getsockname()[1]
    sb = t.strm(name="busy", config_text="data_dir: %s/data\nsyslog:\n  udp: []\n  tcp: "
                "[\"127.0.0.1:%d\"]\n" % (t.tempdir("busy"), bport))
    r = strmtest.run_cmd([strmtest.STRM, "run", "--config", sb.config], timeout=15)
    busy.close()
    t.ok(r.returncode != 0 and "%d" % bport in r.stderr,
         "TCP port in use: strm run fails, naming the address",
         diag="exit %d: %r" % (r.returncode, r.stderr[-300:]))


if __name__ == "__main__":
    strmtest.run(main, budget=150)
