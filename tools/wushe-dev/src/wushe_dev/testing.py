"""Test helpers and the pytest plugin (`pytest_plugins = ["wushe_dev.testing"]`).

The `stack` fixture starts a throwaway local stack (real Kafka, FerretDB, Prometheus) on
free loopback ports in a temporary folder, once per test session, with the same code as
`wushe stack up`, and always stops it again. Set WUSHE_TEST_STACK=external to run the
integration tests against an already running stack described by WUSHE_* variables instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from wushe.bus import create_broker, publish_envelopes
from wushe.contracts import Envelope, Event, EventRegistry
from wushe.store import create_mongo_client
from wushe.topics import partitions_of
from wushe.validators import check_resident_id, resident_id_check_char
from wushe_dev.devstack import LocalStack, StackConfig, repo_root, running_stack

# The one factory of service apps and its helpers (`run_services`, `bearer`, ...).
pytest_plugins = ["wushe_dev.fixtures"]


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    if os.environ.get("WUSHE_TEST_STACK") == "external":
        yield LocalStack(StackConfig.from_env())
        return
    home = Path(tempfile.mkdtemp(prefix="wushe-test-stack-"))
    started = time.monotonic()
    try:
        with running_stack(StackConfig.throwaway(home)) as s:
            print(f"\n[stack] throwaway stack up in {time.monotonic() - started:.1f}s at {home}")
            yield s
    finally:
        shutil.rmtree(home, ignore_errors=True)


def person(
    name: str, birth: str, serial: str, phone: str, county: str = "360402"
) -> dict[str, str]:
    """A made-up resident of `county` (a valid ID number: its check character computed), for
    tests that must then find no trace of them on topics or in logs."""
    first17 = f"{county}{birth}{serial}"
    return {"name": name, "id_number": first17 + resident_id_check_char(first17), "phone": phone}


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests never share topics, groups or databases."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def mongo_db(stack: LocalStack, unique: str) -> AsyncIterator[Any]:
    client = create_mongo_client(stack.cfg.mongo_url)
    db = client[f"test_{unique}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()


async def publish_all(bootstrap: str, envelopes: list[Envelope], *, times: int = 1) -> None:
    """Publish `envelopes` (`times` over, to simulate redelivery) and wait for the acks."""
    broker = create_broker(bootstrap, client_id="wushe-test-publisher")
    await broker.start()
    try:
        for _ in range(times):
            await publish_envelopes(broker, envelopes)
    finally:
        await broker.stop()


async def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout_s: float = 20.0
) -> list[Any]:
    """Every record in `topic` from the beginning (waits for `expect` records if given)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        partitions = await partitions_of(bootstrap, topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while time.monotonic() < deadline:
            end = await consumer.end_offsets(tps)
            batch = await consumer.getmany(*tps, timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
            positions = [await consumer.position(tp) for tp in tps]
            caught_up = all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True))
            if caught_up and (expect is None or len(records) >= expect):
                break
        return records
    finally:
        await consumer.stop()


async def every_record(bootstrap: str) -> dict[str, list[Any]]:
    """Every record of every topic on the broker but Kafka's own (`__...`), by topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if not t.startswith("__"))
    finally:
        await admin.close()
    return {t: await read_topic(bootstrap, t, timeout_s=60) for t in topics}


def record_bytes(record: Any) -> bytes:
    """A record's key, value and header values as one blob, for scanning."""
    parts = [record.key or b"", record.value or b""]
    parts += [v or b"" for _, v in record.headers or ()]
    return b"\n".join(parts)


async def group_lag(bootstrap: str, group_id: str, topic: str) -> int:
    """End offset minus committed offset, summed over the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        end = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            meta = committed.get(tp)
            lag += end[tp] - (meta.offset if meta is not None and meta.offset >= 0 else 0)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def wait_for(
    predicate: Any, *, timeout_s: float = 30.0, interval_s: float = 0.2, what: str = "condition"
) -> None:
    """Poll an async predicate until true; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


async def answers_after_idle(url: str, idle_s: float | None = None) -> bool:
    """Whether a server answers a second request on one TCP connection left idle `idle_s`
    (by default a second longer than an httpx pool, the loader's and the tests', reuses one)
    after the first. A pooled client reuses a connection for its whole idle expiry; if the
    server closes it sooner, a request sent as the close crosses it is reset, unread."""
    from urllib.parse import urlsplit

    import httpx

    if idle_s is None:
        idle_s = (httpx.Limits().keepalive_expiry or 0.0) + 1

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET /health/live HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for n in range(2):
            if n:
                await asyncio.sleep(idle_s)
            writer.write(request)
            await writer.drain()
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                await reader.readexactly(int(length[1]) if length else 0)
        return True
    except (ConnectionError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


def headers_of(record: Any) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}


def probe_event(topic: str) -> tuple[type[Event], EventRegistry]:
    """A throwaway event type on its own topic, in its own registry, for delivery tests."""

    class ProbeRecorded(Event, type="testing.ProbeRecorded.v1", topic=topic):
        n: int
        region_code: str = "360102"

    registry = EventRegistry()
    registry.register(ProbeRecorded)
    return ProbeRecorded, registry


def check_openapi_snapshot(app: Any, committed: Path) -> None:
    """Fail when the app's OpenAPI document differs from the committed one (a change to an
    API is a reviewed diff). WUSHE_UPDATE_OPENAPI=1 rewrites the file instead."""
    import json

    current = json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("WUSHE_UPDATE_OPENAPI") == "1":
        committed.write_text(current)
    assert committed.exists(), f"no {committed}: run with WUSHE_UPDATE_OPENAPI=1"
    assert committed.read_text() == current, (
        f"the API changed: review it and regenerate {committed} with WUSHE_UPDATE_OPENAPI=1"
    )
    for path, methods in app.openapi()["paths"].items():
        for method, op in methods.items():
            ok = next(
                (op["responses"][c] for c in ("200", "201", "202") if c in op["responses"]), None
            )
            assert ok is not None, (method, path)
            content = ok.get("content", {})
            if "application/json" in content:  # JSON answers are declared models
                assert "schema" in content["application/json"], (
                    f"{method} {path} declares no response model"
                )
            else:
                assert content, f"{method} {path} declares no response content"


@contextlib.asynccontextmanager
async def serve(app: Any, name: str = "app") -> AsyncIterator[Any]:
    """Run an app's lifespan (broker, relay, consumers) and give an in-process HTTP client."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield client


@contextlib.asynccontextmanager
async def serve_http(app: Any) -> AsyncIterator[str]:
    """Run an app under uvicorn on a free loopback port (for clients that need a real URL:
    Prometheus, the `wushe` commands); yields its base URL once it answers."""
    import httpx
    import uvicorn

    from wushe.service import KEEP_ALIVE_S
    from wushe_dev.devstack import free_port

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_S
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"

    async def live() -> bool:
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                return (await client.get("/health/live")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_for(live, timeout_s=30, what="the app listening")
        yield url
    finally:
        server.should_exit = True
        await task


# Personal data as it would look if it leaked: a resident ID number or a mobile number
# standing alone (not part of a longer id or hex string), in UTF-8 bytes.
_RESIDENT_ID = re.compile(rb"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")
_MOBILE = re.compile(rb"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def personal_data_in(blob: bytes, names: Iterable[str] = ()) -> list[str]:
    """What in `blob` is personal data: resident ID numbers (a province's code, a birth date
    and a valid check character), mobile numbers, or any of `names`. Masked forms
    (`138****8000`) do not count."""
    found = [m.group().decode() for m in _RESIDENT_ID.finditer(blob) if _resident_id(m.group())]
    found += [m.group().decode() for m in _MOBILE.finditer(blob)]
    found += [name for name in set(names) if name.encode() in blob]
    return found


def _resident_id(candidate: bytes) -> bool:
    text = candidate.decode()
    if not 11 <= int(text[:2]) <= 82:  # GB/T 2260 province codes
        return False
    try:
        check_resident_id(text)
    except ValueError:
        return False
    return True


# The 360Giving standard's schemas, as committed from ThreeSixtyGiving/standard (README there).
GIVING_SCHEMAS = repo_root() / "services" / "donations" / "tests" / "fixtures" / "360giving"


def giving_validator() -> jsonschema.Draft202012Validator:
    """The standard's package schema, in the draft both files declare (2020-12, named by its
    `http:` address, which `referencing` does not map), its grant schema resolved locally (the
    package refers to it by the 1.4.2 address, the file names itself 1.4.3), formats checked:
    the schema's dates are `oneOf` a date-time and a plain date, which only a format check
    tells apart."""
    package = json.loads((GIVING_SCHEMAS / "360-giving-package-schema.json").read_text())
    grant = json.loads((GIVING_SCHEMAS / "360-giving-schema.json").read_text())
    for schema in (package, grant):
        assert schema["$schema"] == "http://json-schema.org/draft/2020-12/schema"
    resource = DRAFT202012.create_resource(grant)
    registry: Registry[Any] = Registry().with_resources(
        [(grant["$id"], resource), (package["properties"]["grants"]["items"]["$ref"], resource)]
    )
    formats = jsonschema.FormatChecker()
    formats.checks("date-time", raises=ValueError)(_rfc3339)  # needs an extra package else
    return jsonschema.Draft202012Validator(package, registry=registry, format_checker=formats)


def _rfc3339(value: object) -> bool:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if "T" not in value or parsed.tzinfo is None:
            raise ValueError("an RFC 3339 date-time has a time and an offset")
    return True
