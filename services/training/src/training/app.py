"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from training import api, handlers
from training.settings import TrainingSettings
from training.store import TrainingStore
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
    """The process entry point's factory: settings from WUSHE_* variables, JSON logs."""
    from wushe.telemetry import configure_logging

    settings = TrainingSettings()
    configure_logging(settings.log_level)
    return create_app(settings)


def main() -> None:  # pragma: no cover - the process entry point
    import uvicorn

    uvicorn.run(app_from_env(), host="127.0.0.1", port=8105, log_config=None)
