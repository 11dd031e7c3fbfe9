"""The views: pure functions from an event to counter increments on buckets.

Counters are named `<measure>` or `<measure>:<part>` (person_times:elders,
sessions:elder_services; FerretDB allows no dots in keys). A correction contributes the
difference between its figures and the ones it replaces, on the activity's own day, so
every view follows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as don
from wushe.contracts.events import registry as reg
from wushe.contracts.events import training as trn
from wushe.contracts.events import volunteers as vol
from wushe.projection import Bucket, Delta


def counts_delta(counts: act.Counts, area: str | None, sign: int = 1) -> Delta:
    delta: Delta = {"sessions": sign * counts.sessions}
    if area:
        delta[f"sessions:{area}"] = sign * counts.sessions
    total = 0
    for group, n in counts.person_times.items():
        delta[f"person_times:{group}"] = sign * n
        total += n
    delta["person_times"] = sign * total
    return delta


def merge(a: Delta, b: Delta) -> Delta:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v}


class ActivityRollup:
    """Activities held, sessions and person-times by beneficiary group and service area,
    per station and day."""

    name = "activities"
    topics: tuple[str, ...] = (act.ACTIVITIES, act.VISITS, act.CLIENT_FILES)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, act.ActivityHeld):
            f = event.activity
            delta = {"activities": 1, **counts_delta(event.counts, f.service_area)}
            yield Bucket(f.station_id, f.region_code, event.held_on), delta
        elif isinstance(event, act.ActivityCorrected):
            day = event.activity_date or clock.today(envelope.time)
            delta = merge(
                counts_delta(event.counts, event.service_area),
                counts_delta(event.previous, event.service_area, -1),
            )
            if delta:
                yield Bucket(event.station_id, event.region_code, day), delta
        elif isinstance(event, act.HouseholdVisited):
            yield (
                Bucket(event.station_id, event.region_code, event.visited_on),
                {"households_visited": 1},
            )
        elif isinstance(event, act.ClientFileOpened):
            yield (
                Bucket(event.station_id, event.region_code, event.opened_on),
                {"client_files_opened": 1},
            )


class StationRollup:
    """Stations by status, rooms, star ratings: per station, dated by the event."""

    name = "stations"
    topics: tuple[str, ...] = (reg.STATIONS,)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        day: date = clock.today(envelope.time)
        if isinstance(event, reg.StationRegistered):
            yield (
                Bucket(event.station_id, event.region_code, day),
                {"stations": 1, f"status:{event.status}": 1},
            )
        elif isinstance(event, reg.StationStatusChanged):
            yield (
                Bucket(event.station_id, event.region_code, event.effective_date),
                {f"status:{event.from_status}": -1, f"status:{event.to_status}": 1},
            )
        elif isinstance(event, reg.RoomAdded):
            yield Bucket(event.station_id, event.region_code, day), {"rooms": 1}


class PeopleAndRatings:
    """Social workers by certification and general-practice (全科) flag, counted in the
    region they are registered in; stations by their current star rating."""

    name = "people"
    topics: tuple[str, ...] = (reg.SOCIAL_WORKERS, reg.STATIONS)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        day = clock.today(envelope.time)
        if isinstance(event, reg.SocialWorkerRegistered):
            delta: Delta = {"social_workers": 1, f"certification:{event.certification}": 1}
            if event.general_practice:
                delta["general_practice"] = 1
            yield Bucket(event.worker_id, event.region_code, day), delta
        elif (
            isinstance(event, reg.SocialWorkerCertified)
            and event.previous_certification is not None
        ):
            delta = merge(
                {f"certification:{event.certification}": 1},
                {f"certification:{event.previous_certification}": -1},
            )
            if (
                event.previous_general_practice is not None
                and event.previous_general_practice != event.general_practice
            ):
                delta["general_practice"] = 1 if event.general_practice else -1
            if delta:
                yield Bucket(event.worker_id, event.region_code, day), delta
        elif isinstance(event, reg.StationRated):
            delta = {f"stars:{event.stars}": 1}
            if event.previous_stars is None:
                delta["rated_stations"] = 1
            else:
                delta = merge(delta, {f"stars:{event.previous_stars}": -1})
            if delta:
                yield Bucket(event.station_id, event.region_code, event.rated_on), delta


class VolunteerRollup:
    """Volunteers (and elder volunteers) affiliated per station, backbone designations
    (骨干, per programme or general), approved service minutes and attendances at the
    organising station on the service day, points awarded and redeemed."""

    name = "volunteers"
    topics: tuple[str, ...] = (vol.VOLUNTEERS, vol.HOURS, vol.POINTS)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, vol.VolunteerRegistered):
            yield (
                Bucket(event.station_id, event.region_code, event.registered_on),
                {"volunteers": 1, **({"elder_volunteers": 1} if event.elder_volunteer else {})},
            )
        elif isinstance(event, vol.VolunteerMoved | vol.VolunteerDeregistered):
            one = {"volunteers": 1, **({"elder_volunteers": 1} if event.elder_volunteer else {})}
            away = {k: -n for k, n in one.items()}
            if isinstance(event, vol.VolunteerMoved):
                yield Bucket(event.from_station_id, event.from_region_code, event.moved_on), away
                yield Bucket(event.station_id, event.region_code, event.moved_on), one
            else:
                yield (
                    Bucket(event.station_id, event.region_code, event.deregistered_on),
                    away,
                )
        elif isinstance(event, vol.BackbonePromoted):
            yield (
                Bucket(event.station_id, event.region_code, event.promoted_on),
                {"backbone_designations": 1},
            )
        elif isinstance(event, vol.BackboneDemoted):
            yield (
                Bucket(event.station_id, event.region_code, event.demoted_on),
                {"backbone_designations": -1},
            )
        elif isinstance(event, vol.AttendanceApproved):
            s = event.service
            yield (
                Bucket(s.station_id, s.region_code, event.service_date),
                {"service_minutes": event.minutes, "attendances_approved": 1},
            )
        elif isinstance(event, vol.AttendanceCorrected):
            s = event.service
            delta = event.minutes - event.previous_minutes
            if delta:
                yield (
                    Bucket(s.station_id, s.region_code, event.service_date),
                    {"service_minutes": delta},
                )
        elif isinstance(event, vol.PointsAwarded):
            yield (
                Bucket(event.station_id, event.region_code, clock.today(envelope.time)),
                {"points_awarded": event.points},
            )
        elif isinstance(event, vol.PointsRedeemed):
            yield (
                Bucket(event.station_id, event.region_code, event.redeemed_on),
                {"points_redeemed": event.points},
            )


class MoneyRollup:
    """Money in fen (分): pledged and received per fund in the fund's region (a programme's
    scope or a station's township), allocated and disbursed per station; reversing entries
    subtract on their own day."""

    name = "money"
    topics: tuple[str, ...] = (don.PARTNER,)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, don.PledgeMade):
            yield (
                Bucket(event.fund_id, event.region_code, event.period_start),
                {"pledged_fen": event.amount_fen, "pledges": 1},
            )
        elif isinstance(event, don.GiftReceived):
            delta = {"received_fen": event.amount_fen, "gifts": 1}
            if event.kind == "in_kind":
                delta["received_in_kind_fen"] = event.amount_fen
            yield Bucket(event.fund_id, event.region_code, event.received_on), delta
        elif isinstance(event, don.FundsAllocated):
            yield (
                Bucket(event.station_id, event.region_code, event.allocated_on),
                {"allocated_fen": event.amount_fen},
            )
        elif isinstance(event, don.FundsDisbursed):
            yield (
                Bucket(event.station_id, event.region_code, event.paid_on),
                {"disbursed_fen": event.amount_fen},
            )
        elif isinstance(event, don.EntryReversed):
            field = {"gift": "received_fen", "allocation": "allocated_fen"}.get(
                event.entry_kind, "disbursed_fen"
            )
            key = event.station_id if event.entry_kind != "gift" else event.fund_id
            yield (
                Bucket(key or event.fund_id, event.region_code, event.reversed_on),
                {field: -event.amount_fen, "reversals": 1},
            )


class MoneyLineage:
    """Money to outcome, for a foundation: its funds (pledged, received), each allocation
    with its station (allocated, disbursed), and what activities funded by that allocation
    delivered (activities naming the allocation id in `linkage.donation_ids`).

    Keys: `<funder>|fund|<fund>`, `<funder>|alloc|<allocation>|<station>` and
    `outcome|<allocation>`; the views API joins them per funder at query time."""

    name = "lineage"
    topics: tuple[str, ...] = (don.PARTNER, act.ACTIVITIES)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, don.PledgeMade | don.GiftReceived):
            key = f"{event.funder_id}|fund|{event.fund_id}"
            if isinstance(event, don.PledgeMade):
                yield (
                    Bucket(key, event.region_code, event.period_start),
                    {"pledged_fen": event.amount_fen},
                )
            else:
                yield (
                    Bucket(key, event.region_code, event.received_on),
                    {"received_fen": event.amount_fen},
                )
        elif isinstance(event, don.FundsAllocated | don.FundsDisbursed):
            key = f"{event.funder_id}|alloc|{event.allocation_id}|{event.station_id}"
            if isinstance(event, don.FundsAllocated):
                yield (
                    Bucket(key, event.region_code, event.allocated_on),
                    {"allocated_fen": event.amount_fen},
                )
            else:
                yield (
                    Bucket(key, event.region_code, event.paid_on),
                    {"disbursed_fen": event.amount_fen},
                )
        elif isinstance(event, don.EntryReversed):
            if event.entry_kind == "gift":
                key = f"{event.funder_id}|fund|{event.fund_id}"
                delta = {"received_fen": -event.amount_fen}
            elif event.allocation_id and event.station_id:
                key = f"{event.funder_id}|alloc|{event.allocation_id}|{event.station_id}"
                field = "allocated_fen" if event.entry_kind == "allocation" else "disbursed_fen"
                delta = {field: -event.amount_fen}
            else:
                return
            yield Bucket(key, event.region_code, event.reversed_on), delta
        elif isinstance(event, act.ActivityHeld):
            f = event.activity
            for allocation_id in event.linkage.donation_ids:
                yield (
                    Bucket(f"outcome|{allocation_id}", f.region_code, event.held_on),
                    {"activities": 1, **counts_delta(event.counts, None)},
                )
        elif isinstance(event, act.ActivityCorrected):
            delta = merge(counts_delta(event.counts, None), counts_delta(event.previous, None, -1))
            day = event.activity_date or clock.today(envelope.time)
            for allocation_id in event.linkage.donation_ids:
                if delta:
                    yield Bucket(f"outcome|{allocation_id}", event.region_code, day), delta


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
            yield (
                Bucket(
                    event.station_id, event.region_code, date.fromisoformat(f"{event.month}-01")
                ),
                {"supervision_visits_planned": 1},
            )
        elif isinstance(event, trn.SupervisionVisitCompleted):
            delta = {"supervision_visits": 1}
            if event.rectification_items:
                delta["rectification_open"] = event.rectification_items
            yield Bucket(event.station_id, event.region_code, event.visited_on), delta
        elif isinstance(event, trn.RectificationItemClosed):
            yield (
                Bucket(event.station_id, event.region_code, event.closed_on),
                {
                    "rectification_open": -1,
                    "rectification_closed": 1,
                    **({"rectification_closed_late": 1} if event.overdue else {}),
                },
            )


class ProgrammeProgress:
    """Per programme and enrolled station: targets (from enrolments) and actuals (from
    activities naming the programme), dated by the enrolment and by the activity."""

    name = "programmes"
    topics: tuple[str, ...] = (reg.PROGRAMMES, act.ACTIVITIES, vol.VOLUNTEERS)

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, reg.StationEnrolled):
            t = event.targets
            delta: Delta = {"enrolled": 1}
            if t.backbone_volunteers is not None:
                delta["target:backbones"] = t.backbone_volunteers
            if t.service_sessions is not None:
                delta["target:sessions"] = t.service_sessions
            for group, n in t.person_times.items():
                delta[f"target:person_times:{group}"] = n
            yield (
                Bucket(
                    f"{event.programme_id}|{event.station_id}", event.region_code, event.enrolled_on
                ),
                delta,
            )
        elif isinstance(event, reg.StationWithdrawn):
            yield (
                Bucket(
                    f"{event.programme_id}|{event.station_id}",
                    event.region_code,
                    event.withdrawn_on,
                ),
                {"enrolled": -1},
            )
        elif isinstance(event, act.ActivityHeld):
            f = event.activity
            for pid in f.programme_ids:
                yield (
                    Bucket(f"{pid}|{f.station_id}", f.region_code, event.held_on),
                    actuals(event.counts),
                )
        elif isinstance(event, vol.BackbonePromoted | vol.BackboneDemoted) and event.programme_id:
            promoted = isinstance(event, vol.BackbonePromoted)
            day = event.promoted_on if isinstance(event, vol.BackbonePromoted) else event.demoted_on
            yield (
                Bucket(f"{event.programme_id}|{event.station_id}", event.region_code, day),
                {"actual:backbones": 1 if promoted else -1},
            )
        elif isinstance(event, act.ActivityCorrected) and event.programme_ids:
            day = event.activity_date or clock.today(envelope.time)
            delta = merge(actuals(event.counts), actuals(event.previous, -1))
            for pid in event.programme_ids:
                if delta:
                    yield Bucket(f"{pid}|{event.station_id}", event.region_code, day), delta


def actuals(counts: act.Counts, sign: int = 1) -> Delta:
    delta: Delta = {"actual:sessions": sign * counts.sessions}
    for group, n in counts.person_times.items():
        delta[f"actual:person_times:{group}"] = sign * n
    return delta


MEASURES = ("backbones", "sessions", "person_times:elders")


def progress(
    rows: dict[str, Delta],
    *,
    start: date,
    end: date,
    as_of: date,
    lag_ratio: float = 0.8,
    counted: tuple[str, ...] | None = None,
    group_of: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Programme progress from per-station counters: actual against target per measure,
    percent complete, pace against the time elapsed, and the lagging stations (below
    `lag_ratio` of the expected pace on any measure with a target). With `group_of` (a
    station to its group, a city say), also per group in the same pass: stations, lagging
    stations, target and actual per measure."""
    if counted is None:  # the reference measures, and every other one a target names
        named = {
            k.removeprefix("target:") for c in rows.values() for k in c if k.startswith("target:")
        }
        counted = (*MEASURES, *sorted(named - set(MEASURES)))
    span = max(1, (end - start).days)
    elapsed = min(1.0, max(0.0, (as_of - start).days / span))
    stations = {}
    totals: dict[str, dict[str, float]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, c in rows.items():
        if c.get("enrolled", 0) <= 0:
            continue
        station = key.split("|", 1)[1]
        group = None
        if group_of is not None:
            group = groups.setdefault(
                group_of(station), {"stations": 0, "lagging": 0, "totals": {}}
            )
            group["stations"] += 1
        measures = {}
        for m in counted:
            target, actual = c.get(f"target:{m}", 0), c.get(f"actual:{m}", 0)
            if target:
                measures[m] = {
                    "target": target,
                    "actual": actual,
                    "percent": round(100 * actual / target, 1),
                }
            t = totals.setdefault(m, {"target": 0, "actual": 0})
            t["target"] += target
            t["actual"] += actual
            if group is not None:
                g = group["totals"].setdefault(m, {"target": 0, "actual": 0})
                g["target"] += target
                g["actual"] += actual
        stations[station] = measures
    for t in totals.values():
        t["percent"] = round(100 * t["actual"] / t["target"], 1) if t["target"] else 0.0
        t["expected_by_now"] = round(t["target"] * elapsed, 1)
        t["pace"] = (
            round(t["actual"] / (t["target"] * elapsed), 2) if t["target"] and elapsed else 0.0
        )
    lagging = []
    for station, measures in stations.items():
        worst = min(
            (v["actual"] / (v["target"] * elapsed) for v in measures.values() if elapsed),
            default=None,
        )
        if worst is not None and worst < lag_ratio:
            lagging.append({"station_id": station, "pace": round(worst, 2)})
            if group_of is not None:
                groups[group_of(station)]["lagging"] += 1
    lagging.sort(key=lambda x: (x["pace"], x["station_id"]))
    out = {
        "elapsed": round(elapsed, 3),
        "stations": len(stations),
        "totals": totals,
        "per_station": stations,
        "lagging": lagging,
    }
    if group_of is not None:
        out["groups"] = groups
    return out


VIEWS = (
    ActivityRollup(),
    StationRollup(),
    PeopleAndRatings(),
    VolunteerRollup(),
    MoneyRollup(),
    MoneyLineage(),
    TrainingRollup(),
    ProgrammeProgress(),
)
