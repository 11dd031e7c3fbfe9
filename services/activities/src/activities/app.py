"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from activities import api, handlers
from activities.settings import ActivitiesSettings
from activities.store import AGGREGATES, SEALED, ActivitiesStore
from wushe.contracts.events.activities import ACTIVITIES
from wushe.service import Service, ServiceContext
from wushe.topics import PARTNER_TOPIC, kept_forever


def wire(ctx: ServiceContext[ActivitiesSettings]) -> dict[str, object]:
    handlers.register(ctx)
    return {"activities": api.Activities(ActivitiesStore(ctx), ctx.vault())}


SERVICE = Service(
    ActivitiesSettings,
    "Wushe activities",
    [api.router],
    AGGREGATES,
    wire,
    # its activities (kept for the views and the funds' outcomes), and the partner stream
    # its copy of the allocations reads: neither left to the broker's defaults
    topics=[*kept_forever([ACTIVITIES]), PARTNER_TOPIC],
    sealed=SEALED,
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory activities.app:app_from_env
