#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# A capturing TCP relay for the tests: listens on [::1]:LISTEN, forwards each connection to
# [::1]:TARGET, and writes every byte each way to PREFIX.N.c2s and PREFIX.N.s2c (N counts the
# connections from 1); touches READY once it listens.  Runs until killed.
# Usage: tcp-capture.py LISTEN TARGET PREFIX READY
import asyncio
import sys

listen, target, prefix, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
count = 0


async def pump(reader, writer, path):
    with open(path, "ab", buffering=0) as out:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            out.write(data)
            writer.write(data)
            await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def relay(c_reader, c_writer):
    global count
    count += 1
    n = count
    try:
        s_reader, s_writer = await asyncio.open_connection("::1", target)
    except OSError:
        c_writer.close()
        return
    await asyncio.gather(pump(c_reader, s_writer, "%s.%d.c2s" % (prefix, n)),
                         pump(s_reader, c_writer, "%s.%d.s2c" % (prefix, n)),
                         return_exceptions=True)
    c_writer.close()
    s_writer.close()


async def main():
    server = await asyncio.start_server(relay, "::1", listen)
    open(ready, "w").close()
    async with server:
        await server.serve_forever()


asyncio.run(main())
