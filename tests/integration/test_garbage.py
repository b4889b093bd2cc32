#!/usr/bin/python3
"""Hostile and malformed input. Random binary UDP datagrams, a 1 MiB line over TCP (cut to
64 KiB, counted as truncated, the next frame on the same connection intact), binary junk on
TCP, absurd octet counts, hundreds of connections opened and dropped (some mid-frame), lines
that are not syslog (stored raw, counted unparsed). Afterwards the process must still run,
accept valid traffic on both transports and store it."""

import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

N_UDP_JUNK = 20000
MAX_MSG = 65536


def tcp_send(port, data, linger_close=False):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.settimeout(30)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        # wait for the server to close or for a short while, so our data is read
        try:
            c.settimeout(0.5)
            while c.recv(4096):
                pass
        except OSError:
            pass


def main(t):
    strmtest.require_binary(t)
    rid = strmtest.run_id()
    rnd = random.Random(int(rid, 16))
    s = t.strm(name="garbage").start()
    port = s.port

    # 1. random UDP datagrams, paced in bursts
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(N_UDP_JUNK):
        n = rnd.choice((0, 1, 2, 7, 64, 300, 1400, 8000, 65000)) if i % 50 == 0 else \
            rnd.randint(1, 600)
        data = rnd.randbytes(n) if n else b""
        if i % 7 == 0:
            data = b"<" + data  # looks like a PRI start
        try:
            u.sendto(data, ("127.0.0.1", port))
        except OSError:
            pass
        if i % 500 == 499:
            time.sleep(0.01)
    t.ok(s.alive(), "alive after %d random UDP datagrams" % N_UDP_JUNK)

    # 2. a 1 MiB line over TCP, then a valid frame on the same connection
    st0 = s.stats()
    big = ("<13>Oct 11 22:14:15 bighost bigapp: BIG-%s " % rid).encode() + b"A" * (1 << 20)
    follow = ("<13>Oct 11 22:14:16 bighost bigapp: FOLLOW-%s after the big one\n" % rid).encode()
    tcp_send(port, big + b"\n" + follow)
    t.ok(s.alive(), "alive after a 1 MiB line over TCP")
    t.ok(strmtest.wait_until(lambda: s.stat("truncated") >= st0.get("truncated", 0) + 1, 3),
         "truncated counter incremented for the 1 MiB line",
         diag=lambda: "truncated %s -> %s" % (st0.get("truncated"), s.stat("truncated")))
    rows = strmtest.wait_until(lambda: s.search_csv(
        "SELECT message, payload FROM events WHERE message LIKE 'BIG-%s%%' LAST 10 MINUTES"
        % rid), 3)
    t.ok(rows and len(rows) == 1, "the 1 MiB line is stored once (cut)",
         diag="rows: %d" % len(rows or []))
    if rows:
        plen = len(rows[0].get("payload", ""))
        t.ok(MAX_MSG - 100 <= plen <= MAX_MSG, "its payload is cut to 64 KiB",
             diag="payload length %d" % plen)
    t.eq(s.count("message = 'FOLLOW-%s after the big one'" % rid, "LAST 10 MINUTES"), 1,
         "the frame after the 1 MiB line on the same connection is intact")
    t.eq(s.count("message LIKE 'AAAA%'", "LAST 10 MINUTES"), 0,
         "the rest of the 1 MiB line is skipped, not stored as extra events")

    # 3. binary junk on TCP (no framing, NULs, high bytes), absurd octet counts
    tcp_send(port, rnd.randbytes(200000))
    tcp_send(port, b"99999999999999999999 x\n" + b"4294967296 abc\n" + b"17 short\n"
             + b"\x00\x00\x00\n\n\r\n")
    t.ok(s.alive(), "alive after binary junk and absurd octet counts on TCP")

    # 4. many connections opened and dropped, some mid-frame; some held then dropped
    opened = 0
    for i in range(400):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            opened += 1
            if i % 3 == 0:
                c.sendall(b"<13>Oct 11 22:14:15 half")  # no terminator
            if i % 5 == 0:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00"
                             b"\x00\x00")  # RST on close
            c.close()
        except OSError:
            pass
    held = []
    for i in range(200):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            opened += 1
        except OSError:
            break
    n_held = len(held)
    seen = [0]

    def enough():
        seen[0] = s.stat("tcp_active")
        return seen[0] >= n_held

    active = strmtest.wait_until(enough, 3)
    for c in held:
        c.close()
    t.ok(n_held == 200 and active, "holds 200 idle connections at once (tcp_active %d)"
         % seen[0])
    t.ok(strmtest.wait_until(lambda: s.stat("tcp_active") == 0, 5),
         "tcp_active back to 0 after %d connections were dropped" % opened,
         diag=lambda: "tcp_active = %s" % s.stat("tcp_active"))
    t.ok(s.stat("tcp_connections") >= opened, "tcp_connections counts every connection",
         diag=lambda: "tcp_connections %s, opened %d" % (s.stat("tcp_connections"), opened))
    t.ok(s.alive(), "alive after %d connections opened and dropped" % opened)

    # 5. lines that are not syslog: stored raw, counted unparsed
    unp0 = s.stat("unparsed")
    tcp_send(port, "".join("this is not syslog UNP-%s-%02d\n" % (rid, i)
                           for i in range(10)).encode())
    ok = strmtest.wait_until(lambda: s.count("message LIKE 'this is not syslog UNP-%s-%%'"
                                             % rid, "LAST 10 MINUTES") == 10, 3)
    t.ok(ok, "10 non-syslog lines stored raw (message = the line)")
    t.ok(s.stat("unparsed") >= unp0 + 10, "unparsed counter counts them",
         diag=lambda: "unparsed %d -> %d" % (unp0, s.stat("unparsed")))

    # 6. framing edge cases: each message must come out exactly
    fr = "FRAME-%s" % rid

    def frame_msg(k):
        return "%s-%d edge case" % (fr, k)

    def hdr(k):
        return "<13>Oct 11 22:14:15 framehost frameapp: " + frame_msg(k)

    one = ("<14>1 - framehost frameapp - - - %s" % frame_msg(0)).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        for b in b"%d " % len(one) + one:  # octet-counted frame, one byte per write
            c.sendall(bytes([b]))
            time.sleep(0.001)
        c.sendall((hdr(1) + "\r\n").encode())       # CR LF trailer
        c.sendall((hdr(2) + "\x00").encode())        # NUL trailer
        c.sendall((hdr(3) + "\n").encode()[:20])     # LF frame split across writes
        time.sleep(0.05)
        c.sendall((hdr(3) + "\n").encode()[20:])
        tail = ("<14>1 - framehost frameapp - - - %s" % frame_msg(4)).encode()
        c.sendall(b"%d %s%s\n" % (len(tail), tail, hdr(5).encode()))  # octet then LF, one write
    u.sendto((hdr(6) + "\n").encode(), ("127.0.0.1", port))  # UDP with a trailing LF
    u.sendto((hdr(7) + "\r\n").encode(), ("127.0.0.1", port))
    rows = strmtest.wait_until(lambda: (lambda r: len(r) >= 8 and r)(s.search_csv(
        "SELECT message FROM events WHERE appname = 'frameapp' LAST 10 MINUTES")), 3)
    got = sorted(r.get("message") for r in rows or [])
    names = ["octet-counted one byte per write", "CR LF", "NUL", "LF split across writes",
             "octet-counted then LF in one write", "(its LF frame)", "UDP with trailing LF",
             "UDP with trailing CR LF"]
    for k, name in enumerate(names):
        t.ok(got.count(frame_msg(k)) == 1, "framing: %s -> message exact, once" % name,
             diag=lambda: "got %r" % [m for m in got if m.startswith("%s-%d " % (fr, k))
                                      or m.startswith("%s-%d\r" % (fr, k))])
    t.eq(len(got), 8, "framing: no extra events from the edge cases")

    # 7. valid traffic afterwards, both transports
    tcp_send(port, "".join("<14>1 - validhost validapp 1 - - VALID-%s-tcp-%03d\n" % (rid, i)
                           for i in range(200)).encode())
    for i in range(200):
        u.sendto(("<14>1 - validhost validapp 2 - - VALID-%s-udp-%03d" % (rid, i)).encode(),
                 ("127.0.0.1", port))
        if i % 20 == 19:
            time.sleep(0.01)
    u.close()
    for tr in ("tcp", "udp"):
        ok = strmtest.wait_until(lambda: s.count("message LIKE 'VALID-%s-%s-%%'" % (rid, tr),
                                                 "LAST 10 MINUTES") == 200, 3)
        t.ok(ok, "200 valid %s messages after the garbage are all stored" % tr.upper(),
             diag=lambda: "count %d" % s.count("message LIKE 'VALID-%s-%s-%%'" % (rid, tr),
                                               "LAST 10 MINUTES"))
    t.ok(s.alive(), "process still running at the end")
    st = s.stats()
    t.ok(st.get("udp_received", 0) + st.get("udp_dropped_kernel", 0) >= 0.9 * N_UDP_JUNK,
         "UDP junk datagrams are counted (received + dropped >= 90%% of %d; the kernel may "
         "drop some before they are read)" % N_UDP_JUNK, diag=repr(st))
    t.eq(st.get("store_errors"), 0, "store_errors = 0")
    t.eq(s.stop(), 0, "SIGTERM: clean stop, exit 0")
    fd_exhaustion(t)


def fd_exhaustion(t):
    """More TCP clients than file descriptors (RLIMIT_NOFILE 256 < tcp_max_clients 4096, as
    under a low service limit): the instance must stay manageable (stats and search answer),
    not flood its log, and take traffic again once the clients leave."""
    t = t.prefixed("fd exhaustion: ")
    s = t.strm(name="nofile", udp=False).start(nofile=256)
    conns = []
    for _ in range(400):
        try:
            conns.append(socket.create_connection(("127.0.0.1", s.port), timeout=2))
        except OSError:
            break
    time.sleep(1.0)
    t0 = time.monotonic()
    try:
        r = strmtest.run_cmd([strmtest.STRM, "stats", "--config", s.config], timeout=5)
        rc = r.returncode
    except strmtest.HarnessError:
        rc = None
    t.ok(rc == 0, "strm stats answers while %d clients hold the descriptors" % len(conns),
         diag="exit %s after %.1f s (None: no answer within 5 s)" % (rc, time.monotonic() - t0))
    try:
        r = strmtest.run_cmd([strmtest.STRM, "search", "--config", s.config,
                              "SELECT COUNT(*) FROM events"], timeout=5)
        rc = r.returncode
    except strmtest.HarnessError:
        rc = None
    t.ok(rc == 0, "strm search answers (or falls back) within 5 s", diag="exit %s" % rc)
    time.sleep(1.0)
    for c in conns:
        c.close()
    t.ok(s.alive(), "alive")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"<13>Nov 25 22:00:00 fdhost fdapp: after the descriptors came back\n")
    t.ok(strmtest.wait_until(lambda: s.count("appname = 'fdapp'") == 1, 5),
         "takes new TCP traffic after the clients left")
    n = sum(1 for line in s.log_text().splitlines() if "Too many open files" in line)
    t.ok(n <= 20, "EMFILE warnings are rate-limited (%d lines while exhausted, ~12 s)" % n)
    t.eq(s.stop(), 0, "clean stop")


if __name__ == "__main__":
    strmtest.run(main, budget=120)
