"""The fault proxy itself: it forwards both ways, delays when told, and cuts with an RST."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from wushe_dev.devstack import free_port
from wushe_dev.faultproxy import FaultProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    target = server.sockets[0].getsockname()[1]
    async with FaultProxy(free_port(), target) as p:
        yield p
    server.close()
    await server.wait_closed()


async def _round_trip(proxy: FaultProxy, payload: bytes) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    started = time.monotonic()
    writer.write(payload)
    await writer.drain()
    got = await reader.readexactly(len(payload))
    elapsed = time.monotonic() - started
    writer.close()
    await writer.wait_closed()
    return got, elapsed


async def test_forwards_both_ways(proxy: FaultProxy) -> None:
    got, _ = await _round_trip(proxy, b"hello")
    assert got == b"hello"
    assert proxy.connections_total == 1


async def test_delays_every_chunk_each_way(proxy: FaultProxy) -> None:
    proxy.delay_s = 0.15
    got, elapsed = await _round_trip(proxy, b"slow")
    assert got == b"slow"
    assert elapsed >= 0.3  # a sleep on the way there and one on the way back


async def test_reset_cuts_open_connections_and_new_ones_work(proxy: FaultProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    writer.write(b"x")
    await writer.drain()
    assert await reader.readexactly(1) == b"x"
    assert proxy.reset() == 1
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await reader.readexactly(1)  # the RST (or the end of the stream) arrives
    writer.close()
    assert proxy.resets_total == 1
    got, _ = await _round_trip(proxy, b"again")
    assert got == b"again"


async def test_a_hold_delays_one_direction_until_released(proxy: FaultProxy) -> None:
    """Replies held, requests still pass: the echo happens (the server saw the bytes) but
    the client hears nothing until the hold is released, then everything, in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    proxy.hold(to_client=True)
    writer.write(b"ab")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(2), 0.3)
    proxy.release()
    assert await asyncio.wait_for(reader.readexactly(2), 2) == b"ab"
    writer.close()


async def test_a_reset_during_a_hold_loses_what_was_held(proxy: FaultProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    proxy.hold(to_server=True, to_client=True)
    writer.write(b"lost")
    await writer.drain()
    await asyncio.sleep(0.1)  # the proxy has read it and waits at the gate
    assert proxy.reset() == 1
    proxy.release()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(4), 2)
    writer.close()
    await asyncio.sleep(0.05)  # the waiting pump wakes and finds its connection gone
    assert proxy.dropped_chunks == 1
    got, _ = await _round_trip(proxy, b"after")
    assert got == b"after"
