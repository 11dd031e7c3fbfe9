"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from projector import api, gauges, handlers
from projector.domain import VIEWS
from projector.gauges import BusinessGauges
from projector.rebuild import Rebuilder
from projector.settings import ProjectorSettings
from projector.store import Generations, Programmes
from wushe import service
from wushe.auth import TokenVerifier
from wushe.service import ServiceContext, create_service_app
from wushe.topics import kept_forever


def create_app(
    settings: ProjectorSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    holder: dict[str, object] = {}
    live_lock = asyncio.Lock()

    def register(ctx: ServiceContext) -> None:
        generations = Generations(ctx.db)
        holder["generations"] = generations
        programmes = holder["programmes"] = Programmes(ctx.db)  # one: its cache is shared
        holder["rebuilder"] = Rebuilder(generations, settings.kafka_bootstrap, live_lock)
        handlers.subscribe(ctx, generations, programmes, live_lock)
        holder["gauges"] = BusinessGauges(ctx, generations, programmes)

    async def refresh_gauges(ctx: ServiceContext) -> None:
        business = holder["gauges"]
        assert isinstance(business, BusinessGauges)
        await business.run(gauges.interval(ctx))

    app = create_service_app(
        settings,
        title="Wushe views",
        routers=[api.router],
        register_handlers=register,
        background=[refresh_gauges],
        # The views rebuild from offset 0: their sources must outlive the default 7 days.
        topics=kept_forever(t for view in VIEWS for t in view.topics),
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
    )
    app.state.generations = holder["generations"]
    app.state.rebuilder = holder["rebuilder"]
    app.state.programmes = holder["programmes"]
    app.state.progress_answers = api.ProgressAnswers()
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory projector.app:app_from_env)."""
    return service.app_from_env(ProjectorSettings, create_app)


def main() -> None:  # pragma: no cover - the process entry point
    service.serve_forever(app_from_env(), port=8110)
