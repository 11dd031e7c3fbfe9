"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from training import api, handlers
from training.settings import TrainingSettings
from training.store import TrainingStore
from wushe import service
from wushe.auth import TokenVerifier
from wushe.service import create_service_app

AGGREGATES = ("courses", "sessions", "supervision_visits", "evaluations")


def create_app(
    settings: TrainingSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    app = create_service_app(
        settings,
        title="Wushe training",
        routers=[api.router],
        aggregates=AGGREGATES,
        register_handlers=handlers.register,
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
    )
    app.state.training = TrainingStore(app.state.ctx)
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory training.app:app_from_env)."""
    return service.app_from_env(TrainingSettings, create_app)
