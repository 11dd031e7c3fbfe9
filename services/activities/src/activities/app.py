"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from activities import api, handlers
from activities.settings import ActivitiesSettings
from activities.store import ActivitiesStore
from wushe import service
from wushe.auth import TokenVerifier
from wushe.pii import Vault
from wushe.service import create_service_app

AGGREGATES = ("activities", "household_visits", "client_files")


def create_app(
    settings: ActivitiesSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    app = create_service_app(
        settings,
        title="Wushe activities",
        routers=[api.router],
        aggregates=AGGREGATES,
        register_handlers=handlers.register,
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
    )
    vault = Vault.for_environment(settings.pii_key.get_secret_value(), settings.environment)
    app.state.activities = api.Activities(ActivitiesStore(app.state.ctx), vault)
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory activities.app:app_from_env)."""
    return service.app_from_env(ActivitiesSettings, create_app)
