"""One trace from an API command to the view update it caused: HTTP (registry) -> the
commit -> the relay's Kafka publish -> the projector's consumer -> the projection."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from wushe.auth import DevKeys
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drop_databases, service_app
from wushe_dev.testing import serve, wait_for


def in_trace(spans: Sequence[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


async def test_one_trace_from_the_api_command_to_the_projection(
    stack: LocalStack, unique: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    keys = DevKeys.generate()
    registry = service_app(stack, "registry", unique, keys, tracer_provider=provider)
    projector = service_app(stack, "projector", unique, keys, tracer_provider=provider)
    h = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36", roles=["admin"])}
    try:
        async with serve(registry, "registry") as reg, serve(projector, "projector"):
            created = await reg.post(
                "/stations", headers=h, json={"region_code": "360703001", "status": "operating"}
            )
            assert created.status_code == 201, created.text
            server = [
                s
                for s in exporter.get_finished_spans()
                if s.kind == SpanKind.SERVER and "/stations" in s.name
            ]
            assert len(server) == 1, [s.name for s in exporter.get_finished_spans()]
            assert server[0].context is not None
            trace_id = server[0].context.trace_id

            async def projected() -> bool:
                return any(
                    s.name == "project registry.StationRegistered.v1"
                    for s in in_trace(exporter.get_finished_spans(), trace_id)
                )

            await wait_for(projected, timeout_s=60, what="the projection span in the trace")
            spans = in_trace(exporter.get_finished_spans(), trace_id)
            names = [(s.name, s.kind) for s in spans]
            publish = [s for s in spans if s.kind == SpanKind.PRODUCER]
            assert any(s.name == "registry.stations publish" for s in publish), names
            projection = next(s for s in spans if s.name.startswith("project "))
            assert projection.kind == SpanKind.CONSUMER
            # Its parent is a span of the same trace: the chain is unbroken.
            assert projection.parent is not None
            assert projection.parent.span_id in {s.context.span_id for s in spans if s.context}
            assert projection.attributes is not None
            assert projection.attributes["messaging.destination.name"] == "registry.stations"
    finally:
        await drop_databases(
            stack, *(app.state.ctx.settings.mongo_db for app in (registry, projector))
        )
