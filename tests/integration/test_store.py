#!/usr/bin/python3
"""`strm store info` and `strm fsck` on a real instance's store.

An instance takes N syslog lines over TCP and writes them as segments (segment_max_age_s 1).
Beside the running instance, `strm store info` must show all N rows and per-column sizes, and
`strm fsck` must find the store clean (exit 0) and refuse --repair. After a clean stop, a
flipped byte in a segment's column data must make fsck exit 1 naming the file; --repair must
move that file to <store>/quarantine/ (never delete it), after which fsck is clean again and
the store still opens and serves the other rows."""

import glob
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

N = 3000


def info_dict(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def main(t):
    s = t.strm(udp=False, extra="  segment_max_age_s: 1\n")
    s.start()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall("".join("<13>Nov 25 10:00:00 storehost sshd[7]: Accepted password for user%d "
                         "from 10.1.%d.%d port 22 ssh2 n=%d\n" % (i % 13, i % 250, i % 199, i)
                         for i in range(N)).encode())
    sock.close()
    store = os.path.join(s.data_dir, "ariel")
    seg_glob = os.path.join(store, "events", "*", "*", "*", "*", "seg-*.seg")

    def all_in_segments():
        r = s.cli("store", "info", timeout=20)
        d = info_dict(r.stdout) if r.returncode == 0 else {}
        return d.get("segment_rows") == N
    try:
        strmtest.wait_until(all_in_segments, 30)
    except strmtest.Timeout:
        pass
    r = s.cli("store", "info", timeout=20)
    d = info_dict(r.stdout)
    t.eq(r.returncode, 0, "store info works beside a running instance")
    t.eq(d.get("rows"), N, "store info counts every row")
    t.eq(d.get("segment_rows"), N, "the rows were written as segments")
    t.ok(d.get("segments", 0) >= 1 and d.get("partitions", 0) >= 1, "segments and partitions",
         r.stdout)
    files = glob.glob(seg_glob)
    t.eq(d.get("segment_bytes"), sum(os.path.getsize(f) for f in files),
         "segment_bytes is the size of the segment files")
    t.ok(any(line.startswith("payload ") and "str:" in line for line in r.stdout.splitlines()),
         "per-column encodings are listed", r.stdout)

    # --explain says what the indexes skipped: an address no row has rules out every segment
    r = s.cli("search", "--explain", "SELECT COUNT(*) AS n FROM events WHERE "
              "sourceip = '10.99.99.99' LAST 1 DAYS", timeout=30)
    m = re.search(r"explain: (\d+) segments? in the time range: \d+ skipped by min/max, "
                  r"(\d+) skipped by Bloom", r.stdout + r.stderr)
    t.ok(r.returncode == 0 and m and int(m.group(1)) >= 1 and m.group(1) == m.group(2),
         "explain: every segment skipped by the Bloom index for an absent address",
         r.stdout + r.stderr)
    r = s.cli("search", "--explain", "SELECT COUNT(*) AS n FROM events WHERE "
              "username = 'user3' LAST 1 DAYS", timeout=30)
    m = re.search(r"(\d+) rows scanned", r.stdout + r.stderr)
    t.ok(r.returncode == 0 and "rows in blocks skipped by indexes" in r.stdout + r.stderr and
         m and int(m.group(1)) == len([i for i in range(N) if i % 13 == 3]),
         "explain: a user lookup scans only the user's rows", r.stdout + r.stderr)
    r = s.cli("fsck", timeout=60)
    t.eq(r.returncode, 0, "fsck beside the running instance: clean")
    r = s.cli("fsck", "--repair", timeout=60)
    t.ok(r.returncode != 0 and "in use" in r.stderr, "fsck --repair refuses while running",
         r.stderr)
    s.stop()

    r = s.cli("fsck", timeout=60)
    t.eq(r.returncode, 0, "fsck of the stopped store: clean")
    files = sorted(glob.glob(seg_glob))
    victim = files[0]
    with open(victim, "r+b") as f:  # a byte of the first column's data, after the directory
        hdr = f.read(16)
        off = int.from_bytes(hdr[10:12], "little") + int.from_bytes(hdr[12:14], "little") * \
            int.from_bytes(hdr[14:16], "little") + 1
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x5A]))
    r = s.cli("fsck", timeout=60)
    t.eq(r.returncode, 1, "fsck exits 1 on a damaged segment")
    t.ok(victim in r.stdout and "DAMAGED" in r.stdout, "fsck names the damaged file", r.stdout)
    r = s.cli("fsck", "--repair", timeout=60)
    t.eq(r.returncode, 1, "fsck --repair still reports the damage it found")
    q = os.path.join(store, "quarantine", os.path.basename(victim))
    t.ok(os.path.exists(q) and not os.path.exists(victim), "the damaged segment is quarantined")
    r = s.cli("fsck", timeout=60)
    t.eq(r.returncode, 0, "fsck after repair: clean")
    r = s.cli("store", "info", timeout=20)
    d = info_dict(r.stdout)
    t.ok(r.returncode == 0 and d.get("segments") == len(files) - 1,
         "store info without an instance sees the remaining segments", r.stdout + r.stderr)


strmtest.run(main, budget=120)
