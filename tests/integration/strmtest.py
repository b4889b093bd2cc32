#!/usr/bin/python3
"""strmtest - the harness the integration tests share (Python 3 stdlib only).

Each test script does:

    import strmtest
    def main(t):                 # t is a strmtest.Tap
        s = t.strm()             # temp dir, free loopback ports, config written
        s.start()                # build/strm run; waits for `ready` and the control socket
        ...
        t.ok(cond, "what the user relies on", diag="shown on failure")
    strmtest.run(main, budget=120)

What it promises:
- stdout carries TAP only (`ok N - ...`, `not ok N - ...`, `# diagnostics`, `1..N` at the end);
  the product's own stderr goes to a log file in the test's temp dir (its tail is printed as
  diagnostics when a check fails or the harness breaks).
- Nothing hangs: every subprocess call has a timeout, and a global alarm (budget seconds)
  ends the script with a `not ok` line.
- Only processes this script started are stopped, by their PID (SIGTERM, then SIGKILL of that
  one PID if it does not stop in time), in a finally block.
- The exit status is 0 when the checks ran (whatever they found) and 1 when the harness itself
  broke (a `not ok - harness: ...` line says why).
Environment: STRM_BIN overrides the binary (default <repo>/build/strm); STRM_KEEP=1 keeps the
temp dirs; STRM_VERBOSE=1 echoes commands as diagnostics.
"""

import csv
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STRM = os.environ.get("STRM_BIN", os.path.join(REPO, "build", "strm"))
CORPUS = os.environ.get("STRM_CORPUS") or os.path.abspath(os.path.join(REPO, "..", "shared", "corpus"))
if not os.path.isdir(CORPUS) and os.path.isdir("/work/shared/corpus"):
    CORPUS = "/work/shared/corpus"
VERBOSE = os.environ.get("STRM_VERBOSE") == "1"

_procs = []  # every Popen this process started; stopped in run()'s finally


class HarnessError(Exception):
    """The harness (not the product) could not do its job."""


class Timeout(HarnessError):
    pass


def diag(*lines):
    for line in lines:
        for part in str(line).splitlines() or [""]:
            print("# " + part, flush=True)


def wait_until(cond, timeout, interval=0.1):
    """Calls cond() until it returns something truthy or timeout seconds pass; returns the last
    value (falsy on timeout). Exceptions from cond count as falsy."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        try:
            value = cond()
        except (HarnessError, OSError, ValueError, subprocess.SubprocessError):
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def free_port(kinds=("tcp", "udp")):
    """A loopback port that is free for both TCP and UDP right now."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        socks = []
        try:
            if "tcp" in kinds:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            if "udp" in kinds:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise HarnessError("no free loopback port")


def port_is_bound_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def tcp_connects(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def start_proc(argv, **kw):
    """Popen that the harness remembers and stops at exit."""
    if VERBOSE:
        diag("start: " + " ".join(argv))
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


def stop_proc(p, timeout=10.0, sig=signal.SIGTERM):
    """Stops one process we started: sig, wait, then SIGKILL of that PID. Returns its status."""
    if p.poll() is not None:
        return p.returncode
    try:
        os.kill(p.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        diag("pid %d did not stop within %.0fs after signal %d; SIGKILL" % (p.pid, timeout, sig))
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)
        return None  # "hung": the caller reports it


def run_cmd(argv, input=None, timeout=60, env=None):
    """Runs a command to completion (bounded); returns CompletedProcess with str output."""
    if VERBOSE:
        diag("run: " + " ".join(argv))
    try:
        text = not isinstance(input, (bytes, bytearray))
        return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env, text=text,
                              errors="replace" if text else None)
    except subprocess.TimeoutExpired as e:
        raise HarnessError("command timed out after %ss: %s" % (timeout, " ".join(argv))) from e


class Strm:
    """One openstrm instance: its temp dir, config, ports and (when started) its process."""

    def __init__(self, tap, name="strm", udp=True, tcp=True, fsync="interval", extra="",
                 config_text=None):
        self.tap = tap
        self.dir = tap.tempdir(name)
        self.data_dir = os.path.join(self.dir, "data")
        self.sock_path = os.path.join(self.data_dir, "strm.sock")
        self.config = os.path.join(self.dir, "strm.yaml")
        self.log_path = os.path.join(self.dir, "strm.log")
        self.port = free_port()
        self.udp = udp
        self.tcp = tcp
        self.proc = None
        self.starts = 0
        if config_text is None:
            udp_list = '["127.0.0.1:%d"]' % self.port if udp else "[]"
            tcp_list = '["127.0.0.1:%d"]' % self.port if tcp else "[]"
            config_text = ("data_dir: %s\n"
                           "syslog:\n"
                           "  udp: %s\n"
                           "  tcp: %s\n"
                           "  tls: []\n"
                           "storage:\n"
                           "  fsync: %s\n"
                           # the default touches up to 1152 MiB at start (docs/storage.md);
                           # tests start hundreds of instances
                           "  memtable_prealloc_mb: 64\n" % (self.data_dir, udp_list, tcp_list,
                                                               fsync)) + extra
            # Transport and durability tests count messages one by one: coalescing (which
            # folds repeats into one row) is off unless a test sets it.
            if "coalescing:" not in extra:
                config_text += "coalescing:\n  enabled: false\n"
        with open(self.config, "w") as f:
            f.write(config_text)

    # ------------------------------------------------------------------ process

    def start(self, timeout=10.0, nofile=None):
        """Starts `strm run`; nofile sets its RLIMIT_NOFILE (soft and hard) when given."""
        if not os.path.exists(STRM):
            raise HarnessError("%s does not exist (build first)" % STRM)
        # The flow listeners default to the well-known ports (2055, 9995, 4739, 6343): off
        # unless the test's config sets them, so tests running side by side never collide.
        with open(self.config) as f:
            text = f.read()
        for section, body in (("netflow:", "  udp: []\n"), ("ipfix:", "  udp: []\n  tcp: []\n"),
                              ("sflow:", "  udp: []\n")):
            if not re.search(r"(?m)^" + section, text):
                text += ("" if text.endswith("\n") else "\n") + section + "\n" + body
        with open(self.config, "w") as f:
            f.write(text)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(b"==== start %d ====\n" % self.starts)
        log.flush()
        kw = {}
        if nofile:
            import resource
            kw["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                          (nofile, nofile))
        self.proc = start_proc([STRM, "run", "--config", self.config], stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL, **kw)
        log.close()
        t0 = time.monotonic()

        def ready():
            if self.proc.poll() is not None:
                return "exited"
            return os.path.exists(self.sock_path) and "ready" in self.log_since_start()

        r = wait_until(ready, timeout, 0.05)
        if r != True:  # noqa: E712 - "exited" is truthy too
            rc = self.proc.poll()
            self.tap.diag_log(self)
            if rc is not None:
                raise HarnessError("strm run exited with status %s before it was ready" % rc)
            raise HarnessError("strm run did not become ready in %.0fs" % timeout)
        if VERBOSE:
            diag("strm ready after %.2fs" % (time.monotonic() - t0))
        return self

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_since_start(self):
        text = self.log_text()
        mark = "==== start %d ====" % self.starts
        i = text.rfind(mark)
        return text[i:] if i >= 0 else text

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM and wait. Returns the exit status, or None when it hung and was killed."""
        if self.proc is None:
            return None
        rc = stop_proc(self.proc, timeout)
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is None:
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    # ------------------------------------------------------------------ CLI

    def cli(self, *args, input=None, timeout=60):
        return run_cmd([STRM] + [args[0], "--config", self.config] + list(args[1:]),
                       input=input, timeout=timeout)

    def search(self, aql, fmt="csv", timeout=60):
        return self.cli("search", "--format", fmt, aql, timeout=timeout)

    def search_csv(self, aql, timeout=60):
        """Rows as a list of dicts (header row gives the keys); raises HarnessError on failure."""
        r = self.search(aql, "csv", timeout)
        if r.returncode != 0:
            raise HarnessError("search failed (exit %d): %s\n%s" % (r.returncode, aql,
                                                                    r.stderr[-2000:]))
        return list(csv.DictReader(io.StringIO(r.stdout)))

    def count(self, where=None, window="LAST 60 MINUTES"):
        aql = "SELECT COUNT(*) FROM events"
        if where:
            aql += " WHERE " + where
        if window:
            aql += " " + window
        rows = self.search_csv(aql)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise HarnessError("COUNT(*) gave %r" % rows)
        return int(list(rows[0].values())[0])

    def stats(self):
        r = self.cli("stats", timeout=20)
        if r.returncode != 0:
            raise HarnessError("strm stats exit %d: %s" % (r.returncode, r.stderr[-500:]))
        out = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2:
                try:
                    out[parts[0]] = int(parts[1])
                except ValueError:
                    out[parts[0]] = parts[1]
        return out

    def stat(self, name):
        return self.stats().get(name, 0)


class Tap:
    def __init__(self, name):
        self.name = name
        self.n = 0
        self.failed = 0
        self.root = tempfile.mkdtemp(prefix="strm-it-%s-" % name)
        self.instances = []

    def tempdir(self, name):
        d = tempfile.mkdtemp(prefix=name + "-", dir=self.root)
        return d

    def strm(self, **kw):
        s = Strm(self, **kw)
        self.instances.append(s)
        return s

    def ok(self, cond, desc, diag_text=None, **kw):
        diag_text = kw.get("diag", diag_text)
        self.n += 1
        desc = desc.replace("\n", " ")
        if cond:
            print("ok %d - %s" % (self.n, desc), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc), flush=True)
            if diag_text is not None:
                diag(diag_text() if callable(diag_text) else diag_text)
        return bool(cond)

    def eq(self, got, expected, desc):
        return self.ok(got == expected, desc,
                       diag="expected: %r\n     got: %r" % (expected, got))

    def skip(self, desc, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, reason), flush=True)

    def prefixed(self, prefix):
        """The same Tap, with prefix put before every check's description."""
        return _Prefixed(self, prefix)

    def diag_log(self, s, lines=30):
        text = s.log_text().splitlines()
        if text:
            diag("--- last lines of %s ---" % s.log_path)
            diag(*text[-lines:])


class _Prefixed:
    def __init__(self, tap, prefix):
        self._tap = tap
        self._prefix = prefix

    def ok(self, cond, desc, diag_text=None, **kw):
        return self._tap.ok(cond, self._prefix + desc, diag_text, **kw)

    def eq(self, got, expected, desc):
        return self._tap.eq(got, expected, self._prefix + desc)

    def skip(self, desc, reason):
        return self._tap.skip(self._prefix + desc, reason)

    def __getattr__(self, name):
        return getattr(self._tap, name)


def _alarm(signum, frame):
    raise Timeout("global time budget exceeded")


def run(main, name=None, budget=240):
    """Runs main(tap) under a global time budget, prints the plan, stops our processes."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t = Tap(name)
    global STRM
    if os.path.exists(STRM) and not os.environ.get("STRM_BIN"):
        # a private copy: a rebuild of build/strm during the run must not break the run
        copy = os.path.join(t.root, "strm")
        shutil.copy2(STRM, copy)
        STRM = copy
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(budget))
    broken = False
    try:
        main(t)
    except BaseException as e:  # noqa: B902 - report anything, including the alarm
        broken = True
        t.n += 1
        t.failed += 1
        print("not ok %d - harness: %s: %s" % (t.n, type(e).__name__, str(e).splitlines()[0]
                                                if str(e) else ""), flush=True)
        diag(traceback.format_exc())
        for s in t.instances:
            t.diag_log(s)
    finally:
        signal.alarm(0)
        for p in _procs:
            if p.poll() is None:
                stop_proc(p, 10)
        print("1..%d" % t.n, flush=True)
        diag("%s: %d checks, %d failed" % (name, t.n, t.failed))
        if os.environ.get("STRM_KEEP") == "1" or t.failed:
            diag("temp dir kept: %s" % t.root)
        else:
            shutil.rmtree(t.root, ignore_errors=True)
    sys.exit(1 if broken else 0)


def require_binary(t):
    """Bails out (harness failure) if build/strm is missing."""
    if not os.path.exists(STRM):
        raise HarnessError("%s not built" % STRM)


def run_id():
    return "%08x" % random.getrandbits(32)


def which(prog):
    return shutil.which(prog)


def json_loads(text):
    return json.loads(text)
