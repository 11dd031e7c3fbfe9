import asyncio
import contextlib
import gc
import json
import logging
import time
import weakref

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from wushe import heap
from wushe.settings import ServiceSettings
from wushe.telemetry import JsonFormatter, LoopPauses


def test_json_logs_carry_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("t")
    record = logging.LogRecord(
        "wushe.x", logging.INFO, __file__, 1, "station %s opened", ("s-1",), None
    )
    with tracer.start_as_current_span("work") as span:
        line = JsonFormatter().format(record)
        ctx = span.get_span_context()
    out = json.loads(line)
    assert out["msg"] == "station s-1 opened"
    assert out["level"] == "info"
    assert out["trace_id"] == format(ctx.trace_id, "032x")
    assert out["span_id"] == format(ctx.span_id, "016x")


def test_json_logs_outside_a_span_have_no_ids() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "plain", (), None)
    out = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in out
    assert out["level"] == "warning"


def test_settings_read_the_environment_only_when_built(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WUSHE_KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    settings = ServiceSettings(service_name="registry")
    assert settings.kafka_bootstrap == "10.0.0.1:9092"
    assert settings.database_name == "wushe_registry"
    monkeypatch.setenv("WUSHE_JWT_ALGORITHM", "HS256")
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="asymmetric"):
        ServiceSettings(service_name="registry")


async def test_loop_pauses_show_a_blocked_loop_and_the_collectors_pauses() -> None:
    registry = CollectorRegistry()
    pauses = LoopPauses(registry, every_s=0.02)
    task = asyncio.create_task(pauses.run())
    await asyncio.sleep(0.05)
    assert pauses._on_gc in gc.callbacks
    time.sleep(0.3)  # noqa: ASYNC251 - the point: a callback holding the loop
    gc.collect()  # a full collection, timed by the callback
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert pauses._on_gc not in gc.callbacks  # a stopped app leaves no hook behind

    def sample(name: str, **labels: str) -> float:
        value = registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    count = sample("wushe_event_loop_lag_seconds_count")
    under_quarter = sample("wushe_event_loop_lag_seconds_bucket", le="0.25")
    assert count >= 3
    assert count - under_quarter >= 1  # the 0.3 s hold: one wake-up that late
    assert sample("wushe_gc_pause_seconds_count", generation="2") >= 1


def test_settling_the_heap_frees_the_garbage_of_the_moment_and_freezes_the_rest() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    kept = [{"station": i} for i in range(10_000)]
    before = gc.get_freeze_count()
    try:
        frozen = heap.settle()
        assert gone() is None  # collected first, not frozen
        assert frozen >= before + len(kept)  # the live ones are out of the collector's walk
    finally:
        gc.unfreeze()  # leave the test process as it was
