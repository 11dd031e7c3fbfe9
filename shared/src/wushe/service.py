"""`create_service_app`: the wiring every service shares, so each service's `app.py` stays a
dozen lines: settings in, FastAPI app out, broker and relay started in the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from wushe import bus, guards, heap, permissions, problems, rekey, telemetry
from wushe.auth import TokenVerifier
from wushe.lag import LagMonitor, subscriptions
from wushe.pii import Vault, vault_of
from wushe.settings import ServiceSettings
from wushe.store import Doc, EventStore, Relay, create_mongo_client
from wushe.topics import TopicSpec, ensure_topics

log = logging.getLogger("wushe.service")
S = TypeVar("S", bound=ServiceSettings)

# How long a service keeps an idle HTTP/1.1 connection open. uvicorn's default (5 s) equals
# httpx's default pool expiry (5 s), so a client reusing a connection just as the server
# closes it gets a reset (`httpx.ReadError`) for a request the server never read. The server
# must outlast every client's idle expiry; 75 s also outlasts the usual load balancers' 60 s.
KEEP_ALIVE_S = 75

# How long shutdown waits for each of its steps (the background loops once cancelled, the
# lag monitor, the broker's clients, the store's). A loop can outlive its cancellation and a
# client's close can wait on a server that does not answer; shutdown then goes on without it,
# saying which, rather than hang (a test's teardown once hung past pytest's 300 s, unnamed).
STOP_TIMEOUT_S = 10.0


@dataclass
class ServiceContext(Generic[S]):
    """Everything a service's routers and handlers reach through `request.app.state.ctx`,
    typed by the service's own settings class."""

    settings: S
    broker: KafkaBroker
    mongo: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    metrics: CollectorRegistry
    tracer_provider: TracerProvider
    store_watch: guards.StoreWatch
    stores: dict[str, EventStore] = field(default_factory=dict)
    relay: Relay | None = None

    def store(self, aggregate: str) -> EventStore:
        return self.stores[aggregate]

    def vault(self) -> Vault:
        """The personal-data vault of the configured key or keyring (`wushe.pii`)."""
        return vault_of(self.settings)

    def subscribe(self, *topics: str, group_id: str, handler: bus.Handler) -> Any:
        """`wushe.bus.subscribe` on this service's broker, retried as its settings say."""
        return bus.subscribe(
            self.broker, *topics, group_id=group_id, handler=handler, **self._retries()
        )

    def subscribe_batch(
        self, *topics: str, group_id: str, handler: bus.BatchHandler, **more: Any
    ) -> Any:
        """`wushe.bus.subscribe_batch` likewise (`more`: its `max_records`, say)."""
        return bus.subscribe_batch(
            self.broker, *topics, group_id=group_id, handler=handler, **self._retries(), **more
        )

    def _retries(self) -> dict[str, Any]:
        return {
            "retries": bus.Retries(
                max_attempts=self.settings.consumer_max_attempts,
                retry_backoff_s=self.settings.consumer_retry_backoff_s,
            )
        }


class Health(BaseModel):
    status: str
    checks: dict[str, bool] = {}


def create_service_app(
    settings: S,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    aggregates: Sequence[str] = (),
    register_handlers: Callable[[ServiceContext[S]], None] | None = None,
    tracer_provider: TracerProvider | None = None,
    token_verifier: TokenVerifier | None = None,
    topics: Sequence[TopicSpec] = (),
    background: Sequence[Callable[[ServiceContext[S]], Coroutine[Any, Any, None]]] = (),
    permission_rows: Mapping[str, permissions.Rule] | None = None,
    sealed: Sequence[rekey.Sealed] = (),
) -> FastAPI:
    """Build a service: `aggregates` get an event store each (and one relay for all),
    `register_handlers` subscribes the service's Kafka consumers, `topics` are the topics it
    owns whose settings matter (created or adjusted at start), `background` loops run while
    the app does (cancelled at shutdown). `permission_rows`: who may call each of its
    routes, by default the service's rows of `wushe.permissions`. `sealed`: where the service
    keeps personal data sealed by `ctx.vault()`, re-sealed in the background after a key
    rotation (`wushe.rekey`)."""
    metrics = CollectorRegistry()
    tracer_provider = tracer_provider or telemetry.create_tracer_provider(
        settings.service_name, otlp_endpoint=settings.otlp_endpoint
    )
    broker = bus.create_broker(
        settings.kafka_bootstrap,
        client_id=settings.service_name,
        middlewares=telemetry.kafka_middlewares(settings.service_name, metrics, tracer_provider),
    )
    mongo = create_mongo_client(
        settings.mongo_url, timeout_ms=settings.mongo_timeout_ms, app_name=settings.service_name
    )
    db = mongo[settings.database_name]
    # Pings the store: requests get 503 at once while it does not answer (wushe.guards).
    store_watch = guards.StoreWatch(
        lambda: mongo.admin.command("ping"),
        interval_s=settings.store_probe_interval_s,
        timeout_s=settings.store_probe_timeout_s,
    )
    ctx = ServiceContext(settings, broker, mongo, db, metrics, tracer_provider, store_watch)
    source = f"/wushe/{settings.service_name}"
    if aggregates:
        ctx.relay = Relay(
            [],
            lambda envs: bus.publish_envelopes(broker, envs),
            batch_size=settings.relay_batch_size,
            sweep_interval_s=settings.relay_sweep_interval_s,
        )
        metrics.register(RelayMetrics(ctx.relay))
    for aggregate in aggregates:
        ctx.stores[aggregate] = EventStore(db, aggregate, source=source, relay=ctx.relay)
    if register_handlers:
        register_handlers(ctx)
    if sealed:
        rekeyer = rekey.Rekeyer(db, ctx.vault(), sealed, interval_s=settings.pii_rekey_interval_s)
        metrics.register(rekeyer)

        async def pii_rekey(_: ServiceContext[S]) -> None:
            await rekeyer.run()

        background = [*background, pii_rekey]
    pauses = telemetry.LoopPauses(metrics)
    lag = LagMonitor(
        settings.kafka_bootstrap,
        subscriptions(broker),
        metrics,
        interval_s=settings.consumer_lag_interval_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One app, one run: a second concurrent lifespan would start the broker's consumers
        # twice and leave the first set unclosed.
        if getattr(app.state, "running", False):
            raise RuntimeError(f"{settings.service_name}: this app is already running")
        app.state.running = True
        for store in ctx.stores.values():
            await store.ensure_indexes()
        await asyncio.wait_for(ensure_topics(settings.kafka_bootstrap, topics), 60)
        await broker.start()
        if ctx.relay:
            ctx.relay.start()
        lag.start()
        loops = [
            asyncio.create_task(job(ctx), name=getattr(job, "__name__", "background"))
            for job in background
        ]
        loops.append(asyncio.create_task(store_watch.run(), name="store-watch"))
        loops.append(asyncio.create_task(pauses.run(), name="loop-pauses"))
        # Every service's modules, models and validators are ~100,000 objects that a full
        # collection walks in ~100 ms on this machine (pydantic's validators are slow to
        # traverse): frozen before the first request, and what grows later every interval
        # (the projector's views are millions more), so full collections walk only the new.
        heap.tune(settings.gc_young_threshold)
        heap.settle()
        loops.append(
            asyncio.create_task(
                heap.keep_settled(settings.heap_settle_interval_s), name="heap-settle"
            )
        )
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await _stopped(loops, STOP_TIMEOUT_S)
            await _stopped([asyncio.create_task(lag.stop(), name="lag monitor")], STOP_TIMEOUT_S)
            app.state.running = False
            if ctx.relay:
                await ctx.relay.stop()  # bounded by the relay itself
            for name, closing in (("broker", broker.stop()), ("store client", mongo.close())):
                await _stopped([asyncio.create_task(closing, name=name)], STOP_TIMEOUT_S)
            tracer_provider.shutdown()

    # FastAPI's native OpenTelemetry off: HttpMetrics makes the span and the Prometheus
    # metrics; FastAPI's would be a second span per request once a global provider is set,
    # and asking whether one is set cost every request (P6's profile).
    app = FastAPI(
        title=title,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    verifier = token_verifier
    if verifier is None and (settings.jwks_url or settings.public_key_pem()):
        verifier = TokenVerifier(
            "" if settings.jwks_url else settings.public_key_pem(),  # the JWKS wins
            jwks=settings.jwks_url,
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_s=settings.jwt_leeway_s,
            jwks_cache_s=settings.jwks_cache_s,
        )
    app.state.token_verifier = verifier
    guards.install(
        app,
        guards.Limits(
            max_json_bytes=settings.max_json_bytes,
            rate_per_s=settings.rate_limit_per_s,
            burst=settings.rate_limit_burst,
        ),
        audit=lambda: db["audit"],
        store=store_watch,
    )
    app.add_middleware(telemetry.HttpMetrics, registry=metrics, tracer_provider=tracer_provider)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    problems.install(app)
    app.include_router(_health_router(ctx))
    for router in routers:
        app.include_router(router)
    rows = permissions.rows_of(settings.service_name, permission_rows)
    unlisted = permissions.missing(rows, _routes(app))
    if unlisted:
        raise RuntimeError(f"routes without a row in wushe.permissions: {unlisted}")
    app.state.permission_rows = rows
    return app


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented (method, path) of an app; /metrics and the docs pages are the
    server's own, outside the table."""
    return [
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in sorted(route.methods or ())
    ]


async def _stopped(tasks: Sequence[asyncio.Task[None]], timeout_s: float) -> None:
    """Wait up to `timeout_s` for tasks to end; say which did not (they are cancelled and left
    behind, not awaited: awaiting a task that ignores its cancellation would hang again), and
    which failed."""
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        log.warning("%s did not stop within %.0fs; going on without it", task.get_name(), timeout_s)
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s ended with %r", task.get_name(), task.exception())


class RelayMetrics(Collector):
    """The relay's figures read at scrape time: cumulative counts as counters (`_total`),
    the backlog found by the last sweep as gauges."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def collect(self) -> Iterator[Metric]:
        r = self.relay
        yield CounterMetricFamily(
            "wushe_relay_published_events", "Events the relay has published", r.published_total
        )
        yield CounterMetricFamily(
            "wushe_relay_failed_passes", "Relay passes that failed", r.failures_total
        )
        yield GaugeMetricFamily(
            "wushe_relay_oldest_unpublished_age_seconds",
            "Age of the oldest committed event not yet published, as of the last sweep",
            r.oldest_waiting_s,
        )
        yield GaugeMetricFamily(
            "wushe_relay_backlog_commits",
            "Commits not yet published, as of the last sweep",
            r.waiting_commits,
        )


def _health_router(ctx: ServiceContext[Any]) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", response_model=Health)
    async def live() -> Health:
        return Health(status="ok")

    @router.get("/ready", response_model=Health, responses={503: {"model": Health}})
    async def ready() -> Any:
        # The store check is the watch's own (it refreshes what the request guard uses).
        store_ok = await ctx.store_watch.check()
        checks = {"broker": bool(await ctx.broker.ping(timeout=2.0)), "store": store_ok}
        body = Health(status="ok" if all(checks.values()) else "unavailable", checks=checks)
        code = 200 if all(checks.values()) else 503
        return JSONResponse(body.model_dump(), status_code=code)

    return router


def app_from_env(settings_cls: type[S], create_app: Callable[[S], FastAPI]) -> FastAPI:
    """A service process's app: settings from WUSHE_* variables, JSON logs."""
    settings = settings_cls()
    telemetry.configure_logging(settings.log_level)
    return create_app(settings)


@dataclass(frozen=True)
class Service(Generic[S]):
    """A service described once; its `create_app` and `app_from_env` follow from it.

    `wire` subscribes the service's consumers and answers what its routers reach on
    `app.state`, by name; `topics` are those it owns whose settings matter."""

    settings: type[S]
    title: str
    routers: Sequence[APIRouter]
    aggregates: Sequence[str]
    wire: Callable[[ServiceContext[S]], Mapping[str, object]]
    topics: Sequence[TopicSpec] = ()
    sealed: Sequence[rekey.Sealed] = ()  # its personal data, re-sealed after a key rotation
    # Loops that run while the service does (a sweep, deliveries), each given the context.
    background: Sequence[Callable[[ServiceContext[S]], Coroutine[Any, Any, None]]] = ()

    def create_app(
        self,
        settings: S,
        *,
        token_verifier: TokenVerifier | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> FastAPI:
        state: dict[str, object] = {}
        app = create_service_app(
            settings,
            title=self.title,
            routers=self.routers,
            aggregates=self.aggregates,
            register_handlers=lambda ctx: state.update(self.wire(ctx)),
            token_verifier=token_verifier,
            tracer_provider=tracer_provider,
            topics=self.topics,
            sealed=self.sealed,
            background=self.background,
        )
        for name, value in state.items():
            setattr(app.state, name, value)
        return app

    def app_from_env(self) -> FastAPI:
        """The process entry point's factory (`uvicorn --factory <service>.app:app_from_env`)."""
        return app_from_env(self.settings, self.create_app)
