"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from activities import api, handlers
from activities.settings import ActivitiesSettings
from activities.store import AGGREGATES, SEALED, ActivitiesStore
from wushe.service import Service, ServiceContext


def wire(ctx: ServiceContext[ActivitiesSettings]) -> dict[str, object]:
    handlers.register(ctx)
    return {"activities": api.Activities(ActivitiesStore(ctx), ctx.vault())}


SERVICE = Service(
    ActivitiesSettings, "Wushe activities", [api.router], AGGREGATES, wire, sealed=SEALED
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory activities.app:app_from_env
