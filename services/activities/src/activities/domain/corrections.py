"""Corrections of an activity's figures into a closed month (数据已锁定): proposed by the
station, counted only once a city or province official approves them.

A correction into an open month counts at once (`activities.correct_activity`). One into a
month its county has closed is kept as a proposal (`ActivityCorrectionProposed`, which no
view counts); its approval applies it as any correction is applied (`ActivityCorrected`,
naming the proposal and the approver), on the figures the activity has then. Whoever
proposed a correction may not approve it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from activities.domain.activities import Activity, correct_activity
from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import Conflict, DutiesSeparated, NotFound


def figure_days(activity: Activity) -> list[date]:
    """The days an activity's figures are counted on: its date, and the day it was held."""
    days = [activity.facts.activity_date]
    if activity.held_on is not None and activity.held_on != activity.facts.activity_date:
        days.append(activity.held_on)
    return days


def propose_correction(
    activity: Activity,
    *,
    counts: ev.Counts,
    linkage: ev.Linkage | None,
    reason_code: Any,
    note: str,
    closed_month: str,
    proposed_by: str,
    today: date,
) -> tuple[Activity, Event]:
    """Keep a correction into `closed_month` until it is approved: checked as any correction
    is (a verified activity, a note, figures that change something), counted by nothing."""
    corrected, _ = correct_activity(
        activity, counts=counts, linkage=linkage, reason_code=reason_code, note=note
    )
    number = len(activity.corrections) + len(activity.pending_corrections) + 1
    proposal = {
        "correction_id": f"cor-{number}",
        "counts": counts.model_dump(),
        "linkage": corrected.linkage.model_dump(),
        "reason_code": reason_code,
        "note": note,
        "closed_month": closed_month,
        "proposed_by": proposed_by,
        "proposed_on": today.isoformat(),
    }
    new = activity.model_copy(
        update={"pending_corrections": [*activity.pending_corrections, proposal]}
    )
    return new, ev.ActivityCorrectionProposed.of(
        activity.facts,
        correction_id=proposal["correction_id"],
        counts=counts,
        linkage=corrected.linkage,
        reason_code=reason_code,
        closed_month=closed_month,
        proposed_by=proposed_by,
        proposed_on=today,
    )


def approve_correction(
    activity: Activity, *, correction_id: str, approved_by: str, today: date
) -> tuple[Activity, Event]:
    """A city or province official approves a proposed correction: from now it counts."""
    proposal = next(
        (p for p in activity.pending_corrections if p["correction_id"] == correction_id), None
    )
    if proposal is None:
        done = any(c.get("correction_id") == correction_id for c in activity.corrections)
        if done:
            raise Conflict("correction_id", f"correction {correction_id} is approved already")
        raise NotFound("correction_id", f"no correction {correction_id} waits for approval")
    if approved_by == proposal["proposed_by"]:
        raise DutiesSeparated(
            "approved_by",
            f"{approved_by} proposed correction {correction_id}: whoever proposes a "
            "correction may not approve it",
        )
    new, corrected = correct_activity(
        activity,
        counts=ev.Counts.model_validate(proposal["counts"]),
        linkage=ev.Linkage.model_validate(proposal["linkage"]),
        reason_code=proposal["reason_code"],
        note=proposal["note"],
    )
    approval = {
        "correction_id": correction_id,
        "proposed_by": proposal["proposed_by"],
        "approved_by": approved_by,
        "approved_on": today.isoformat(),
    }
    fixes = [*new.corrections[:-1], {**new.corrections[-1], **approval}]
    pending = [p for p in activity.pending_corrections if p is not proposal]
    new = new.model_copy(update={"corrections": fixes, "pending_corrections": pending})
    assert isinstance(corrected, ev.ActivityCorrected)
    return new, corrected.model_copy(
        update={"correction_id": correction_id, "approved_by": approved_by}
    )
