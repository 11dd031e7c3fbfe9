"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from donations import api, handlers
from donations.settings import DonationsSettings
from donations.store import AGGREGATES, DonationsStore
from wushe import service
from wushe.auth import TokenVerifier
from wushe.pii import Vault
from wushe.service import create_service_app
from wushe.topics import PARTNER_TOPIC


def create_app(
    settings: DonationsSettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    app = create_service_app(
        settings,
        title="Wushe donations",
        routers=[api.router],
        aggregates=AGGREGATES,
        register_handlers=handlers.register,
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
        topics=[PARTNER_TOPIC],
    )
    vault = Vault.for_environment(settings.pii_key.get_secret_value(), settings.environment)
    app.state.donations = api.Donations(DonationsStore(app.state.ctx), vault)
    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory donations.app:app_from_env)."""
    return service.app_from_env(DonationsSettings, create_app)
