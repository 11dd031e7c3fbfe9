"""The shared service factory on the real stack: an API command becomes a commit, the relay
publishes it as a CloudEvent with the caller's trace, health and metrics tell the truth."""

import asyncio
import contextlib
import gc
import json
import warnings
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Path, Request
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

from wushe import permissions
from wushe.auth import CurrentPrincipal, DevKeys
from wushe.contracts import Event
from wushe.service import ServiceContext, create_service_app
from wushe.settings import ServiceSettings
from wushe.validators import RegionCode
from wushe_dev.devstack import LocalStack, free_port
from wushe_dev.testing import (
    answers_after_idle,
    headers_of,
    read_topic,
    serve,
    serve_http,
    wait_for,
)


def demo_settings(stack: LocalStack, unique: str, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        service_name="demo",
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"demo_{unique}",
        **overrides,
    )


def make_service(
    settings: ServiceSettings,
    topic: str,
    keys: DevKeys,
    tracer_provider: TracerProvider | None = None,
) -> Any:
    class ThingCounted(Event, type="demo.ThingCounted.v1", topic=topic):
        thing_id: str
        region_code: str
        count: int

    class CountIn(BaseModel):
        region_code: RegionCode
        count: int = Field(ge=1, le=1000)

    class CountOut(BaseModel):
        thing_id: str
        version: int
        total: int

    router = APIRouter()

    @router.post("/things/{thing_id}/counts", response_model=CountOut)
    async def count(
        thing_id: Annotated[str, Path(max_length=40)],
        body: CountIn,
        who: CurrentPrincipal,
        request: Request,
    ) -> CountOut:
        ctx: ServiceContext = request.app.state.ctx
        store = ctx.store("things")
        loaded = await store.load(thing_id)
        region = (loaded.state or {}).get("region_code", body.region_code)
        who.require_visible(region, "thing")
        total = (loaded.state or {}).get("total", 0) + body.count
        event = ThingCounted(thing_id=thing_id, region_code=region, count=body.count)
        commit = await store.append(
            thing_id, loaded.version, [event], {"region_code": region, "total": total}
        )
        return CountOut(thing_id=thing_id, version=commit.version, total=total)

    return create_service_app(
        settings,
        title="demo",
        routers=[router],
        aggregates=["things"],
        tracer_provider=tracer_provider,
        token_verifier=keys.verifier(),
        permission_rows={"POST /things/{thing_id}/counts": permissions.RECORD},
    )


async def test_command_to_kafka_with_trace_health_and_metrics(
    stack: LocalStack, unique: str
) -> None:
    topic = f"demo.things.{unique}"
    keys = DevKeys.generate()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = demo_settings(stack, unique, relay_sweep_interval_s=0.5)
    app = make_service(settings, topic, keys, provider)
    jiangxi = {
        "Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36", roles=["admin"])
    }
    guangdong = {
        "Authorization": "Bearer " + keys.issue(subject="gd", region_scope="44", roles=["admin"])
    }
    caller_trace = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"

    async with serve(app) as client:
        assert (await client.get("/health/live")).json() == {"status": "ok", "checks": {}}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"broker": True, "store": True}

        no_token = await client.post(
            "/things/t1/counts", json={"region_code": "360102", "count": 2}
        )
        assert no_token.status_code == 401
        bad = await client.post(
            "/things/t1/counts", headers=jiangxi, json={"region_code": "3601021", "count": 0}
        )
        assert bad.status_code == 422
        assert {e["loc"][-1] for e in bad.json()["errors"]} == {"region_code", "count"}

        ok = await client.post(
            "/things/t1/counts",
            json={"region_code": "360102", "count": 2},
            headers={**jiangxi, "traceparent": caller_trace},
        )
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"thing_id": "t1", "version": 1, "total": 2}
        again = await client.post(
            "/things/t1/counts", headers=jiangxi, json={"region_code": "360102", "count": 3}
        )
        assert again.json()["total"] == 5
        # Another province cannot even see that t1 exists.
        hidden = await client.post(
            "/things/t1/counts", headers=guangdong, json={"region_code": "440102", "count": 1}
        )
        assert hidden.status_code == 404

        store = app.state.ctx.store("things")
        await wait_for(lambda: _unpublished_is(store, 0), what="relay published")
        records = await read_topic(stack.cfg.kafka_bootstrap, topic, expect=2)
        assert [json.loads(r.value)["count"] for r in records] == [2, 3]  # one key, in order
        first = headers_of(records[0])
        assert first["ce_type"] == "demo.ThingCounted.v1"
        assert first["ce_source"] == "/wushe/demo"
        assert first["ce_subject"] == "t1"
        assert records[0].key == b"t1"
        # The caller's trace id runs from the HTTP request through the relay into Kafka.
        assert first["traceparent"].split("-")[1] == "ab" * 16

        metrics = (await client.get("/metrics")).text
        assert (
            'http_requests_total{method="POST",route="/things/{thing_id}/counts",status="200"} 2.0'
        ) in metrics
        assert 'status="404"' in metrics
        assert "t1" not in metrics  # no ids in labels
        assert "faststream_published_messages_total" in metrics
        assert "wushe_relay_published_events_total 2.0" in metrics
        assert "wushe_relay_oldest_unpublished_age_seconds 0.0" in metrics

    spans = exporter.get_finished_spans()
    traced = {s.name for s in spans if format(s.context.trace_id, "032x") == "ab" * 16}
    assert traced == {"POST /things/{thing_id}/counts", f"{topic} create", f"{topic} publish"}


async def _unpublished_is(store: Any, n: int) -> bool:
    return await store.unpublished_count() == n


async def test_store_unreachable_answers_503_with_retry_hint(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true&retryWrites=false"
    settings = ServiceSettings(
        service_name="demo",
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=dead,
        mongo_timeout_ms=300,
    )
    app = make_service(settings, f"demo.things.{unique}", keys)
    # The lifespan would fail on index creation; exercise the routes without it.
    app.state.ctx.stores["things"].ensure_indexes = _noop
    async with serve(app) as client:
        auth = {
            "Authorization": "Bearer "
            + keys.issue(subject="jx", region_scope="36", roles=["admin"])
        }
        resp = await client.post(
            "/things/t1/counts", headers=auth, json={"region_code": "360102", "count": 1}
        )
        assert resp.status_code == 503
        assert resp.headers["retry-after"] == "5"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"broker": True, "store": False}


async def _noop() -> None:
    return None


async def test_prometheus_scrapes_a_registered_service(stack: LocalStack, unique: str) -> None:
    keys = DevKeys.generate()
    settings = demo_settings(stack, unique)
    app = make_service(settings, f"demo.things.{unique}", keys)
    job = f"demo-{unique}"
    async with serve_http(app) as url:
        target = stack.register_scrape_target(job, url.removeprefix("http://"), {"env": "test"})
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/health/ready")).status_code == 200

            async def scraped() -> bool:
                async with httpx.AsyncClient(base_url=stack.cfg.prometheus_url) as prom:
                    resp = await prom.get(
                        "/api/v1/query",
                        params={
                            "query": f'http_requests_total{{service="{job}",route="/health/ready"}}'
                        },
                    )
                return bool(resp.json()["data"]["result"])

            await wait_for(scraped, timeout_s=45, what="Prometheus scraping the service")
        finally:
            target.unlink()


async def test_the_heap_is_frozen_before_the_first_request(stack: LocalStack, unique: str) -> None:
    """A full collection walks every tracked object; a service's modules, models and
    validators alone are ~100,000 of them (~100 ms on this machine): frozen at start, so
    the first full collection under load walks only what came after."""
    gc.unfreeze()  # whatever earlier tests froze: this service's start must do it again
    # What they froze is collected now, and what it warns of is theirs, not this test's
    # (a socket an earlier service left unclosed was frozen with its heap).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    thresholds = gc.get_threshold()
    settings = demo_settings(stack, unique, gc_young_threshold=12_345)
    app = make_service(settings, f"demo.things.{unique}", DevKeys.generate())
    assert gc.get_freeze_count() == 0
    try:
        async with serve(app) as client:
            assert (await client.get("/health/live")).status_code == 200
            assert gc.get_freeze_count() > 50_000
            # and young collections spaced out (decision 0024), the older ones as they were
            assert gc.get_threshold() == (12_345, *thresholds[1:])
    finally:
        gc.set_threshold(*thresholds)


async def test_a_connection_idle_for_the_clients_whole_expiry_is_still_answered(
    stack: LocalStack, unique: str
) -> None:
    """httpx keeps an idle connection for 5 s and reuses it; uvicorn's own default closed it
    after 5 s too, and the e2e load once lost a request to that race (`httpx.ReadError`).
    A service must keep the connection open longer than the client may reuse it."""
    settings = demo_settings(stack, unique)
    async with serve_http(make_service(settings, f"demo.{unique}", DevKeys.generate())) as url:
        assert await answers_after_idle(url)


async def test_shutdown_goes_on_when_a_background_loop_outlives_its_cancellation(
    stack: LocalStack, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A loop that takes a minute to honour its cancellation (as a client waiting on a server
    # that does not answer may) must not hold the service's shutdown for that minute.
    started, released = asyncio.Event(), asyncio.Event()
    stubborn_for_s = 60.0

    async def stubborn(ctx: ServiceContext) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + stubborn_for_s
        started.set()
        while loop.time() < until and not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.1)

    app = create_service_app(demo_settings(stack, unique), title="demo", background=[stubborn])
    loop = asyncio.get_running_loop()
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(started.wait(), 10)
        stopping_at = loop.time()
    took_s = loop.time() - stopping_at
    released.set()
    assert took_s < stubborn_for_s / 2, f"shutdown waited {took_s:.0f}s for a stubborn loop"
    assert "stubborn did not stop" in caplog.text  # named, so a slow teardown says where
