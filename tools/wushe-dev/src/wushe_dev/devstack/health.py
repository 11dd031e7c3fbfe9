"""Health checks of the stack's parts: a real request to each, not just an open port."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import urllib.error
import urllib.request


def kafka_healthy(bootstrap: str, timeout: float = 5.0) -> bool:
    """A real metadata request, not just an open port."""

    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False  # not listening yet: skip the client, which would log the refusal

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=4000)
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.describe_cluster(), timeout)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    # A thread of its own, so the check also works when called from async code.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, probe()).result()


def mongo_healthy(url: str, timeout: float = 3.0) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=int(timeout * 1000)
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback)
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError):
        return False
