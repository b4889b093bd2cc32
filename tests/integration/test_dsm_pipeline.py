#!/usr/bin/python3
"""DSMs, log sources and coalescing through the real binary.

A sender with a fixed hostname sends sshd lines over TCP: they are normalized by the Linux
DSM (QIDNAME, sourceip, username), a log source is auto-discovered after 25 recognized
events (`strm logsources list`, stats logsources_created, later events carry its id),
the same event sent 10 times is stored as 3 rows + 1 coalesced row with eventcount 7 once
the window (2 s here) has ended, and the eventcount of the stored rows sums to what was
sent. Log sources and user QIDs survive a restart; `strm logsources add/edit/disable` and
`strm qid add` act on the running instance; a disabled log source's events are stored
unparsed. `strm ingest` of the OpenSSH corpus normalizes every line and creates the LabSZ
log source in config.db.
"""

import os
import socket
import time

import strmtest

WINDOW_S = 2
EXTRA = ("logsources:\n  autodetect_events: 25\n  unknown_report: 1000\n"
         "coalescing:\n  enabled: true\n  window_s: %d\n" % WINDOW_S)


def send_tcp(port, lines):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall("".join(l + "\n" for l in lines).encode())


def ssh_line(host, user, ip, port, pid=4242):
    ts = time.strftime("%b %d %H:%M:%S", time.localtime())
    ts = ts[:4] + ("%2d" % int(ts[4:6])) + ts[6:]
    return ("<38>%s %s sshd[%d]: Failed password for invalid user %s from %s port %d ssh2"
            % (ts, host, pid, user, ip, port))


def rows(s, aql):
    return s.search_csv(aql + " LAST 60 MINUTES")


def logsources(s):
    r = s.cli("logsources", "list", "--format", "csv")
    if r.returncode != 0:
        raise strmtest.HarnessError("logsources list: %s" % r.stderr)
    import csv
    import io
    return list(csv.DictReader(io.StringIO(r.stdout)))


def main(t):
    s = t.strm(name="dsm", extra=EXTRA).start()
    rid = strmtest.run_id()
    host = "dsmhost-" + rid

    # ------------------------------------------------------------ normalization, discovery
    lines = [ssh_line(host, "user%02d" % i, "198.51.100.%d" % (i + 1), 40000 + i)
             for i in range(30)]
    send_tcp(s.port, lines)
    n = strmtest.wait_until(lambda: s.count("hostname = '%s'" % host) == 30, 10)
    t.ok(n, "30 sshd lines from %s are stored" % host)
    got = rows(s, "SELECT QIDNAME(qid) AS name, sourceip, username, "
                  "LOGSOURCETYPENAME(devicetype) AS type, CATEGORYNAME(category) AS cat "
                  "FROM events WHERE hostname = '%s'" % host)
    t.eq(len(got), 30, "search returns the 30 events")
    t.ok(got and all(r["name"].startswith("SSH Login Failed") for r in got),
         "QIDNAME(qid) is the Linux DSM's SSH Login Failed QID",
         diag=lambda: repr(got[:3]))
    t.ok(got and all(r["type"] == "Linux OS" for r in got),
         "LOGSOURCETYPENAME(devicetype) = Linux OS", diag=lambda: repr(got[:3]))
    t.ok(got and all(r["cat"] == "SSH Login Failed" for r in got),
         "CATEGORYNAME(category) is the low-level category", diag=lambda: repr(got[:3]))
    want = {("198.51.100.%d" % (i + 1), "user%02d" % i) for i in range(30)}
    have = {(r["sourceip"], r["username"]) for r in got}
    t.eq(have, want, "sourceip and username extracted from every line")

    ls = strmtest.wait_until(lambda: [l for l in logsources(s) if l["identifier"] == host], 5)
    t.ok(ls and ls[0]["type"] == "linux" and ls[0]["auto"] == "yes"
         and ls[0]["name"] == "Linux OS @ " + host and ls[0]["coalesce"] == "on",
         "log source auto-created after 25 events: Linux OS @ %s" % host, diag=repr(ls))
    lsid = int(ls[0]["id"]) if ls else -1
    t.eq(s.stat("logsources_created"), 1, "stats logsources_created = 1")
    t.ok(s.stat("dsm_recognized") >= 30 and s.stat("dsm_linux") >= 30,
         "stats dsm_recognized and dsm_linux count the events")
    t.ok("log source created: Linux OS @ %s (type linux, id %d)" % (host, lsid) in s.log_text(),
         "the creation is logged with name, type and id")
    with_id = s.count("hostname = '%s' AND logsourceid = %d" % (host, lsid))
    t.ok(1 <= with_id <= 5, "events after the 25th carry the log source (%d of 5)" % with_id)
    send_tcp(s.port, [ssh_line(host, "later%d" % i, "192.0.2.%d" % (i + 1), 1000 + i)
                      for i in range(5)])
    strmtest.wait_until(lambda: s.count("hostname = '%s'" % host) == 35, 10)
    got = rows(s, "SELECT LOGSOURCENAME(logsourceid) AS ls FROM events "
                  "WHERE hostname = '%s' AND username LIKE 'later%%'" % host)
    t.ok(len(got) == 5 and all(r["ls"] == "Linux OS @ " + host for r in got),
         "LOGSOURCENAME(logsourceid) of later events is the new log source", diag=repr(got))
    n_fail = s.count("QIDNAME(qid) ILIKE '%%login failed%%' AND hostname = '%s'" % host)
    t.eq(n_fail, 35, "WHERE QIDNAME(qid) ILIKE '%login failed%' finds them all")

    # ------------------------------------------------------------ coalescing
    before = s.stats()
    same = ssh_line(host, "coal" + rid, "203.0.113.99", 5555)
    send_tcp(s.port, [same] * 10)
    uwhere = "username = 'coal%s'" % rid
    n = strmtest.wait_until(lambda: s.count(uwhere) >= 3, 10)
    t.eq(s.count(uwhere), 3, "coalescing: the first three of 10 identical events pass at once")
    time.sleep(WINDOW_S + 1.5)
    got = rows(s, "SELECT eventcount, starttime FROM events WHERE %s ORDER BY starttime" % uwhere)
    counts = sorted(int(r["eventcount"]) for r in got)
    t.eq(counts, [1, 1, 1, 7], "after the window: 3 rows + 1 coalesced row with eventcount 7")
    t.eq(sum(counts), 10, "eventcount of the stored rows sums to the 10 events sent")
    after = s.stats()
    t.eq(after.get("coalesced_in", 0) - before.get("coalesced_in", 0), 7, "stats coalesced_in +7")
    t.eq(after.get("coalesced_out", 0) - before.get("coalesced_out", 0), 1,
         "stats coalesced_out +1")
    total_rows = s.count(None)
    t.eq(total_rows, after["stored"], "rows searchable = stats stored")
    received = after["tcp_received"] + after["udp_received"]
    t.eq(after["stored"] - after["coalesced_out"] + after["coalesced_in"], received,
         "events received = stored - coalesced_out + coalesced_in")

    # ------------------------------------------------------------ management on the instance
    r = s.cli("logsources", "add", "--identifier", "manual-" + rid, "--type", "linux",
              "--name", "Manual " + rid, "--group", "lab", "--tz", "+02:00")
    t.ok(r.returncode == 0 and "added" in r.stdout, "logsources add on the running instance",
         diag=r.stderr)
    lst = [l for l in logsources(s) if l["identifier"] == "manual-" + rid]
    t.ok(lst and lst[0]["name"] == "Manual " + rid and lst[0]["group"] == "lab"
         and lst[0]["tz"] == "+02:00" and lst[0]["auto"] == "no",
         "the manual log source is listed with its name, group and time zone", diag=repr(lst))
    mid = lst[0]["id"] if lst else "0"
    r = s.cli("logsources", "edit", mid, "--coalesce", "off", "--name", "Edited " + rid)
    t.eq(r.returncode, 0, "logsources edit")
    r = s.cli("logsources", "disable", mid)
    t.eq(r.returncode, 0, "logsources disable")
    send_tcp(s.port, [ssh_line("manual-" + rid, "dis" + rid, "192.0.2.200", 7)])
    strmtest.wait_until(lambda: s.count("username IS NULL AND hostname = 'manual-%s'" % rid) or
                        s.count("hostname = 'manual-%s'" % rid), 10)
    got = rows(s, "SELECT logsourceid, QIDNAME(qid) AS q, LOGSOURCENAME(logsourceid) AS ls "
                  "FROM events WHERE hostname = 'manual-%s'" % rid)
    t.ok(len(got) == 1 and got[0]["logsourceid"] == mid and got[0]["ls"] == "Edited " + rid
         and got[0]["q"] == "Unknown log event",
         "a disabled log source's event is stored with its id, not normalized", diag=repr(got))
    r = s.cli("logsources", "edit", "999999", "--name", "x")
    t.ok(r.returncode != 0 and "no log source" in r.stderr, "edit of an unknown id fails")
    r = s.cli("logsources", "add", "--identifier", "x", "--type", "nosuchdsm")
    t.ok(r.returncode == 2 and "unknown log source type" in r.stderr, "add with a bad type: exit 2")

    r = s.cli("qid", "add", "--name", "Custom " + rid, "--category", "3003",
              "--description", "made by the test")
    t.ok(r.returncode == 0 and "QID 2000000000 added" in r.stdout,
         "qid add on the running instance", diag=r.stdout + r.stderr)
    r = s.cli("qid", "show", "2000000000")
    t.ok(r.returncode == 0 and "Custom " + rid in r.stdout, "qid show of the new QID",
         diag=r.stdout + r.stderr)
    r = s.cli("qid", "list", "--dsm", "linux", "--format", "csv")
    t.ok(r.returncode == 0 and "SSH Login Failed" in r.stdout and "Custom" not in r.stdout,
         "qid list --dsm linux")
    r = s.cli("qid", "list", "--category", "3003", "--format", "csv")
    t.ok(r.returncode == 0 and "Custom " + rid in r.stdout, "qid list --category 3003")

    # ------------------------------------------------------------ restart
    t.eq(s.stop(), 0, "clean stop")
    r = s.cli("qid", "show", "2000000000")
    t.ok(r.returncode == 0 and "Custom " + rid in r.stdout,
         "the user QID is in config.db (no instance running)", diag=r.stderr)
    lst = logsources(s)
    mine = [l for l in lst if l["identifier"] == host]
    # 5 + 5 + 10 events carried its id (the 25 that discovered it carry 0)
    t.ok(mine and int(mine[0]["events"]) == 20,
         "log source and its event count are in config.db after stop", diag=repr(lst))
    s.start()
    lst = logsources(s)
    mine = [l for l in lst if l["identifier"] == host]
    t.ok(mine and mine[0]["id"] == str(lsid), "after restart the log source is still there")
    send_tcp(s.port, [ssh_line(host, "restart%d" % i, "192.0.2.%d" % (50 + i), 2000 + i)
                      for i in range(3)])
    strmtest.wait_until(lambda: s.count("username LIKE 'restart%%'") == 3, 10)
    got = rows(s, "SELECT logsourceid, QIDNAME(qid) AS q FROM events "
                  "WHERE username LIKE 'restart%'")
    t.ok(len(got) == 3 and all(g["logsourceid"] == str(lsid) for g in got),
         "after restart events go to the same log source at once", diag=repr(got))
    r = s.search("SELECT QIDNAME(qid) FROM events WHERE qid = 2000000000")
    t.eq(r.returncode, 0, "user QID known to AQL after restart")
    r = s.search("SELECT NOSUCH(qid) FROM events")
    t.ok(r.returncode == 2 and "unknown function 'NOSUCH'" in r.stderr
         and "--functions" in r.stderr,
         "unknown AQL function: exit 2, points to strm search --functions", diag=r.stderr)
    r = s.search("SELECT QIDNAM(qid) FROM events")
    t.ok(r.returncode == 2 and "did you mean 'QIDNAME'" in r.stderr,
         "misspelled AQL function: exit 2 with a suggestion", diag=r.stderr)
    s.stop()

    # ------------------------------------------------------------ strm ingest
    path = os.path.join(strmtest.CORPUS, "syslog", "openssh", "OpenSSH_2k.log")
    if not os.path.exists(path):
        t.skip("ingest of OpenSSH_2k.log", "corpus missing")
        return
    with open(path, errors="replace") as f:
        text = f.read().splitlines()
    n_failed = sum(1 for l in text if "]: Failed password" in l)
    g = t.strm(name="ingest", udp=False, tcp=False, extra=EXTRA)
    r = g.cli("ingest", path, timeout=120)
    t.eq(r.returncode, 0, "ingest OpenSSH_2k.log")
    t.eq(g.count(None), 2000, "ingest stores every line (no coalescing by default)")
    t.eq(g.count("QIDNAME(qid) IS NULL"), 0, "every ingested line has a QID name")
    t.eq(g.count("message LIKE 'Failed password%' AND QIDNAME(qid) ILIKE 'SSH Login Failed%'"),
         n_failed, "every 'Failed password' line is an SSH Login Failed QID (%d)" % n_failed)
    t.eq(g.count("LOGSOURCETYPENAME(devicetype) = 'Linux OS'"), 2000, "all normalized by Linux")
    lst = logsources(g)
    t.ok(len(lst) == 1 and lst[0]["identifier"] == "LabSZ" and lst[0]["type"] == "linux",
         "ingest created the LabSZ log source in config.db", diag=repr(lst))
    named = g.count("LOGSOURCENAME(logsourceid) = 'Linux OS @ LabSZ'")
    unnamed = g.count("logsourceid = 0")
    t.ok(named + unnamed == 2000 and unnamed >= 25 and named > 0,
         "events after discovery carry it (%d), the first ones do not (%d)" % (named, unnamed))


strmtest.run(main, budget=180)
