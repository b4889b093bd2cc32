#!/usr/bin/python3
"""kill -9 in the middle of a TCP stream. The durability promise under test:

  an event that a search has returned, or that was received more than 1 s before a crash,
  survives kill -9; after a crash the store opens, recovers the WAL, and nothing is
  duplicated.

A sender thread streams numbered RFC 5424 messages on one TCP connection (first half as fast
as the receiver takes them, then slowly, so the kill lands mid-stream). Just before the kill we
record (a) the ids a search returned and (b) tcp_received: since one TCP connection is read in
order, tcp_received = R means ids 0..R-1 were received; the kill comes >= 1.5 s after that
reading. After the restart every id of (a) and 0..R-1 must be there, no id twice. Then a second
crash without traffic and a restart (recovery is idempotent), a clean stop, and a read-only
search without an instance must all see the same set."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

N_TOTAL = 200000
N_FAST = 100000


class Sender(threading.Thread):
    def __init__(self, port, rid):
        super().__init__(daemon=True)
        self.port = port
        self.rid = rid
        self.sent = 0  # messages handed to sendall() completely
        self.error = None
        self.stop_flag = False

    def run(self):
        host = "crashhost"
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            sock.settimeout(30)
            chunk = 1000
            i = 0
            while i < N_TOTAL and not self.stop_flag:
                n = min(chunk if i < N_FAST else 200, N_TOTAL - i)
                buf = "".join("<134>1 %s %s crashapp 99 SEQ - CRASH-%s-%07d payload for "
                              "durability check\n" % (ts, host, self.rid, k)
                              for k in range(i, i + n)).encode()
                sock.sendall(buf)
                i += n
                self.sent = i
                if i >= N_FAST:
                    time.sleep(0.1)  # slow tail: ~2000 msg/s, lasts ~50 s
            sock.close()
        except OSError as e:
            self.error = e


def ids_of(rows, rid):
    out = []
    prefix = "CRASH-%s-" % rid
    for r in rows:
        m = r.get("message", "")
        if m.startswith(prefix):
            try:
                out.append(int(m[len(prefix):len(prefix) + 7]))
            except ValueError:
                pass
    return out


def main(t):
    strmtest.require_binary(t)
    # A: everything still in the WAL at the crash (segment_rows above what is sent)
    scenario(t, "WAL only", "")
    # B: small segments, so segments are written during the stream and recovery must replay
    # only the WAL records newer than them
    scenario(t, "segments+WAL", "  segment_rows: 20000\n")


def scenario(t, label, storage_extra):
    t = t.prefixed(label + ": ")
    rid = strmtest.run_id()
    s = t.strm(name="crash", udp=False, fsync="interval", extra=storage_extra).start()
    where = "appname = 'crashapp'"
    aql_ids = "SELECT message FROM events WHERE %s LAST 60 MINUTES" % where

    snd = Sender(s.port, rid)
    snd.start()
    if not strmtest.wait_until(lambda: snd.sent >= N_FAST or snd.error, 60, 0.05):
        raise strmtest.HarnessError("sender did not reach %d messages in 60 s" % N_FAST)
    if snd.error:
        raise strmtest.HarnessError("sender failed before the kill: %r" % snd.error)

    # (a) what a search returned
    rows = s.search_csv(aql_ids, timeout=60)
    returned = set(ids_of(rows, rid))
    count_before = len(rows)
    # (b) what had been received at least 1.5 s before the kill
    st = s.stats()
    received = st.get("tcp_received", 0)
    t_recv = time.monotonic()
    if storage_extra:
        t.ok(st.get("segments_written", 0) > 0, "segments were written before the crash",
             diag=repr(st))
    time.sleep(1.5)
    sent_at_kill = snd.sent
    t.ok(snd.sent < N_TOTAL and snd.error is None and s.alive(),
         "kill lands mid-stream (%d of %d sent, searched %d, received %d)"
         % (sent_at_kill, N_TOTAL, count_before, received))
    s.kill9()
    t_kill = time.monotonic()
    diag_gap = t_kill - t_recv
    snd.join(timeout=40)
    if snd.is_alive():
        snd.stop_flag = True
        raise strmtest.HarnessError("sender thread still running 40 s after the kill")
    t.ok(snd.error is not None, "sender saw the connection die",
         diag="sender finished without error; sent %d" % snd.sent)

    # restart 1: recovery
    s.start(timeout=20)
    t.ok(True, "store opens after kill -9 (restart ready)")
    rows = s.search_csv(aql_ids, timeout=60)
    after = ids_of(rows, rid)
    after_set = set(after)
    t.eq(len(after), len(after_set), "no event duplicated by WAL recovery")
    missing_returned = returned - after_set
    t.ok(not missing_returned, "every event a search returned before the crash survives "
         "(%d returned)" % len(returned),
         diag=lambda: "%d lost, e.g. %s" % (len(missing_returned), sorted(missing_returned)[:5]))
    missing_recv = [i for i in range(received) if i not in after_set]
    t.ok(not missing_recv, "every event received %.1f s before the crash survives (ids 0..%d)"
         % (diag_gap, received - 1),
         diag=lambda: "%d lost, first %s" % (len(missing_recv), missing_recv[:5]))
    t.ok(len(after) >= count_before, "count after restart (%d) >= count searched before the "
         "crash (%d)" % (len(after), count_before))
    t.ok(all(0 <= i < sent_at_kill + 1000 for i in after_set),
         "nothing stored that was never sent", diag="max id %s, sent %d"
         % (max(after_set) if after_set else None, snd.sent))
    cnt = s.count(where)
    t.eq(cnt, len(after), "SELECT COUNT(*) agrees with the rows returned")
    st = s.stats()
    t.eq(st.get("store_errors"), 0, "stats store_errors = 0 after recovery")

    # restart 2: crash again with no traffic; recovery must be idempotent
    s.kill9()
    s.start(timeout=20)
    rows2 = s.search_csv(aql_ids, timeout=60)
    after2 = ids_of(rows2, rid)
    t.ok(len(after2) == len(set(after2)) and set(after2) == after_set,
         "second crash + restart: same events, none duplicated",
         diag="before %d (unique %d), now %d (unique %d)" % (len(after), len(after_set),
                                                             len(after2), len(set(after2))))
    # restart 3: clean stop and start
    t.eq(s.stop(), 0, "SIGTERM after recovery: clean stop, exit 0")
    s.start(timeout=20)
    after3 = ids_of(s.search_csv(aql_ids, timeout=60), rid)
    t.ok(len(after3) == len(set(after3)) and set(after3) == after_set,
         "clean restart after recovery: same events, none duplicated",
         diag="expected %d, got %d (unique %d)" % (len(after_set), len(after3), len(set(after3))))
    t.eq(s.stop(), 0, "second clean stop, exit 0")
    # read-only search with no instance running
    after4 = ids_of(s.search_csv(aql_ids, timeout=60), rid)
    t.ok(len(after4) == len(set(after4)) and set(after4) == after_set,
         "read-only search without an instance: same events",
         diag="expected %d, got %d (unique %d)" % (len(after_set), len(after4), len(set(after4))))


if __name__ == "__main__":
    strmtest.run(main, budget=200)
