#!/usr/bin/python3
"""test_flow_garbage - malformed and truncated flow datagrams against a running `strm run`.

Each kind of garbage comes from its own loopback source address (127.0.0.1x), so that the
per-exporter counters of `strm stats` can be checked exactly:
- random bytes to the NetFlow and sFlow ports (no valid version): one malformed each;
- every prefix (0 .. len-1 bytes) of valid NetFlow v5, v9 (template + data), IPFIX (template +
  data) and sFlow (counter + flow sample) messages built here: one malformed each, no record;
- templates that lie (v9 and IPFIX): a set longer than the message, a field count far beyond
  the set, a template whose fields are all zero-length, a set length below its header, an
  enterprise field cut off: one malformed each, and data for those template ids is held
  (never decoded) and then dropped as unknown-template data when the hold time (30 s) ends;
- IPFIX over TCP: a frame whose length field is below the header (connection closed, counted),
  and a connection that ends inside a message;
then valid v5, v9, IPFIX (UDP and TCP) and sFlow messages are decoded and searchable, the
process is alive, and SIGTERM exits 0.
"""

import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402
from strmtest import wait_until  # noqa: E402

WINDOW = "LAST 1 DAYS"
HOLD_S = 30  # nf_options.hold_ms default

# ------------------------------------------------------------------ message builders


def ip4(s):
    return socket.inet_aton(s)


def v5_msg(src="198.18.200.5", count=2, seq=0):
    now = int(time.time())
    hdr = struct.pack(">HHIIIIBBH", 5, count, 100000, now, 0, seq, 0, 0, 0)
    recs = b""
    for i in range(count):
        recs += struct.pack(">4s4s4sHHIIIIHHBBBBHHBBH", ip4(src), ip4("198.18.201.%d" % (i + 1)),
                            ip4("0.0.0.0"), 1, 2, 10 + i, 1000 + i, 99000, 99500, 40000 + i, 443,
                            0, 0x1b, 6, 0, 0, 0, 24, 24, 0)
    return hdr + recs


V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4)]


def v9_template(tid=256, fields=V9_FIELDS):
    body = struct.pack(">HH", tid, len(fields)) + b"".join(struct.pack(">HH", t, n)
                                                          for t, n in fields)
    return struct.pack(">HH", 0, 4 + len(body)) + body


def v9_data(tid=256, src="198.18.200.9", n=3):
    recs = b""
    for i in range(n):
        recs += struct.pack(">4s4sHHBIIII", ip4(src), ip4("198.18.201.%d" % (i + 1)), 50000 + i,
                            53, 17, 100 + i, 1, 99000, 99100)
    pad = (-(4 + len(recs))) % 4
    return struct.pack(">HH", tid, 4 + len(recs) + pad) + recs + b"\0" * pad


def v9_msg(flowsets, count, seq=0, source_id=7):
    return struct.pack(">HHIIII", 9, count, 100000, int(time.time()), seq, source_id) + b"".join(
        flowsets)


IPFIX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]


def ipfix_template(tid=300, fields=IPFIX_FIELDS):
    body = struct.pack(">HH", tid, len(fields)) + b"".join(struct.pack(">HH", t, n)
                                                          for t, n in fields)
    return struct.pack(">HH", 2, 4 + len(body)) + body


def ipfix_data(tid=300, src="198.18.200.10", n=3):
    now_ms = int(time.time() * 1000)
    recs = b""
    for i in range(n):
        recs += struct.pack(">4s4sHHBQQQQ", ip4(src), ip4("198.18.201.%d" % (i + 1)), 51000 + i,
                            80, 6, 2000 + i, 3, now_ms - 1000, now_ms)
    return struct.pack(">HH", tid, 4 + len(recs)) + recs


def ipfix_msg(sets, seq=0, domain=9):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), int(time.time()), seq, domain) + body


def sflow_msg(agent, src="198.18.200.6", seq=1, rate=10, frame_len=1000):
    eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, frame_len - 18, 1, 0, 64, 6, 0, ip4(src),
                     ip4("198.18.201.1"))
    tcp = struct.pack(">HHIIBBHHH", 40000, 22, 1, 0, 0x50, 0x18, 1000, 0, 0)
    hdr = eth + ip + tcp
    hpad = (-len(hdr)) % 4
    raw = struct.pack(">IIII", 1, frame_len, 4, len(hdr)) + hdr + b"\0" * hpad
    flow = struct.pack(">IIIIIIII", seq, 3, rate, rate * seq, 0, 3, 4, 1) + struct.pack(
        ">II", 1, len(raw)) + raw
    gen = struct.pack(">IIQIIQIIIIIIQIIIIII", 3, 6, 1000000000, 1, 3, 123456, 1, 0, 0, 0, 0, 0,
                      654321, 2, 0, 0, 0, 0, 0)
    cnt = struct.pack(">III", seq, 3, 1) + struct.pack(">II", 1, len(gen)) + gen
    samples = struct.pack(">II", 2, len(cnt)) + cnt + struct.pack(">II", 1, len(flow)) + flow
    return struct.pack(">II4sIIII", 5, 1, ip4(agent), 0, seq, 5000, 2) + samples


# ------------------------------------------------------------------ helpers


class Sender:
    """UDP from a chosen loopback address, paced so the receiver's buffer never overflows."""

    def __init__(self, src):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((src, 0))
        self.sent = 0

    def send(self, data, port):
        self.sock.sendto(data, ("127.0.0.1", port))
        self.sent += 1
        if self.sent % 50 == 0:
            time.sleep(0.005)


def exporters(s):
    r = s.cli("stats", timeout=20)
    out = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if not parts or parts[0] != "exporter":
            continue
        e = {"exporter": parts[1], "domain": int(parts[3])}
        i = parts.index("packets")
        e["type"] = " ".join(parts[5:i])
        for j in range(i, len(parts) - 1, 2):
            try:
                e[parts[j]] = int(parts[j + 1])
            except ValueError:
                pass
        out.append(e)
    return out


def exp_sum(s, addr, field):
    return sum(e.get(field, 0) for e in exporters(s) if e["exporter"] == addr)


def flows_from(s, src):
    rows = s.search_csv("SELECT COUNT(*) AS n, SUM(sourcebytes) AS b FROM flows WHERE "
                        "sourceip = '%s' %s" % (src, WINDOW))
    return int(rows[0]["n"] or 0), int(rows[0]["b"] or 0)


def main(t):
    strmtest.require_binary(t)
    nf, ipu, ipt, sf = (strmtest.free_port(("udp",)), strmtest.free_port(("udp",)),
                        strmtest.free_port(("tcp",)), strmtest.free_port(("udp",)))
    s = t.strm(name="garbage", extra=('netflow:\n  udp: ["127.0.0.1:%d"]\n'
                                      'ipfix:\n  udp: ["127.0.0.1:%d"]\n  tcp: ["127.0.0.1:%d"]\n'
                                      'sflow:\n  udp: ["127.0.0.1:%d"]\n' % (nf, ipu, ipt, sf)))
    s.start()
    rnd = random.Random(6)
    sent = 0

    # -- data for templates that never come (first: they expire after the hold time)
    held = Sender("127.0.0.20")
    held.send(v9_msg([v9_data(tid=777)], 3, source_id=1), nf)
    held.send(v9_msg([v9_data(tid=778), v9_data(tid=779)], 6, seq=1, source_id=1), nf)
    held.send(ipfix_msg([ipfix_data(tid=900)], domain=1), ipu)
    held_at = time.monotonic()
    sent += held.sent
    wait_until(lambda: exp_sum(s, "127.0.0.20", "held") >= 4, 10)
    t.eq(exp_sum(s, "127.0.0.20", "held"), 4, "data sets for unknown templates are held (4)")

    # -- random bytes (versions other than 5, 9, 10 and sFlow 5)
    checks = []
    for addr, port, bad_first in (("127.0.0.11", nf, (5, 9, 10)), ("127.0.0.12", sf, (5,)),
                                  ("127.0.0.21", ipu, (5, 9, 10))):
        snd = Sender(addr)
        for i in range(300):
            n = rnd.choice([0, 1, 2, 3, 7, 20, 24, 100, 1400, rnd.randint(0, 9000)])
            d = bytes(rnd.getrandbits(8) for _ in range(n))
            ver = (d[0] << 8 | d[1]) if n >= 2 else 0
            if port == sf:
                ver = int.from_bytes(d[:4], "big") if n >= 4 else 0
            if ver in bad_first:
                d = b"\x7f" + d[1:]
            snd.send(d, port)
        sent += snd.sent
        checks.append((addr, snd.sent, "random bytes to the %s port" %
                       {nf: "NetFlow", sf: "sFlow", ipu: "IPFIX"}[port]))

    # -- every prefix of valid messages
    v9_full = v9_msg([v9_template(), v9_data()], 4, source_id=7)
    ipfix_full = ipfix_msg([ipfix_template(), ipfix_data()], domain=9)
    valid = (("127.0.0.13", nf, v5_msg(), "NetFlow v5"), ("127.0.0.14", nf, v9_full, "NetFlow v9"),
             ("127.0.0.15", ipu, ipfix_full, "IPFIX"),
             ("127.0.0.16", sf, sflow_msg("127.0.0.16"), "sFlow"))
    for addr, port, msg, name in valid:
        snd = Sender(addr)
        for k in range(len(msg)):
            snd.send(msg[:k], port)
        sent += snd.sent
        checks.append((addr, snd.sent, "every prefix of a valid %s message (%d bytes)"
                       % (name, len(msg))))

    # -- templates that lie about lengths
    v9_lies = [
        # a template flowset claiming 200 bytes in a 40-byte message
        v9_msg([struct.pack(">HH", 0, 200) + v9_template()[4:]], 1, source_id=2),
        # a template record with 1000 fields in a 16-byte flowset
        v9_msg([struct.pack(">HHHHHH", 0, 12, 260, 1000, 8, 4)], 1, source_id=2),
        # a template whose only fields are zero-length
        v9_msg([v9_template(261, [(8, 0), (12, 0)])], 1, source_id=2),
        # a flowset length below its own header
        v9_msg([struct.pack(">HH", 0, 2) + b"\0" * 8], 1, source_id=2),
    ]
    ipfix_lies = [
        ipfix_msg([struct.pack(">HH", 2, 200) + ipfix_template()[4:]], domain=2),
        ipfix_msg([struct.pack(">HHHHHH", 2, 12, 310, 1000, 8, 4)], domain=2),
        ipfix_msg([ipfix_template(311, [(8, 0), (12, 0)])], domain=2),
        ipfix_msg([struct.pack(">HH", 2, 2) + b"\0" * 8], domain=2),
        # an enterprise-specific field whose enterprise number is cut off by the set end
        ipfix_msg([struct.pack(">HHHHHH", 2, 12, 312, 1, 0x8001, 4)], domain=2),
    ]
    for addr, port, lies, name, tids, data in (
            ("127.0.0.17", nf, v9_lies, "NetFlow v9", (260, 261),
             lambda tid: v9_msg([v9_data(tid=tid)], 3, source_id=2)),
            ("127.0.0.18", ipu, ipfix_lies, "IPFIX", (310, 311, 312),
             lambda tid: ipfix_msg([ipfix_data(tid=tid)], domain=2))):
        snd = Sender(addr)
        for m in lies:
            snd.send(m, port)
        # data for the templates that lied: must not be decoded with them
        for tid in tids:
            snd.send(data(tid), port)
        sent += snd.sent
        checks.append((addr, len(lies), "%s templates that lie about lengths" % name))
        checks.append((addr + " held", len(tids), "%s data for the refused templates is held, "
                       "not decoded" % name))

    def counted():
        for addr, n, _ in checks:
            field = "held" if addr.endswith(" held") else "malformed"
            if exp_sum(s, addr.split()[0], field) < n:
                return False
        return True

    wait_until(counted, 15)
    for addr, n, desc in checks:
        a = addr.split()[0]
        field = "held" if addr.endswith(" held") else "malformed"
        t.eq(exp_sum(s, a, field), n, "%s: %s %d (exporter %s)" % (desc, field, n, a))
        t.eq(exp_sum(s, a, "records"), 0, "%s: no record emitted" % desc)

    # -- IPFIX over TCP
    good_tcp = ipfix_msg([ipfix_template(), ipfix_data(src="198.18.200.11")], domain=3)
    c = socket.create_connection(("127.0.0.1", ipt), timeout=5)
    c.sendall(good_tcp + struct.pack(">HHIII", 10, 8, 0, 0, 3) + b"\0" * 32)
    closed = False
    try:
        closed = c.recv(10) == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    c.close()
    t.ok(closed, "IPFIX/TCP: a frame with length 8 (< 16) closes the connection")
    c = socket.create_connection(("127.0.0.1", ipt), timeout=5)
    c.sendall(good_tcp[:30])
    c.close()
    wait_until(lambda: s.stat("ipfix_tcp_bad_frames") >= 1 and s.stat("ipfix_tcp_active") == 0,
               10)
    st = s.stats()
    t.eq(st.get("ipfix_tcp_bad_frames"), 1, "IPFIX/TCP: ipfix_tcp_bad_frames 1")
    t.eq(st.get("ipfix_tcp_connections"), 2, "IPFIX/TCP: ipfix_tcp_connections 2")
    t.eq(st.get("ipfix_tcp_active"), 0, "IPFIX/TCP: ipfix_tcp_active back to 0")

    # -- valid messages afterwards
    ok = Sender("127.0.0.30")
    ok.send(v5_msg(src="198.18.200.5"), nf)
    ok.send(v9_msg([v9_template(), v9_data(src="198.18.200.9")], 4, source_id=30), nf)
    ok.send(ipfix_msg([ipfix_template(), ipfix_data(src="198.18.200.10")], domain=30), ipu)
    ok.send(sflow_msg("127.0.0.30", src="198.18.200.6", rate=10, frame_len=1000), sf)
    sent += ok.sent
    want = {"198.18.200.5": (2, 1000 + 1001), "198.18.200.9": (3, 100 + 101 + 102),
            "198.18.200.10": (3, 2000 + 2001 + 2002), "198.18.200.11": (3, 2000 + 2001 + 2002),
            "198.18.200.6": (1, 10000)}
    for src, w in want.items():
        got = wait_until(lambda: flows_from(s, src) == w and flows_from(s, src), 10)
        t.eq(flows_from(s, src), w, "valid message after the garbage: %s decoded and searchable "
             "(records, bytes)" % src)
    t.ok(s.alive(), "strm run is alive after %d garbage datagrams" % sent)
    st = s.stats()
    t.eq(st.get("flow_packets_received", 0), sent + 1,
         "flow_packets_received = UDP datagrams sent + the IPFIX/TCP message (%d)" % (sent + 1))
    t.eq(st.get("flow_udp_dropped_kernel", 0), 0, "no kernel drops (the senders are paced)")

    # -- held data expires as unknown-template drops
    left = HOLD_S + 12 - (time.monotonic() - held_at)
    wait_until(lambda: exp_sum(s, "127.0.0.20", "unknown_template_drops") >= 4, max(left, 5), 0.5)
    t.eq(exp_sum(s, "127.0.0.20", "unknown_template_drops"), 4,
         "data held for templates that never came is dropped after %d s and counted "
         "(unknown_template_drops 4)" % HOLD_S)
    # their hold ends on its own clock (a tick apart from 127.0.0.20's): wait for it too
    def refused_drops():
        return sum(exp_sum(s, a, "unknown_template_drops") for a in ("127.0.0.17", "127.0.0.18"))
    wait_until(lambda: refused_drops() >= 5, 10, 0.5)
    t.eq(refused_drops(), 5, "data for the refused templates ends as unknown-template drops too (5)")
    t.eq(s.stop(), 0, "SIGTERM: exit 0")


if __name__ == "__main__":
    strmtest.run(main, budget=150)
