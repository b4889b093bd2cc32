#!/usr/bin/python3
"""test_flows - flows with real peers (issue 6): the capture is made here, between two network
namespaces, and every figure openstrm stores is compared with the exporter's own and with
tshark's reading of the same packets.

1. capture: servers in namespace B (HTTP, TLS listener, DNS, SSH banner, UDP echo), clients in
   A and B (HTTP GETs with Host headers, a 1.5 MB transfer, a TLS ClientHello with SNI, DNS
   queries, an SSH banner exchange, ICMP echo, IPv6 HTTP, UDP echo from "remote" addresses),
   recorded with tcpdump -w on A's veth; reference figures read with tshark.
2. softflowd -r <pcap> exporting NetFlow v5, v9 and IPFIX to `strm run`: records, bytes and
   packets equal softflowd's own statistics and the pcap's (v5: IPv4 only), per 5-tuple.
3. nfcapd records softflowd's v9 export; nfreplay replays the file as v9 and v5 to openstrm:
   totals equal nfdump's summary of the file.
   IPFIX biflows (softflowd -b) over UDP and IPFIX over TCP (softflowd -P tcp) to
   ipfix.udp / ipfix.tcp.
4. sFlow: pmacctd's sfprobe reading the pcap (sampling 1, then 1/4): records, bytes
   (frame length x rate) and packets equal what the agent sent; at rate 1 every IP packet of
   the pcap is there.
5. `strm ingest --pcap`: bidirectional flows equal tshark's conversations (conv,tcp/udp:
   frames; bytes from the IP lengths), application detection (HTTP Host, TLS SNI, DNS name,
   SSH banner); a live `flows.capture` run of strm inside namespace A against tcpdump.
6. Network hierarchy: 198.18.10.0/24 local: L2L, L2R, R2L, R2R; NETWORKNAME; INCIDR.
7. tshark's cflow / sflow dissectors on the export captured on loopback: their record counts
   and totals equal openstrm's per-exporter records counter and sums.
Skips (one `# SKIP` line) when not root or without network namespaces.
"""

import os
import re
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowpeers as fp  # noqa: E402
import strmtest  # noqa: E402
from strmtest import diag, wait_until  # noqa: E402

WINDOW = "LAST 1 DAYS"
NET_NAME = "Test.LAN"  # FULLNETWORKNAME; NETWORKNAME is the leaf
NET_LEAF = "LAN"
PAD_BYTES = bytes(int(x) for x in fp.PAD_SRC.split("."))
NETWORKS = "networks:\n  - name: %s\n    cidr: %s\n" % (NET_NAME, fp.LAN_CIDR)
ROW_COLS = ("sourceip, destinationip, sourceport, destinationport, protocolid, sourcebytes, "
            "sourcepackets, destinationbytes, destinationpackets, applicationid, "
            "APPLICATIONNAME(applicationid) AS app, applicationdetail, flowdirection, "
            "NETWORKNAME(sourceip) AS snet, FULLNETWORKNAME(sourceip) AS sfull, icmptype, "
            "icmpcode, flowtype, flowsource")


def is4(p):
    return p["ver"] == 4


def sums(s, where):
    rows = s.search_csv("SELECT COUNT(*) AS n, SUM(sourcebytes) AS sb, SUM(sourcepackets) AS sp, "
                        "SUM(destinationbytes) AS db, SUM(destinationpackets) AS dp FROM flows "
                        "WHERE %s %s" % (where, WINDOW))
    if len(rows) != 1:
        raise strmtest.HarnessError("sums gave %r" % rows)
    return {k: int(v or 0) for k, v in rows[0].items()}


def rows_of(s, where):
    return s.search_csv("SELECT %s FROM flows WHERE %s %s" % (ROW_COLS, where, WINDOW))


def ip_of(text):
    """An address as openstrm prints it; the IPv6 unspecified address :: (source of MLD
    reports) prints as null (empty), so empty reads as ::."""
    return fp.norm_ip(text) if text else "::"


def dict_eq(tp, got, want, desc):
    """eq for dicts with a short diagnostic: only the keys that differ."""
    diff = {k: (want.get(k), got.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    return tp.ok(not diff, desc, diag="key: (expected, got)\n" + "\n".join(
        "%r: %r" % kv for kv in sorted(diff.items(), key=repr)[:20]))


def key5(r):
    return (ip_of(r["sourceip"]), ip_of(r["destinationip"]), int(r["protocolid"]),
            int(r["sourceport"] or 0), int(r["destinationport"] or 0))


def unidir_from_rows(rows):
    """{5-tuple: [bytes, packets]} from exporter records (TCP/UDP by ports, others by
    addresses and protocol: exporters put ICMP type/code in the port fields)."""
    out = {}
    for r in rows:
        k = key5(r)
        if k[2] not in (6, 17):
            k = k[:3] + (0, 0)
        e = out.setdefault(k, [0, 0])
        e[0] += int(r["sourcebytes"])
        e[1] += int(r["sourcepackets"])
    return out


def unidir_ref(pkts, pred):
    out = {}
    for k, v in fp.unidir_flows(pkts, pred).items():
        if k[2] not in (6, 17):
            k = k[:3] + (0, 0)
        e = out.setdefault(k, [0, 0])
        e[0] += v[0]
        e[1] += v[1]
    return out


def exporter_lines(s):
    """`strm stats` exporter lines: [{exporter, domain, type, packets, records, ...}]."""
    r = s.cli("stats", timeout=20)
    out = []
    for line in r.stdout.splitlines():
        m = re.match(r"exporter (\S+) domain (\d+) type (.+?) packets (\d+) (.*)$", line)
        if not m:
            continue
        e = {"exporter": m.group(1), "domain": int(m.group(2)), "type": m.group(3),
             "packets": int(m.group(4))}
        kv = m.group(5).split()
        for i in range(0, len(kv) - 1, 2):
            try:
                e[kv[i]] = int(kv[i + 1])
            except ValueError:
                e[kv[i]] = kv[i + 1]
        out.append(e)
    return out


def exporter_sum(s, ftype, field, exporter=None):
    return sum(e.get(field, 0) for e in exporter_lines(s)
               if e["type"] == ftype and (exporter is None or e["exporter"] == exporter))


def wait_sums(s, where, want_n, timeout=20):
    """Waits until the flows matching where number want_n (or stop growing); returns sums."""
    last = [None]

    def cond():
        last[0] = sums(s, where)
        return last[0]["n"] >= want_n

    wait_until(cond, timeout, 0.2)
    return last[0] or sums(s, where)


def section(t, name, fn, *args):
    try:
        return fn(t, *args)
    except Exception as e:  # noqa: B902 - one section's failure must not hide the others
        t.ok(False, "%s: %s: %s" % (name, type(e).__name__, str(e).splitlines()[0] if str(e)
                                     else ""))
        diag(traceback.format_exc())
        for inst in t.instances:
            if inst.proc is not None:
                t.diag_log(inst, 15)
        return None


# --------------------------------------------------------------------------- 1. capture


def check_capture(t, ctx):
    rep, pkts = ctx["report"], ctx["pkts"]
    t.ok(rep.get("http1", 0) > fp.BIG_BYTES and rep.get("ssh", "").startswith("SSH-2.0-")
         and rep.get("dns1234", 0) > 0 and rep.get("r2l", 0) > 0 and rep.get("r2r", 0) > 0,
         "capture: the clients' traffic went through (HTTP, large transfer, DNS, SSH, echo)",
         diag=repr(rep))
    protos = {p["proto"] for p in pkts}
    v6 = sum(1 for p in pkts if p["ver"] == 6)
    t.ok({1, 6, 17} <= protos and v6 > 0 and len(pkts) > 1000,
         "capture: %d IP packets (TCP, UDP, ICMP, %d IPv6) recorded by tcpdump" % (len(pkts), v6),
         diag="protocols %r" % sorted(protos))


# --------------------------------------------------------------------------- 2. softflowd


def softflowd_section(t, ctx):
    pkts, pcap = ctx["pkts"], ctx["pcap"]
    nport = strmtest.free_port(("udp",))
    s = t.strm(name="softflowd", extra='netflow:\n  udp: ["127.0.0.1:%d"]\n' % nport + NETWORKS)
    s.start()
    lo = fp.Tcpdump(strmtest.start_proc, strmtest.stop_proc,
                    os.path.join(s.dir, "export.pcap"), "lo",
                    bpf="udp and dst port %d" % nport).start()
    work = s.dir
    runs = ((5, "NetFlow v5", is4), (9, "NetFlow v9", None), (10, "IPFIX", None))
    got = {}
    try:
        for version, ftype, pred in runs:
            tp = t.prefixed("softflowd -v %d: " % version)
            res = fp.softflowd_export(pcap, "127.0.0.1:%d" % nport, version, work)
            refb, refp = fp.totals(pkts, pred)
            ref = unidir_ref(pkts, pred)
            tp.eq((res["octets"], res["packets"]), (refb, refp),
                  "the exporter's own byte and packet totals equal the pcap's (tshark)")
            where = "flowtype = '%s'" % ftype
            su = wait_sums(s, where, res["records"] or 1)
            got[ftype] = (res, su)
            tp.eq(su["n"], res["records"], "records stored = records softflowd exported (%s)"
                  % res["records"])
            tp.eq(su["sb"], res["octets"], "SUM(sourcebytes) = softflowd's octets (%d)"
                  % res["octets"])
            tp.eq(su["sp"], res["packets"], "SUM(sourcepackets) = softflowd's packets (%d)"
                  % res["packets"])
            tp.eq((su["db"], su["dp"]), (0, 0), "unidirectional records: no destination bytes")
            rows = rows_of(s, where)
            dict_eq(tp, unidir_from_rows(rows), ref, "every 5-tuple's bytes and packets equal the "
                  "pcap's (%d flows)" % len(ref))
            if version == 9:
                tp.ok(any(":" in r["sourceip"] for r in rows), "IPv6 flows decoded",
                      diag=[r["sourceip"] for r in rows])
            if version == 9:
                ctx["unidir_rows"] = rows
        # 7. counters and tshark on the export
        rc, dropped, _ = lo.stop()
        lo = None
        ts = fp.tshark_cflow(os.path.join(s.dir, "export.pcap"), nport)
        for version, ftype, pred in runs:
            res, su = got.get(ftype, ({}, {}))
            tp = t.prefixed("softflowd -v %d: " % version)
            wait_until(lambda: exporter_sum(s, ftype, "records") >= su.get("n", 1), 10)
            tp.eq(exporter_sum(s, ftype, "records"), su.get("n"),
                  "`strm stats` exporter records counter = records stored")
            tp.eq(exporter_sum(s, ftype, "packets"), res.get("datagrams"),
                  "exporter packets counter = datagrams softflowd sent")
            bad = sum(exporter_sum(s, ftype, f) for f in ("malformed", "unknown_template_drops",
                                                           "sequence_lost"))
            tp.eq(bad, 0, "no malformed, unknown-template or sequence-lost counts")
            tsv = ts.get(version, [0, 0, 0])
            tp.eq((tsv[0], tsv[1], tsv[2]), (su.get("n"), su.get("sb"), su.get("sp")),
                  "tshark's cflow decode of the export (records, octets, packets) = openstrm's")
        t.eq(dropped, 0, "softflowd: loopback capture of the export complete")
        ctx["softflowd_strm"] = s
    finally:
        if lo is not None:
            lo.stop()
        s.stop()


# --------------------------------------------------------------------------- 3. nfdump


def nfreplay_section(t, ctx):
    pcap = ctx["pcap"]
    for tool in ("nfcapd", "nfdump", "nfreplay"):
        if not fp._which(tool):
            t.skip("nfreplay", "%s not installed" % tool)
            return
    nfdir = os.path.join(t.tempdir("nfcapd"), "flows")
    os.makedirs(nfdir)
    cport = strmtest.free_port(("udp",))
    log = open(os.path.join(nfdir, "..", "nfcapd.log"), "wb")
    nfc = strmtest.start_proc(["nfcapd", "-w", nfdir, "-p", str(cport), "-b", "127.0.0.1", "-t",
                               "3600"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    time.sleep(0.5)
    try:
        ok = wait_until(lambda: strmtest.port_is_bound_udp(cport), 10)
        if not ok:
            raise strmtest.HarnessError("nfcapd did not bind its port")
        res = fp.softflowd_export(pcap, "127.0.0.1:%d" % cport, 9, nfdir + "/..")
        time.sleep(0.5)
    finally:
        strmtest.stop_proc(nfc, 15)
    files = [f for f in os.listdir(nfdir) if re.match(r"nfcapd\.\d{12}$", f)]
    if len(files) != 1:
        raise strmtest.HarnessError("nfcapd left %r" % os.listdir(nfdir))
    nffile = os.path.join(nfdir, files[0])
    flows9, bytes9, pk9 = fp.nfdump_summary(nffile)
    flows5, bytes5, pk5 = fp.nfdump_summary(nffile, "ipv4")
    t.eq((flows9, bytes9, pk9), (res["records"], res["octets"], res["packets"]),
         "nfcapd: the file holds what softflowd exported (nfdump summary)")

    nport = strmtest.free_port(("udp",))
    s = t.strm(name="nfreplay", extra='netflow:\n  udp: ["127.0.0.1:%d"]\n' % nport + NETWORKS)
    s.start()
    try:
        for version, ftype, want in ((9, "NetFlow v9", (flows9, bytes9, pk9)),
                                     (5, "NetFlow v5", (flows5, bytes5, pk5))):
            r = fp.run(["nfreplay", "-r", nffile, "-H", "127.0.0.1", "-p", str(nport), "-v",
                        str(version)], timeout=60, check=False)
            t.eq(r.returncode, 0, "nfreplay -v %d exit 0" % version)
            su = wait_sums(s, "flowtype = '%s'" % ftype, want[0])
            t.eq((su["n"], su["sb"], su["sp"]), want,
                 "nfreplay -v %d: flows, bytes, packets = nfdump -r %s%s" %
                 (version, files[0], " ipv4" if version == 5 else ""))
            t.eq(exporter_sum(s, ftype, "records"), want[0],
                 "nfreplay -v %d: exporter records counter = nfdump's flows" % version)
    finally:
        s.stop()


def ipfix_section(t, ctx):
    """softflowd IPFIX biflows over UDP (ipfix.udp), then plain IPFIX over TCP (ipfix.tcp)."""
    pkts, pcap = ctx["pkts"], ctx["pcap"]
    uport = strmtest.free_port(("udp",))
    tport = strmtest.free_port(("tcp",))
    s = t.strm(name="ipfix", extra='ipfix:\n  udp: ["127.0.0.1:%d"]\n  tcp: ["127.0.0.1:%d"]\n'
               % (uport, tport) + NETWORKS)
    s.start()
    try:
        res = fp.softflowd_export(pcap, "127.0.0.1:%d" % uport, 10, s.dir, extra=("-b",))
        conv = fp.conversations(pkts)
        allb, allp = fp.totals(pkts)
        su = wait_sums(s, "flowtype = 'IPFIX'", res["records"] or 1)
        tp = t.prefixed("IPFIX biflow (softflowd -b): ")
        tp.eq(su["n"], res["records"], "records stored = softflowd's (%s)" % res["records"])
        tp.eq((su["sb"] + su["db"], su["sp"] + su["dp"]), (allb, allp),
              "source + destination (reverse, enterprise 29305) bytes and packets = the pcap's")
        tp.ok(su["db"] > fp.BIG_BYTES, "reverse octets decoded (destinationbytes %d)" % su["db"])
        # per address pair: the two directions, whichever end softflowd calls the source
        want = {}
        for k, v in conv.items():
            a, ap, b, bp, proto = k
            if proto not in (6, 17):
                continue
            want[frozenset([(a, ap), (b, bp)])] = {((a, ap), v["sb"], v["sp"]),
                                                   ((b, bp), v["db"], v["dp"])}
        got = {}
        for r in rows_of(s, "flowtype = 'IPFIX' AND (protocolid = 6 OR protocolid = 17)"):
            src = (fp.norm_ip(r["sourceip"]), int(r["sourceport"]))
            dst = (fp.norm_ip(r["destinationip"]), int(r["destinationport"]))
            got[frozenset([src, dst])] = {(src, int(r["sourcebytes"]), int(r["sourcepackets"])),
                                          (dst, int(r["destinationbytes"]),
                                           int(r["destinationpackets"]))}
        dict_eq(tp, got, want, "every TCP/UDP biflow: both directions' bytes and packets = the pcap's")

        # IPFIX over TCP (templates scoped to the session)
        res2 = fp.softflowd_export(pcap, "127.0.0.1:%d" % tport, 10, s.dir, extra=("-P", "tcp"))
        tp = t.prefixed("IPFIX over TCP (softflowd -P tcp): ")
        want_n = su["n"] + (res2["records"] or 0)
        su2 = wait_sums(s, "flowtype = 'IPFIX'", want_n)
        tp.eq(su2["n"] - su["n"], res2["records"], "records stored = softflowd's (%s)"
              % res2["records"])
        tp.eq((su2["sb"] - su["sb"], su2["sp"] - su["sp"]), (res2["octets"], res2["packets"]),
              "bytes and packets = softflowd's")
        st = s.stats()
        tp.ok(st.get("ipfix_tcp_connections", 0) >= 1 and st.get("ipfix_tcp_bad_frames", 0) == 0,
              "ipfix_tcp_connections >= 1, ipfix_tcp_bad_frames 0",
              diag="%r" % {k: v for k, v in st.items() if k.startswith("ipfix")})
    finally:
        s.stop()


# --------------------------------------------------------------------------- 4. sFlow


def sflow_section(t, ctx):
    pkts, pcap = ctx["pkts"], ctx["pcap"]
    if not fp._which("pmacctd"):
        t.skip("sFlow (pmacctd sfprobe)", "pmacctd not installed")
        return
    sport = strmtest.free_port(("udp",))
    s = t.strm(name="sflow", extra='sflow:\n  udp: ["127.0.0.1:%d"]\n' % sport + NETWORKS)
    s.start()
    padded = os.path.join(s.dir, "padded.pcap")
    fp.pad_pcap(pcap, padded)
    lo = fp.Tcpdump(strmtest.start_proc, strmtest.stop_proc, os.path.join(s.dir, "sflow.pcap"),
                    "lo", bpf="udp and dst port %d" % sport).start()
    try:
        expect_total = [0, 0, 0]
        for rate, agent in ((1, "127.0.0.2"), (4, "127.0.0.3")):
            tp = t.prefixed("sFlow 1/%d (pmacctd sfprobe): " % rate)
            relay = fp.UdpRelay(sport)
            dgs = fp.pmacctd_sfprobe(strmtest.start_proc, strmtest.stop_proc, padded, relay, rate,
                                     agent, s.dir)
            samples = [x for d in dgs for x in fp.sflow_samples(d)]
            ipsamples = [x for x in samples if len(x[2]) >= 14 and x[2][12:14] in (b"\x08\x00",
                                                                                    b"\x86\xdd")]
            want = (len(ipsamples), sum(r * fl for r, fl, _ in ipsamples),
                    sum(r for r, _, _ in ipsamples))
            for i in range(3):
                expect_total[i] += want[i]
            tp.ok(len(ipsamples) > 0, "the agent sent %d flow samples in %d datagrams"
                  % (len(samples), len(dgs)))
            where = "flowtype = 'sFlow' AND flowsource = '%s'" % agent
            su = wait_sums(s, where, want[0])
            tp.eq((su["n"], su["sb"], su["sp"]), want,
                  "records, bytes (frame length x rate), packets (rate) = what the agent sent")
            if rate == 1:
                # every IP packet of the capture was sampled once (the padding pushed the tail)
                frames = fp.read_pcap_frames(pcap)
                ipframes = [f for f in frames if f[12:14] in (b"\x08\x00", b"\x86\xdd")]
                real = [x[2] for x in ipsamples
                        if not (x[2][12:14] == b"\x08\x00" and x[2][26:30] == PAD_BYTES)]
                tp.eq(fp.match_headers(ipframes, real), (len(ipframes), 0),
                      "every IP packet of the pcap was sampled once (matched, left over)")
                # (IS NULL: the unspecified address :: of IPv6 MLD reports reads as null)
                nopad = sums(s, where + " AND (sourceip IS NULL OR sourceip != '%s')"
                             % fp.PAD_SRC)
                wb = sum(p["framelen"] + 4 for p in pkts)  # sFlow frame length counts the FCS
                tp.eq((nopad["n"], nopad["sb"], nopad["sp"]), (len(pkts), wb, len(pkts)),
                      "the pcap's packets: one record each, bytes = frame length + 4 (FCS)")
        rc, dropped, _ = lo.stop()
        lo = None
        n, b, pk = fp.tshark_sflow(os.path.join(s.dir, "sflow.pcap"), sport)
        allsu = sums(s, "flowtype = 'sFlow'")
        t.eq((allsu["n"], allsu["sb"], allsu["sp"]), tuple(expect_total),
             "sFlow: all records = what both agents sent")
        t.eq((n, b, pk), tuple(expect_total),
             "sFlow: tshark's sflow decode (samples, frame length x rate, rate) agrees")
        t.eq(exporter_sum(s, "sFlow", "records"), allsu["n"],
             "sFlow: exporter records counters = records stored")
    finally:
        if lo is not None:
            lo.stop()
        s.stop()


# --------------------------------------------------------------------------- 5./6. packets


def check_packet_flows(t, s, pkts, pcap, label, where="flowtype = 'Packet'"):
    tp = t.prefixed(label)
    conv = fp.conversations(pkts)
    allb, allp = fp.totals(pkts)
    su = wait_sums(s, where, len(conv), timeout=5)
    tp.eq((su["sb"] + su["db"], su["sp"] + su["dp"]), (allb, allp),
          "all IP bytes and packets of the capture are in the flows")
    rows = rows_of(s, where)
    got = {}
    for r in rows:
        k = (ip_of(r["sourceip"]), int(r["sourceport"] or 0), ip_of(r["destinationip"]),
             int(r["destinationport"] or 0), int(r["protocolid"]))
        e = got.setdefault(k, [0, 0, 0, 0])
        for i, c in enumerate(("sourcebytes", "sourcepackets", "destinationbytes",
                               "destinationpackets")):
            e[i] += int(r[c])
    want = {k: [v["sb"], v["sp"], v["db"], v["dp"]] for k, v in conv.items()
            if k[4] in (6, 17)}
    dict_eq(tp, {k: v for k, v in got.items() if k[4] in (6, 17)}, want,
          "every TCP/UDP flow: initiator, bytes and packets both ways = the pcap's")
    # tshark's own conversation table: frames exact, bytes (frame bytes) = IP bytes + 14/frame
    tsc = {}
    for kind in ("tcp", "udp"):
        tsc.update(fp.tshark_conversations(pcap, kind))
    bad = []
    for (a, pa, b, pb), c in tsc.items():
        k = next((k for k in got if k[:4] == (a, pa, b, pb) or k[:4] == (b, pb, a, pa)), None)
        if k is None:
            bad.append(("missing", a, pa, b, pb))
            continue
        sb, sp, db, dp = got[k]
        if k[0] != a:
            sb, sp, db, dp = db, dp, sb, sp
        if (c["frames_ab"], c["frames_ba"]) != (sp, dp):
            bad.append(("frames", k, c, got[k]))
        for tb, ib, n in ((c["bytes_ab"], sb, sp), (c["bytes_ba"], db, dp)):
            if tb is not None and tb != ib + 14 * n:
                bad.append(("bytes", k, c, got[k]))
    tp.ok(tsc and not bad, "tshark -z conv,tcp / conv,udp: %d conversations, frames both ways "
          "equal, bytes = IP bytes + 14 per frame" % len(tsc), diag=repr(bad[:5]))
    return rows


def app_checks(t, rows, label):
    tp = t.prefixed(label)

    def find(dport, proto=6, host=None):
        for r in rows:
            if int(r["destinationport"] or 0) == dport and int(r["protocolid"]) == proto and (
                    host is None or fp.norm_ip(r["destinationip"]) == host):
                return r
        return None

    cases = (("HTTP Host", find(80, host=fp.ADDR_B), "HTTP", set(fp.HTTP_HOSTS)),
             ("HTTP Host (IPv6)", find(80, host=fp.ADDR6_B), "HTTP", {fp.HTTP6_HOST}),
             ("TLS SNI", find(443), "TLS", {fp.TLS_SNI}),
             ("DNS query name", find(53, 17), "DNS", {fp.DNS_NAME}),
             ("SSH banner", find(22), "SSH", {fp.SSH_BANNER, "SSH-2.0-strmtest_client"}))
    for what, r, app, details in cases:
        tp.ok(r is not None and r["app"] == app and r["applicationdetail"] in details,
              "%s: APPLICATIONNAME = %s, applicationdetail in %s" % (what, app, sorted(details)),
              diag=repr(r and {k: r[k] for k in ("app", "applicationid", "applicationdetail",
                                                  "sourceip", "destinationip")}))
    both = [r for r in rows if int(r["destinationport"] or 0) == 80 and
            fp.norm_ip(r["destinationip"]) == fp.ADDR_B]
    tp.eq(sorted(r["applicationdetail"] for r in both), sorted(fp.HTTP_HOSTS),
          "each HTTP connection has its own Host")


def direction_checks(t, s, rows, label, where):
    tp = t.prefixed(label)
    dirs = {}
    for r in rows:
        dirs.setdefault((fp.norm_ip(r["sourceip"]), fp.norm_ip(r["destinationip"])),
                        set()).add(r["flowdirection"])
    cases = ((fp.ADDR_A, fp.ADDR_B, "L2L"), (fp.ADDR_A, fp.REMOTE_B, "L2R"),
             (fp.REMOTE_B, fp.ADDR_A, "R2L"), (fp.REMOTE_B, fp.REMOTE_A, "R2R"),
             (fp.ADDR6_A, fp.ADDR6_B, "R2R"))
    for a, b, want in cases:
        tp.eq(dirs.get((a, b)), {want}, "%s -> %s: flowdirection %s" % (a, b, want))
    names = {(fp.norm_ip(r["sourceip"]), r["snet"], r["sfull"]) for r in rows}
    tp.ok((fp.ADDR_A, NET_LEAF, NET_NAME) in names and all(
        (n, f) == (NET_LEAF, NET_NAME) for ip, n, f in names if ip in (fp.ADDR_A, fp.ADDR_B)),
        "NETWORKNAME(sourceip) = %s, FULLNETWORKNAME = %s for the local addresses"
        % (NET_LEAF, NET_NAME), diag=repr(names))
    tp.ok(all(n != NET_LEAF for ip, n, f in names if ip in (fp.REMOTE_B, fp.ADDR6_A)),
          "NETWORKNAME of remote addresses is not the local network", diag=repr(names))
    n_in = s.search_csv("SELECT COUNT(*) AS n FROM flows WHERE %s AND INCIDR('%s', sourceip) %s"
                        % (where, fp.LAN_CIDR, WINDOW))[0]["n"]
    want = sum(1 for r in rows if fp.norm_ip(r["sourceip"]).startswith("198.18.10."))
    tp.eq(int(n_in), want, "INCIDR('%s', sourceip) counts the local sources" % fp.LAN_CIDR)
    n_l = s.search_csv("SELECT COUNT(*) AS n FROM flows WHERE %s AND NETWORKNAME(sourceip) = "
                       "'%s' %s" % (where, NET_LEAF, WINDOW))[0]["n"]
    tp.eq(int(n_l), want, "NETWORKNAME(sourceip) = '%s' in WHERE" % NET_LEAF)


def ingest_section(t, ctx):
    pkts, pcap = ctx["pkts"], ctx["pcap"]
    s = t.strm(name="ingest", extra=NETWORKS)
    r = s.cli("ingest", "--pcap", pcap, timeout=120)
    t.eq(r.returncode, 0, "strm ingest --pcap exit 0")
    if r.returncode != 0:
        diag(r.stderr[-2000:])
        return
    rows = check_packet_flows(t, s, pkts, pcap, "ingest --pcap: ")
    app_checks(t, rows, "ingest --pcap: ")
    direction_checks(t, s, rows, "ingest --pcap: ", "flowtype = 'Packet'")
    ctx["ingest_rows"] = rows
    # the flows store is one of the two that store info and fsck look at
    r = s.cli("store", "info", "--table", "flows", timeout=30)
    m = re.search(r"^rows +(\d+)$", r.stdout, re.M)
    t.ok(r.returncode == 0 and "table             flows" in r.stdout and m and
         int(m.group(1)) == len(rows) and re.search(r"^sourcebytes .*\d", r.stdout, re.M),
         "store info --table flows: every flow record and the flow columns",
         diag=r.stdout[-1500:] + r.stderr[-500:])
    r = s.cli("fsck", timeout=60)
    m = re.search(r"^flows: segments (\d+) checked, 0 damaged", r.stdout, re.M)
    t.ok(r.returncode == 0 and m and int(m.group(1)) >= 1,
         "fsck checks the flows store (ingest --pcap stored no events: no events store)",
         diag=r.stdout[-1500:] + r.stderr[-500:])


def live_capture_section(t, ctx):
    """strm run inside namespace A with flows.capture on A's veth, tcpdump beside it."""
    pair = ctx["pair"]
    s = t.strm(name="live", extra="flows:\n  capture: [%s]\n" % pair.if_a + NETWORKS)
    wrapper = os.path.join(s.dir, "strm-in-netns")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (pair.ns_a, strmtest.STRM))
    os.chmod(wrapper, 0o755)
    saved = strmtest.STRM
    strmtest.STRM = wrapper
    try:
        s.start(timeout=20)
    finally:
        strmtest.STRM = saved
    pcap2 = os.path.join(s.dir, "live.pcap")
    try:
        if not wait_until(lambda: ("capture " + pair.if_a) in s.cli("stats").stdout, 10):
            raise strmtest.HarnessError("no capture line for %s in strm stats" % pair.if_a)
        try:
            fp.make_capture(pair, pcap2, strmtest.start_proc, strmtest.stop_proc)
        except fp.CaptureDropped as e:
            # the reference capture is incomplete: nothing exact can be compared
            t.skip("live capture matches tcpdump's capture", "%s (machine too loaded)" % e)
            return
        st = s.cli("stats").stdout
        m = re.search(r"capture %s packets (\d+) .*kernel_drops (\d+)" % re.escape(pair.if_a), st)
        t.ok(m and int(m.group(2)) == 0, "live capture: no kernel drops", diag=st[-1500:])
    finally:
        rc = s.stop()
    t.eq(rc, 0, "live capture: strm run (in namespace A) stops on SIGTERM with exit 0")
    pkts2 = fp.pcap_packets(pcap2)
    rows = check_packet_flows(t, s, pkts2, pcap2, "live flows.capture: ")
    app_checks(t, rows, "live flows.capture: ")


# --------------------------------------------------------------------------- main


def main(t):
    reason = fp.netns_supported()
    if reason:
        t.skip("flow integration tests with network namespaces", reason)
        return
    strmtest.require_binary(t)

    def on_term(signum, frame):  # a runner's timeout: still delete the namespaces
        raise strmtest.HarnessError("terminated by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    pair = fp.NetPair()
    ctx = {"pair": pair}
    try:
        pair.setup()
        pcap = os.path.join(t.root, "traffic.pcap")
        ctx["pcap"] = pcap
        ctx["report"] = fp.make_capture(pair, pcap, strmtest.start_proc, strmtest.stop_proc,
                                        diag=diag, attempts=4)
        ctx["pkts"] = fp.pcap_packets(pcap)
        check_capture(t, ctx)
        if fp._which("softflowd"):
            section(t, "softflowd", softflowd_section, ctx)
            section(t, "nfreplay", nfreplay_section, ctx)
            section(t, "IPFIX", ipfix_section, ctx)
        else:
            t.skip("softflowd exports", "softflowd not installed")
        section(t, "sFlow", sflow_section, ctx)
        section(t, "ingest --pcap", ingest_section, ctx)
        if ctx.get("unidir_rows"):
            section(t, "direction (NetFlow v9)", lambda t_: direction_checks(
                t_, ctx["softflowd_strm"], ctx["unidir_rows"], "softflowd -v 9: ",
                "flowtype = 'NetFlow v9'"))
        section(t, "live capture", live_capture_section, ctx)
    finally:
        pair.delete()


if __name__ == "__main__":
    strmtest.run(main, budget=240)
