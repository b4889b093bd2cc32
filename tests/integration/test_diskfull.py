#!/usr/bin/python3
"""test_diskfull - the store on a full disk: ingest pauses with an alarm, nothing is lost or
corrupted, and ingest resumes when space comes back.

A 40 MiB tmpfs made by the test holds data_dir (root only; otherwise one SKIP line). A filler
file takes part of it. Numbered messages are sent over one TCP connection (backpressure: the
sender blocks while the store cannot write) until the filesystem is full: the log says
"ingest paused", the instance still answers stats and searches. Then the filler is removed:
ingest resumes and every message sent is stored exactly once; a restart keeps them all and
`strm fsck` finds nothing damaged. The tmpfs is unmounted at the end.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402
from strmtest import diag, wait_until  # noqa: E402

N_MAX = 400000  # messages the sender may send (bounded)


class Sender(threading.Thread):
    """Sends numbered RFC 5424 messages over TCP until N_MAX or told to stop."""

    def __init__(self, port, rid):
        super().__init__(daemon=True)
        self.port, self.rid = port, rid
        self.sent = 0
        self.stop_at = N_MAX
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=120)
            pad = "x" * 220
            while self.sent < self.stop_at:
                chunk = []
                for _ in range(200):
                    if self.sent >= self.stop_at:
                        break
                    msg = ("<134>1 2026-01-01T00:00:00Z dfhost app - - - diskfull-%s id=%d %s"
                           % (self.rid, self.sent, pad))
                    chunk.append("%d %s" % (len(msg), msg))
                    self.sent += 1
                s.sendall("".join(chunk).encode())
            s.close()
        except Exception as e:  # noqa: B902 - reported by the test
            self.error = e


def main(t):
    strmtest.require_binary(t)
    if os.geteuid() != 0:
        t.skip("disk full on a tmpfs", "needs root to mount a tmpfs")
        return
    mnt = os.path.join(t.root, "mnt")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        t.skip("disk full on a tmpfs", "mount failed: %s" % r.stderr.strip())
        return
    try:
        run_full(t, mnt)
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def run_full(t, mnt):
    rid = strmtest.run_id()
    data = os.path.join(mnt, "data")
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (12 << 20))
    # the disk ceiling would delete partitions to make room: off, so the disk really fills
    s = strmtest.Strm(t, "diskfull", udp=False,
                      extra="  max_disk_percent: 100\n  segment_rows: 20000\n")
    with open(s.config) as f:
        text = f.read()
    with open(s.config, "w") as f:
        f.write(text.replace(s.data_dir, data))
    s.data_dir = data
    s.sock_path = os.path.join(data, "strm.sock")
    s.start(timeout=20)
    snd = Sender(s.port, rid)
    snd.start()

    def paused():
        with open(s.log_path, errors="replace") as f:
            return "ingest paused" in f.read()

    t.ok(wait_until(paused, 90), "the full disk pauses ingest with an alarm in the log",
         diag="sent %d, %s" % (snd.sent, open(s.log_path, errors="replace").read()[-1500:]))
    t.ok(s.proc.poll() is None, "the instance is still running")
    t0 = time.monotonic()
    st = s.stats()
    t.ok(time.monotonic() - t0 < 5 and st.get("stored", 0) > 0,
         "strm stats answers while ingest is paused (stored %s)" % st.get("stored"))
    r = s.search("SELECT COUNT(*) FROM events LAST 1 DAYS")
    t.ok(r.returncode == 0, "searches answer while ingest is paused", diag=r.stderr[-500:])
    sent_at_full = snd.sent
    snd.stop_at = min(N_MAX, snd.sent + 2000)  # a little more after the disk is freed
    os.unlink(filler)
    snd.join(timeout=120)
    t.ok(not snd.is_alive() and snd.error is None,
         "after space came back the sender finished (%d sent, %d when full)"
         % (snd.sent, sent_at_full), diag=repr(snd.error))
    ok = wait_until(lambda: s.stat("stored") >= snd.sent, 90)
    st = s.stats()
    t.ok(ok and st.get("stored") == snd.sent,
         "every message sent is stored once ingest resumed (%s of %d)"
         % (st.get("stored"), snd.sent), diag=repr(st)[-1500:])
    t.eq(st.get("store_errors", 0), 0, "no batch was refused (store_errors 0)")
    t.eq(s.stop(), 0, "SIGTERM: exit 0 after the disk was full")
    s.start(timeout=30)
    rows = s.search_csv("SELECT COUNT(*) AS n, UNIQUECOUNT(payload) AS u FROM events "
                        "WHERE payload LIKE '%%diskfull-%s%%' LAST 1 DAYS" % rid)
    n, u = int(rows[0]["n"]), int(rows[0]["u"])
    t.ok(n == snd.sent and u == snd.sent,
         "after a restart: %d rows, %d distinct, %d sent (nothing lost, nothing twice)"
         % (n, u, snd.sent))
    t.eq(s.stop(), 0, "clean stop")
    r = s.cli("fsck")
    bad = re.search(r"damaged\s+(\d+)", r.stdout)
    t.ok(r.returncode == 0 and (bad is None or bad.group(1) == "0"),
         "strm fsck finds nothing damaged", diag=r.stdout[-1500:] + r.stderr[-500:])


if __name__ == "__main__":
    strmtest.run(main, budget=300)
