"""A TCP proxy for fault tests: latency and connection resets between a client and a server,
on loopback, without root (`tc netem` needs a network namespace and privileges).

    async with FaultProxy(listen_port, target_port) as proxy:
        proxy.delay_s = 0.2        # every chunk, each way, waits this long
        proxy.reset()              # every open connection cut with a TCP RST
        proxy.hold(to_client=True) # replies stop (requests still arrive) ...
        proxy.reset()              # ... and what was held is lost with the connections
        proxy.release()

Chunks keep their order (each direction is one pump), so a delay is latency plus a cap on
throughput, as on a slow link; a reset is what a NAT timeout or a restarted load balancer
does to long-lived Kafka connections. A hold is a partition: bytes sent into it are neither
delivered nor refused, so a sender cannot tell a request that arrived (its reply held) from
one that did not; a reset during a hold drops them, as a flow's state is lost after an
outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

CHUNK = 64 * 1024
LINGER_NONE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends an RST, not a FIN


class FaultProxy:
    def __init__(self, listen_port: int, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.listen_port = listen_port
        self.target_port = target_port
        self.delay_s = 0.0
        self.connections_total = 0
        self.resets_total = 0  # connections cut by `reset`
        self.dropped_chunks = 0  # chunks read during a hold and lost to a reset
        # One gate a direction; a pump waits at its gate before it passes a chunk on.
        self._to_server = asyncio.Event()
        self._to_client = asyncio.Event()
        self.release()
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, self.host, self.listen_port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.close()
        self.reset()
        self.release()  # pumps waiting at a gate see their connection gone, and end
        if self._server is not None:
            await self._server.wait_closed()

    def hold(self, *, to_server: bool = False, to_client: bool = False) -> None:
        """Stop passing bytes on in the given directions (until `release`)."""
        if to_server:
            self._to_server.clear()
        if to_client:
            self._to_client.clear()

    def release(self) -> None:
        self._to_server.set()
        self._to_client.set()

    def reset(self) -> int:
        """Cut every open connection with an RST (SO_LINGER 0, then abort): both ends see
        "connection reset by peer", as after a middlebox drops the flow. Returns how many."""
        cut = 0
        for pair in list(self._open):
            for writer in pair:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                writer.transport.abort()
            self._open.discard(pair)
            cut += 1
        self.resets_total += cut
        return cut

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        pair = (client_w, server_w)
        self._open.add(pair)
        self.connections_total += 1
        try:
            await asyncio.gather(
                self._pump(client_r, server_w, pair, self._to_server),
                self._pump(server_r, client_w, pair, self._to_client),
            )
        finally:
            self._open.discard(pair)
            for writer in pair:
                writer.transport.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
        gate: asyncio.Event,
    ) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                await gate.wait()
                if pair not in self._open:  # reset while held: the chunk is lost with it
                    self.dropped_chunks += 1
                    return
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(chunk)
                await writer.drain()
        except OSError:
            # One side is gone: so is the connection (the other pump's read then ends too).
            for w in pair:
                w.transport.abort()
            return
        # The sender closed its side: pass the close on, so the other end sees it too.
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
