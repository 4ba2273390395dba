#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the server's audit log (issue 14, man mandos(8) AUDIT LOG), for audit-lib.sh.

  check FILE [COUNT]      every line one JSON object with exactly the documented fields in
                          order and values of the right form; COUNT lines if given
  count FILE [K=V...]     print how many lines have all these values
  last FILE K=V...        the last line has all these values
  secrets LOG... [--raw FILE...] [--b64 FILE...]
                          no LOG holds a secret: the bytes of each --raw FILE, or the
                          base64 text of each --b64 FILE (whitespace ignored) and its
                          decoding, raw, in hex or in base64 (any alignment)

K=V: V is compared with the field as text; "null" matches a null, numbers their text.
K>=N: the field is a number of at least N.
Exit status 0 when the check holds, 1 with a message on stderr otherwise.
"""
import base64
import binascii
import json
import re
import sys

FIELDS = ["time", "server", "client", "key_id", "address", "interface", "protocol",
          "decision", "reason", "latency_ms"]
DECISIONS = {"granted", "unknown_client", "disabled", "denied", "approval_timeout",
             "release_limit", "busy", "no_material", "unavailable", "aborted", "error"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
KEY_ID = re.compile(r"^[0-9A-F]{64}$")


def die(msg):
    print("audit-check: " + msg, file=sys.stderr)
    sys.exit(1)


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        die(f"{path}: the last line is not complete")
    out = []
    for n, raw in enumerate(data.splitlines(), 1):
        where = f"{path}:{n}"
        try:
            text = raw.decode("utf-8")
            pairs = json.loads(text, object_pairs_hook=lambda p: p)
        except (UnicodeDecodeError, ValueError) as e:
            die(f"{where}: not one JSON object: {e}: {raw[:200]!r}")
        if not isinstance(pairs, list):
            die(f"{where}: not a JSON object")
        keys = [k for k, _ in pairs]
        if keys != FIELDS:
            die(f"{where}: fields {keys}, expected {FIELDS}")
        out.append((where, dict(pairs)))
    return out


def is_str(v):
    return isinstance(v, str)


def check_record(where, r):
    def bad(field, why):
        die(f"{where}: {field} {r[field]!r}: {why}")

    if not is_str(r["time"]) or not TIME.match(r["time"]):
        bad("time", "not YYYY-MM-DDTHH:MM:SS.UUUUUUZ")
    if not is_str(r["server"]) or not r["server"]:
        bad("server", "not a non-empty string")
    if r["client"] is not None and (not is_str(r["client"]) or not r["client"]):
        bad("client", "not null or a non-empty string")
    if r["key_id"] is not None and (not is_str(r["key_id"]) or not KEY_ID.match(r["key_id"])):
        bad("key_id", "not null or 64 uppercase hex digits")
    if not is_str(r["address"]) or not r["address"]:
        bad("address", "not a non-empty string")
    if r["interface"] is not None and (not is_str(r["interface"]) or not r["interface"]):
        bad("interface", "not null or a non-empty string")
    if type(r["protocol"]) is not int or r["protocol"] not in (1, 2):
        bad("protocol", "not 1 or 2")
    if r["decision"] not in DECISIONS:
        bad("decision", "not one of " + ", ".join(sorted(DECISIONS)))
    if r["reason"] is not None and (not is_str(r["reason"]) or not r["reason"]):
        bad("reason", "not null or a non-empty string")
    lat = r["latency_ms"]
    if type(lat) not in (int, float) or lat < 0:
        bad("latency_ms", "not a non-negative number")
    if r["decision"] == "granted" and (r["client"] is None or r["key_id"] is None):
        die(f"{where}: granted without a client and key_id")


def text(v):
    if v is None:
        return "null"
    return str(v)


def matches(r, conds):
    for c in conds:
        k, sep, v = c.partition(">=")
        if sep:
            if k not in FIELDS or type(r[k]) not in (int, float):
                die(f"bad condition {c!r} (FIELD>=NUMBER with a numeric field)")
            if r[k] < float(v):
                return False
            continue
        k, sep, v = c.partition("=")
        if not sep or k not in FIELDS:
            die(f"bad condition {c!r} (FIELD=VALUE with a field of {FIELDS})")
        if text(r[k]) != v:
            return False
    return True


def cmd_check(args):
    if len(args) not in (1, 2):
        die("usage: check FILE [COUNT]")
    recs = records(args[0])
    for where, r in recs:
        check_record(where, r)
    if len(args) == 2 and len(recs) != int(args[1]):
        die(f"{args[0]}: {len(recs)} lines, expected {args[1]}")
    print(len(recs))


def cmd_count(args):
    if not args:
        die("usage: count FILE [K=V...]")
    print(sum(1 for _, r in records(args[0]) if matches(r, args[1:])))


def cmd_last(args):
    if len(args) < 2:
        die("usage: last FILE K=V...")
    recs = records(args[0])
    if not recs:
        die(f"{args[0]}: empty")
    where, r = recs[-1]
    if not matches(r, args[1:]):
        die(f"{where}: {json.dumps(r)} does not have {' '.join(args[1:])}")


def forms(secret):
    """The ways a secret could show in a text log: raw, hex, base64 of any alignment."""
    out = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for shift in range(3):
        part = secret[shift:]
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            s = enc(part).rstrip(b"=")
            # The last 4 characters may differ when more bytes follow in the encoded data.
            if len(s) > 12:
                out.add(s[:-4])
    return {f for f in out if len(f) >= 8}


def cmd_secrets(args):
    logs, raws, b64s = [], [], []
    target = logs
    for a in args:
        if a == "--raw":
            target = raws
        elif a == "--b64":
            target = b64s
        else:
            target.append(a)
    if not logs or not (raws or b64s):
        die("usage: secrets LOG... [--raw FILE...] [--b64 FILE...]")
    secrets = []
    for f in raws:
        with open(f, "rb") as fh:
            s = fh.read()
        secrets.append((f, s))
        if s.endswith(b"\n"):
            secrets.append((f + " (without its newline)", s[:-1]))
    for f in b64s:
        with open(f, "rb") as fh:
            t = b"".join(fh.read().split())
        secrets.append((f + " (its base64 text)", t))
        try:
            secrets.append((f + " (decoded)", base64.b64decode(t, validate=True)))
        except binascii.Error as e:
            die(f"{f}: not base64: {e}")
    for log in logs:
        with open(log, "rb") as fh:
            data = fh.read()
        for name, s in secrets:
            if len(s) < 8:
                die(f"{name}: too short to search for ({len(s)} bytes)")
            for form in forms(s):
                if form in data:
                    die(f"{log} holds the secret of {name} ({form[:16]!r}...)")
    print(f"no secret in {' '.join(logs)} ({len(secrets)} secrets)")


def main():
    if len(sys.argv) < 2:
        die("usage: check|count|last|secrets ...")
    cmd = {"check": cmd_check, "count": cmd_count, "last": cmd_last,
           "secrets": cmd_secrets}.get(sys.argv[1])
    if not cmd:
        die(f"unknown command {sys.argv[1]!r}")
    cmd(sys.argv[2:])


if __name__ == "__main__":
    main()
