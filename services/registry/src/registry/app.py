"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from registry import api, handlers, reference
from registry.settings import RegistrySettings
from registry.store import RegionIndex, RegistryStore
from wushe import service
from wushe.auth import TokenVerifier
from wushe.pii import Vault
from wushe.service import create_service_app
from wushe.topics import REGISTRY_TOPICS

AGGREGATES = ("stations", "boundaries", "organisations", "social_workers", "programmes")


def create_app(
    settings: RegistrySettings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    app = create_service_app(
        settings,
        title="Wushe registry",
        routers=[api.router],
        aggregates=AGGREGATES,
        register_handlers=handlers.register,
        token_verifier=token_verifier,
        tracer_provider=tracer_provider,
        topics=REGISTRY_TOPICS,
    )
    store = RegistryStore(app.state.ctx.stores)
    vault = Vault.for_environment(settings.pii_key.get_secret_value(), settings.environment)
    base_tree = reference.load_tree(settings.region_data_dir)
    app.state.registry = api.Registry(
        store,
        RegionIndex(base_tree, store),
        vault,
        reference.VillageIndex(settings.region_data_dir),
    )
    app.state.settings = settings

    return app


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory registry.app:app_from_env)."""
    return service.app_from_env(RegistrySettings, create_app)
