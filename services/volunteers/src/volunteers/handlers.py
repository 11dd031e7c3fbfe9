"""Kafka subscribers of the volunteers service.

- The local copy of registry stations and programmes (`wushe.refcopy`).
- Activities: their day and status (so a check-in can be held against the activity's
  time) and the volunteers a held activity lists with their hours. Those listings enter
  the same ledger as check-ins (one attendance per volunteer and activity), the
  activity's verification approves them, and its corrections correct them.

Every ledger effect is idempotent by its deterministic attendance id and the activity's
correction number, so redelivery and replay change nothing; the activity copy skips
offsets it already holds.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import partial
from typing import Any

from volunteers import domain
from volunteers.domain import Ledger, ServiceWindow
from volunteers.settings import VolunteersSettings
from volunteers.store import VolunteersStore
from wushe import bus, clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.service import ServiceContext

log = logging.getLogger("volunteers.handlers")


def register(ctx: ServiceContext[VolunteersSettings], store: VolunteersStore) -> None:
    """(`store` is the routes' own: one keeper of the ledgers' waiting entries.)"""
    settings = ctx.settings
    store.registry.subscribe(ctx, group_id=settings.registry_copy_group)
    follower = ActivityFollower(store, daily_maximum=settings.daily_maximum_minutes)
    ctx.subscribe(act.ACTIVITIES, group_id=settings.activities_group, handler=follower.on_event)


def listed_minutes(linkage: act.Linkage) -> dict[str, int]:
    return {v.volunteer_id: round(v.hours * 60) for v in linkage.volunteers}


class ActivityFollower:
    def __init__(self, store: VolunteersStore, *, daily_maximum: int) -> None:
        self.store = store
        self.daily_maximum = daily_maximum

    async def on_event(self, event: Event, envelope: Envelope, at: bus.Delivery) -> None:
        if isinstance(event, act.ActivityPlanned | act.ActivityHeld):
            f = event.activity
            window = domain.activity_window(
                f.activity_id, f.station_id, f.region_code, f.activity_date, cancelled=False
            )
            if isinstance(event, act.ActivityHeld):
                await self.held(window, listed_minutes(event.linkage), envelope.id)
            status = "held" if isinstance(event, act.ActivityHeld) else "planned"
            extra: dict[str, Any] = (
                {"volunteers": listed_minutes(event.linkage)}
                if isinstance(event, act.ActivityHeld)
                else {}
            )
            await self.store.keep_activity(
                f.activity_id,
                at,
                lambda d: {
                    **d,
                    "station_id": f.station_id,
                    "region_code": f.region_code,
                    "activity_date": f.activity_date.isoformat(),
                    "status": status,
                    **extra,
                },
            )
            return
        if not isinstance(
            event, act.ActivityVerified | act.ActivityCancelled | act.ActivityCorrected
        ):
            return
        doc = await self.store.known_activity(event.activity_id)
        if doc is None:
            raise ValueError(f"{event.activity_id}: an event before the activity's plan")
        window = domain.activity_window(
            event.activity_id,
            doc["station_id"],
            doc["region_code"],
            date.fromisoformat(doc["activity_date"]),
            cancelled=isinstance(event, act.ActivityCancelled),
        )
        listed: dict[str, int] = dict(doc.get("volunteers", {}))
        if isinstance(event, act.ActivityVerified):
            await self.verified(window, listed, event, envelope.id)
            change: dict[str, Any] = {"status": "verified"}
        elif isinstance(event, act.ActivityCancelled):
            change = {"status": "cancelled"}
        else:
            listed = await self.corrected(window, listed, event, envelope.id)
            change = {"volunteers": listed}
        await self.store.keep_activity(event.activity_id, at, lambda d: {**d, **change})

    async def held(self, window: ServiceWindow, listed: dict[str, int], cause: str) -> None:
        for volunteer_id, minutes in listed.items():
            v, _ = await self.store.volunteer(volunteer_id)
            if v is None:
                # Not ours to invent: kept where the station can see and fix it.
                log.warning("held activity %s lists an unknown volunteer", window.source_id)
                await self.store.note_unmatched(window, volunteer_id, minutes)
                continue
            await self.store.change_ledger(
                volunteer_id,
                partial(
                    domain.record_listed,
                    v=v,
                    window=window,
                    minutes=minutes,
                    daily_maximum=self.daily_maximum,
                ),
                causation_id=cause,
            )

    async def verified(
        self, window: ServiceWindow, listed: dict[str, int], event: act.ActivityVerified, cause: str
    ) -> None:
        """The verifier certifies the activity's record, the listed hours with it."""
        office = event.verifier_office or event.verifier_role  # an old event has no office
        for volunteer_id in listed:
            v, _ = await self.store.volunteer(volunteer_id)
            if v is None:
                continue
            rules = await self.store.rules_for(v.region_code)
            aid = domain.attendance_id_for(volunteer_id, window)

            def decide(
                ledger: Ledger, v: domain.Volunteer = v, rules: Any = rules, aid: str = aid
            ) -> Any:
                a = ledger.attendances.get(aid)
                if a is None or a.status != "recorded":
                    return ledger, []
                return domain.approve(
                    ledger,
                    v,
                    aid,
                    approved_by=f"{office}:{event.verified_by}",
                    on=event.verified_on,
                    rules=rules,
                )

            await self.store.change_ledger(volunteer_id, decide, causation_id=cause)

    async def corrected(
        self,
        window: ServiceWindow,
        listed: dict[str, int],
        event: act.ActivityCorrected,
        cause: str,
    ) -> dict[str, int]:
        now_listed = listed_minutes(event.linkage)
        for volunteer_id in sorted({*listed, *now_listed}):
            v, _ = await self.store.volunteer(volunteer_id)
            if v is None:
                if volunteer_id in now_listed:
                    await self.store.note_unmatched(window, volunteer_id, now_listed[volunteer_id])
                continue
            rules = await self.store.rules_for(v.region_code)
            await self.store.change_ledger(
                volunteer_id,
                partial(
                    domain.follow_activity_correction,
                    v=v,
                    window=window,
                    minutes=now_listed.get(volunteer_id, 0),
                    correction_no=event.correction_no,
                    on=clock.today(),
                    rules=rules,
                    daily_maximum=self.daily_maximum,
                ),
                causation_id=cause,
            )
        return now_listed
