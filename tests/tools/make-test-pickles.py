#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerate the made-up pickles of tests/unit/pickle/ (test-pickle's data; the real
# upstream files are in tests/fuzz/corpus/pickle/): Python's own pickle.dumps() at protocol
# 2, as upstream's server calls it, of every type the reader accepts, and of upstream's
# (clients, client_settings) shape with one thing wrong in each.
#   tests/tools/make-test-pickles.py tests/unit/pickle
import datetime
import os
import pickle
import sys

td = datetime.timedelta
dt = datetime.datetime


def settings():
    return dict(host="h", checker_command="true", key_id="", fingerprint="AB",
                timeout=td(0, 300), extended_timeout=td(0, 900), interval=td(0, 120),
                approval_delay=td(0), approval_duration=td(0, 1),
                approved_by_default=True, enabled=True)


def runtime(**changes):
    d = dict(settings(), created=dt(2024, 1, 1), last_enabled=dt(2024, 1, 1),
             expires=dt(2024, 1, 1, 0, 5), last_checked_ok=None,
             last_approval_request=None, last_checker_status=-2)
    d.update(changes)
    return d


def without(d, key):
    del d[key]
    return d


files = {
    "all-types": {
        "none": None, "t": True, "f": False, "i1": 7, "i2": 300, "i4": -5,
        "big": 2**40, "neg": -2**40, "fl": 1.5, "s": "café 名", "b": b"\x00\xffab",
        "e": b"", "l0": [], "l1": [1], "l2": [1, 2], "t0": (), "t1": (1,), "t2": (1, 2),
        "t3": (1, 2, 3), "t4": (1, 2, 3, 4), "d0": {}, "d1": {"k": 1},
        "dt": dt(2024, 1, 2, 3, 4, 5, 123456), "td": td(1, 2, 3)},
    "import-good": ({"x": runtime(), "y": runtime(enabled=False)},
                    {"x": settings(), "y": settings()}),
    "import-missing": ({"x": runtime(), "y": without(runtime(), "enabled")},
                       {"x": settings(), "y": settings()}),
    "import-wrong-type": ({"x": runtime(), "y": runtime(timeout=300)},
                          {"x": settings(), "y": settings()}),
    "import-no-settings": ({"x": runtime(), "y": runtime()}, {"x": settings()}),
    "import-not-tuple": {"x": runtime()},
    "import-status": ({"x": runtime(last_checker_status=256)}, {"x": settings()}),
}
for name, value in files.items():
    with open(os.path.join(sys.argv[1], name + ".pickle"), "wb") as f:
        pickle.dump(value, f, protocol=2)
