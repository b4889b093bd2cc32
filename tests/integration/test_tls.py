#!/usr/bin/python3
"""rsyslog -> openstrm over TLS (RFC 5425, syslog.tls). Our own rsyslogd (not the system
service) reads files with imfile (and relays logger lines from imudp on its own loopback port)
and forwards them with omfwd through the gtls stream driver (rsyslog-gnutls), checking the
server's certificate by name (x509/name, permitted peer "localhost").

Case 1: openstrm makes its own self-signed certificate at first start; rsyslog trusts
<data_dir>/tls/server.crt. The logged SHA-256 fingerprint must be the file's, and a restart must
reuse the same certificate. One stream is octet-counted RFC 5424 (as RFC 5425 says), the other
LF-framed RFC 3164 (as many senders do over TLS anyway).
Case 2: a CA made here with certtool issues the server's certificate and rsyslog's client
certificate; tls.require_client_cert is true. rsyslog presenting its certificate gets through;
a client without one (Python's ssl) and plaintext on the TLS port are refused and counted,
and the listener keeps serving.
"""

import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strmtest  # noqa: E402

N_PER_FILE = 1000
N_UDP = 10

CONF = """
global(workDirectory="{wd}" localHostName="{rshost}" maxMessageSize="64k"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="{cafile}"
       {client_cert})
module(load="imfile" mode="polling" pollingInterval="1")
module(load="imudp")
input(type="imfile" file="{d}/in1.log" tag="{app1}:" facility="local3" severity="notice"
      ruleset="octet" freshStartTail="off")
input(type="imfile" file="{d}/in2.log" tag="{app2}:" facility="local4" severity="info"
      ruleset="trad" freshStartTail="off")
input(type="imudp" address="127.0.0.1" port="{udpport}" ruleset="trad")
ruleset(name="octet") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
ruleset(name="trad") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost"
         TCP_Framing="traditional"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


def strm_config(data_dir, port, extra=""):
    return ("data_dir: %s\n"
            "syslog:\n"
            "  udp: []\n"
            "  tcp: []\n"
            "  tls: [\"127.0.0.1:%d\"]\n"
            "storage:\n"
            "  fsync: interval\n" % (data_dir, port)) + extra


def new_strm(t, name, extra_fn=None):
    """A Strm whose only listener is syslog.tls on a free loopback port."""
    s = t.strm(name=name, udp=False, tcp=False)
    s.port = strmtest.free_port(("tcp",))
    extra = extra_fn(s) if extra_fn else ""
    with open(s.config, "w") as f:
        f.write(strm_config(s.data_dir, s.port, extra))
    return s


def cert_sha256(path):
    """The certificate's SHA-256 fingerprint as AB:CD:... (via certtool)."""
    r = strmtest.run_cmd(["certtool", "--certificate-info", "--infile", path], timeout=20)
    m = re.search(r"sha256:([0-9a-f]{64})", r.stdout)
    if not m:
        raise strmtest.HarnessError("no sha256 fingerprint from certtool: " + r.stdout[-500:])
    h = m.group(1).upper()
    return ":".join(h[i:i + 2] for i in range(0, 64, 2))


def certtool(args, template_text, d, name):
    tpl = os.path.join(d, name + ".tpl")
    with open(tpl, "w") as f:
        f.write(template_text)
    r = strmtest.run_cmd(["certtool"] + args + ["--template", tpl], timeout=60)
    if r.returncode != 0:
        raise strmtest.HarnessError("certtool %s failed: %s" % (" ".join(args), r.stderr[-800:]))


def make_pki(d):
    """CA, server certificate (localhost, 127.0.0.1) and client certificate, via certtool."""
    p = {k: os.path.join(d, k) for k in ("ca.key", "ca.crt", "srv.key", "srv.crt", "cli.key",
                                         "cli.crt")}
    for k in ("ca.key", "srv.key", "cli.key"):
        r = strmtest.run_cmd(["certtool", "--generate-privkey", "--key-type", "ecdsa",
                              "--outfile", p[k]], timeout=60)
        if r.returncode != 0:
            raise strmtest.HarnessError("certtool privkey: " + r.stderr[-500:])
    certtool(["--generate-self-signed", "--load-privkey", p["ca.key"], "--outfile", p["ca.crt"]],
             'cn = "strm test CA"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 2\n',
             d, "ca")
    certtool(["--generate-certificate", "--load-privkey", p["srv.key"], "--load-ca-certificate",
              p["ca.crt"], "--load-ca-privkey", p["ca.key"], "--outfile", p["srv.crt"]],
             'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
             'tls_www_server\nsigning_key\nexpiration_days = 2\n', d, "srv")
    certtool(["--generate-certificate", "--load-privkey", p["cli.key"], "--load-ca-certificate",
              p["ca.crt"], "--load-ca-privkey", p["ca.key"], "--outfile", p["cli.crt"]],
             'cn = "rsyslog-client"\ndns_name = "rsyslog-client"\ntls_www_client\n'
             'signing_key\nexpiration_days = 2\n', d, "cli")
    return p


class Rsyslog:
    """Our rsyslogd forwarding two files (and logger via imudp) to strm over TLS."""

    def __init__(self, t, rid, port, cafile, client_cert=None, n=N_PER_FILE):
        self.t = t
        self.d = t.tempdir("rsyslogd")
        wd = os.path.join(self.d, "work")
        os.mkdir(wd)
        self.rshost = "rtls-" + rid
        self.app1, self.app2 = "tlsa" + rid[:5], "tlsb" + rid[:5]
        self.udpport = strmtest.free_port(("udp",))
        self.lines = {}
        for k, name in ((1, "in1.log"), (2, "in2.log")):
            self.lines[k] = ["TLS-%s-%d-%05d forwarded over tls, line %d, peer 192.0.2.%d"
                             % (rid, k, i, i, i % 250) for i in range(n)]
            with open(os.path.join(self.d, name), "w") as f:
                f.write("\n".join(self.lines[k]) + "\n")
        cc = ""
        if client_cert:
            cc = 'DefaultNetstreamDriverCertFile="%s" DefaultNetstreamDriverKeyFile="%s"' % (
                client_cert[0], client_cert[1])
        self.conf = os.path.join(self.d, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(wd=wd, rshost=self.rshost, d=self.d, app1=self.app1,
                                app2=self.app2, udpport=self.udpport, port=port, cafile=cafile,
                                client_cert=cc))
        self.proc = None
        self.log = None

    def start(self):
        rsyslogd = strmtest.which("rsyslogd") or "/usr/sbin/rsyslogd"
        if not os.path.exists(rsyslogd):
            raise strmtest.HarnessError("rsyslogd not installed")
        r = strmtest.run_cmd([rsyslogd, "-N1", "-f", self.conf], timeout=20)
        if r.returncode != 0:
            raise strmtest.HarnessError("rsyslog config invalid: " + r.stderr[-1000:])
        self.log_path = os.path.join(self.d, "rsyslogd.log")
        self.log = open(self.log_path, "wb")
        self.proc = strmtest.start_proc([rsyslogd, "-n", "-f", self.conf, "-i",
                                         os.path.join(self.d, "rsyslogd.pid")],
                                        stdout=self.log, stderr=self.log,
                                        stdin=subprocess.DEVNULL)
        if not strmtest.wait_until(lambda: strmtest.port_is_bound_udp(self.udpport), 10):
            raise strmtest.HarnessError("rsyslogd did not bind imudp port %d" % self.udpport)
        return self

    def relay(self, rid):
        for i in range(N_UDP):
            strmtest.run_cmd(["logger", "-n", "127.0.0.1", "-P", str(self.udpport), "-d",
                              "--rfc3164", "-t", "relay" + rid[:4], "-p", "auth.err",
                              "TLSRELAY-%s-%02d su: authentication failure" % (rid, i)],
                             timeout=10)
            time.sleep(0.01)

    def stop(self):
        rc = strmtest.stop_proc(self.proc, 10) if self.proc else None
        if self.log:
            self.log.close()
        return rc

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-1500:]
        except OSError:
            return ""


def check_streams(t, s, rs, rid, label):
    """Both files arrived exactly once with the right host/app; relay kept the sender."""
    for k, app, fmt in ((1, rs.app1, "octet-counted RFC 5424"), (2, rs.app2, "LF-framed RFC 3164")):
        t.eq(s.count("appname = '%s' AND hostname = '%s'" % (app, rs.rshost)), N_PER_FILE,
             "%s: %s: COUNT(*) with hostname and appname = %d" % (label, fmt, N_PER_FILE))
        rows = s.search_csv("SELECT message FROM events WHERE appname = '%s' LAST 60 MINUTES"
                            % app)
        msgs = [r.get("message") for r in rows]
        missing = set(rs.lines[k]) - set(msgs)
        t.ok(not missing and len(msgs) == len(set(msgs)) == N_PER_FILE,
             "%s: %s: every line stored exactly once, text exact" % (label, fmt),
             diag=lambda: "rows %d unique %d missing %d e.g. %r" % (
                 len(msgs), len(set(msgs)), len(missing), sorted(missing)[:2]))


def case_self_signed(t, rid):
    s = new_strm(t, "tls-self").start()
    crt = os.path.join(s.data_dir, "tls", "server.crt")
    key = os.path.join(s.data_dir, "tls", "server.key")
    t.ok(os.path.exists(crt) and os.path.exists(key),
         "self-signed: %s and server.key made at first start" % crt)
    t.eq(oct(os.stat(key).st_mode & 0o777), "0o600", "self-signed: server.key is mode 0600")
    fp = cert_sha256(crt)
    t.ok(fp in s.log_since_start(), "self-signed: the log names the certificate's SHA-256 "
         "fingerprint", diag=lambda: "fingerprint %s; log:\n%s" % (fp, s.log_since_start()[-800:]))

    rs = Rsyslog(t, rid, s.port, crt).start()
    try:
        rs.relay(rid)
        total = 2 * N_PER_FILE + N_UDP
        got = strmtest.wait_until(
            lambda: s.count("message LIKE 'TLS%%-%s-%%'" % rid) >= total, 60, 0.5)
        t.ok(got, "self-signed: all %d messages forwarded by rsyslog over TLS arrive" % total,
             diag=lambda: "count=%d\nrsyslog: %s" % (
                 s.count("message LIKE 'TLS%%-%s-%%'" % rid), rs.log_tail()))
        time.sleep(1.0)  # duplicates would show up now
    finally:
        rc = rs.stop()
    t.ok(rc is not None, "rsyslogd (our peer) stopped on SIGTERM")
    check_streams(t, s, rs, rid, "self-signed")
    rows = s.search_csv("SELECT hostname, appname FROM events WHERE message LIKE "
                        "'TLSRELAY-%s-%%' LAST 60 MINUTES" % rid)
    host = socket.gethostname().split(".")[0]
    t.ok(len(rows) == N_UDP and all(r.get("hostname") == host and
                                    r.get("appname") == "relay" + rid[:4] for r in rows),
         "self-signed: logger -> rsyslog imudp -> TLS keeps host %s and tag" % host,
         diag=lambda: "rows %d e.g. %r" % (len(rows), rows[:2]))
    st = s.stats()
    t.eq(st.get("tls_received"), 2 * N_PER_FILE + N_UDP, "self-signed: stats tls_received")
    t.ok(st.get("tls_connections", 0) >= 2 and st.get("tls_handshake_failures") == 0,
         "self-signed: tls_connections >= 2 (one per action), no handshake failures",
         diag=repr(st))
    t.eq(s.stop(), 0, "self-signed: SIGTERM, exit 0")

    s.start()
    t.ok(fp in s.log_since_start() and cert_sha256(crt) == fp,
         "self-signed: a restart reuses the same certificate (same fingerprint)")
    t.eq(s.stop(), 0, "self-signed: second stop, exit 0")


def case_client_cert(t, rid):
    d = t.tempdir("pki")
    pki = make_pki(d)

    def extra(s):
        return ("tls:\n"
                "  cert_file: %s\n"
                "  key_file: %s\n"
                "  client_ca_file: %s\n"
                "  require_client_cert: true\n" % (pki["srv.crt"], pki["srv.key"], pki["ca.crt"]))

    s = new_strm(t, "tls-mutual", extra).start()
    t.ok(cert_sha256(pki["srv.crt"]) in s.log_since_start(),
         "client-cert: the configured tls.cert_file is used (its fingerprint is logged)")

    # a client without a certificate is refused and counted
    ctx = ssl.create_default_context(cafile=pki["ca.crt"])
    refused = False
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as so:
            with ctx.wrap_socket(so, server_hostname="localhost") as ss:
                ss.sendall(b"<13>Nov 25 10:00:00 nocert app: NOCERT-%s\n" % rid.encode())
                ss.settimeout(5)
                refused = ss.recv(10) == b""  # TLS 1.3: refused after the client's Finished
    except (ssl.SSLError, OSError):
        refused = True
    t.ok(refused, "client-cert: a client without a certificate is refused")
    # plaintext on the TLS port
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as so:
        so.sendall(b"<13>Nov 25 10:00:00 plain app: PLAIN-%s\n" % rid.encode())
        so.settimeout(5)
        try:
            so.recv(100)
        except OSError:
            pass
    got = strmtest.wait_until(lambda: s.stat("tls_handshake_failures") >= 2, 10, 0.2)
    t.ok(got, "client-cert: both refusals counted in tls_handshake_failures",
         diag=lambda: repr(s.stats()))
    t.ok("handshake failed" in s.log_since_start(), "client-cert: the refusal is logged with "
         "the peer address", diag=lambda: s.log_since_start()[-800:])

    rs = Rsyslog(t, rid, s.port, pki["ca.crt"], (pki["cli.crt"], pki["cli.key"])).start()
    try:
        rs.relay(rid)
        total = 2 * N_PER_FILE + N_UDP
        got = strmtest.wait_until(
            lambda: s.count("message LIKE 'TLS%%-%s-%%'" % rid) >= total, 60, 0.5)
        t.ok(got, "client-cert: rsyslog with a CA-signed client certificate gets all %d "
             "messages through" % total,
             diag=lambda: "count=%d\nrsyslog: %s\nstrm: %s" % (
                 s.count("message LIKE 'TLS%%-%s-%%'" % rid), rs.log_tail(),
                 s.log_since_start()[-800:]))
        time.sleep(1.0)
    finally:
        rc = rs.stop()
    t.ok(rc is not None, "rsyslogd (our peer) stopped on SIGTERM")
    check_streams(t, s, rs, rid, "client-cert")
    t.eq(s.count("message LIKE '%%NOCERT-%s%%' OR message LIKE '%%PLAIN-%s%%'" % (rid, rid)), 0,
         "client-cert: nothing from the refused clients was stored")
    t.ok(s.alive(), "client-cert: strm still running")
    t.eq(s.stop(), 0, "client-cert: SIGTERM, exit 0")


def main(t):
    strmtest.require_binary(t)
    if not strmtest.which("certtool"):
        raise strmtest.HarnessError("certtool (gnutls-bin) not installed")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so") and not any(
            os.path.exists(os.path.join(p, "lmnsd_gtls.so"))
            for p in ("/usr/lib/rsyslog", "/usr/lib64/rsyslog")):
        raise strmtest.HarnessError("rsyslog-gnutls (lmnsd_gtls) not installed")
    rid = strmtest.run_id()
    case_self_signed(t, rid)
    case_client_cert(t, strmtest.run_id())


if __name__ == "__main__":
    strmtest.run(main, budget=240)
