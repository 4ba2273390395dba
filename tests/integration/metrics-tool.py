#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# The metrics tests' client side: scrape our endpoint (TCP HOST:PORT or a Unix socket path),
# check the text exposition format, hold idle scrapers, and ask Prometheus's HTTP API.
#   get ADDR PATH [METHOD]  print the status code, then the body
#   big ADDR                send 9000 bytes of headers that never end; print the status code
#   check FILE              the exposition format 0.0.4 (HELP/TYPE, histograms); exit 1 if not
#   value FILE SERIES       print the value of SERIES ('name{a="b",...}' as written), or fail
#   hold N ADDR             open N connections that send nothing, print "ready", and wait until
#                           the server has closed every one ("closed SECONDS")
#   refused ADDR            connect and ask; print "closed" when the server closes with no answer
#   garbage ADDR VERSION    to the server's port: the version line, bytes no handshake takes
#                           and EOF; wait until the server closes
#   query URL EXPR          Prometheus instant query: the value of the first result, or "none"
import json
import os
import re
import socket
import sys
import time
import urllib.parse
import urllib.request

SLOW = int(os.environ.get("SLOW", "1"))


def connect(addr):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
        return s
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam)
    s.connect((host, int(port)))
    return s


def read_all(s):
    s.settimeout(20 * SLOW)
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    return data


def status_and_body(data):
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode()
    if not line.startswith("HTTP/1.1 "):
        sys.exit("bad status line: %r" % line)
    return line.split()[1], head.decode(), body


def cmd_get(addr, path, method="GET"):
    s = connect(addr)
    s.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n" % (method, path)).encode())
    code, head, body = status_and_body(read_all(s))
    print(code)
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    m = re.search(r"(?im)^content-length: *(\d+)", head)
    if not m or int(m.group(1)) != len(body):
        sys.exit("Content-Length does not match the body")
    if not re.search(r"(?im)^connection: close", head):
        sys.exit("no Connection: close")
    if code == "200" and not re.search(r"(?im)^content-type: text/plain; version=0.0.4", head):
        sys.exit("not text/plain; version=0.0.4")


def cmd_big(addr):
    s = connect(addr)
    s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000)
    code, _, _ = status_and_body(read_all(s))
    print(code)


LABELS = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def parse(path):
    """[(name, labels dict, value)], {family: type}, in file order; fails on format errors."""
    helps, types, samples = {}, {}, []
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in helps:
                sys.exit("%s:%d: second HELP for %s" % (path, n, name))
            helps[name] = True
            continue
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            if name not in helps or name in types:
                sys.exit("%s:%d: TYPE of %s without HELP first, or twice" % (path, n, name))
            if t not in ("counter", "gauge", "histogram"):
                sys.exit("%s:%d: type %s" % (path, n, t))
            types[name] = t
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit("%s:%d: not a sample: %r" % (path, n, line))
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                fam = name[: -len(suffix)]
        if fam not in types:
            sys.exit("%s:%d: %s has no HELP and TYPE before it" % (path, n, name))
        if types[fam] == "counter" and not name.endswith("_total"):
            sys.exit("%s:%d: counter %s does not end in _total" % (path, n, name))
        samples.append((fam, name, dict(LABELS.findall(labels)), value))
    return samples, types


def cmd_check(path):
    samples, types = parse(path)
    hist = {}
    for fam, name, labels, value in samples:
        if types[fam] != "histogram":
            continue
        key = (fam, tuple(sorted((k, v) for k, v in labels.items() if k != "le")))
        h = hist.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if name.endswith("_bucket"):
            h["buckets"].append((float(labels["le"]), value))
        elif name.endswith("_count"):
            h["count"] = value
        else:
            h["sum"] = value
    if not hist:
        sys.exit("no histogram")
    for key, h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != float("inf"):
            sys.exit("%s: no +Inf bucket" % (key,))
        for (le1, v1), (le2, v2) in zip(b, b[1:]):
            if le2 <= le1 or v2 < v1:
                sys.exit("%s: buckets not monotonic at le=%s" % (key, le2))
        if h["count"] != b[-1][1] or h["sum"] is None:
            sys.exit("%s: _count differs from the +Inf bucket, or no _sum" % (key,))
    print("ok: %d samples, %d families, %d histograms" % (len(samples), len(types), len(hist)))


def cmd_value(path, series):
    for line in open(path):
        if line.startswith(series + " "):
            print(line.split()[-1])
            return
    sys.exit("no series %s in %s" % (series, path))


def cmd_hold(n, addr):
    start = time.monotonic()
    socks = [connect(addr) for _ in range(int(n))]
    print("ready", flush=True)
    for s in socks:
        s.settimeout(60 * SLOW)
        try:
            if s.recv(1) != b"":
                sys.exit("an idle scraper got data")
        except ConnectionResetError:
            pass
    print("closed %.1f" % (time.monotonic() - start), flush=True)


def cmd_refused(addr):
    s = connect(addr)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = read_all(s)
    print("closed" if data == b"" else "answered")


def cmd_garbage(addr, version):
    s = connect(addr)
    s.sendall(version.encode() + b"\r\n" + b"\x16\x03\x01\x00\x05hello" + b"\xff" * 200)
    s.shutdown(socket.SHUT_WR)
    read_all(s)


def cmd_query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen("%s/api/v1/query?%s" % (url, q), timeout=10) as r:
            res = json.load(r)
    except OSError:
        print("none")
        return
    if res.get("status") != "success" or not res["data"]["result"]:
        print("none")
        return
    print(res["data"]["result"][0]["value"][1])


if __name__ == "__main__":
    cmds = {"get": cmd_get, "big": cmd_big, "check": cmd_check, "value": cmd_value,
            "hold": cmd_hold, "refused": cmd_refused, "garbage": cmd_garbage,
            "query": cmd_query}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__ or "usage: metrics-tool.py COMMAND ...")
    cmds[sys.argv[1]](*sys.argv[2:])
