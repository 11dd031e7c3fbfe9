"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from registry import api, handlers, reference
from registry.settings import RegistrySettings
from registry.store import RegionIndex, RegistryStore
from wushe.auth import TokenVerifier
from wushe.pii import Vault
from wushe.service import create_service_app

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
    )
    store = RegistryStore(app.state.ctx)
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
    """The process entry point's factory: settings from WUSHE_* variables, JSON logs."""
    from wushe.telemetry import configure_logging

    settings = RegistrySettings()
    configure_logging(settings.log_level)
    return create_app(settings)


def main() -> None:  # pragma: no cover - the process entry point
    import uvicorn

    from wushe.telemetry import configure_logging

    settings = RegistrySettings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=8101, log_config=None)
