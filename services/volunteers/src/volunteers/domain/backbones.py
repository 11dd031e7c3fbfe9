"""Backbone volunteers (骨干): promoted per programme that counts backbones (or in
general), demoted with a reason; the history keeps both."""

from __future__ import annotations

from datetime import date
from typing import Any

from volunteers.domain.volunteers import BackboneStatus, Volunteer, active, check_day
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.contracts.known import KnownProgramme
from wushe.errors import Conflict, DomainError


def backbone_key(programme_id: str | None) -> str:
    return programme_id or "general"


def promote(
    v: Volunteer,
    programme: KnownProgramme | None,
    *,
    programme_id: str | None,
    on: date,
    reason_code: ev.BackboneReason,
    note: str,
    today: date,
) -> tuple[Volunteer, Event]:
    active(v)
    check_day(on, today, "promoted_on")
    if on < v.registered_on:
        raise DomainError("promoted_on", "before the volunteer registered")
    if programme_id is not None:
        if programme is None:
            raise DomainError("programme_id", f"unknown programme {programme_id}")
        if not programme.counts_backbones:
            raise DomainError("programme_id", f"{programme_id} does not count backbones")
        if v.station_id not in programme.enrolled:
            raise DomainError("programme_id", f"{v.station_id} is not enrolled in {programme_id}")
        if not programme.start_date <= on <= programme.end_date:
            raise DomainError("promoted_on", f"outside the period of {programme_id}")
    key = backbone_key(programme_id)
    if key in v.backbone:
        raise Conflict("programme_id", "already a backbone volunteer (骨干) for this programme")
    status = BackboneStatus(programme_id=programme_id, since=on, reason_code=reason_code)
    new = v.model_copy(
        update={
            "backbone": {**v.backbone, key: status},
            "history": [*v.history, _change("promoted", programme_id, on, reason_code, note)],
        }
    )
    return new, ev.BackbonePromoted.of(
        v, programme_id=programme_id, promoted_on=on, reason_code=reason_code
    )


def _change(action: str, programme_id: str | None, on: date, reason: str, note: str) -> Any:
    return {
        "action": action,
        "programme_id": programme_id,
        "on": on.isoformat(),
        "reason_code": reason,
        "note": note.strip(),
    }


def demote(
    v: Volunteer,
    *,
    programme_id: str | None,
    on: date,
    reason_code: ev.DemotionReason,
    note: str,
    today: date,
) -> tuple[Volunteer, Event]:
    check_day(on, today, "demoted_on")
    status = v.backbone.get(backbone_key(programme_id))
    if status is None:
        raise Conflict("programme_id", "not a backbone volunteer for this programme")
    if on < status.since:
        raise DomainError("demoted_on", "before the promotion")
    backbone = {k: s for k, s in v.backbone.items() if k != backbone_key(programme_id)}
    new = v.model_copy(
        update={
            "backbone": backbone,
            "history": [*v.history, _change("demoted", programme_id, on, reason_code, note)],
        }
    )
    return new, ev.BackboneDemoted.of(
        v, programme_id=programme_id, demoted_on=on, reason_code=reason_code
    )


def demote_all(
    v: Volunteer, on: date, reason: ev.DemotionReason, today: date
) -> tuple[Volunteer, list[Event]]:
    """Every backbone status ends (a move, a deregistration)."""
    events: list[Event] = []
    for status in list(v.backbone.values()):
        v, e = demote(
            v,
            programme_id=status.programme_id,
            on=max(on, status.since),
            reason_code=reason,
            note="",
            today=max(today, status.since),
        )
        events.append(e)
    return v, events
