#!/usr/bin/python3
"""A TCP relay that can cut the link it carries without closing it: the edge-node tests put it
between wtc-edge and wtcd and freeze it, as a cut cable or a dead switch would (nothing is
closed, nothing arrives). SIGUSR1 cuts: bytes stop flowing both ways and new connections are
held unanswered. SIGUSR2 mends: every connection open during the cut is closed (the ends have
given up on them), and relaying resumes for new connections.

    link_relay.py UPSTREAM_HOST UPSTREAM_PORT     prints "listening on PORT", then relays
"""
import asyncio
import signal
import sys


class Relay:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.open = asyncio.Event()
        self.open.set()
        self.connections = set()

    def cut(self):
        self.open.clear()
        print("cut", flush=True)

    def mend(self):
        for writer in list(self.connections):
            writer.transport.abort()
        self.connections.clear()
        self.open.set()
        print("mended", flush=True)

    async def pump(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self.open.wait()
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    async def serve(self, client_reader, client_writer):
        self.connections.add(client_writer)
        await self.open.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections.add(up_writer)
        await asyncio.gather(self.pump(client_reader, up_writer),
                             self.pump(up_reader, client_writer))


async def main():
    relay = Relay(sys.argv[1], int(sys.argv[2]))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, relay.cut)
    loop.add_signal_handler(signal.SIGUSR2, relay.mend)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    server = await asyncio.start_server(relay.serve, "127.0.0.1", 0)
    print("listening on", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except RuntimeError:
        pass  # the loop stopped on SIGTERM
