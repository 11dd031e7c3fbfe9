"""Traces, metrics and logs, the same in every service.

- Traces: an OpenTelemetry `TracerProvider` per service (OTLP/HTTP export when an endpoint is
  configured); FastStream's Kafka telemetry middleware carries `traceparent` in headers.
- Metrics: one `CollectorRegistry` per app, HTTP metrics per route template (bounded labels),
  FastStream's Kafka Prometheus middleware, the event loop's lag and the garbage
  collector's pauses (`LoopPauses`), served on `/metrics`.
- Logs: JSON lines with trace and span ids. Never log personal data: log ids and counts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def create_tracer_provider(service_name: str, *, otlp_endpoint: str = "") -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.namespace": "wushe"})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
        )
    return provider


def kafka_middlewares(
    service_name: str, registry: CollectorRegistry, tracer_provider: TracerProvider
) -> tuple[Any, ...]:
    from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
    from faststream.kafka.prometheus import KafkaPrometheusMiddleware

    return (
        KafkaTelemetryMiddleware(tracer_provider=tracer_provider),
        KafkaPrometheusMiddleware(
            registry=registry, app_name=service_name, metrics_prefix="faststream"
        ),
    )


class HttpMetrics:
    """ASGI middleware: a server span per request, and request count and duration per
    method, route template and status.

    Labels use the route *template* (`/stations/{station_id}`), never the raw path, so the
    label set stays bounded; unmatched paths are counted under `route="<unmatched>"`. The span
    continues a caller's W3C `traceparent`.
    """

    def __init__(
        self,
        app: ASGIApp,
        registry: CollectorRegistry,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.app = app
        self.tracer = trace.get_tracer("wushe.http", tracer_provider=tracer_provider)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/metrics"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_code = 500
        method = scope.get("method", "GET")

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", [])
            if k in (b"traceparent", b"tracestate")
        }
        # A request without a trace context starts a trace of its own (as `extract` of
        # nothing gives), without the propagators' work.
        parent = propagate.extract(carrier) if carrier else Context()
        with self.tracer.start_as_current_span(
            f"{method}", kind=trace.SpanKind.SERVER, context=parent
        ) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or "<unmatched>"
                span.update_name(f"{method} {template}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status_code)
                self._count(method, template, status_code, time.perf_counter() - start)

    def _count(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children, looked up once per (method, route, status): `labels()` takes
        # a lock and builds a key on every call. Bounded like the labels: routes are templates.
        children = self._children.get((method, route, status))
        if children is None:
            children = self._children[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


PAUSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class LoopPauses:
    """Where a latency tail hides that no span shows: the event loop held by one callback
    (a long computation between two awaits) or by the garbage collector (a full collection
    walks every live object, and the projector's views are millions of them).

    `run` wakes every `every_s` and records how late it woke (`wushe_event_loop_lag_seconds`:
    the time nothing else could run either). The collector's pauses are timed from
    `gc.callbacks` into a plain list and recorded by `run`: a callback runs in the middle of
    whatever allocated, possibly inside a metric's own lock, so it takes none."""

    def __init__(self, registry: CollectorRegistry, *, every_s: float = 0.1) -> None:
        self.every_s = every_s
        self.lag = Histogram(
            "wushe_event_loop_lag_seconds",
            "How late the event loop ran a timer: time in which it could run nothing else",
            registry=registry,
            buckets=PAUSE_BUCKETS,
        )
        self.gc = Histogram(
            "wushe_gc_pause_seconds",
            "Garbage collector pauses, per generation (2: a full collection)",
            ["generation"],
            registry=registry,
            buckets=PAUSE_BUCKETS,
        )
        self._started = 0.0
        self._pauses: list[tuple[int, float]] = []

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._pauses.append((info["generation"], time.perf_counter() - self._started))
            self._started = 0.0

    def record(self) -> None:
        pauses, self._pauses = self._pauses, []
        for generation, seconds in pauses:
            self.gc.labels(str(generation)).observe(seconds)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        gc.callbacks.append(self._on_gc)
        try:
            while True:
                due = loop.time() + self.every_s
                await asyncio.sleep(self.every_s)
                self.lag.observe(max(0.0, loop.time() - due))
                self.record()
        finally:
            gc.callbacks.remove(self._on_gc)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current trace and span ids."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        service = getattr(record, "service", None)
        if service:
            out["service"] = service
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


ReadinessCheck = Callable[[], Awaitable[bool]]
