"""Programme progress: targets from enrolments against actuals from activities."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, ClassVar

from projector.engine import Bucket, Delta
from projector.views.counters import merge
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe.contracts.events import volunteers as vol


class ProgrammeProgress:
    """Per programme and enrolled station: targets (from enrolments) and actuals (from
    activities naming the programme), dated by the enrolment and by the activity."""

    name = "programmes"
    topics: tuple[str, ...] = (reg.PROGRAMMES, act.ACTIVITIES, vol.VOLUNTEERS)
    counters: ClassVar[dict[str, str]] = {
        "enrolled": "1 while the station is enrolled in the programme (参与项目), 0 once it "
        "withdraws; progress counts the enrolled stations only (`GET /views/programmes` sums "
        "every programme's, the progress route one programme's)",
        "target:backbones": "the station's target of backbone volunteers (骨干志愿者目标); the "
        "progress route's measure `backbones` is `target:backbones` against "
        "`actual:backbones`, and so for each measure a target names",
        "target:sessions": "its target of service sessions (服务场次目标)",
        "target:person_times:<group>": "its target of person-times (人次目标) of a "
        "beneficiary group",
        "actual:backbones": "backbone volunteers (骨干) promoted for the programme at the "
        "station, less those demoted",
        "actual:sessions": "service sessions (场次) of the activities naming the programme, "
        "corrections included",
        "actual:person_times:<group>": "their person-times (人次) by beneficiary group",
    }

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


def share_elapsed(start: date, end: date, as_of: date) -> float:
    """The share of the programme's period that is over by the end of `as_of` (0 to 1)."""
    span = max(1, (end - start).days)
    return min(1.0, max(0.0, (as_of - start).days / span))


def in_period(through: dict[str, Delta], before: dict[str, Delta]) -> dict[str, Delta]:
    """Per station, its targets and enrolment as of the period's last day and its actuals
    in the period: those through the last day less those before the first."""
    out = {}
    for key, counters in through.items():
        then = before.get(key, {})
        out[key] = {
            name: n - then.get(name, 0) if name.startswith("actual:") else n
            for name, n in counters.items()
        }
    return out


def progress(
    rows: dict[str, Delta],
    *,
    start: date,
    end: date,
    as_of: date,
    lag_ratio: float = 0.8,
    counted: tuple[str, ...] | None = None,
    group_of: Callable[[str], str] | None = None,
    period_from: date | None = None,
) -> dict[str, Any]:
    """Programme progress from per-station counters: actual against target per measure,
    percent complete, pace against the time elapsed, and the lagging stations (below
    `lag_ratio` of the expected pace on any measure with a target). With `group_of` (a
    station to its group, a city say), also per group in the same pass: stations, lagging
    stations, target and actual per measure. With `period_from`, `rows` hold the actuals of
    the period from that day through `as_of` (`in_period`), and the time elapsed is the
    programme's share that lies in the period: what was expected of it."""
    if counted is None:  # the reference measures, and every other one a target names
        named = {
            k.removeprefix("target:") for c in rows.values() for k in c if k.startswith("target:")
        }
        counted = (*MEASURES, *sorted(named - set(MEASURES)))
    elapsed = share_elapsed(start, end, as_of)
    if period_from is not None:
        elapsed -= share_elapsed(start, end, period_from - timedelta(days=1))
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
