#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# console-recorder LOG STRING...: copy standard input (a guest's serial console) to LOG as it
# comes, and append "SECONDS STRING" to LOG.times the first time each STRING appears (seconds
# since the recorder started, monotonic), colours (ANSI SGR sequences) left out of the
# comparison.  The guest's clock runs with the host's under QEMU, so differences of these
# times are the guest's own.
import os
import re
import sys
import time

SGR = re.compile(rb"\x1b\[[0-9;]*m")

log = open(sys.argv[1], "wb", buffering=0)
times = open(sys.argv[1] + ".times", "w")
wanted = [s.encode() for s in sys.argv[2:]]
longest = max((len(w) for w in wanted), default=1)
start = time.monotonic()
tail = b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    log.write(data)
    # A string may straddle two reads: look in the end of the last read too.
    window = tail + data
    plain = SGR.sub(b"", window)
    for w in list(wanted):
        if w in plain:
            times.write("%.2f %s\n" % (time.monotonic() - start, w.decode()))
            times.flush()
            wanted.remove(w)
    # (Room for the colour sequences that may stand inside a string.)
    tail = window[-(longest + 64):]
