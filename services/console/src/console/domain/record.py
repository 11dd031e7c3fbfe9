"""Recording (station staff): a form's fields as the API's body, and the API's problems
back on the form's fields.

The console does not validate on its own: it turns what was typed into the body the
service takes (blank optional fields left out, numbers as numbers, anything unreadable
passed on as typed) and lets the service answer. Its problem names the body's field
(`counts.person_times.elders`); `problems()` puts it back on the form's field
(`pt_elders`) with a message key of the record words (`record.msg.*`).

Pure: standard library only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from console.domain.codes import GROUPS

# A posted form: each field's values, as typed (checkboxes and multi-selects give several).
Form = Mapping[str, Sequence[str]]

# Households' categories (a visit's), in the order the form shows them.
CATEGORIES = (
    "low_income",
    "five_guarantees",
    "disability",
    "left_behind_child",
    "empty_nest_elder",
    "children_in_difficulty",
    "other",
)

CHINA = timezone(timedelta(hours=8))
CHINA_OFFSET = "+08:00"  # stations keep Beijing time; a datetime-local input has no offset
EXTERNAL_REF_PREFIX = "console-"  # the plan's external_ref: one activity per rendered form


# -- reading a form


def one(form: Form, name: str) -> str:
    values = form.get(name) or ()
    return values[0].strip() if values else ""


def many(form: Form, name: str) -> list[str]:
    return [v.strip() for v in form.get(name) or () if v.strip()]


_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


def split_list(text: str) -> list[str]:
    """`a, b，c` (or one per line) -> ["a", "b", "c"]."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def number(text: str) -> int | float | str:
    """A typed number as a number; anything else as typed, for the API to name."""
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    return text


def at_china(text: str) -> str:
    """`2026-12-07T09:30` (a datetime-local input) -> `2026-12-07T09:30:00+08:00`."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?", text)
    if not m:
        return text
    return f"{m.group(1)}T{m.group(2)}{m.group(3) or ':00'}{CHINA_OFFSET}"


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    """Leave a blank out: the API's default applies, or it says the field is required."""
    if value not in ("", None):
        body[name] = value


# -- the bodies


def plan_body(form: Form, idem: str = "") -> dict[str, Any]:
    """POST /activities. `idem` (the rendered form's key) becomes the external_ref: a form
    submitted twice plans one activity."""
    body: dict[str, Any] = {}
    for name in ("station_id", "service_area", "kind", "activity_date", "room_id"):
        _put(body, name, one(form, name))
    body["programme_ids"] = many(form, "programme_ids")
    body["themes"] = split_list(one(form, "themes"))
    body["place"] = one(form, "place")
    _put(body, "planned_sessions", number(one(form, "planned_sessions")))
    if idem:
        body["external_ref"] = EXTERNAL_REF_PREFIX + idem
    return body


def volunteer_field(volunteer_id: str) -> str:
    return f"vol_hours_{volunteer_id}"


def held_body(form: Form, volunteer_ids: Iterable[str] = ()) -> dict[str, Any]:
    """POST /activities/{id}/held: sessions and person-times by group, the societies that
    took part, the volunteers who served (hours typed beside each) and the ids linked."""
    counts: dict[str, Any] = {}
    _put(counts, "sessions", number(one(form, "sessions")))
    counts["person_times"] = {
        g: number(one(form, f"pt_{g}")) for g in GROUPS if one(form, f"pt_{g}") != ""
    }
    served = [
        {"volunteer_id": v, "hours": number(one(form, volunteer_field(v)))}
        for v in volunteer_ids
        if one(form, volunteer_field(v)) != ""
    ]
    linkage = {
        "societies": many(form, "societies"),
        "volunteers": served,
        "organisation_ids": split_list(one(form, "organisation_ids")),
        "donation_ids": split_list(one(form, "donation_ids")),
    }
    body: dict[str, Any] = {}
    _put(body, "held_on", one(form, "held_on"))
    body["counts"] = counts
    body["linkage"] = linkage
    return body


def visit_body(form: Form) -> dict[str, Any]:
    """POST /household-visits. The household's reference goes to the service only (it keeps
    a keyed hash of it); it is never put back on a page."""
    body: dict[str, Any] = {}
    for name in ("station_id", "household_ref", "visited_on", "follow_up_due"):
        _put(body, name, one(form, name))
    body["categories"] = many(form, "categories")
    body["needs"] = lines(one(form, "needs"))
    body["follow_up_note"] = one(form, "follow_up_note")
    return body


def check_in_body(form: Form) -> dict[str, Any]:
    """POST /volunteers/{id}/attendances: at an activity, at the time typed (China time)."""
    body: dict[str, Any] = {"source": "activity"}
    _put(body, "source_id", one(form, "activity_id"))
    _put(body, "at", at_china(one(form, "at")))
    return body


def check_out_body(form: Form) -> dict[str, Any]:
    body: dict[str, Any] = {}
    _put(body, "at", at_china(one(form, "out_at")))
    return body


def local_time(value: str | None) -> str:
    """An API's instant (`2026-12-07T01:30:00Z`) as Beijing time, `2026-12-07 09:30`."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def open_attendance(ledger: Mapping[str, Any], activity_id: str = "") -> str | None:
    """The attendance a check-out closes: the volunteer's open one (at this activity when
    one is named)."""
    for a in ledger.get("attendances") or ():
        if a.get("status") != "open":
            continue
        if activity_id and (a.get("service") or {}).get("source_id") != activity_id:
            continue
        return str(a["attendance_id"])
    return None


# -- the API's problems on the form's fields

# Per form: the body's field (dotted, without list indexes) -> the form's field.
FIELDS: dict[str, dict[str, str]] = {
    "plan": {
        "station_id": "station_id",
        "room_id": "room_id",
        "programme_ids": "programme_ids",
        "service_area": "service_area",
        "kind": "kind",
        "themes": "themes",
        "activity_date": "activity_date",
        "place": "place",
        "planned_sessions": "planned_sessions",
    },
    "held": {
        "held_on": "held_on",
        "activity_date": "held_on",  # a closed month: the activity's own day
        "counts": "sessions",
        "counts.sessions": "sessions",
        "counts.person_times": "pt_elders",
        "linkage": "societies",
        "linkage.societies": "societies",
        "linkage.organisation_ids": "organisation_ids",
        "linkage.donation_ids": "donation_ids",
    },
    "visit": {
        "station_id": "station_id",
        "household_ref": "household_ref",
        "visited_on": "visited_on",
        "follow_up_due": "follow_up_due",
        "categories": "categories",
        "needs": "needs",
        "follow_up_note": "follow_up_note",
    },
    "check_in": {
        "source": "activity_id",
        "source_id": "activity_id",
        "volunteer_id": "volunteer_id",
        "at": "at",
    },
    "check_out": {
        "volunteer_id": "out_volunteer_id",
        "attendance_id": "out_volunteer_id",
        "source_id": "out_volunteer_id",
        "at": "out_at",
    },
}


def form_field(form: str, path: str, body: Mapping[str, Any] | None = None) -> str:
    """The form's field for the body's field `path` ("" when the form has none: the problem
    is shown above the form only)."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p and p != "body"]
    if form == "held" and parts[:2] == ["counts", "person_times"] and len(parts) > 2:
        return f"pt_{parts[2]}" if parts[2] in GROUPS else "pt_elders"
    if form == "held" and parts[:2] == ["linkage", "volunteers"]:
        served = ((body or {}).get("linkage") or {}).get("volunteers") or []
        i = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        if i < len(served):
            return volunteer_field(str(served[i].get("volunteer_id")))
        return "societies"
    names = [p for p in parts if not p.isdigit()]
    table = FIELDS.get(form, {})
    while names:
        found = table.get(".".join(names))
        if found is not None:
            return found
        names.pop()
    return ""


@dataclass(frozen=True)
class Problem:
    """One problem to show: on a form field (or above the form when `field` is ""), as a
    record word (`key`, with `params`) or, when the console has no word for it, as the
    service said it (`raw`)."""

    field: str
    key: str
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: str = ""


# The services' messages the console has words for: pattern -> record.msg key.
MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Field required", "required"),
    (r"Input should be a valid integer", "integer"),
    (r"Input should be a valid number", "number"),
    (r"Input should be greater than or equal to (?P<n>[\d.]+)", "min"),
    (r"Input should be greater than (?P<n>[\d.]+)", "min"),
    (r"Input should be less than or equal to (?P<n>[\d.]+)", "max"),
    (r"Input should be a valid datetime", "datetime"),
    (r"Input should be a valid date", "date"),
    (r"String should have at least (?P<n>\d+) character", "min_chars"),
    (r"String should have at most (?P<n>\d+) character", "max_chars"),
    (r"List should have at most (?P<n>\d+) item", "max_items"),
    (r"Input should be '", "choose"),
    (r"must not be in the future", "future"),
    (r"must not be negative", "negative"),
    (r"must not repeat", "repeat"),
    (r"a volunteer is listed twice", "volunteer_twice"),
    (r"volunteers served: list 'volunteers'", "need_volunteers"),
    (r"organisations took part", "need_organisations"),
    (r"donations used", "need_charity"),
    (r"only a planned activity can be held \(it is (?P<status>\w+)\)", "not_planned"),
    (r"must not be before the visit", "before_visit"),
    (r"outside the period of", "programme_period"),
    (r"is not enrolled in", "not_enrolled"),
    (r"unknown programme", "unknown_programme"),
    (r"is not a room of", "not_a_room"),
    (r"already checked in to this", "already_in"),
    (r"still checked in elsewhere", "in_elsewhere"),
    (r"must be after the check-in", "after_check_in"),
    (r"ends on the day it began", "same_day"),
    (r"outside the activity's time|no time inside the", "outside_day"),
    (r"overlaps another attendance", "overlaps"),
    (r"more than (?P<n>\d+) hours", "daily_max"),
    (r"was cancelled", "cancelled"),
    (r"^unknown activity", "unknown_activity"),
    (r"already (recorded|approved|rejected)", "already_out"),
    (r"volunteer .* not found", "unknown_volunteer"),
    (r"^not checked in", "not_checked_in"),
)
# Problem types (the last word of `type`) the console has words for, whatever the message.
KINDS_OF_PROBLEM = {
    "period-closed": "period_closed",
    "forbidden": "forbidden",
    "role-not-permitted": "forbidden",
    "unavailable": "unavailable",
}


# Fields a person chooses rather than types: "required" reads "choose one" there.
CHOSEN = frozenset(
    {
        "station_id",
        "service_area",
        "kind",
        "room_id",
        "activity_id",
        "volunteer_id",
        "out_volunteer_id",
    }
)


def message(msg: str, kind: str = "") -> tuple[str, dict[str, str]]:
    """A service's message as a record word key (without `record.msg.`) and its values;
    ("", {}) when the console has none."""
    if kind in KINDS_OF_PROBLEM:
        return KINDS_OF_PROBLEM[kind], {}
    for pattern, key in MESSAGES:
        m = re.search(pattern, msg)
        if m:
            return key, {k: v for k, v in m.groupdict().items() if v is not None}
    return "", {}


def _reason(detail: str, path: str) -> str:
    """`counts.sessions: must not be negative` -> `must not be negative`."""
    prefix = f"{path}: "
    return detail[len(prefix) :] if path and detail.startswith(prefix) else detail


def problems(
    form: str, problem: Mapping[str, Any], body: Mapping[str, Any] | None = None
) -> list[Problem]:
    """A service's problem (RFC 9457, with `field` and `errors`) as the problems to show,
    one per form field, in the order the service listed them."""
    kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    found: dict[str, Problem] = {}
    errors = [e for e in problem.get("errors") or () if isinstance(e, Mapping)]
    for e in errors:
        loc = [str(p) for p in e.get("loc") or ()]
        path = ".".join(p for p in loc if p not in ("body", "query", "path"))
        msg = str(e.get("msg", ""))
        name = form_field(form, path, body)
        key, params = message(msg, kind)
        key = "choose" if key == "required" and name in CHOSEN else key
        found.setdefault(name, Problem(name, key, params, msg))
    if not errors:
        path = str(problem.get("field") or "")
        msg = _reason(str(problem.get("detail") or problem.get("title") or ""), path)
        name = form_field(form, path, body) if path else ""
        key, params = message(msg, kind)
        key = "choose" if key == "required" and name in CHOSEN else key
        found[name] = Problem(name, key, params, msg)
    return list(found.values())


# -- the station worker's agenda


def due_of(day: date, today: date) -> str:
    """`overdue` (before today, still planned), `today`, `week` (later this week, Monday to
    Sunday) or `later`."""
    if day < today:
        return "overdue"
    if day == today:
        return "today"
    sunday = today + timedelta(days=6 - today.weekday())
    return "week" if day <= sunday else "later"


@dataclass(frozen=True)
class AgendaRow:
    activity_id: str
    day: date
    due: str
    service_area: str
    kind: str
    themes: tuple[str, ...]
    place: str
    planned_sessions: int
    can_hold: bool  # held on a day not in the future


def agenda(activities: Iterable[Mapping[str, Any]], today: date) -> list[AgendaRow]:
    """Planned activities, soonest first: those past their day (to mark held or cancel),
    today's, this week's, later ones."""
    rows = []
    for a in activities:
        facts = a.get("facts") or {}
        day = date.fromisoformat(str(facts.get("activity_date"))[:10])
        rows.append(
            AgendaRow(
                activity_id=str(a.get("activity_id") or facts.get("activity_id")),
                day=day,
                due=due_of(day, today),
                service_area=str(facts.get("service_area", "")),
                kind=str(facts.get("kind", "")),
                themes=tuple(facts.get("themes") or ()),
                place=str(a.get("place") or ""),
                planned_sessions=int(a.get("planned_sessions") or 0),
                can_hold=day <= today,
            )
        )
    return sorted(rows, key=lambda r: (r.day, r.activity_id))


def held_defaults(activity: Mapping[str, Any], today: date) -> dict[str, str]:
    """The held form's first values: held on the planned day (today when that is still
    ahead), the sessions planned."""
    planned = date.fromisoformat(str((activity.get("facts") or {}).get("activity_date"))[:10])
    return {
        "held_on": min(planned, today).isoformat(),
        "sessions": str(activity.get("planned_sessions") or 1),
    }


def person_times_rows(counts: Mapping[str, Any] | None) -> list[tuple[str, int]]:
    """The person-times by group in the forms' order (groups the API adds later after)."""
    given = dict((counts or {}).get("person_times") or {})
    rows = [(g, int(given.pop(g))) for g in GROUPS if g in given]
    return rows + [(g, int(n)) for g, n in sorted(given.items())]
