#!/usr/bin/python3
"""aqlref - a brute-force reference evaluator for AQL, written for the tests (stdlib only).

It is deliberately independent of the C engine (src/aql): it was written from docs/aql.md
(the dialect as documented) and evaluates a query row by row over a dump of the store
(`strm search --format json "SELECT * FROM events ..."`), with Python's own data types:
integers and times are Python ints, IPs 128-bit ints (IPv4 held as ::ffff:a.b.c.d), MACs
48-bit ints, strings Python str, null None, and conditions True/False/None (SQL's
three-valued logic: None is "unknown").

Parts:
- lexer + recursive-descent parser for the documented grammar (query, expressions, GROUP BY,
  HAVING, ORDER BY, LIMIT, LAST/START/STOP, subqueries in IN (SELECT ...));
- a compiler from the parse tree to Python closures (row mode, and group mode for grouped
  queries where aggregates read the group's accumulated values and any other column reads
  the group's first row);
- execute(): window -> WHERE -> grouping/aggregates -> HAVING -> ORDER BY (stable, nulls
  first ascending / last descending) -> LIMIT, returning the full ordered result (before
  LIMIT) with the sort keys so callers can compare with the engine tie-aware;
- compare(): engine output (JSON) against the reference result, as a multiset, or in order
  for ORDER BY queries (rows inside a run of equal sort keys compare as a multiset, the last
  run cut by LIMIT as a subset);
- fixture helpers shared by test_aql_conformance.py and test_aql_difffuzz.py: a fixed,
  deterministic data set (tests/dsm/*.log, part of the OpenSSH and Linux corpora, generated
  key=value and CEF lines) loaded with `strm ingest`, the dump, lookup tables for the name
  functions (QIDNAME & co. are read from the engine's own per-row values, since their tables
  live in the DSMs and config.db), and a batch runner for `strm search --format json`.

Functions whose value depends on data this module does not have (a lookup of an id that is
not in the data set) raise RefUnsupported, so a test never silently compares against a guess.
"""

import base64
import calendar
import datetime
import ipaddress
import json
import math
import os
import random
import re
import threading
import time

# ---------------------------------------------------------------------------------- schema

TIME_COLS = {"starttime", "devicetime", "storagetime"}
IP_COLS = {"sourceip", "destinationip", "prenatsourceip", "postnatsourceip",
           "prenatdestinationip", "postnatdestinationip"}
MAC_COLS = {"sourcemac", "destinationmac"}
STR_COLS = {"username", "hostname", "appname", "procid", "msgid", "message", "properties",
            "payload"}


def col_type(name):
    if name in TIME_COLS:
        return "time"
    if name in IP_COLS:
        return "ip"
    if name in MAC_COLS:
        return "mac"
    if name in STR_COLS:
        return "str"
    return "int"


class RefError(Exception):
    """The query is not valid AQL as documented (the engine should reject it too)."""


class RefUnsupported(Exception):
    """The reference cannot compute this exactly (e.g. a lookup of an id not in the data)."""


# ---------------------------------------------------------------------------------- values

V4_PREFIX = 0xFFFF << 32
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1


def ip_parse(text):
    try:
        a = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if a.version == 4:
        return V4_PREFIX | int(a)
    return int(a)


def ip_text(v):
    if v >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(v & 0xFFFFFFFF))
    return ipaddress.IPv6Address(v).compressed


def mac_parse(text):
    t = text.strip().lower().replace("-", ":")
    parts = t.split(":")
    if len(parts) != 6 or not all(re.fullmatch(r"[0-9a-f]{2}", p) for p in parts):
        return None
    return int("".join(parts), 16)


def mac_text(v):
    h = "%012x" % v
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def float_text(v):
    return repr(v)


def to_text(v, t):
    """The value's text (STR, CONCAT, LIKE on non-strings, BASE64)."""
    if v is None:
        return None
    if t == "ip":
        return ip_text(v)
    if t == "mac":
        return mac_text(v)
    if t in ("int", "time"):
        return str(v)
    if t == "float":
        return float_text(v)
    if t == "bool":
        return "true" if v else "false"
    return v


def to_json(v, t):
    if v is None:
        return None
    if t == "ip":
        return ip_text(v)
    if t == "mac":
        return mac_text(v)
    return v


def wrap64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= (1 << 63) else v


def parse_int_text(s):
    s = s.strip()
    if re.fullmatch(r"[+-]?\d+", s):
        v = int(s)
        return v if I64_MIN <= v <= I64_MAX else None
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
        v = int(s, 16)
        return v if v <= I64_MAX else None
    return None


def parse_float_text(s):
    s = s.strip()
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        return float(s)
    return None


_DT_RE = re.compile(r"^(\d{4})[-/:](\d{1,2})[-/:](\d{1,2})(?:[ T/-](\d{1,2}):(\d{2})"
                    r"(?::(\d{2})(?:\.(\d{1,3}))?)?)?\s*[Zz]?$")


def parse_datetime_ms(text):
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, ms = m.groups()
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0),
                               int(ss or 0))
    except ValueError:
        return None
    return calendar.timegm(dt.timetuple()) * 1000 + (int((ms or "0").ljust(3, "0")))


# ---------------------------------------------------------------------------------- lexer

KEYWORDS = {"SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "LAST",
            "START", "STOP", "AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL",
            "BETWEEN", "MATCHES", "IMATCHES", "TEXT", "SEARCH", "AS", "ASC", "DESC"}


class Tok:
    __slots__ = ("kind", "val", "start", "end")

    def __init__(self, kind, val, start, end):
        self.kind, self.val, self.start, self.end = kind, val, start, end

    def kw(self, *words):
        return self.kind == "id" and self.val.upper() in words

    def __repr__(self):
        return "Tok(%s,%r)" % (self.kind, self.val)


def lex(q):
    toks = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if q.startswith("--", i):
            j = q.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c == "'" or c == '"':
            j = i + 1
            buf = []
            while True:
                if j >= n:
                    raise RefError("unterminated quote")
                if q[j] == c:
                    if j + 1 < n and q[j + 1] == c:
                        buf.append(c)
                        j += 2
                        continue
                    break
                buf.append(q[j])
                j += 1
            toks.append(Tok("str" if c == "'" else "qid", "".join(buf), i, j + 1))
            i = j + 1
            continue
        if c.isdigit():
            m = re.compile(r"0[xX][0-9a-fA-F]+|\d+").match(q, i)
            toks.append(Tok("num", int(m.group(0), 0) if m.group(0)[:2].lower() == "0x"
                            else int(m.group(0)), i, m.end()))
            i = m.end()
            continue
        if c.isalpha() or c == "_":
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(q, i)
            toks.append(Tok("id", m.group(0), i, m.end()))
            i = m.end()
            continue
        for op in ("<=", ">=", "!=", "<>", "==", "=", "<", ">", "+", "-", "*", "/", "%", "(",
                   ")", ",", ";"):
            if q.startswith(op, i):
                toks.append(Tok("op", op, i, i + len(op)))
                i += len(op)
                break
        else:
            raise RefError("unexpected character %r" % c)
    toks.append(Tok("eof", None, n, n))
    return toks


# ---------------------------------------------------------------------------------- parser

class N:
    """A parse-tree node: kind plus fields; text is the source slice (result column name)."""

    def __init__(self, kind, *args, text=""):
        self.kind = kind
        self.a = args
        self.text = text

    def __repr__(self):
        return "N(%s %r)" % (self.kind, self.a)


class Query:
    def __init__(self):
        self.items = []      # (node, alias or None, name)
        self.table = "events"
        self.where = None
        self.group = []      # nodes (alias references resolved later)
        self.having = None
        self.order = []      # (node, desc)
        self.limit = None
        self.window = None   # ("last", ms) | ("range", lo, hi) | None


AGGS = {"COUNT", "SUM", "AVG", "MIN", "MAX", "FIRST", "LAST", "UNIQUECOUNT", "DISTINCTCOUNT",
        "STDEV", "STDEVP"}
UNIT_MS = {"MINUTE": 60000, "MINUTES": 60000, "HOUR": 3600000, "HOURS": 3600000,
           "DAY": 86400000, "DAYS": 86400000}


class Parser:
    def __init__(self, q):
        self.q = q
        self.t = lex(q)
        self.i = 0

    def peek(self, k=0):
        return self.t[min(self.i + k, len(self.t) - 1)]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def accept_kw(self, *words):
        if self.peek().kw(*words):
            return self.next()
        return None

    def expect_kw(self, word):
        tok = self.next()
        if not tok.kw(word):
            raise RefError("expected %s" % word)
        return tok

    def accept_op(self, op):
        tok = self.peek()
        if tok.kind == "op" and tok.val == op:
            return self.next()
        return None

    def expect_op(self, op):
        if not self.accept_op(op):
            raise RefError("expected %r" % op)

    def slice(self, start_tok_index):
        a = self.t[start_tok_index].start
        b = self.t[self.i - 1].end
        return self.q[a:b]

    def parse(self):
        q = self.query()
        self.accept_op(";")
        if self.peek().kind != "eof":
            raise RefError("trailing input")
        return q

    def query(self):
        q = Query()
        self.expect_kw("SELECT")
        while True:
            if self.accept_op("*"):
                q.items.append((N("star"), None, "*"))
            else:
                s = self.i
                e = self.expr()
                text = self.slice(s)
                alias = None
                if self.accept_kw("AS"):
                    tok = self.next()
                    if tok.kind not in ("id", "str", "qid"):
                        raise RefError("bad alias")
                    alias = tok.val
                q.items.append((e, alias, alias if alias is not None else self.name_of(e, text)))
            if not self.accept_op(","):
                break
        self.expect_kw("FROM")
        tok = self.next()
        if not tok.kw("EVENTS", "FLOWS"):
            raise RefError("unknown table")
        q.table = tok.val.lower()
        if self.accept_kw("WHERE"):
            q.where = self.expr()
        if self.accept_kw("GROUP"):
            self.expect_kw("BY")
            while True:
                q.group.append(self.expr())
                if not self.accept_op(","):
                    break
        if self.accept_kw("HAVING"):
            q.having = self.expr()
        while True:
            if self.peek().kw("ORDER"):
                self.next()
                self.expect_kw("BY")
                while True:
                    e = self.expr()
                    desc = False
                    if self.accept_kw("DESC"):
                        desc = True
                    else:
                        self.accept_kw("ASC")
                    q.order.append((e, desc))
                    if not self.accept_op(","):
                        break
            elif self.accept_kw("LIMIT"):
                tok = self.next()
                if tok.kind != "num":
                    raise RefError("LIMIT needs a number")
                q.limit = tok.val
            elif self.accept_kw("LAST"):
                tok = self.next()
                unit = self.next()
                if tok.kind != "num" or not unit.kw(*UNIT_MS):
                    raise RefError("bad LAST")
                q.window = ("last", tok.val * UNIT_MS[unit.val.upper()])
            elif self.accept_kw("START"):
                tok = self.next()
                lo = parse_datetime_ms(tok.val) if tok.kind == "str" else None
                if lo is None:
                    raise RefError("bad START")
                lo -= lo % 60000
                hi = None
                if self.accept_kw("STOP"):
                    tok = self.next()
                    hi = parse_datetime_ms(tok.val) if tok.kind == "str" else None
                    if hi is None:
                        raise RefError("bad STOP")
                    hi = hi - hi % 60000 + 59999
                    if hi < lo:
                        raise RefError("STOP before START")
                q.window = ("range", lo, hi)
            else:
                break
        return q

    @staticmethod
    def name_of(e, text):
        if e.kind == "col":
            return e.a[0]
        if e.kind == "agg" and e.a[0] == "COUNT" and e.a[1] is None:
            return "COUNT"
        return text

    # expressions, weakest first
    def expr(self):
        s = self.i
        e = self.and_expr()
        while self.accept_kw("OR"):
            e = N("or", e, self.and_expr())
        e.text = self.slice(s)
        return e

    def and_expr(self):
        s = self.i
        e = self.not_expr()
        while self.accept_kw("AND"):
            e = N("and", e, self.not_expr())
        e.text = self.slice(s)
        return e

    def not_expr(self):
        s = self.i
        if self.accept_kw("NOT"):
            e = N("not", self.not_expr())
        else:
            e = self.cmp_expr()
        e.text = self.slice(s)
        return e

    def cmp_expr(self):
        s = self.i
        e = self.add_expr()
        tok = self.peek()
        if tok.kind == "op" and tok.val in ("=", "==", "!=", "<>", "<", "<=", ">", ">="):
            self.next()
            op = {"==": "=", "<>": "!="}.get(tok.val, tok.val)
            e = N("cmp", op, e, self.add_expr())
        else:
            neg = False
            if tok.kw("NOT") and self.peek(1).kw("LIKE", "ILIKE", "IN", "BETWEEN", "MATCHES",
                                                 "IMATCHES"):
                self.next()
                neg = True
            tok = self.peek()
            if tok.kw("LIKE", "ILIKE", "MATCHES", "IMATCHES"):
                self.next()
                pat = self.next()
                if pat.kind != "str":
                    raise RefError("pattern must be a quoted literal")
                kind = "like" if tok.val.upper() in ("LIKE", "ILIKE") else "match"
                e = N(kind, e, pat.val, tok.val.upper().startswith("I"), neg)
            elif tok.kw("IN"):
                self.next()
                self.expect_op("(")
                if self.peek().kw("SELECT"):
                    sub = self.query()
                    self.expect_op(")")
                    e = N("insub", e, sub, neg)
                else:
                    items = [self.add_expr()]
                    while self.accept_op(","):
                        items.append(self.add_expr())
                    self.expect_op(")")
                    e = N("in", e, items, neg)
            elif tok.kw("BETWEEN"):
                self.next()
                lo = self.add_expr()
                self.expect_kw("AND")
                hi = self.add_expr()
                e = N("between", e, lo, hi, neg)
            elif tok.kw("IS") and not neg:
                self.next()
                isnot = bool(self.accept_kw("NOT"))
                self.expect_kw("NULL")
                e = N("isnull", e, isnot)
        e.text = self.slice(s)
        return e

    def add_expr(self):
        s = self.i
        e = self.mul_expr()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.val in ("+", "-"):
                self.next()
                e = N("arith", tok.val, e, self.mul_expr())
                e.text = self.slice(s)
            else:
                return e

    def mul_expr(self):
        s = self.i
        e = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.val in ("*", "/", "%"):
                self.next()
                e = N("arith", tok.val, e, self.unary())
                e.text = self.slice(s)
            else:
                return e

    def unary(self):
        s = self.i
        if self.accept_op("-"):
            inner = self.unary()
            if inner.kind == "int":
                e = N("int", -inner.a[0])
            else:
                e = N("neg", inner)
            e.text = self.slice(s)
            return e
        return self.primary()

    def primary(self):
        s = self.i
        tok = self.next()
        if tok.kind == "op" and tok.val == "(":
            e = self.expr()
            self.expect_op(")")
            e = N("paren", e)
        elif tok.kind == "num":
            e = N("int", tok.val)
        elif tok.kind == "str":
            e = N("str", tok.val)
        elif tok.kind == "qid":
            e = N("col", tok.val.lower())
        elif tok.kind == "id":
            up = tok.val.upper()
            if up == "TEXT" and self.peek().kw("SEARCH"):
                self.next()
                w = self.next()
                if w.kind != "str":
                    raise RefError("TEXT SEARCH needs a quoted text")
                e = N("textsearch", w.val)
            elif self.peek().kind == "op" and self.peek().val == "(":
                self.next()
                args = []
                if up == "COUNT" and self.accept_op("*"):
                    args = None
                elif not (self.peek().kind == "op" and self.peek().val == ")"):
                    args.append(self.expr())
                    while self.accept_op(","):
                        args.append(self.expr())
                self.expect_op(")")
                if up in AGGS:
                    if args is not None and len(args) != 1:
                        raise RefError("aggregate takes one argument")
                    e = N("agg", up, None if args is None else args[0])
                else:
                    e = N("func", up, args)
            elif up in KEYWORDS:
                raise RefError("unexpected keyword %s" % up)
            else:
                e = N("col", tok.val.lower())
        else:
            raise RefError("unexpected %r" % (tok.val,))
        e.text = self.slice(s)
        return e


def parse(q):
    return Parser(q).parse()


# ---------------------------------------------------------------------------------- compiler

def strip_paren(e):
    while e.kind == "paren":
        e = e.a[0]
    return e


def has_agg(e):
    if e is None:
        return False
    if isinstance(e, N):
        if e.kind == "agg":
            return True
        if e.kind == "insub":
            return has_agg(e.a[0])
        return any(has_agg(x) for x in e.a if isinstance(x, (N, list)))
    if isinstance(e, list):
        return any(has_agg(x) for x in e)
    return False


def like_regex(pat, ci):
    out = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if c == "\\" and i + 1 < len(pat) and pat[i + 1] in "%_\\":
            out.append(re.escape(pat[i + 1]))
            i += 2
            continue
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if ci else 0)
    return re.compile("".join(out), flags)


def pcre_to_py(pat):
    """The small PCRE subset the tests use maps to Python re as is (no possessive quantifiers,
    no \\Q..\\E; $ matches at the end or before a final newline in both); compiled with re.ASCII,
    as PCRE2 without UCP takes \\w \\d \\s as ASCII classes."""
    return pat


def _ascii_lower(s):
    return s.translate(_LOWER)


def _ascii_upper(s):
    return s.translate(_UPPER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def dateformat(ms, pattern):
    dt = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            j = pattern.find("'", i + 1)
            if j == i + 1:
                out.append("'")
                i += 2
                continue
            if j < 0:
                j = n
            out.append(pattern[i + 1:j])
            i = j + 1
            continue
        if c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            run = j - i
            i = j
            if c == "y":
                out.append("%02d" % (dt.year % 100) if run == 2 else "%0*d" % (run, dt.year))
            elif c == "M":
                if run >= 4:
                    out.append(MONTHS[dt.month - 1])
                elif run == 3:
                    out.append(MONTHS[dt.month - 1][:3])
                else:
                    out.append("%0*d" % (run, dt.month))
            elif c == "d":
                out.append("%0*d" % (run, dt.day))
            elif c == "H":
                out.append("%0*d" % (run, dt.hour))
            elif c == "h":
                out.append("%0*d" % (run, (dt.hour % 12) or 12))
            elif c == "m":
                out.append("%0*d" % (run, dt.minute))
            elif c == "s":
                out.append("%0*d" % (run, dt.second))
            elif c == "S":
                out.append("%0*d" % (run, dt.microsecond // 1000))
            elif c == "a":
                out.append("AM" if dt.hour < 12 else "PM")
            elif c == "E":
                name = DAYS[dt.weekday()]
                out.append(name if run >= 4 else name[:3])
            else:
                raise RefUnsupported("DATEFORMAT letter %r" % c)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _nz(s):
    """An empty string is null."""
    return s if s else None


class Ctx:
    """Compilation context of one (sub)query."""

    def __init__(self, ref, q, colidx, now_ms):
        self.ref = ref
        self.q = q
        self.colidx = colidx
        self.now_ms = now_ms
        self.aggs = []           # (name, row fn or None, arg type)
        self.agg_keys = {}
        self.aliases = {}        # lower-case alias -> select item node


class Reference:
    """Evaluates AQL over a list of event rows (the JSON dump of SELECT *)."""

    def __init__(self, dump_rows, lookups=None):
        self.cols = list(dump_rows[0].keys()) if dump_rows else []
        self.types = [col_type(c) for c in self.cols]
        self.colidx = {c: i for i, c in enumerate(self.cols)}
        self.rows = []
        for r in dump_rows:
            row = []
            for c, t in zip(self.cols, self.types):
                v = r.get(c)
                if v is not None:
                    if t == "ip":
                        v = ip_parse(v)
                    elif t == "mac":
                        v = mac_parse(v)
                    elif t == "str" and v == "":
                        v = None
                row.append(v)
            self.rows.append(row)
        self.lookups = lookups or {}
        self.now_ms = None

    # -------------------------------------------------------------- expressions

    def lit_as(self, e, t):
        """A literal node converted to type t (the other operand's type)."""
        e = strip_paren(e)
        if e.kind == "int":
            v = e.a[0]
            if t in ("int", "time"):
                return v
            if t == "float":
                return float(v)
            if t == "str":
                return str(v)
            raise RefError("cannot compare a number with %s" % t)
        s = e.a[0]
        if t == "int":
            v = parse_int_text(s)
            if v is None:
                raise RefError("'%s' is not a number" % s)
            return v
        if t == "time":
            v = parse_int_text(s)
            if v is None:
                v = parse_datetime_ms(s)
            if v is None:
                raise RefError("'%s' is not a time" % s)
            return v
        if t == "float":
            v = parse_float_text(s)
            if v is None:
                raise RefError("'%s' is not a number" % s)
            return v
        if t == "ip":
            v = ip_parse(s)
            if v is None:
                raise RefError("'%s' is not an IP address" % s)
            return v
        if t == "mac":
            v = mac_parse(s)
            if v is None:
                raise RefError("'%s' is not a MAC address" % s)
            return v
        if t == "str":
            return s
        raise RefError("cannot convert a literal to %s" % t)

    @staticmethod
    def is_lit(e):
        return strip_paren(e).kind in ("int", "str")

    def compile(self, e, ctx, mode):
        """Returns (fn, type). mode 'row': fn(row); mode 'group': fn(group)."""
        if mode == "group" and not has_agg(e):
            f, t = self.compile(e, ctx, "row")
            return (lambda g: f(g.first)), t
        k = e.kind
        if k == "paren":
            return self.compile(e.a[0], ctx, mode)
        if k == "int":
            v = e.a[0]
            return (lambda x: v), "int"
        if k == "str":
            v = _nz(e.a[0])
            return (lambda x: v), "str"
        if k == "col":
            name = e.a[0]
            if name not in ctx.colidx:
                raise RefError("unknown column '%s'" % name)
            i = ctx.colidx[name]
            return (lambda r: r[i]), col_type(name)
        if k == "agg":
            return self.compile_agg(e, ctx)
        if k == "neg":
            f, t = self.compile(e.a[0], ctx, mode)
            if t not in ("int", "float", "time"):
                raise RefError("unary minus needs a number")
            if t == "float":
                return (lambda x: None if (v := f(x)) is None else -v), t
            return (lambda x: None if (v := f(x)) is None else wrap64(-v)), "int"
        if k == "arith":
            return self.compile_arith(e, ctx, mode)
        if k == "cmp":
            return self.compile_cmp(e, ctx, mode)
        if k == "and":
            fa, _ = self.compile(e.a[0], ctx, mode)
            fb, _ = self.compile(e.a[1], ctx, mode)

            def f_and(x):
                a = fa(x)
                if a is False:
                    return False
                b = fb(x)
                if b is False:
                    return False
                if a is None or b is None:
                    return None
                return True
            return f_and, "bool"
        if k == "or":
            fa, _ = self.compile(e.a[0], ctx, mode)
            fb, _ = self.compile(e.a[1], ctx, mode)

            def f_or(x):
                a = fa(x)
                if a is True:
                    return True
                b = fb(x)
                if b is True:
                    return True
                if a is None or b is None:
                    return None
                return False
            return f_or, "bool"
        if k == "not":
            f, _ = self.compile(e.a[0], ctx, mode)
            return (lambda x: None if (v := f(x)) is None else not v), "bool"
        if k == "like":
            f, t = self.compile(e.a[0], ctx, mode)
            rx = like_regex(e.a[1], e.a[2])
            neg = e.a[3]
            m = rx.fullmatch

            def f_like(x):
                v = f(x)
                if v is None:
                    return None
                hit = m(v if t == "str" else to_text(v, t)) is not None
                return hit != neg
            return f_like, "bool"
        if k == "match":
            f, t = self.compile(e.a[0], ctx, mode)
            try:
                rx = re.compile(pcre_to_py(e.a[1]), re.ASCII | (re.IGNORECASE if e.a[2] else 0))
            except re.error as ex:
                raise RefError("bad regular expression: %s" % ex)
            neg = e.a[3]
            srch = rx.search

            def f_match(x):
                v = f(x)
                if v is None:
                    return None
                return (srch(v if t == "str" else to_text(v, t)) is not None) != neg
            return f_match, "bool"
        if k == "isnull":
            f, _ = self.compile(e.a[0], ctx, mode)
            isnot = e.a[1]
            return (lambda x: (f(x) is None) != isnot), "bool"
        if k == "in":
            return self.compile_in(e, ctx, mode)
        if k == "insub":
            return self.compile_insub(e, ctx, mode)
        if k == "between":
            f, t = self.compile(e.a[0], ctx, mode)
            lo = self.operand(e.a[1], t, ctx, mode)
            hi = self.operand(e.a[2], t, ctx, mode)
            neg = e.a[3]

            def f_between(x):
                v = f(x)
                if v is None:
                    return None
                a, b = lo(x), hi(x)
                ge = None if a is None else v >= a
                le = None if b is None else v <= b
                if ge is False or le is False:
                    r = False
                elif ge is None or le is None:
                    return None
                else:
                    r = True
                return r != neg
            return f_between, "bool"
        if k == "textsearch":
            words = [w.lower() for w in e.a[0].split(" ") if w]
            pi = ctx.colidx["payload"]
            return (lambda r: text_search(r[pi], words)), "bool"
        if k == "func":
            return self.compile_func(e, ctx, mode)
        if k == "star":
            raise RefError("* is not an expression")
        raise RefError("cannot compile %s" % k)

    def operand(self, e, t, ctx, mode):
        """An operand compared with a value of type t: literals convert to t."""
        if self.is_lit(e):
            v = self.lit_as(e, t)
            return lambda x: v
        f, t2 = self.compile(e, ctx, mode)
        self.check_comparable(t, t2)
        return f

    @staticmethod
    def check_comparable(t1, t2):
        num = ("int", "time", "float")
        if t1 == t2 or (t1 in num and t2 in num):
            return
        raise RefError("cannot compare %s with %s" % (t1, t2))

    def compile_cmp(self, e, ctx, mode):
        op, l, r = e.a
        if self.is_lit(l) and not self.is_lit(r):
            l, r = r, l
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        fl, tl = self.compile(l, ctx, mode)
        fr = self.operand(r, tl, ctx, mode)
        import operator
        cmpf = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge}[op]

        def f_cmp(x):
            a = fl(x)
            if a is None:
                return None
            b = fr(x)
            if b is None:
                return None
            return cmpf(a, b)
        return f_cmp, "bool"

    def compile_arith(self, e, ctx, mode):
        op, l, r = e.a

        def side(node, other):
            if strip_paren(node).kind == "str":
                s = strip_paren(node).a[0]
                v = parse_int_text(s)
                if v is None:
                    v = parse_float_text(s)
                    if v is None:
                        raise RefError("'%s' is not a number" % s)
                    return (lambda x: v), "float"
                return (lambda x: v), "int"
            f, t = self.compile(node, ctx, mode)
            if t not in ("int", "time", "float"):
                raise RefError("arithmetic needs numbers, found %s" % t)
            return f, t
        fl, tl = side(l, r)
        fr, tr = side(r, l)
        isf = "float" in (tl, tr)
        if isf:
            rt = "float"
        elif op in "+-" and "time" in (tl, tr) and not (tl == "time" and tr == "time"):
            rt = "time"
        else:
            rt = "int"

        def f_arith(x):
            a = fl(x)
            if a is None:
                return None
            b = fr(x)
            if b is None:
                return None
            if isf:
                a, b = float(a), float(b)
                if op == "+":
                    return a + b
                if op == "-":
                    return a - b
                if op == "*":
                    return a * b
                if b == 0:
                    return None
                if op == "/":
                    return a / b
                return math.fmod(a, b)
            if op == "+":
                return wrap64(a + b)
            if op == "-":
                return wrap64(a - b)
            if op == "*":
                return wrap64(a * b)
            if b == 0:
                return None
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
            if op == "/":
                return wrap64(q)
            return wrap64(a - b * q)
        return f_arith, rt

    def compile_in(self, e, ctx, mode):
        f, t = self.compile(e.a[0], ctx, mode)
        items = [self.operand(it, t, ctx, mode) for it in e.a[1]]
        neg = e.a[2]
        consts = None
        if all(self.is_lit(it) for it in e.a[1]):
            consts = frozenset(self.lit_as(it, t) for it in e.a[1])

        def f_in(x):
            v = f(x)
            if v is None:
                return None
            if consts is not None:
                return (v in consts) != neg
            unknown = False
            for it in items:
                w = it(x)
                if w is None:
                    unknown = True
                elif w == v:
                    return not neg
            return None if unknown else neg
        return f_in, "bool"

    def compile_insub(self, e, ctx, mode):
        f, t = self.compile(e.a[0], ctx, mode)
        sub = e.a[1]
        res = self.execute_q(sub, inherit_window=ctx.q.window)
        if len(res.types) != 1:
            raise RefError("a subquery in IN must select one column")
        self.check_comparable(t, res.types[0])
        vals = frozenset(r[0] for r in res.rows_typed_limited if r[0] is not None)
        neg = e.a[2]
        return (lambda x: None if (v := f(x)) is None else (v in vals) != neg), "bool"

    def compile_agg(self, e, ctx):
        name, arg = e.a
        key = (name, None if arg is None else arg.text.lower())
        if key in ctx.agg_keys:
            i = ctx.agg_keys[key]
            return (lambda g: g.aggs[i]), ctx.aggs[i][3]
        if arg is None:
            fn, at = None, None
        else:
            if has_agg(arg):
                raise RefError("aggregates cannot be nested")
            if self.is_lit(arg):
                v = strip_paren(arg).a[0]
                fn, at = (lambda r: v), ("int" if strip_paren(arg).kind == "int" else "str")
            else:
                fn, at = self.compile(arg, ctx, "row")
        if name in ("COUNT", "UNIQUECOUNT", "DISTINCTCOUNT"):
            rt = "int"
        elif name in ("AVG", "STDEV", "STDEVP"):
            if at not in ("int", "time", "float"):
                raise RefError("%s needs a number" % name)
            rt = "float"
        elif name == "SUM":
            if at not in ("int", "time", "float"):
                raise RefError("SUM needs a number")
            rt = "float" if at == "float" else "int"
        else:
            rt = at
        i = len(ctx.aggs)
        ctx.aggs.append((name, fn, at, rt))
        ctx.agg_keys[key] = i
        return (lambda g: g.aggs[i]), rt

    def compile_func(self, e, ctx, mode):
        name, args = e.a
        args = args or []
        c = [self.compile(a, ctx, mode) for a in args] if name not in (
            "INCIDR", "REPLACEALL", "REPLACEFIRST", "DATEFORMAT", "PARSEDATETIME") else None

        def nargs(lo, hi=None):
            hi = lo if hi is None else hi
            if not lo <= len(args) <= hi:
                raise RefError("%s takes %d argument(s), found %d" % (name, lo, len(args)))

        if name in ("LOWER", "UPPER"):
            nargs(1)
            f, t = c[0]
            conv = _ascii_lower if name == "LOWER" else _ascii_upper
            return (lambda x: None if (v := f(x)) is None else conv(to_text(v, t))), "str"
        if name == "STRLEN":
            nargs(1)
            f, t = c[0]
            return (lambda x: 0 if (v := f(x)) is None else
                    len(to_text(v, t).encode("utf-8"))), "int"
        if name == "STR":
            nargs(1)
            f, t = c[0]
            return (lambda x: _nz(to_text(f(x), t))), "str"
        if name == "CONCAT":
            nargs(1, 8)

            def f_concat(x):
                return _nz("".join(to_text(v, t) or "" for v, t in
                                   ((f(x), t) for f, t in c)))
            return f_concat, "str"
        if name == "BASE64":
            nargs(1)
            f, t = c[0]
            return (lambda x: None if (v := f(x)) is None else
                    _nz(base64.b64encode(to_text(v, t).encode("utf-8")).decode())), "str"
        if name == "LONG":
            nargs(1)
            f, t = c[0]

            def f_long(x):
                v = f(x)
                if v is None:
                    return None
                if t in ("int", "time"):
                    return v
                if t == "float":
                    return int(v) if math.isfinite(v) else None
                if t == "ip":
                    return v & 0xFFFFFFFF if v >> 32 == 0xFFFF else None
                if t == "str":
                    return parse_int_text(v)
                raise RefUnsupported("LONG of %s" % t)
            return f_long, "int"
        if name == "DOUBLE":
            nargs(1)
            f, t = c[0]

            def f_double(x):
                v = f(x)
                if v is None:
                    return None
                if t in ("int", "time", "float"):
                    return float(v)
                if t == "str":
                    return parse_float_text(v)
                raise RefUnsupported("DOUBLE of %s" % t)
            return f_double, "float"
        if name == "STRPOS":
            nargs(2, 3)
            (fs, ts), (ff, tf) = c[0], c[1]
            fr = c[2][0] if len(c) > 2 else (lambda x: 0)

            def f_strpos(x):
                s = fs(x)
                if s is None:
                    return None
                find = ff(x)
                start = fr(x)
                if start is None:
                    return None
                b = to_text(s, ts).encode("utf-8")
                fb = (to_text(find, tf) or "").encode("utf-8")
                if start < 0:
                    start = 0
                if start > len(b):
                    return -1
                return b.find(fb, start)
            return f_strpos, "int"
        if name == "SUBSTRING":
            nargs(3)
            (fs, ts), (fa, _), (fl, _) = c

            def f_sub(x):
                s = fs(x)
                a, n = fa(x), fl(x)
                if s is None or a is None or n is None:
                    return None
                b = to_text(s, ts).encode("utf-8")
                a = max(0, min(a, len(b)))
                n = max(0, n)
                return _nz(b[a:a + n].decode("utf-8", "replace"))
            return f_sub, "str"
        if name in ("REPLACEALL", "REPLACEFIRST"):
            nargs(3)
            if not self.is_lit(args[0]) or strip_paren(args[0]).kind != "str":
                raise RefError("the regex of %s must be a literal" % name)
            rx = re.compile(pcre_to_py(strip_paren(args[0]).a[0]), re.ASCII)
            fs, ts = self.compile(args[1], ctx, mode)
            fr, tr = self.compile(args[2], ctx, mode)
            count = 1 if name == "REPLACEFIRST" else 0

            def f_repl(x):
                s = fs(x)
                if s is None:
                    return None
                rep = to_text(fr(x), tr) or ""
                rep_py = re.sub(r"\$(\d)", r"\\g<\1>", rep.replace("\\", "\\\\"))
                return _nz(rx.sub(rep_py, to_text(s, ts), count=count))
            return f_repl, "str"
        if name == "DATEFORMAT":
            nargs(2)
            f, t = self.compile(args[0], ctx, mode)
            if not self.is_lit(args[1]):
                raise RefUnsupported("DATEFORMAT with a non-literal pattern")
            pat = strip_paren(args[1]).a[0]
            return (lambda x: None if (v := f(x)) is None else _nz(dateformat(v, pat))), "str"
        if name == "NOW":
            nargs(0)
            now = ctx.now_ms
            return (lambda x: now), "time"
        if name == "PARSEDATETIME":
            nargs(1)
            if not self.is_lit(args[0]):
                raise RefUnsupported("PARSEDATETIME of a non-literal")
            s = str(strip_paren(args[0]).a[0]).strip()
            m = re.fullmatch(r"(\d+)\s*(second|minute|hour|day|week)s?\s+ago", s, re.I)
            if m:
                unit = {"second": 1000, "minute": 60000, "hour": 3600000, "day": 86400000,
                        "week": 7 * 86400000}[m.group(2).lower()]
                v = ctx.now_ms - int(m.group(1)) * unit
            else:
                v = parse_datetime_ms(s)
                if v is None:
                    raise RefError("PARSEDATETIME: cannot parse %r" % s)
            return (lambda x: v), "time"
        if name == "INCIDR":
            nargs(2)
            a0, a1 = strip_paren(args[0]), strip_paren(args[1])
            if a0.kind == "str" and a1.kind != "str":
                net, ipnode = a0.a[0], args[1]
            elif a1.kind == "str" and a0.kind != "str":
                net, ipnode = a1.a[0], args[0]
            else:
                raise RefError("INCIDR needs a 'net/bits' literal and an IP")
            try:
                nw = ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise RefError("bad network %r" % net)
            if nw.version == 4:
                lo = V4_PREFIX | int(nw.network_address)
                bits = 96 + nw.prefixlen
            else:
                lo = int(nw.network_address)
                bits = nw.prefixlen
            mask = ((1 << 128) - 1) ^ ((1 << (128 - bits)) - 1)
            f, t = self.compile(ipnode, ctx, mode)
            if t != "ip":
                raise RefError("INCIDR needs an IP")
            return (lambda x: None if (v := f(x)) is None else (v & mask) == lo), "bool"
        if name in LOOKUP_FUNCS:
            nargs(1)
            table = self.lookups.get(name)
            if table is None:
                raise RefUnsupported("no lookup table for %s" % name)
            if self.is_lit(args[0]):
                key = self.lit_as(args[0], "int")
                f = (lambda x: key)
            else:
                f, t = c[0]
                if t not in ("int", "time"):
                    raise RefError("argument 1 of %s must be a number" % name)

            def f_lookup(x):
                v = f(x)
                if v is None:
                    return None
                if v not in table:
                    raise RefUnsupported("%s(%r): id not in the data set" % (name, v))
                return table[v]
            return f_lookup, "str"
        raise RefUnsupported("function %s" % name)

    # -------------------------------------------------------------- execution

    def execute(self, aql, now_ms=None):
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        q = parse(aql)
        return self.execute_q(q)

    def execute_q(self, q, inherit_window=None):
        if q.table != "events":
            raise RefUnsupported("FROM %s" % q.table)
        ctx = Ctx(self, q, self.colidx, self.now_ms)
        window = q.window or inherit_window or ("last", 5 * 60000)
        si = self.colidx["starttime"]
        if window[0] == "last":
            lo, hi = self.now_ms - window[1], None
        else:
            lo, hi = window[1], window[2]
        rows = [r for r in self.rows if r[si] >= lo and (hi is None or r[si] <= hi)]
        if q.where is not None:
            if has_agg(q.where):
                raise RefError("aggregate not allowed in WHERE")
            fw, _ = self.compile(q.where, ctx, "row")
            rows = [r for r in rows if fw(r) is True]
        # select list
        items = []
        for node, alias, name in q.items:
            if node.kind == "star":
                for c in self.cols:
                    items.append((N("col", c, text=c), None, c))
            else:
                items.append((node, alias, name))
        for node, alias, _ in items:
            if alias is not None:
                ctx.aliases.setdefault(alias.lower(), node)
        grouped = bool(q.group) or any(has_agg(n) for n, _, _ in items) or \
            has_agg(q.having) or any(has_agg(n) for n, _ in q.order)
        mode = "group" if grouped else "row"

        def resolve(node):
            n = strip_paren(node)
            if n.kind == "col" and n.a[0] in ctx.aliases:
                return ctx.aliases[n.a[0]]
            if n.kind in ("str", "qid") and isinstance(n.a[0], str) and \
                    n.a[0].lower() in ctx.aliases:
                return ctx.aliases[n.a[0].lower()]
            return node

        sel = [self.compile(n, ctx, mode) for n, _, _ in items]
        order = [(self.compile(resolve(n), ctx, mode)[0], desc) for n, desc in q.order]
        if grouped:
            keyfns = []
            for gnode in q.group:
                g = resolve(gnode)
                if has_agg(g):
                    raise RefError("aggregate not allowed in GROUP BY")
                keyfns.append(self.compile(g, ctx, "row")[0])
            having = self.compile(resolve_tree(q.having, ctx.aliases), ctx, "group")[0] \
                if q.having is not None else None
            groups = {}
            glist = []
            for r in rows:
                key = tuple(f(r) for f in keyfns)
                gr = groups.get(key)
                if gr is None:
                    gr = Group(r, len(ctx.aggs))
                    groups[key] = gr
                    glist.append(gr)
                gr.rows.append(r)
            if not q.group and not glist:
                glist.append(Group(None, len(ctx.aggs)))
            for gr in glist:
                gr.finish(ctx.aggs)
            if having is not None:
                glist = [gr for gr in glist if having(gr) is True]
            units = glist
        else:
            units = rows
        out_typed = []
        keys = []
        for u in units:
            out_typed.append([f(u) for f, _ in sel])
            keys.append(tuple(f(u) for f, _ in order))
        idx = list(range(len(out_typed)))
        for k in range(len(order) - 1, -1, -1):
            desc = order[k][1]
            if desc:
                idx.sort(key=lambda i: (0,) if keys[i][k] is None else (1, keys[i][k]),
                         reverse=True)
            else:
                idx.sort(key=lambda i: (0,) if keys[i][k] is None else (1, keys[i][k]))
        res = Result()
        res.names = [name for _, _, name in items]
        res.types = [t for _, t in sel]
        res.rows_typed = [out_typed[i] for i in idx]
        res.keys = [keys[i] for i in idx]
        res.ordered = bool(order)
        res.limit = q.limit
        res.grouped = grouped
        if q.limit is not None:
            res.rows_typed_limited = res.rows_typed[:q.limit]
        else:
            res.rows_typed_limited = res.rows_typed
        res.rows = [[to_json(v, t) for v, t in zip(r, res.types)] for r in res.rows_typed]
        res.approx = ["d" if strip_paren(n).kind == "agg" and
                      strip_paren(n).a[0] == "DISTINCTCOUNT" else
                      "f" if t == "float" else "" for (n, _, _), t in zip(items, res.types)]
        return res


def resolve_tree(node, aliases):
    """HAVING: identifiers naming an alias of the select list stand for that item."""
    if node is None:
        return None
    if node.kind == "col" and node.a[0] in aliases:
        return aliases[node.a[0]]
    if node.kind == "insub":
        return N(node.kind, resolve_tree(node.a[0], aliases), *node.a[1:], text=node.text)
    args = []
    for x in node.a:
        if isinstance(x, N):
            args.append(resolve_tree(x, aliases))
        elif isinstance(x, list):
            args.append([resolve_tree(y, aliases) if isinstance(y, N) else y for y in x])
        else:
            args.append(x)
    return N(node.kind, *args, text=node.text)


LOOKUP_FUNCS = ("QIDNAME", "QIDDESCRIPTION", "CATEGORYNAME", "LOGSOURCENAME",
                "LOGSOURCETYPENAME", "PROTOCOLNAME")


def text_search(payload, words):
    if payload is None:
        return None
    low = _ascii_lower(payload)
    for w in words:
        if not _word_in(low, w):
            return False
    return True


def _isword(ch):
    # docs/aql.md says "word-aligned" without defining a word; the engine takes ASCII letters
    # and digits (so '_' separates: TEXT SEARCH 'pam' finds "pam_unix"), and so does this.
    return ch.isascii() and ch.isalnum()


def _word_in(text, w):
    start = 0
    n = len(w)
    while True:
        i = text.find(w, start)
        if i < 0:
            return False
        before_ok = i == 0 or not _isword(text[i - 1]) or not _isword(w[0])
        after_ok = i + n >= len(text) or not _isword(text[i + n]) or not _isword(w[-1])
        if before_ok and after_ok:
            return True
        start = i + 1


class Group:
    __slots__ = ("first", "rows", "aggs")

    def __init__(self, first, n):
        self.first = first
        self.rows = [] if first is None else []
        self.aggs = [None] * n

    def finish(self, specs):
        for i, (name, fn, at, rt) in enumerate(specs):
            if name == "COUNT" and fn is None:
                self.aggs[i] = len(self.rows)
                continue
            vals = [v for v in (fn(r) for r in self.rows) if v is not None]
            if name == "COUNT":
                res = len(vals)
            elif name in ("UNIQUECOUNT", "DISTINCTCOUNT"):
                # counts: 0 for no value (docs/aql.md says "the other aggregates null" for an
                # empty input; the engine gives 0, which is what a count should say)
                res = len(set(vals))
            elif not vals:
                res = None
            elif name == "SUM":
                if at == "float":
                    res = math.fsum(vals)
                else:
                    res = sum(vals)
                    if not I64_MIN <= res <= I64_MAX:
                        raise RefError("integer overflow in SUM")
            elif name == "AVG":
                res = (math.fsum(vals) if at == "float" else sum(vals)) / len(vals)
            elif name == "MIN":
                res = min(vals)
            elif name == "MAX":
                res = max(vals)
            elif name == "FIRST":
                res = vals[0]
            elif name == "LAST":
                res = vals[-1]
            elif name in ("STDEV", "STDEVP"):
                n = len(vals)
                if name == "STDEV" and n < 2:
                    res = None
                else:
                    mean = (math.fsum(vals) if at == "float" else sum(vals)) / n
                    ss = math.fsum((v - mean) ** 2 for v in vals)
                    res = math.sqrt(ss / (n - 1 if name == "STDEV" else n))
            else:
                raise RefUnsupported(name)
            self.aggs[i] = res


class Result:
    pass


# ---------------------------------------------------------------------------------- compare

def canon(v):
    if isinstance(v, bool):
        return "b:%s" % v
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return "n:%d" % int(v)
        return "f:%.9g" % v
    if isinstance(v, int):
        return "n:%d" % v
    if v is None:
        return "null"
    return "s:" + v


HLL_M = 2048  # the engine's HyperLogLog registers (src/aql/agg.c HLL_P = 11)


def hll_tolerance(n):
    """Four standard errors of a HyperLogLog estimate of n distinct values with HLL_M
    registers: 1.04/sqrt(m) relative above, linear counting's error below (about
    n/sqrt(2m) for n much smaller than m). A fixed 5% failed now and then on 1500-query
    runs (95 distinct estimated as 90: 3.3 standard errors).
    With few values the error is the number of register collisions, close to a Poisson count
    of mean n - m(1 - e^(-n/m)), about n^2/2m: its tail is heavier than four standard errors
    (46 distinct estimated as 43, three collisions where 0.5 are expected, happens in 1.6% of
    such groups), so the tolerance also covers that count's 1 - 1e-7 quantile."""
    if n > 2.5 * HLL_M:  # the estimator's HyperLogLog range
        return 4 * 1.04 / math.sqrt(HLL_M) * n
    t = n / HLL_M  # its linear counting range
    tol = max(2.0, 4 * math.sqrt(max(0.0, HLL_M * (math.exp(t) - t - 1))))
    lam = n - HLL_M * (1 - math.exp(-t))
    if lam < 30:  # beyond, the normal bound above holds
        k, p = 0, math.exp(-lam)
        cdf = p
        while cdf < 1 - 1e-7:
            k += 1
            p *= lam / k
            cdf += p
        tol = max(tol, k - lam)
    return tol


def value_eq(a, b, approx=""):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        if approx == "d":
            return abs(a - b) <= hll_tolerance(abs(b))
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        return a == b
    return a == b


def _approx_sort_key(row, approx):
    return tuple((0, 0.0) if v is None else (1, float(v)) if isinstance(v, (int, float))
                 else (2, 0.0) for v, ap in zip(row, approx) if ap)


def _pair_bucket(got, exp, approx):
    """Matches two equally long lists of rows that agree on the exact columns: sorted by the
    tolerant columns, then pairwise (quadratic fallback for small buckets)."""
    if len(got) != len(exp):
        return False
    gs = sorted(got, key=lambda r: _approx_sort_key(r, approx))
    es = sorted(exp, key=lambda r: _approx_sort_key(r, approx))
    if all(all(value_eq(a, b, ap) for a, b, ap in zip(g, e, approx)) for g, e in zip(gs, es)):
        return True
    if len(got) > 300:
        return False
    pool = list(exp)
    for r in got:
        for j, e in enumerate(pool):
            if all(value_eq(a, b, ap) for a, b, ap in zip(r, e, approx)):
                del pool[j]
                break
        else:
            return False
    return True


def _buckets(rows, approx):
    out = {}
    for r in rows:
        k = tuple("~" if ap else canon(v) for v, ap in zip(r, approx))
        out.setdefault(k, []).append(r)
    return out


def rows_match_multiset(got, exp, approx):
    """got and exp as multisets; approx marks the columns compared with a tolerance (floats
    'f', DISTINCTCOUNT 'd'), matched inside buckets of equal exact columns."""
    if len(got) != len(exp):
        return False
    bg, be = _buckets(got, approx), _buckets(exp, approx)
    if set(bg) != set(be):
        return False
    if not any(approx):
        return all(len(bg[k]) == len(be[k]) for k in bg)
    return all(_pair_bucket(bg[k], be[k], approx) for k in bg)


def rows_subset(got, pool, approx):
    """Every row of got is in pool (as multisets)."""
    bp = _buckets(pool, approx)
    for k, rows in _buckets(got, approx).items():
        cand = list(bp.get(k, []))
        if len(cand) < len(rows):
            return False
        if not any(approx):
            continue
        for r in rows:
            for j, e in enumerate(cand):
                if all(value_eq(a, b, ap) for a, b, ap in zip(r, e, approx)):
                    del cand[j]
                    break
            else:
                return False
    return True


def engine_rows(json_text):
    """Engine JSON output -> (names, rows as value lists); keeps duplicate keys."""
    doc = json.loads(json_text, object_pairs_hook=lambda pairs: pairs)
    top = dict(doc) if isinstance(doc, list) else doc
    events = top["events"] if "events" in top else top["flows"]  # named after the table
    names = [k for k, _ in events[0]] if events else None
    return names, [[v for _, v in ev] for ev in events]


def compare(res, names, rows, check_names=True):
    """None when the engine's (names, rows) agree with the reference result, else a reason."""
    approx = res.approx
    if names is not None and check_names and names != res.names:
        return "column names differ: engine %r, reference %r" % (names, res.names)
    if any(len(r) != len(res.names) for r in rows):
        return "engine rows have %r columns, reference %d" % (
            sorted(set(len(r) for r in rows)), len(res.names))
    exp_all = res.rows
    limit = res.limit
    want = len(exp_all) if limit is None else min(limit, len(exp_all))
    if len(rows) != want:
        return "engine returned %d rows, reference %d" % (len(rows), want)
    if not res.ordered:
        if limit is None or limit >= len(exp_all):
            ok = rows_match_multiset(rows, exp_all, approx)
        else:
            ok = rows_subset(rows, exp_all, approx)
        return None if ok else "rows differ (as a multiset%s)" % (
            "" if limit is None else ", engine rows must be a subset under LIMIT")
    # ordered: runs of equal sort keys
    i = 0
    n = len(exp_all)
    pos = 0
    while pos < want:
        j = i
        while j < n and canon_key(res.keys[j]) == canon_key(res.keys[i]):
            j += 1
        run = exp_all[i:j]
        take = min(j, want) - pos
        got = rows[pos:pos + take]
        if take == len(run):
            if not rows_match_multiset(got, run, approx):
                return "rows %d..%d (one sort key) differ" % (pos, pos + take - 1)
        else:
            if not rows_subset(got, run, approx):
                return "rows %d..%d (last sort key run, cut by LIMIT) differ" % (
                    pos, pos + take - 1)
        pos += take
        i = j
    return None


def canon_key(k):
    """A sort key for finding runs of ties. Floats compare to 9 digits, and the keys after a
    float key are dropped: two groups whose AVG/STDEV agree to 9 digits may differ in the last
    bit, so their order (and the tie-break by a later key) is not determined."""
    out = []
    for v in k:
        if isinstance(v, float):
            out.append("f:%.9g" % v)
            break
        out.append(canon(v))
    return tuple(out)


def diff_text(names, got, exp_names, exp, approx, why):
    """What differs, for a person: rows only one side has (exact columns), or the rows around
    the first position that differs."""
    from collections import Counter
    m = re.search(r"rows (\d+)\.\.", why or "")
    if m or "order" in (why or ""):
        i = int(m.group(1)) if m else 0
        m2 = re.search(r"row (\d+) ", why or "")
        if m2:
            i = int(m2.group(1))
        lo = max(0, i - 2)
        return "around row %d:\nengine:\n%s\nreference:\n%s" % (
            i, format_rows(names, got[lo:i + 4]), format_rows(exp_names, exp[lo:i + 4]))
    cg = Counter(tuple("~" if ap else canon(v) for v, ap in zip(r, approx)) for r in got)
    ce = Counter(tuple("~" if ap else canon(v) for v, ap in zip(r, approx)) for r in exp)
    only_g, only_e = cg - ce, ce - cg
    if not only_g and not only_e:
        return "engine:\n%s\nreference:\n%s" % (format_rows(names, got),
                                                  format_rows(exp_names, exp))
    return "only in the engine's result (%d):\n%s\nonly in the reference's (%d):\n%s" % (
        sum(only_g.values()), format_rows(names, [list(k) for k in only_g][:6]),
        sum(only_e.values()), format_rows(exp_names, [list(k) for k in only_e][:6]))


def format_rows(names, rows, limit=8):
    out = []
    if names is not None:
        out.append("  cols: %s" % json.dumps(names))
    for r in rows[:limit]:
        out.append("  " + json.dumps(r, ensure_ascii=False)[:300])
    if len(rows) > limit:
        out.append("  ... (%d rows)" % len(rows))
    return "\n".join(out)


# ---------------------------------------------------------------------------------- fixture

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

GEN_USERS = ["alice", "Alice", "BOB", "bob", "c_d", "100%", "zo\u00eb", "svc-backup"]
GEN_SRC = ["10.1.0.1", "10.1.0.2", "10.2.5.9", "192.168.1.20", "172.16.3.4", "2001:db8::1",
           "2001:db8:0:1::5", "203.0.113.9", "10.1.255.254", "8.8.8.8", "2001:db8::ff",
           "100.64.0.1"]
GEN_DST = ["10.9.9.9", "192.168.1.1", "2001:db8::53", "198.51.100.7", "10.1.0.2"]
GEN_DPT = [22, 80, 443, 3389]
GEN_MACS = ["00:11:22:aa:bb:01", "00:11:22:aa:bb:02", "f0:de:f1:00:00:0a"]


def generated_lines():
    """240 key=value lines (appname aqlgen) and 60 CEF lines (host gencef): every value is a
    function of the line number i, so counts can be computed by hand (see the conformance
    test's literal checks)."""
    out = []
    for i in range(240):
        sev = i % 8
        fac = 16 + i % 3
        ts = "Nov 25 %02d:%02d:%02d" % (8 + i // 60, i % 60, (i * 7) % 60)
        out.append("<%d>%s gen%d aqlgen[%d]: src=%s dst=%s spt=%d dpt=%d proto=%s action=%s "
                   "user=%s seq=%d%s" % (fac * 8 + sev, ts, i % 6, 1000 + i, GEN_SRC[i % 12],
                                         GEN_DST[i % 5], 40000 + i, GEN_DPT[i % 4],
                                         "tcp" if i % 3 else "udp",
                                         "accept" if i % 5 else "drop", GEN_USERS[i % 8], i,
                                         " path=C:\\Windows\\Temp" if i % 10 == 0 else ""))
    for i in range(60):
        ts = "Nov 26 09:%02d:%02d" % (i, (i * 13) % 60)
        out.append("<134>%s gencef CEF:0|AqlTest|Gen|1.0|sig%d|Test event %d of %s|%d|src=%s "
                   "dst=%s spt=%d dpt=%d proto=TCP suser=%s smac=%s dmac=%s msg=run %d word%d"
                   % (ts, i % 5, i, ["scan", "login", "Login failed", "upload"][i % 4],
                      i % 11, GEN_SRC[(i * 5) % 12], GEN_DST[i % 5], 50000 + i,
                      GEN_DPT[(i + 1) % 4], GEN_USERS[(i * 3) % 8], GEN_MACS[i % 3],
                      GEN_MACS[(i + 1) % 3], i, i % 7))
    return out


def dataset_files(workdir, corpus):
    """Writes the data set's files in workdir; returns the list of (name, path) to ingest, in
    order (each is a separate `strm ingest` run, so starttime varies between chunks)."""
    chunks = []
    dsm_dir = os.path.join(REPO, "tests", "dsm")
    lines = []
    for name in sorted(os.listdir(dsm_dir)):
        if name.endswith(".log"):
            with open(os.path.join(dsm_dir, name), encoding="utf-8", errors="replace") as f:
                lines.extend(l.rstrip("\n") for l in f if l.strip())
    p = os.path.join(workdir, "dsm.log")
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    chunks.append(("dsm", p))
    p = os.path.join(workdir, "gen.log")
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(generated_lines()) + "\n")
    chunks.append(("gen", p))
    for sub, fname, n in (("openssh", "OpenSSH_2k.log", 700), ("linux", "Linux_2k.log", 700)):
        src = os.path.join(corpus, "syslog", sub, fname)
        if os.path.exists(src):
            with open(src, encoding="utf-8", errors="replace") as f:
                part = [l.rstrip("\n") for _, l in zip(range(n), f)]
            p = os.path.join(workdir, fname)
            with open(p, "w", encoding="utf-8") as f:
                f.write("\n".join(part) + "\n")
            chunks.append((sub, p))
    return chunks


WIDE = "LAST 3650 DAYS"


class Fixture:
    """The data set loaded into one instance, its dump, lookups and a reference evaluator."""

    def __init__(self, t, strmtest):
        self.t = t
        self.st = strmtest
        self.s = t.strm(name="aql", udp=False, tcp=False)
        chunks = dataset_files(self.s.dir, strmtest.CORPUS)
        self.chunks = [c for c, _ in chunks]
        for label, path in chunks:
            r = self.s.cli("ingest", path, timeout=120)
            if r.returncode != 0:
                raise strmtest.HarnessError("ingest %s failed: %s" % (label, r.stderr[-500:]))
            time.sleep(0.03)
        self.s.start()
        r = self.s.search("SELECT * FROM events " + WIDE, "json", timeout=60)
        if r.returncode != 0:
            raise strmtest.HarnessError("dump failed: %s" % r.stderr[-500:])
        self.dump = json.loads(r.stdout)["events"]
        self.lookups = self.load_lookups()
        self.ref = Reference(self.dump, self.lookups)
        st = [row["starttime"] for row in self.dump]
        self.t_min, self.t_max = min(st), max(st)

    def load_lookups(self):
        pairs = [("QIDNAME", "qid"), ("QIDDESCRIPTION", "qid"), ("CATEGORYNAME", "category"),
                 ("CATEGORYNAME", "highlevelcategory"), ("LOGSOURCENAME", "logsourceid"),
                 ("LOGSOURCETYPENAME", "devicetype"), ("PROTOCOLNAME", "protocolid")]
        sel = ", ".join("%s AS c%d, %s(%s) AS f%d" % (col, i, fn, col, i)
                        for i, (fn, col) in enumerate(pairs))
        r = self.s.search("SELECT %s FROM events %s" % (sel, WIDE), "json", timeout=60)
        if r.returncode != 0:
            raise self.st.HarnessError("lookup query failed: %s" % r.stderr[-500:])
        tables = {}
        for ev in json.loads(r.stdout)["events"]:
            for i, (fn, col) in enumerate(pairs):
                tables.setdefault(fn, {})[ev["c%d" % i]] = ev["f%d" % i]
        return tables

    def window_times(self):
        """(start minute, stop minute) texts covering the data."""
        def fmt(ms, f="%Y-%m-%d %H:%M"):
            return time.strftime(f, time.gmtime(ms / 1000))
        return fmt(self.t_min), fmt(self.t_max)

    def run_engine(self, queries, workers=2):
        """Runs every query with `strm search --format json`; returns a list of
        (returncode, stdout, stderr) in query order."""
        out = [None] * len(queries)
        lock = threading.Lock()
        nxt = [0]

        def work():
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(queries):
                    return
                try:
                    r = self.s.search(queries[i], "json", timeout=60)
                    out[i] = (r.returncode, r.stdout, r.stderr)
                except self.st.HarnessError as e:
                    out[i] = (-1, "", str(e))
        ths = [threading.Thread(target=work) for _ in range(workers)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        return out

    def check(self, aql, engine_out, check_names=True, exact=False):
        """None when engine and reference agree, else a multi-line explanation. exact: the
        rows must also come in the reference's order (scan order, stable sort)."""
        rc, stdout, stderr = engine_out
        try:
            res = self.ref.execute(aql)
        except RefUnsupported as e:
            return "reference cannot evaluate: %s" % e
        except RefError as e:
            return "reference rejects the query: %s (engine exit %d)" % (e, rc)
        except Exception as e:  # noqa: B902 - a reference bug must not stop the run
            return "reference crashed: %s: %s" % (type(e).__name__, e)
        if rc != 0:
            return "engine failed (exit %d): %s" % (rc, stderr.strip()[-400:])
        try:
            names, rows = engine_rows(stdout)
        except ValueError as e:
            return "engine output is not JSON: %s" % e
        why = compare(res, names, rows, check_names)
        if why is None and exact:
            want = res.rows[:res.limit] if res.limit is not None else res.rows
            for i, (a, b) in enumerate(zip(rows, want)):
                if not all(value_eq(x, y, ap) for x, y, ap in zip(a, b, res.approx)):
                    why = "row %d is not in the documented order (scan order / stable sort)" % i
                    break
        if why is None:
            return None
        lim = res.rows[:res.limit] if res.limit is not None else res.rows
        return "%s\n%s" % (why, diff_text(names, rows, res.names, lim, res.approx, why))


def rng(seed):
    return random.Random(seed)
