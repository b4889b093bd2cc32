"""Shared parts of bench/store and bench/aql: the data set, openstrm, ClickHouse.

A data set lives in one directory (a temp dir under /tmp, or --dir):

  store_gen            the generator (bench/store/gen.c compiled with cc -O2)
  events.log           N syslog lines (store_gen events -n N -s SEED)
  strm.yaml, strm/     openstrm's config and data_dir (loaded with `strm ingest`)
  events.tsv           the rows openstrm stored, exported with `strm search --format csv`
                       and converted to ClickHouse TabSeparated (store_gen tsv)
  ch/                  ClickHouse's config, users, data, logs
  state.json           what was loaded: N, seed, needles, starttime range, load figures

ClickHouse gets the rows openstrm stored (same starttime, QIDs, categories, log source ids),
so every answer can be compared. Everything runs on loopback; every process started here is
stopped by its PID (stop()).
"""

import csv
import io
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
STRM = os.environ.get("STRM_BIN", os.path.join(REPO, "build", "strm"))
CH_SERVER = "/usr/sbin/clickhouse-server"
CH_CLIENT = "/usr/bin/clickhouse-client"

# The columns both stores are compared on (openstrm keeps more: properties, message,
# appname, procid, MACs, NAT fields... and pays for them on disk).
EXPORT_COLS = ["starttime", "devicetime", "logsourceid", "qid", "category",
               "highlevelcategory", "severity", "eventcount", "sourceip", "sourceport",
               "destinationip", "destinationport", "protocolid", "username", "hostname",
               "payload"]
CH_EVENTS = """CREATE TABLE events (
  starttime UInt64, devicetime UInt64, logsourceid UInt32, qid UInt32, category UInt16,
  highlevelcategory UInt16, severity UInt8, eventcount UInt32,
  sourceip FixedString(16), sourceport UInt16, destinationip FixedString(16),
  destinationport UInt16, protocolid UInt8, username String, hostname String, payload String
) ENGINE = MergeTree PARTITION BY intDiv(starttime, 86400000) ORDER BY starttime"""

procs = []


def log(msg):
    print("# " + msg, flush=True)


def die(msg):
    print("FAIL " + msg, flush=True)
    stop_all()
    sys.exit(1)


def free_port():
    for _ in range(200):
        port = random.randint(20000, 60000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def start(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    procs.append(p)
    return p


def stop(p, timeout=60):
    """SIGTERM our PID, wait, SIGKILL that PID if it hangs."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            log("pid %d ignored SIGTERM for %ds: SIGKILL" % (p.pid, timeout))
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
    if p in procs:
        procs.remove(p)
    return p.returncode


def stop_all():
    for p in list(procs):
        stop(p)


def fmt_ms(ms):
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000.0))


def median(xs):
    return statistics.median(xs)


def bench_line(metric, ours, peer_name, peer, unit, higher_better):
    if higher_better:
        adv = ours / peer if peer else float("inf")
    else:
        adv = peer / ours if ours else float("inf")
    def num(v):
        return ("%.3f" % v) if isinstance(v, float) and v < 100 else "%d" % round(v)
    print("BENCH %s ours=%s peer=%s:%s unit=%s advantage=%.2f"
          % (metric, num(ours), peer_name, num(peer), unit, adv), flush=True)


def machine_line(params):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ver = subprocess.run([STRM, "version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        ver = "?"
    chv = "?"
    try:
        chv = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "clickhouse-server"],
                             capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    print("MACHINE cores=%d cpu=\"%s\" mem=%dGiB kernel=%s strm=\"%s\" clickhouse=\"%s\" "
          "%s loadavg=%s" % (os.cpu_count(), cpu, mem, platform.release(), ver, chv, params,
                             "/".join("%.2f" % x for x in os.getloadavg())), flush=True)


def du(path, skip=()):
    """Bytes allocated under path, but the top-level files named in skip."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            if root == path and f in skip:
                continue
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


# ---------------------------------------------------------------- data set

def build_gen(d):
    exe = os.path.join(d, "store_gen")
    if not os.path.exists(exe):
        cc = shutil.which("cc") or shutil.which("gcc")
        r = subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, "gen.c"), "-lm"])
        if r.returncode:
            die("cannot compile bench/store/gen.c")
    return exe


def needles(gen):
    out = subprocess.run([gen, "needles"], capture_output=True, text=True, check=True).stdout
    return dict(kv.split("=", 1) for kv in out.split())


def generate(gen, path, n, seed):
    t0 = time.time()
    with open(path, "wb") as f:
        r = subprocess.run([gen, "events", "-n", str(n), "-s", str(seed)], stdout=f)
    if r.returncode:
        die("store_gen events failed")
    log("generated %d lines, %d bytes (mean %.0f bytes/line) in %.1f s"
        % (n, os.path.getsize(path), os.path.getsize(path) / max(n, 1), time.time() - t0))
    # written back now: the kernel's writeback of the fresh file must not run during a load
    # (it took ~4 s of the 5M-row openstrm load's 14 s); the TSV for ClickHouse gets the same
    os.sync()


# ---------------------------------------------------------------- openstrm

def strm_config(d):
    cfg = os.path.join(d, "strm.yaml")
    with open(cfg, "w") as f:
        f.write("""data_dir: %s
syslog: {udp: [], tcp: [], tls: []}
netflow: {udp: []}
ipfix: {udp: [], tcp: []}
sflow: {udp: []}
storage:
  retention_days: 0
  max_disk_percent: 100
log:
  level: warn
""" % os.path.join(d, "strm"))
    return cfg


def strm_ingest(cfg, path):
    """`strm ingest` of the whole file; returns (seconds, stored rows)."""
    t0 = time.time()
    r = subprocess.run([STRM, "ingest", "--config", cfg, path], capture_output=True, text=True)
    secs = time.time() - t0
    msg = r.stderr.strip().splitlines()
    log("strm ingest: " + (msg[-1] if msg else "(no output)"))
    if r.returncode:
        die("strm ingest failed: " + r.stderr[-2000:])
    return secs


def strm_search(cfg, aql, fmt="csv", timeout=1800):
    """One `strm search` process; returns (seconds, stdout). The store is opened read-only
    (no instance runs), so each call pays the open as a user's CLI call would."""
    t0 = time.time()
    r = subprocess.run([STRM, "search", "--config", cfg, "--format", fmt, aql],
                       capture_output=True, text=True, timeout=timeout)
    secs = time.time() - t0
    if r.returncode:
        die("strm search failed (%s): %s" % (aql, r.stderr[-2000:]))
    return secs, r.stdout


class StrmInstance:
    """A `strm run` on the loaded data dir, searched through its control socket
    (<data_dir>/strm.sock: "SEARCH <format>\n<AQL>", then "OK\n" and the results): a warm
    server, as ClickHouse's is, with no process start per query. Started and stopped (by
    its PID) by the benchmark."""

    def __init__(self, cfg, data_dir):
        self.cfg, self.sock = cfg, os.path.join(data_dir, "strm.sock")
        self.p, self.logf = None, None

    def start(self):
        self.logf = open(self.cfg + ".instance.log", "wb")
        self.p = start([STRM, "run", "--config", self.cfg], stdout=self.logf,
                       stderr=self.logf, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.p.poll() is not None:
                die("strm run exited (see %s)" % self.logf.name)
            try:
                self.search("SELECT COUNT(*) FROM events START '2000-01-01 00:00:00' "
                            "STOP '2000-01-01 00:01:00'")
                return
            except OSError:
                time.sleep(0.1)
        die("strm run did not answer on %s" % self.sock)

    def search(self, aql, fmt="csv"):
        """One search; returns (seconds, results)."""
        t0 = time.time()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
            s.sendall(("SEARCH %s\n%s" % (fmt, aql)).encode())
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                chunks.append(b)
        finally:
            s.close()
        secs = time.time() - t0
        out = b"".join(chunks).decode("utf-8", "replace")
        head, _, body = out.partition("\n")
        if head != "OK":
            die("search through the instance failed (%s): %s %s" % (aql, head, body[-2000:]))
        return secs, body

    def stop(self):
        if self.p:
            stop(self.p, 120)
            self.logf.close()
            self.p = None


def csv_rows(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0] if rows else [], rows[1:]


def strm_window(cfg, table="events"):
    """The exact starttime range of a table and its rows."""
    _, out = strm_search(cfg, "SELECT MIN(starttime) AS a, MAX(starttime) AS b, COUNT(*) AS n "
                              "FROM %s LAST 30 DAYS" % table)
    _, rows = csv_rows(out)
    a, b, n = int(rows[0][0]), int(rows[0][1]), int(rows[0][2])
    return a, b, n


def time_clause(lo, hi):
    """QRadar START/STOP are whole minutes: STOP covers its minute to .999."""
    return "START '%s' STOP '%s'" % (fmt_ms(lo), fmt_ms(hi))


def strm_export_tsv(cfg, gen, tsv, lo, hi, table="events", cols=None, chunk_rows=500000):
    """Every stored row as ClickHouse TSV. `strm search` holds a whole result in memory
    (about 1 GB per million rows of this data), so the export goes in starttime slices of
    at most chunk_rows rows, found from a per-second histogram."""
    tc = time_clause(lo, hi)
    _, out = strm_search(cfg, "SELECT starttime / 1000 AS s, COUNT(*) AS n FROM %s "
                              "GROUP BY s ORDER BY s %s" % (table, tc))
    _, rows = csv_rows(out)
    hist = [(int(s), int(n)) for s, n in rows]
    slices, cur_lo, cur_n = [], None, 0
    for s, n in hist:
        if cur_lo is None:
            cur_lo = s
        if cur_n and cur_n + n > chunk_rows:
            slices.append((cur_lo, s))
            cur_lo, cur_n = s, 0
        cur_n += n
    if cur_lo is not None:
        slices.append((cur_lo, hist[-1][0] + 1))
    cols = ", ".join(cols or EXPORT_COLS)
    t0 = time.time()
    total = 0
    with open(tsv, "wb") as f:
        for a, b in slices:
            q = ("SELECT %s FROM %s WHERE starttime >= %d AND starttime < %d %s"
                 % (cols, table, a * 1000, b * 1000, tc))
            p1 = subprocess.Popen([STRM, "search", "--config", cfg, "--format", "csv", q],
                                  stdout=subprocess.PIPE)
            p2 = subprocess.Popen([gen, "tsv"], stdin=p1.stdout, stdout=f,
                                  stderr=subprocess.PIPE, text=True)
            p1.stdout.close()
            err = p2.communicate()[1]
            if p1.wait() or p2.returncode:
                die("export slice %d-%d failed: %s" % (a, b, err))
            total += int(err.split()[2])
    log("exported %d rows in %d slices to %s (%d bytes) in %.1f s"
        % (total, len(slices), tsv, os.path.getsize(tsv), time.time() - t0))
    return total


# ---------------------------------------------------------------- ClickHouse

def ch_install():
    if os.path.exists(CH_SERVER) and os.path.exists(CH_CLIENT):
        return
    log("installing clickhouse-server and clickhouse-client (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                        "clickhouse-server", "clickhouse-client"], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        die("apt-get install clickhouse-server failed: " + r.stderr[-2000:])


class ClickHouse:
    """clickhouse-server on 127.0.0.1 with its own config, data path and free ports."""

    def __init__(self, d, zstd=False):
        self.dir = os.path.join(d, "ch")
        for sub in ("data", "tmp", "user_files", "format_schemas"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.tcp = free_port()
        self.http = free_port()
        while self.http == self.tcp:
            self.http = free_port()
        comp = ("<compression><case><method>zstd</method></case></compression>"
                if zstd else "")
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <mark_cache_size>1073741824</mark_cache_size>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
  <timezone>UTC</timezone>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  {comp}
</yandex>
""".format(d=self.dir, tcp=self.tcp, http=self.http, comp=comp))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
""")
        self.proc = None

    def start(self):
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = start([CH_SERVER, "--config-file=" + os.path.join(self.dir, "config.xml")],
                          stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                die("clickhouse-server exited (%s); see %s" % (self.proc.returncode, self.dir))
            try:
                if self.query("SELECT 1").strip() == "1":
                    log("clickhouse-server pid %d on 127.0.0.1 tcp %d http %d, data %s"
                        % (self.proc.pid, self.tcp, self.http, self.dir))
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        die("clickhouse-server did not answer within 60 s")

    def stop(self):
        if self.proc:
            stop(self.proc)
            self.proc = None

    def query(self, sql, timeout=1800):
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.http,
                                     data=sql.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")

    def timed(self, sql):
        t0 = time.time()
        out = self.query(sql)
        return time.time() - t0, out

    def load_tsv(self, table, path):
        """clickhouse-client INSERT ... FORMAT TabSeparated < path; returns seconds."""
        t0 = time.time()
        with open(path, "rb") as f:
            r = subprocess.run([CH_CLIENT, "--host", "127.0.0.1", "--port", str(self.tcp),
                                "--query", "INSERT INTO %s FORMAT TabSeparated" % table],
                               stdin=f, capture_output=True, text=True)
        secs = time.time() - t0
        if r.returncode:
            die("clickhouse-client INSERT failed: " + r.stderr[-2000:])
        return secs

    def settle(self, table, limit_s=120):
        """Wait until background merges of the table stop (part count stable 5 s)."""
        last, stable_since, t0 = None, time.time(), time.time()
        while time.time() - t0 < limit_s:
            n = self.query("SELECT count() FROM system.parts WHERE active AND table = '%s'"
                           % table).strip()
            m = self.query("SELECT count() FROM system.merges").strip()
            if n != last or m != "0":
                last, stable_since = n, time.time()
            elif time.time() - stable_since >= 5:
                break
            time.sleep(1)
        return int(last or 0)

    def bytes_on_disk(self, table):
        out = self.query("SELECT sum(bytes_on_disk), sum(data_compressed_bytes), "
                         "sum(data_uncompressed_bytes), count() FROM system.parts "
                         "WHERE active AND table = '%s'" % table).split()
        return [int(x) for x in out]


def ch_ip(ip):
    return "IPv6StringToNum('%s')" % (ip if ":" in ip else "::ffff:" + ip)


def load_all(d, n, seed, zstd, reuse):
    """Generate, load openstrm, export, start ClickHouse and load it. Returns state and
    the running ClickHouse."""
    ch_install()
    gen = build_gen(d)
    st = load_state(d) if reuse else None
    if st and st.get("n") == n and st.get("seed") == seed and st.get("done"):
        log("reusing the data set in %s" % d)
        ch = ClickHouse(d, zstd=st.get("zstd", False))
        ch.start()
        return st, ch
    for sub in ("strm", "ch"):
        shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
    st = {"n": n, "seed": seed, "zstd": zstd, "needles": needles(gen)}
    raw = os.path.join(d, "events.log")
    generate(gen, raw, n, seed)
    st["raw_bytes"] = os.path.getsize(raw)
    cfg = strm_config(d)

    secs = strm_ingest(cfg, raw)
    lo, hi, rows = strm_window(cfg)
    if rows != n:
        log("WARNING: openstrm stored %d rows for %d lines" % (rows, n))
    # The data: segments and WAL. Not the disk-full reserve, a fixed 256 MiB file that
    # holds no data (docs/storage.md), as ClickHouse's figure is its parts' bytes only.
    ariel = os.path.join(d, "strm", "ariel")
    st.update(strm_load_s=secs, strm_rows=rows, lo=lo, hi=hi,
              strm_bytes=du(ariel, skip=("reserve",)), strm_reserve=du(ariel) - du(ariel, skip=("reserve",)))
    log("openstrm: %d rows in %.1f s = %.0f rows/s; starttime %d..%d (%.1f s)"
          % (rows, secs, n / secs, lo, hi, (hi - lo) / 1000.0))

    tsv = os.path.join(d, "events.tsv")
    st["tsv_rows"] = strm_export_tsv(cfg, gen, tsv, lo, hi)
    os.sync()

    ch = ClickHouse(d, zstd=zstd)
    ch.start()
    ch.query(CH_EVENTS)
    secs = ch.load_tsv("events", tsv)
    chrows = int(ch.query("SELECT count() FROM events").strip())
    parts = ch.settle("events")
    b = ch.bytes_on_disk("events")
    st.update(ch_load_s=secs, ch_rows=chrows, ch_bytes=b[0], ch_compressed=b[1],
              ch_uncompressed=b[2], ch_parts=parts,
              ch_du=du(os.path.join(d, "ch", "data", "data", "default", "events")))
    log("clickhouse: %d rows in %.1f s = %.0f rows/s; %d parts, %d bytes on disk"
          % (chrows, secs, chrows / secs, parts, b[0]))
    if chrows != rows:
        log("WARNING: ClickHouse holds %d rows, openstrm %d" % (chrows, rows))
    os.unlink(tsv)  # the largest file; the stores hold the data now
    st["done"] = True
    save_state(d, st)
    return st, ch


# ---------------------------------------------------------------- flows

FLOW_COLS = ["starttime", "firstpackettime", "lastpackettime", "sourceip", "destinationip",
             "sourceport", "destinationport", "protocolid", "sourcebytes", "destinationbytes",
             "sourcepackets", "destinationpackets"]
CH_FLOWS = """CREATE TABLE flows (
  starttime UInt64, firstpackettime UInt64, lastpackettime UInt64,
  sourceip FixedString(16), destinationip FixedString(16), sourceport UInt16,
  destinationport UInt16, protocolid UInt8, sourcebytes UInt64, destinationbytes UInt64,
  sourcepackets UInt64, destinationpackets UInt64
) ENGINE = MergeTree PARTITION BY intDiv(starttime, 86400000) ORDER BY starttime"""
NFGEN_SRC = os.path.join(REPO, "bench", "flows", "nfgen.c")


def strm_stat(cfg, name):
    r = subprocess.run([STRM, "stats", "--config", cfg], capture_output=True, text=True)
    if r.returncode:
        return None
    for line in r.stdout.splitlines():
        f = line.replace(":", " ").split()
        if len(f) >= 2 and f[0] == name:
            try:
                return int(f[1])
            except ValueError:
                return None
    return None


def load_flows(d, st, ch, nflows, rate):
    """NetFlow v9 from bench/flows/nfgen.c (another benchmark's generator) to a running
    `strm run` on a free loopback port; the flows openstrm stored are then exported and
    loaded into a ClickHouse flows table. Returns False (and says why) when nfgen is
    missing."""
    if not os.path.exists(NFGEN_SRC):
        log("bench/flows/nfgen.c not found: no flows")
        return False
    nfgen = os.path.join(d, "nfgen")
    if not os.path.exists(nfgen):
        cc = shutil.which("cc") or shutil.which("gcc")
        if subprocess.run([cc, "-O2", "-o", nfgen, NFGEN_SRC]).returncode:
            log("cannot compile %s: no flows" % NFGEN_SRC)
            return False
    port = free_port()
    cfg = os.path.join(d, "strm-run.yaml")
    with open(cfg, "w") as f:
        f.write("""data_dir: %s
syslog: {udp: [], tcp: [], tls: []}
netflow: {udp: ["127.0.0.1:%d"]}
ipfix: {udp: [], tcp: []}
sflow: {udp: []}
storage:
  retention_days: 0
  max_disk_percent: 100
log:
  level: warn
""" % (os.path.join(d, "strm"), port))
    logf = open(os.path.join(d, "strm-run.log"), "ab")
    p = start([STRM, "run", "--config", cfg], stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while strm_stat(cfg, "flow_stored") is None:
        if p.poll() is not None or time.time() > deadline:
            die("strm run did not start (see %s/strm-run.log)" % d)
        time.sleep(0.3)
    t0 = time.time()
    r = subprocess.run([nfgen, "-p", str(port), "-n", str(nflows), "-R", str(rate),
                        "-s", str(st["seed"])], capture_output=True, text=True)
    log("nfgen: " + (r.stdout.strip() or r.stderr.strip()))
    last, since = -1, time.time()
    while time.time() - since < 5 and time.time() - t0 < 1800:
        n = strm_stat(cfg, "flow_stored") or 0
        if n != last:
            last, since = n, time.time()
        if n >= nflows:
            break
        time.sleep(0.5)
    lost = {k: strm_stat(cfg, k) for k in ("flow_udp_dropped_kernel", "flow_dropped",
                                           "flow_malformed")}
    stop(p, timeout=300)
    log("strm run: %d of %d flow records stored (%s); stopped" % (last, nflows, lost))
    scfg = os.path.join(d, "strm.yaml")
    lo, hi, rows = strm_window(scfg, "flows")
    gen = build_gen(d)
    tsv = os.path.join(d, "flows.tsv")
    n = strm_export_tsv(scfg, gen, tsv, lo, hi, "flows", FLOW_COLS)
    ch.query("DROP TABLE IF EXISTS flows")  # a load that stopped half-way is done again
    ch.query(CH_FLOWS)
    secs = ch.load_tsv("flows", tsv)
    chrows = int(ch.query("SELECT count() FROM flows").strip())
    os.unlink(tsv)
    log("flows: openstrm %d rows, clickhouse %d rows (loaded in %.1f s)" % (rows, chrows, secs))
    st.update(flows_done=True, flows_rows=rows, flows_lo=lo, flows_hi=hi, flows_ch_rows=chrows)
    save_state(d, st)
    return True


def save_state(d, state):
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump(state, f, indent=1)


def load_state(d):
    try:
        with open(os.path.join(d, "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
