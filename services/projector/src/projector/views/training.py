"""Training sessions and supervision visits with their rectification items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe.contracts import Envelope, Event
from wushe.contracts.events import training as trn


class TrainingRollup:
    """Training sessions, attendee person-times and hours, on the session's day; supervision
    visits planned (on the month's first day) and completed (on the visit's day);
    rectification items open from the visit's day until closed, and closed (late or not)
    on the closing day. Items count from the completed visit, which names how many it
    opened and when: counted from `RectificationItemOpened` they would date from when the
    event was written, so a month recorded afterwards would show items closed before they
    were open."""

    name = "training"
    topics: tuple[str, ...] = (trn.SESSIONS, trn.SUPERVISION)
    counters: ClassVar[dict[str, str]] = {
        "training_sessions": "training sessions held (培训场次)",
        "training_sessions:<training_kind>": "training sessions by kind: expert training "
        "(专家培训) or routine study (常规学习)",
        "training_person_times": "training attendances (培训人次): social workers and volunteers",
        "training_hours_x100": "training hours attended (培训学时) times 100, summed over the "
        "attendances (an integer: 150 is 1.5 hours)",
        "supervision_visits_planned": "supervision visits planned (督导计划), on the "
        "month's first day",
        "supervision_visits": "supervision visits done (督导, 三步法), on the visit's day",
        "rectification_open": "rectification items open (整改事项): opened by a visit, less "
        "those closed",
        "rectification_closed": "rectification items closed (整改完成)",
        "rectification_closed_late": "of those, closed after their deadline (逾期)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, trn.TrainingSessionScheduled):
            yield (
                Bucket(event.session_id, event.region_code, event.session_date),
                {"training_sessions": 1, f"training_sessions:{event.kind}": 1},
            )
        elif isinstance(event, trn.AttendanceRecorded):
            hours = round(sum(a.hours for a in event.attendances) * 100)
            yield (
                Bucket(event.session_id, event.region_code, event.session_date),
                {"training_person_times": len(event.attendances), "training_hours_x100": hours},
            )
        elif isinstance(event, trn.SupervisionVisitPlanned):
            first_day = date.fromisoformat(f"{event.month}-01")
            yield Bucket.at(event, first_day), {"supervision_visits_planned": 1}
        elif isinstance(event, trn.SupervisionVisitCompleted):
            delta = {"supervision_visits": 1}
            if event.rectification_items:
                delta["rectification_open"] = event.rectification_items
            yield Bucket.at(event, event.visited_on), delta
        elif isinstance(event, trn.RectificationItemClosed):
            yield (
                Bucket.at(event, event.closed_on),
                {
                    "rectification_open": -1,
                    "rectification_closed": 1,
                    **({"rectification_closed_late": 1} if event.overdue else {}),
                },
            )
