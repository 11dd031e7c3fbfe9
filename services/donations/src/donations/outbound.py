"""One HTTP POST to a foundation's webhook receiver, bounded in time, and what came back.

The request goes to the address that was checked: the host is resolved here and every
address checked (`domain.webhooks.address_allowed`) before connecting to it, so a name that
resolves into a private network is refused whatever it resolved to at registration; TLS
verifies the certificate against the name, not the address. A general client would resolve
again when it connects. The webhooks need little else: one request per connection, no
redirects (a 3xx is a failure), no cookies, no pooling; h11 (the HTTP/1.1 state machine
uvicorn is built on) frames the request and parses the answer over asyncio's streams and TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from donations.domain.webhooks import address_allowed

READ_CHUNK = 16_384
TLS = ssl.create_default_context()  # the system's CAs; hostname checked


@dataclass(frozen=True)
class Answer:
    """The receiver's HTTP status and the start of its body, or why there was none."""

    status: int | None = None
    error: str | None = None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post(
    url: str,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    *,
    timeout_s: float,
    allow_loopback: bool,
    read_limit: int = 1024,
) -> Answer:
    """POST `body` to `url`; the whole exchange (resolving, connecting, TLS, sending, the
    answer's head and up to `read_limit` bytes of its body) within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _post(url, body, headers, allow_loopback, read_limit)
    except TimeoutError:
        return Answer(error=f"timed out after {timeout_s:g} s")
    except ssl.SSLError as exc:
        return Answer(error=f"TLS failed: {exc.reason or type(exc).__name__}")
    except socket.gaierror:
        return Answer(error="the host name does not resolve")
    except ConnectionRefusedError:
        return Answer(error="connection refused")
    except OSError as exc:
        return Answer(error=f"connection failed: {exc.strerror or type(exc).__name__}")
    except (h11.ProtocolError, asyncio.IncompleteReadError):
        return Answer(error="the answer is not HTTP/1.1")
    except ValueError as exc:  # a host name the resolver cannot encode (IDNA), say
        return Answer(error=f"the address cannot be used: {exc}")


async def _post(
    url: str,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    allow_loopback: bool,
    read_limit: int,
) -> Answer:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host, port = parts.hostname or "", parts.port or (443 if https else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    allowed = [a for a in addresses if address_allowed(a, allow_loopback=allow_loopback)]
    if not allowed:
        return Answer(error="refused: the host resolves to no address of the public internet")
    reader, writer = await _connect(allowed, port, host if https else None)
    try:
        conn = h11.Connection(h11.CLIENT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = h11.Request(
            method="POST",
            target=target,
            headers=[
                ("Host", parts.netloc),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
                *headers,
            ],
        )
        events = (request, h11.Data(data=body), h11.EndOfMessage())
        writer.write(b"".join(conn.send(e) or b"" for e in events))
        await writer.drain()
        return await _answer(conn, reader, read_limit)
    finally:
        writer.close()
        with contextlib.suppress(Exception):  # a peer that vanished: nothing left to close
            await writer.wait_closed()


async def _connect(
    addresses: list[str], port: int, server_hostname: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The first of `addresses` that accepts a connection (TLS when `server_hostname`)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return await asyncio.open_connection(
                address,
                port,
                ssl=TLS if server_hostname else None,
                server_hostname=server_hostname,
            )
        except ssl.SSLError:
            raise
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


async def _answer(conn: h11.Connection, reader: asyncio.StreamReader, limit: int) -> Answer:
    status: int | None = None
    received = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_CHUNK))  # b"": the peer closed
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            received += bytes(event.data)
            if len(received) >= limit:
                break
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
        # an informational answer (100 Continue …) is passed over
    if status is None:
        return Answer(error="the connection closed without an answer")
    return Answer(status=status, body=received[:limit])
