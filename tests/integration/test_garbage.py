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

    # 6. valid traffic afterwards, both transports
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
    t.ok(st.get("udp_received", 0) + st.get("udp_dropped_queue_full", 0) >= 0.9 * N_UDP_JUNK,
         "UDP junk datagrams are counted (received + dropped >= 90%% of %d; the kernel may "
         "drop some before they are read)" % N_UDP_JUNK, diag=repr(st))
    t.eq(st.get("store_errors"), 0, "store_errors = 0")
    t.eq(s.stop(), 0, "SIGTERM: clean stop, exit 0")


if __name__ == "__main__":
    strmtest.run(main, budget=120)
