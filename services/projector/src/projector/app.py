"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from projector import api, handlers
from projector.answers import ProgressAnswers
from projector.gauges import BusinessGauges
from projector.generations import Generations
from projector.rebuild import Rebuilder
from projector.settings import ProjectorSettings
from projector.store import Programmes
from projector.views import TOPICS
from wushe import service
from wushe.auth import TokenVerifier
from wushe.regiondata import region_codes
from wushe.service import ServiceContext, create_service_app
from wushe.topics import kept_forever


@dataclass(frozen=True)
class Parts:
    """What the app's routers and background reach, built once the context exists."""

    generations: Generations
    programmes: Programmes
    rebuilder: Rebuilder
    gauges: BusinessGauges


def create_app(
    settings: ProjectorSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    live_lock = asyncio.Lock()
    built: list[Parts] = []  # by `register`, which the factory calls before it returns

    def register(ctx: ServiceContext[ProjectorSettings]) -> None:
        generations = Generations(ctx.db)
        programmes = Programmes(ctx.db)  # one: its cache is shared
        handlers.subscribe(ctx, generations, programmes, live_lock)
        built.append(
            Parts(
                generations,
                programmes,
                Rebuilder(generations, settings.kafka_bootstrap, live_lock),
                BusinessGauges(ctx, generations, programmes),
            )
        )

    async def refresh_gauges(ctx: ServiceContext[ProjectorSettings]) -> None:
        await built[0].gauges.run(ctx.settings.business_metrics_interval_s)

    app = create_service_app(
        settings,
        title="Wushe views",
        routers=[api.router],
        register_handlers=register,
        background=[refresh_gauges],
        # The views rebuild from offset 0: their sources must outlive the default 7 days.
        topics=kept_forever(TOPICS),
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
    )
    (parts,) = built
    app.state.generations = parts.generations
    app.state.rebuilder = parts.rebuilder
    app.state.programmes = parts.programmes
    app.state.progress_answers = ProgressAnswers()
    app.state.region_codes = region_codes(settings.region_data_dir)
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory projector.app:app_from_env)."""
    return service.app_from_env(ProjectorSettings, create_app)
