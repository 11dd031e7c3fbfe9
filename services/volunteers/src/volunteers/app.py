"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from volunteers import api, handlers
from volunteers.settings import VolunteersSettings
from volunteers.store import AGGREGATES, SEALED, VolunteersStore
from wushe.service import Service, ServiceContext


def wire(ctx: ServiceContext[VolunteersSettings]) -> dict[str, object]:
    store = VolunteersStore(ctx)
    handlers.register(ctx, store)
    volunteers = api.Volunteers(
        store,
        ctx.vault(),
        daily_maximum=ctx.settings.daily_maximum_minutes,
        import_max_bytes=ctx.settings.import_max_bytes,
    )
    return {"volunteers": volunteers}


SERVICE = Service(
    VolunteersSettings, "Wushe volunteers", [api.router], AGGREGATES, wire, sealed=SEALED
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory volunteers.app:app_from_env
