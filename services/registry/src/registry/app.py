"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from registry import api, handlers, reference
from registry.settings import RegistrySettings
from registry.store import AGGREGATES, SEALED, RegionIndex, RegistryStore
from wushe.service import Service, ServiceContext
from wushe.topics import REGISTRY_TOPICS


def wire(ctx: ServiceContext[RegistrySettings]) -> dict[str, object]:
    handlers.register(ctx)
    store, vault = RegistryStore(ctx.stores), ctx.vault()
    data_dir = ctx.settings.region_data_dir
    regions = RegionIndex(reference.load_tree(data_dir), store)
    registry = api.Registry(store, regions, vault, reference.VillageIndex(data_dir))
    return {"registry": registry, "settings": ctx.settings}


SERVICE = Service(
    RegistrySettings,
    "Wushe registry",
    [api.router],
    AGGREGATES,
    wire,
    topics=REGISTRY_TOPICS,
    sealed=SEALED,
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory registry.app:app_from_env
