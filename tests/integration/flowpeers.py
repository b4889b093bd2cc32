#!/usr/bin/python3
"""flowpeers - what the flow integration tests share (Python 3 stdlib only).

- NetPair: two network namespaces joined by a veth pair, made and deleted by the test (unique
  names), with addresses from 198.18.0.0/15 (the benchmarking range) and fd00:5e::/64:
      A (client side): 198.18.10.1/24, 198.19.30.1/32 (a "remote" address), fd00:5e::1
      B (server side): 198.18.10.2/24, 198.19.20.2/32 (a "remote" address), fd00:5e::2
  GSO is limited to one segment so that the capture holds wire-sized packets.
- make_capture(): servers in B (HTTP, TLS listener, DNS, SSH banner, UDP echo) and in A (UDP
  echo), then a client run in A and one in B, recorded with tcpdump -w on A's veth.
- Reference figures from the pcap, read with tshark: per packet (5-tuple, IP length, frame
  length), totals, unidirectional flows (what NetFlow exporters report) and conversations
  (bidirectional, what the packet flow builder reports).
- Peers: softflowd, nfcapd / nfdump / nfreplay, pmacctd (sfprobe), tcpdump on loopback.

Run as a program it is the traffic itself: `flowpeers.py serve-b|serve-a|client-a|client-b`
(started inside a namespace with `ip netns exec`).
"""

import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

ADDR_A = "198.18.10.1"
ADDR_B = "198.18.10.2"
REMOTE_B = "198.19.20.2"  # a second address of B, outside the local network of the tests
REMOTE_A = "198.19.30.1"  # a second address of A, outside it too
ADDR6_A = "fd00:5e::1"
ADDR6_B = "fd00:5e::2"
LAN_CIDR = "198.18.10.0/24"

HTTP_HOSTS = ["www.example-http.test", "files.example-http.test"]
HTTP_REMOTE_HOST = "remote.example-http.test"
HTTP6_HOST = "v6.example-http.test"
TLS_SNI = "secure.example-tls.test"
DNS_NAME = "lookup.example-dns.test"
SSH_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
BIG_BYTES = 1500000  # the large transfer

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
HERE = os.path.abspath(__file__)

# ---------------------------------------------------------------------------------------------
# traffic (runs inside the namespaces)


def _serve_b():
    import http.server
    import socketserver
    import threading

    big = b"x" * BIG_BYTES

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            body = big if self.path == "/big" else (b"hello " + self.headers.get("Host", "").encode()
                                                    + b"\n")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    class V6Server(socketserver.ThreadingTCPServer):
        address_family = socket.AF_INET6
        allow_reuse_address = True

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    class V4Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True

    servers = [V4Server(("0.0.0.0", 80), Handler), V6Server(("::", 80), Handler)]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()

    def tcp_listener(port, handle):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", port))
        ls.listen(16)

        def loop():
            while True:
                c, _ = ls.accept()
                try:
                    c.settimeout(5)
                    handle(c)
                except OSError:
                    pass
                finally:
                    c.close()

        threading.Thread(target=loop, daemon=True).start()

    def tls(c):
        c.recv(4096)  # the ClientHello; then close: the client's handshake fails, as meant

    def ssh(c):
        c.sendall((SSH_BANNER + "\r\n").encode())
        c.recv(256)

    tcp_listener(443, tls)
    tcp_listener(22, ssh)

    def dns_loop(sock):
        while True:
            q, peer = sock.recvfrom(2048)
            if len(q) < 12:
                continue
            # answer: same id and question, one A record 192.0.2.53
            end = 12
            while end < len(q) and q[end] != 0:
                end += q[end] + 1
            question = q[12:end + 5]
            hdr = q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0)
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 53])
            sock.sendto(hdr + question + ans, peer)

    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.bind(("0.0.0.0", 53))
    threading.Thread(target=dns_loop, args=(d,), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def _echo_thread(threading, addr):
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    e.bind((addr, 7))  # one socket per address: replies come from the address asked

    def loop():
        while True:
            data, peer = e.recvfrom(2048)
            e.sendto(data, peer)

    threading.Thread(target=loop, daemon=True).start()


def _serve_a():
    import threading
    _echo_thread(threading, ADDR_A)
    _echo_thread(threading, REMOTE_A)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def _http_get(addr, host, path="/", family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((addr, 80))
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: strmtest\r\n\r\n" % (path, host))
              .encode())
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    return got


def _icmp_echo(dst, count, ident):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    for seq in range(count):
        payload = b"strmtest-ping-%02d" % seq + b"\0" * 40
        hdr = struct.pack(">BBHHH", 8, 0, 0, ident, seq)
        csum = _inet_csum(hdr + payload)
        pkt = struct.pack(">BBHHH", 8, 0, csum, ident, seq) + payload
        s.sendto(pkt, (dst, 0))
        try:
            s.recv(2048)
        except socket.timeout:
            pass
        time.sleep(0.05)
    s.close()


def _inet_csum(b):
    if len(b) % 2:
        b += b"\0"
    total = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def dns_query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def _client_a():
    import ssl
    out = {}
    out["http0"] = _http_get(ADDR_B, HTTP_HOSTS[0])
    out["http1"] = _http_get(ADDR_B, HTTP_HOSTS[1], "/big")
    out["http_remote"] = _http_get(REMOTE_B, HTTP_REMOTE_HOST)
    out["http6"] = _http_get(ADDR6_B, HTTP6_HOST, "/", socket.AF_INET6)
    # TLS ClientHello with SNI; the listener closes after reading it
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((ADDR_B, 443), timeout=10)
    try:
        with ctx.wrap_socket(raw, server_hostname=TLS_SNI) as t:
            t.recv(10)
    except (ssl.SSLError, OSError):
        pass
    raw.close()
    # DNS over UDP, two queries from one socket
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.settimeout(5)
    d.bind((ADDR_A, 0))
    for qid in (0x1234, 0x1235):
        d.sendto(dns_query(DNS_NAME, qid), (ADDR_B, 53))
        out["dns%x" % qid] = len(d.recv(2048))
    d.close()
    # SSH-like banner exchange
    s = socket.create_connection((ADDR_B, 22), timeout=10)
    out["ssh"] = s.recv(256).decode("ascii", "replace").strip()
    s.sendall(b"SSH-2.0-strmtest_client\r\n")
    time.sleep(0.1)
    s.close()
    _icmp_echo(ADDR_B, 3, 0x5e01)
    print(json.dumps(out), flush=True)


def _client_b():
    # from B's remote address: to A (remote -> local) and to A's remote address (remote -> remote)
    out = {}
    for dst, key in ((ADDR_A, "r2l"), (REMOTE_A, "r2r")):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.bind((REMOTE_B, 0))
        for i in range(3):
            u.sendto(b"echo %s %d" % (key.encode(), i) + b"." * (100 * i), (dst, 7))
            out[key] = out.get(key, 0) + len(u.recv(2048))
        u.close()
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------------------
# helpers for the tests (run outside the namespaces)


def run(argv, timeout=60, check=True, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       text=True, errors="replace", **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr[-1000:]))
    return r


def netns_supported():
    """None when network namespaces can be made here, else the reason."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("ip", "tcpdump", "tshark"):
        if not _which(tool):
            return "%s not installed" % tool
    name = "strmprobe%d" % os.getpid()
    try:
        r = subprocess.run(["ip", "netns", "add", name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10, text=True)
        if r.returncode != 0:
            return "no netns support: " + r.stderr.strip()
        subprocess.run(["ip", "netns", "del", name], timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return "no netns support: %s" % e
    return None


def _which(prog):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, prog)
        if os.access(p, os.X_OK):
            return p
    return None


class NetPair:
    """Namespaces A and B with a veth pair; delete() removes them (and the veths with them)."""

    def __init__(self):
        tag = "%05x" % random.getrandbits(20)
        self.ns_a = "strmA" + tag
        self.ns_b = "strmB" + tag
        self.if_a = "sva" + tag  # <= 15 characters
        self.if_b = "svb" + tag
        self.made = []

    def setup(self):
        a, b = self.ns_a, self.ns_b
        for ns in (a, b):
            run(["ip", "netns", "add", ns])
            self.made.append(ns)
        run(["ip", "-n", a, "link", "add", self.if_a, "type", "veth", "peer", "name", self.if_b,
             "netns", b])
        cmds = [
            [a, "link", "set", "lo", "up"],
            [b, "link", "set", "lo", "up"],
            # wire-sized packets in the capture; no link-local address (no DAD noise)
            [a, "link", "set", self.if_a, "gso_max_segs", "1", "gso_max_size", "1500",
             "addrgenmode", "none"],
            [b, "link", "set", self.if_b, "gso_max_segs", "1", "gso_max_size", "1500",
             "addrgenmode", "none"],
            [a, "addr", "add", ADDR_A + "/24", "dev", self.if_a],
            [a, "addr", "add", REMOTE_A + "/32", "dev", self.if_a],
            [a, "-6", "addr", "add", ADDR6_A + "/64", "dev", self.if_a, "nodad"],
            [b, "addr", "add", ADDR_B + "/24", "dev", self.if_b],
            [b, "addr", "add", REMOTE_B + "/32", "dev", self.if_b],
            [b, "-6", "addr", "add", ADDR6_B + "/64", "dev", self.if_b, "nodad"],
            [a, "link", "set", self.if_a, "up"],
            [b, "link", "set", self.if_b, "up"],
            [a, "route", "add", "198.19.20.0/24", "dev", self.if_a, "src", ADDR_A],
            [b, "route", "add", "198.19.30.0/24", "dev", self.if_b, "src", REMOTE_B],
        ]
        for c in cmds:
            run(["ip", "-n"] + c)
        return self

    def exec_argv(self, ns, argv):
        return ["ip", "netns", "exec", ns] + argv

    def delete(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        self.made = []


def wait_line(proc, want, timeout):
    """Reads proc.stdout lines until one contains want (True) or timeout / EOF (False)."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if proc.poll() is not None:
                return False
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return False
        buf += chunk
        if want.encode() in buf:
            return True
    return False


class Tcpdump:
    """tcpdump -w of one interface (optionally inside a namespace), packet-buffered."""

    def __init__(self, start_proc, stop_proc, out, iface, ns=None, bpf=None):
        self.start_proc, self.stop_proc = start_proc, stop_proc
        self.out, self.iface, self.ns, self.bpf = out, iface, ns, bpf
        self.proc = None
        self.err = out + ".stderr"

    def start(self, timeout=10):
        argv = ["tcpdump", "-n", "-U", "--immediate-mode", "-B", "32768", "-Z", "root", "-s", "0", "-i",
                self.iface, "-w", self.out]
        if self.bpf:
            argv.append(self.bpf)
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        errf = open(self.err, "wb")
        self.proc = self.start_proc(argv, stdout=subprocess.DEVNULL, stderr=errf,
                                    stdin=subprocess.DEVNULL)
        errf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.err, "rb") as f:
                if b"listening on" in f.read():
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("tcpdump did not start: %s" % open(self.err).read()[-500:])

    def stop(self):
        time.sleep(0.5)  # let the last packets reach the capture
        rc = self.stop_proc(self.proc, 10, 2)  # SIGINT: tcpdump flushes and prints its counts
        with open(self.err, "r", errors="replace") as f:
            text = f.read()
        # "received by filter" counts what the kernel saw; "captured" what reached the file
        m1 = re.search(r"(\d+) packets? captured", text)
        m2 = re.search(r"(\d+) packets? received by filter", text)
        m3 = re.search(r"(\d+) packets? dropped by kernel", text)
        dropped = None
        if m1 and m2 and m3:
            dropped = int(m3.group(1))
            if self.iface != "lo":  # on lo the filter sees every packet twice (out and in)
                dropped = max(int(m2.group(1)) - int(m1.group(1)), dropped)
        return rc, dropped, text


class CaptureDropped(RuntimeError):
    """tcpdump lost packets (a loaded machine): the capture is not a complete reference."""


def make_capture(pair, pcap, start_proc, stop_proc, diag=None, attempts=1):
    """Runs the servers, tcpdump on A's veth and both clients; returns the clients' reports.
    When tcpdump drops packets (it can on a loaded 2-core machine), tries again up to
    attempts times in all, then raises CaptureDropped."""
    for attempt in range(attempts):
        try:
            return _make_capture_once(pair, pcap, start_proc, stop_proc)
        except CaptureDropped as e:
            if diag:
                diag("capture attempt %d: %s" % (attempt + 1, e))
            if attempt + 1 == attempts:
                raise
            time.sleep(1)


def _make_capture_once(pair, pcap, start_proc, stop_proc):
    srv_b = start_proc(pair.exec_argv(pair.ns_b, [PY, HERE, "serve-b"]),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    srv_a = start_proc(pair.exec_argv(pair.ns_a, [PY, HERE, "serve-a"]),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        for p in (srv_b, srv_a):
            if not wait_line(p, "ready", 15):
                raise RuntimeError("traffic server did not start")
        td = Tcpdump(start_proc, stop_proc, pcap, pair.if_a, ns=pair.ns_a).start()
        try:
            ra = run(pair.exec_argv(pair.ns_a, [PY, HERE, "client-a"]), timeout=60)
            rb = run(pair.exec_argv(pair.ns_b, [PY, HERE, "client-b"]), timeout=30)
        finally:
            _, dropped, text = td.stop()
        if dropped:
            raise CaptureDropped("tcpdump dropped %d packets" % dropped)
        report = json.loads(ra.stdout.strip().splitlines()[-1])
        report.update(json.loads(rb.stdout.strip().splitlines()[-1]))
        return report
    finally:
        stop_proc(srv_b, 5)
        stop_proc(srv_a, 5)


# ---------------------------------------------------------------------------------------------
# reference figures from a pcap (tshark)

TSHARK_FIELDS = ["frame.len", "ip.src", "ip.dst", "ip.len", "ip.proto", "ipv6.src", "ipv6.dst",
                 "ipv6.plen", "ipv6.nxt", "tcp.srcport", "tcp.dstport", "udp.srcport",
                 "udp.dstport", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
                 "frame.time_epoch", "tcp.flags"]


def pcap_packets(pcap, display_filter="ip or ipv6"):
    """One dict per IP packet: src, dst, proto, sport, dport, iplen (IPv4 total length, IPv6
    payload length + 40), framelen, ver, icmp (type, code) or None, ts."""
    argv = ["tshark", "-n", "-r", pcap, "-Y", display_filter, "-T", "fields", "-E", "separator=|",
            "-E", "occurrence=f"]
    for f in TSHARK_FIELDS:
        argv += ["-e", f]
    r = run(argv, timeout=120)
    pkts = []
    for line in r.stdout.splitlines():
        v = dict(zip(TSHARK_FIELDS, line.split("|")))
        if v["ip.src"]:
            src, dst, proto, iplen, ver = v["ip.src"], v["ip.dst"], int(v["ip.proto"]), int(
                v["ip.len"]), 4
        elif v["ipv6.src"]:
            src, dst, proto, iplen, ver = v["ipv6.src"], v["ipv6.dst"], int(v["ipv6.nxt"]), int(
                v["ipv6.plen"]) + 40, 6
        else:
            continue
        sport = dport = 0
        if v["tcp.srcport"]:
            sport, dport = int(v["tcp.srcport"]), int(v["tcp.dstport"])
        elif v["udp.srcport"]:
            sport, dport = int(v["udp.srcport"]), int(v["udp.dstport"])
        if v["tcp.srcport"]:
            proto = 6
        elif v["udp.srcport"]:
            proto = 17
        elif v["icmpv6.type"]:
            proto = 58  # past IPv6 extension headers (MLD has hop-by-hop options first)
        icmp = None
        if v["icmp.type"]:
            icmp = (int(v["icmp.type"]), int(v["icmp.code"] or 0))
        elif v["icmpv6.type"]:
            icmp = (int(v["icmpv6.type"]), int(v["icmpv6.code"] or 0))
        pkts.append({"src": src, "dst": dst, "proto": proto, "sport": sport, "dport": dport,
                     "iplen": iplen, "framelen": int(v["frame.len"]), "ver": ver, "icmp": icmp,
                     "ts": float(v["frame.time_epoch"]),
                     "tcpflags": int(v["tcp.flags"], 16) if v["tcp.flags"] else 0})
    return pkts


def totals(pkts, pred=None):
    """(ip bytes, packets) over the packets that pred accepts."""
    b = n = 0
    for p in pkts:
        if pred is None or pred(p):
            b += p["iplen"]
            n += 1
    return b, n


def unidir_flows(pkts, pred=None):
    """{(src, dst, proto, sport, dport): [bytes, packets]}: one entry per direction."""
    out = {}
    for p in pkts:
        if pred is not None and not pred(p):
            continue
        k = (p["src"], p["dst"], p["proto"], p["sport"], p["dport"])
        e = out.setdefault(k, [0, 0])
        e[0] += p["iplen"]
        e[1] += 1
    return out


def norm_ip(s):
    """Canonical text of an IPv4/IPv6 address (compares tshark's and openstrm's spelling)."""
    s = s.strip()
    if not s:
        return s
    try:
        fam = socket.AF_INET6 if ":" in s else socket.AF_INET
        return socket.inet_ntop(fam, socket.inet_pton(fam, s))
    except OSError:
        return s



def tshark_conversations(pcap, kind):
    """tshark -z conv,tcp|udp: {(addrA, portA, addrB, portB): {...}} with frames exact and bytes
    where tshark prints them in bytes (it switches to kB/MB for large ones: then None)."""
    r = run(["tshark", "-n", "-q", "-r", pcap, "-z", "conv," + kind], timeout=120)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(.*)$", line)
        if not m:
            continue
        tok = m.group(5).split()
        vals = []
        i = 0
        while len(vals) < 6 and i + 1 < len(tok):
            frames = int(tok[i])
            num, unit = tok[i + 1], tok[i + 2] if i + 2 < len(tok) else ""
            nbytes = int(num) if unit == "bytes" else None
            vals += [frames, nbytes]
            i += 3
        if len(vals) < 6:
            continue
        a, pa, b, pb = norm_ip(m.group(1)), int(m.group(2)), norm_ip(m.group(3)), int(m.group(4))
        # columns: "<-" (B to A), "->" (A to B), total
        out[(a, pa, b, pb)] = {"frames_ba": vals[0], "bytes_ba": vals[1], "frames_ab": vals[2],
                               "bytes_ab": vals[3], "frames": vals[4], "bytes": vals[5]}
    return out


def conversations(pkts, pred=None):
    """Bidirectional flows keyed by the first packet's sender: {(src, sport, dst, dport, proto):
    {"sb": bytes src->dst, "sp": packets, "db": bytes dst->src, "dp": packets, "sf": frame bytes,
    "df": frame bytes}} (TCP/UDP by ports; other protocols by addresses)."""
    out = {}
    for p in pkts:
        if pred is not None and not pred(p):
            continue
        fwd = (p["src"], p["sport"], p["dst"], p["dport"], p["proto"])
        rev = (p["dst"], p["dport"], p["src"], p["sport"], p["proto"])
        if rev in out and fwd not in out:
            e, d = out[rev], "d"
        else:
            e, d = out.setdefault(fwd, {"sb": 0, "sp": 0, "db": 0, "dp": 0, "sf": 0, "df": 0}), "s"
        e[d + "b"] += p["iplen"]
        e[d + "p"] += 1
        e[d + "f"] += p["framelen"]
    return out


# ---------------------------------------------------------------------------------------------
# peers


def softflowd_export(pcap, dest, version, workdir, extra=(), timeout=30):
    """softflowd -r pcap exporting to dest ("127.0.0.1:port"). softflowd 1.1.0 in -r mode
    waits on its control socket before and after reading the file, so the control socket is
    poked (softflowctl statistics) until it exits. Returns its own figures: records exported,
    datagrams, and per-protocol octets/packets summed."""
    ctl = os.path.join(workdir, "softflowd-%s-%d.ctl" % (version, random.getrandbits(16)))
    pid = ctl[:-4] + ".pid"
    argv = ["softflowd", "-a", "-d", "-r", pcap, "-n", dest, "-v", str(version), "-c", ctl,
            "-p", pid] + list(extra)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None and time.monotonic() < deadline:
            if os.path.exists(ctl):
                subprocess.run(["softflowctl", "-c", ctl, "statistics"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10)
            time.sleep(0.05)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
            raise RuntimeError("softflowd did not finish within %ds" % timeout)
    out = p.stdout.read().decode("utf-8", "replace")
    res = {"rc": p.returncode, "output": out, "records": None, "datagrams": None, "octets": 0,
           "packets": 0}
    m = re.search(r"Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)",
                  out)
    if m:
        res["records"], res["datagrams"], res["failures"] = (int(m.group(2)), int(m.group(3)),
                                                             int(m.group(4)))
    for m in re.finditer(r"^\s*\S+ \(\d+\):\s+(\d+)\s+(\d+)\s", out, re.M):
        res["octets"] += int(m.group(1))
        res["packets"] += int(m.group(2))
    return res


def nfdump_summary(path, flt=None):
    """(flows, bytes, packets) of an nfcapd file from nfdump's summary line."""
    argv = ["nfdump", "-r", path, "-N", "-o", "null"]
    if flt:
        argv.append(flt)
    r = run(argv, timeout=60)
    m = re.search(r"total flows: (\d+), total bytes: (\d+), total packets: (\d+)", r.stdout)
    if not m:
        raise RuntimeError("nfdump printed no summary: %s" % r.stdout[-500:])
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def pad_pcap(src, dst, n=64):
    """Copies src and appends n small IPv4/UDP frames 198.18.99.1 -> 198.18.99.2 port 9 after
    its last packet: pmacctd's sfprobe holds the last packets of a file in its buffer until more
    come, so the padding pushes the real ones out."""
    with open(src, "rb") as f:
        b = f.read()
    off, ts, tu = 24, 0, 0
    while off + 16 <= len(b):
        ts, tu, incl, _ = struct.unpack_from("<IIII", b, off)
        off += 16 + incl
    out = bytearray(b)
    for i in range(n):
        tu += 1000
        if tu >= 1000000:
            ts, tu = ts + 1, tu - 1000000
        payload = b"pad%04d" % i + b"\0" * 11
        udp = struct.pack(">HHHH", 9, 9, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([198, 18, 99, 1]), bytes([198, 18, 99, 2]))
        ip = ip[:10] + struct.pack(">H", _inet_csum(ip)) + ip[12:]
        frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp
        out += struct.pack("<IIII", ts, tu, len(frame), len(frame)) + frame
    with open(dst, "wb") as f:
        f.write(out)


PAD_SRC = "198.18.99.1"


def read_pcap_frames(path):
    with open(path, "rb") as f:
        b = f.read()
    off, out = 24, []
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack_from("<IIII", b, off)
        out.append(b[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def match_headers(frames, headers):
    """Matches sampled packet headers (prefixes of frames) to frames, each once: returns
    (frames matched, headers left over)."""
    import collections
    left = collections.Counter(headers)
    lengths = sorted({len(h) for h in headers}, reverse=True)
    matched = 0
    for f in frames:
        for n in lengths:
            if n <= len(f) and left.get(f[:n], 0) > 0:
                left[f[:n]] -= 1
                matched += 1
                break
    return matched, sum(left.values())


def sflow_samples(d):
    """Flow samples of one sFlow v5 datagram: [(sampling rate, frame length, header bytes)]
    (raw packet header records; normal and expanded flow samples). Our own small reader, for
    the expected figures; tshark cross-checks it."""
    out = []
    _, atype = struct.unpack_from(">II", d, 0)
    off = 8 + (4 if atype == 1 else 16)
    _, _, _, ns = struct.unpack_from(">IIII", d, off)
    off += 16
    for _ in range(ns):
        fmt, ln = struct.unpack_from(">II", d, off)
        body = d[off + 8:off + 8 + ln]
        off += 8 + ln
        if fmt == 1:
            rate = struct.unpack_from(">I", body, 8)[0]
            nr = struct.unpack_from(">I", body, 28)[0]
            o = 32
        elif fmt == 3:
            rate = struct.unpack_from(">I", body, 12)[0]
            nr = struct.unpack_from(">I", body, 40)[0]
            o = 44
        else:
            continue
        for _ in range(nr):
            rf, rl = struct.unpack_from(">II", body, o)
            rb = body[o + 8:o + 8 + rl]
            o += 8 + rl
            if rf == 1:
                _, flen, _, hlen = struct.unpack_from(">IIII", rb, 0)
                out.append((rate, flen, bytes(rb[16:16 + hlen])))
    return out


class UdpRelay:
    """Forwards datagrams from a loopback port to another verbatim, keeping a copy of each,
    until stop(): what an exporter sent before the test stops it is then known exactly, and
    whatever it sends while shutting down goes nowhere."""

    def __init__(self, target_port):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.target = ("127.0.0.1", target_port)
        self.datagrams = []
        self.last = time.monotonic()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                d = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            if not self.running:
                break
            self.datagrams.append(d)
            self.out.sendto(d, self.target)
            self.last = time.monotonic()
            time.sleep(0.0005)  # a sender of our own pace: no burst beyond a receive buffer

    def quiet_for(self, seconds):
        return self.datagrams and time.monotonic() - self.last >= seconds

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()
        self.out.close()


def pmacctd_sfprobe(start_proc, stop_proc, pcap, relay, rate, agent, workdir, quiet=2.0,
                    timeout=40):
    """pmacctd reading pcap with the sfprobe plugin (sampling 1/rate, agent address agent)
    sending to relay; waits until the exporter has been quiet for `quiet` seconds, stops the
    relay, then pmacctd. Returns the datagrams it sent before that."""
    conf = os.path.join(workdir, "pmacctd-%s.conf" % agent)
    with open(conf, "w") as f:
        f.write("daemonize: false\n"
                "pcap_savefile: %s\n"
                "pcap_savefile_delay: 0\n"
                "pcap_savefile_wait: true\n"
                "plugins: sfprobe\n"
                "sfprobe_receiver: 127.0.0.1:%d\n"
                "sfprobe_agentip: %s\n"
                "sampling_rate: %d\n" % (pcap, relay.port, agent, rate))
    log = open(conf + ".log", "wb")
    p = start_proc(["pmacctd", "-f", conf], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not relay.quiet_for(quiet):
            if p.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        relay.stop()
        stop_proc(p, 10, 2)
    return list(relay.datagrams)


def tshark_cflow(pcap, port):
    """NetFlow/IPFIX as tshark decodes the export captured on loopback: {version: [records,
    octets, packets]} (records counted by their source address fields)."""
    r = run(["tshark", "-n", "-r", pcap, "-d", "udp.port==%d,cflow" % port, "-T", "fields",
             "-E", "occurrence=a", "-E", "aggregator=;", "-e", "cflow.version", "-e",
             "cflow.srcaddr", "-e", "cflow.srcaddrv6", "-e", "cflow.octets", "-e",
             "cflow.packets"], timeout=120)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 5 or not f[0]:
            continue
        e = out.setdefault(int(f[0].split(";")[0]), [0, 0, 0])
        e[0] += len([x for x in f[1].split(";") if x]) + len([x for x in f[2].split(";") if x])
        e[1] += sum(int(x) for x in f[3].split(";") if x)
        e[2] += sum(int(x) for x in f[4].split(";") if x)
    return out


def tshark_sflow(pcap, port):
    """sFlow as tshark decodes it: (flow samples with a raw header, sum of frame_length x
    sampling rate, sum of sampling rates)."""
    r = run(["tshark", "-n", "-r", pcap, "-d", "udp.port==%d,sflow" % port, "-T", "fields",
             "-E", "occurrence=a", "-E", "aggregator=;", "-e", "sflow.flow_sample.sampling_rate",
             "-e", "sflow_245.header.frame_length"], timeout=120)
    n = b = pk = 0
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 2:
            continue
        rates = [int(x) for x in f[0].split(";") if x]
        lens = [int(x) for x in f[1].split(";") if x]
        for rate, flen in zip(rates, lens):
            n += 1
            b += flen * rate
            pk += rate
    return n, b, pk

if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    {"serve-b": _serve_b, "serve-a": _serve_a, "client-a": _client_a,
     "client-b": _client_b}[role]()
