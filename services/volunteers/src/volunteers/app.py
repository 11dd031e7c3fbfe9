"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from volunteers import api, handlers
from volunteers.settings import VolunteersSettings
from volunteers.store import AGGREGATES, VolunteersStore
from wushe import service
from wushe.auth import TokenVerifier
from wushe.pii import Vault
from wushe.service import create_service_app


def create_app(
    settings: VolunteersSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    app = create_service_app(
        settings,
        title="Wushe volunteers",
        routers=[api.router],
        aggregates=AGGREGATES,
        register_handlers=handlers.register,
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
    )
    vault = Vault.for_environment(settings.pii_key.get_secret_value(), settings.environment)
    app.state.volunteers = api.Volunteers(
        VolunteersStore(app.state.ctx),
        vault,
        daily_maximum=settings.daily_maximum_minutes,
        import_max_bytes=settings.import_max_bytes,
    )
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory volunteers.app:app_from_env)."""
    return service.app_from_env(VolunteersSettings, create_app)
