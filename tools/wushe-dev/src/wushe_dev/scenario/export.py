"""The event export: the scenario as the events the platform records for it, for benchmarks
that feed Kafka directly and for testing the views without the services
(`wushe scenario write` writes them as CloudEvents)."""

from __future__ import annotations

from collections import defaultdict

from wushe.contracts import Envelope, Event
from wushe_dev.scenario.model import Scenario, split


def station_id(township: str) -> str:
    """The registry's id of a township's station (one station per township)."""
    return f"st-{township}"


def events(scenario: Scenario) -> list[tuple[str, Event]]:
    """The facts the platform records for the scenario's programme, as (aggregate id, event):
    the programme, enrolments with split targets, backbone promotions, held activities. For
    benchmarks and
    for testing the views without the services (the same records, the same totals)."""
    from wushe.contracts.events import activities as act
    from wushe.contracts.events import registry as reg
    from wushe.contracts.events import volunteers as vol

    cfg, pid = scenario.config, scenario.programme_id
    n = len(scenario.townships)
    shares = {k: split(v, n) for k, v in scenario.targets.items()}
    t = scenario.targets
    # The programme first: without it the views know no period and answer 404 for it.
    out: list[tuple[str, Event]] = [
        (
            pid,
            reg.ProgrammeCreated(
                programme_id=pid,
                region_code=cfg.province,
                name="蓝马甲 (Blue Vest) elder programme",
                scope_regions=[cfg.province] if cfg.province else [],
                start_date=cfg.start,
                end_date=cfg.programme_end,
                total_targets=reg.Targets(
                    backbone_volunteers=t["backbones"],
                    service_sessions=t["sessions"],
                    person_times={"elders": t["elders"]},
                ),
                station_targets=reg.Targets(
                    backbone_volunteers=shares["backbones"][0] if n else 0,
                    service_sessions=shares["sessions"][0] if n else 0,
                    person_times={"elders": shares["elders"][0] if n else 0},
                ),
            ),
        )
    ]
    for i, (code, _) in enumerate(scenario.townships):
        out.append(
            (
                pid,
                reg.StationEnrolled(
                    programme_id=pid,
                    station_id=station_id(code),
                    region_code=code,
                    enrolled_on=cfg.start,
                    targets=reg.Targets(
                        backbone_volunteers=shares["backbones"][i],
                        service_sessions=shares["sessions"][i],
                        person_times={"elders": shares["elders"][i]},
                    ),
                ),
            )
        )
    for j, v in enumerate(scenario.volunteers):
        if v.backbone_on is not None:
            vid = f"vol-s{cfg.seed}-{j:07d}"
            out.append(
                (
                    vid,
                    vol.BackbonePromoted(
                        volunteer_id=vid,
                        station_id=station_id(v.township),
                        region_code=v.township,
                        programme_id=pid,
                        promoted_on=v.backbone_on,
                        reason_code="service_record",
                    ),
                )
            )
    for a in scenario.activities:
        aid = f"act-{a.ref}"
        facts = act.ActivityFacts(
            activity_id=aid,
            station_id=station_id(a.township),
            region_code=a.township,
            programme_ids=[pid],
            service_area="elder_services",
            kind="community_event",
            themes=list(a.themes),
            activity_date=a.day,
        )
        out.append(
            (
                aid,
                act.ActivityHeld(
                    activity=facts,
                    held_on=a.day,
                    counts=act.Counts(sessions=a.sessions, person_times={"elders": a.elders}),
                    linkage=act.Linkage(),
                    # Stand-in pseudonyms (the service derives its own from the references).
                    participants={"elders": [f"pn-{p}" for p in a.participants]},
                ),
            )
        )
    return out


def training_events(scenario: Scenario) -> list[tuple[str, Event]]:
    """The training service's facts for the scenario, as (aggregate id, event), with the ids
    the service gives (sessions: the generator's, visits: one per station and month, items:
    numbered per visit) and attendees by stand-in ids: what the `training` view counts, for
    testing it without the services (the same records, the same totals)."""
    from wushe.contracts.events import training as trn

    ids = {
        v.id_number: f"vol-s{scenario.config.seed}-{j:07d}"
        for j, v in enumerate(scenario.volunteers)
    }
    ids |= {
        w.id_number: f"sw-s{scenario.config.seed}-{j:05d}"
        for j, w in enumerate(scenario.social_workers)
    }
    out: list[tuple[str, Event]] = []
    for s in scenario.sessions:
        out.append(
            (
                s.session_id,
                trn.TrainingSessionScheduled(
                    session_id=s.session_id,
                    region_code=s.region_code,
                    course_id=s.course_id,
                    kind=s.kind,
                    mode=s.mode,
                    session_date=s.day,
                    hours=s.hours,
                ),
            )
        )
        if s.attendees:
            attendances = [
                trn.Attendance(
                    attendee_kind=a.kind,
                    attendee_id=ids[a.person],
                    station_id=station_id(a.township),
                    hours=a.hours,
                    credits=a.credits,
                )
                for a in s.attendees
            ]
            out.append(
                (
                    s.session_id,
                    trn.AttendanceRecorded(
                        session_id=s.session_id,
                        region_code=s.region_code,
                        session_date=s.day,
                        attendances=attendances,
                    ),
                )
            )
    for v in scenario.visits:
        sid = station_id(v.township)
        vid = f"sv-{sid}-{v.month}"
        where = {"visit_id": vid, "station_id": sid, "region_code": v.township}
        out.append(
            (
                vid,
                trn.SupervisionVisitPlanned(**where, month=v.month, supervisor_id=v.supervisor_id),
            )
        )
        if v.visited_on is None:
            continue
        out.append(
            (
                vid,
                trn.SupervisionVisitCompleted(
                    **where,
                    month=v.month,
                    visited_on=v.visited_on,
                    checklist=trn.Checklist(**dict.fromkeys(trn.Checklist.model_fields, True)),
                    findings=len(v.findings),
                    rectification_items=len(v.items),
                ),
            )
        )
        for i, it in enumerate(v.items):
            out.append(
                (
                    vid,
                    trn.RectificationItemOpened(
                        **where,
                        item_id=f"{vid}-{i + 1}",
                        category=it.category,
                        deadline=it.deadline,
                    ),
                )
            )
        for i, it in enumerate(v.items):
            if it.closed_on is not None:
                out.append(
                    (
                        vid,
                        trn.RectificationItemClosed(
                            **where,
                            item_id=f"{vid}-{i + 1}",
                            closed_on=it.closed_on,
                            overdue=it.late,
                        ),
                    )
                )
    return out


def envelopes(scenario: Scenario) -> list[Envelope]:
    """The whole scenario's events (the programme's, then training and supervision) as
    CloudEvents, each aggregate's in stream order (`ce_sequence`): `wushe scenario write`."""
    versions: dict[str, int] = defaultdict(int)
    out = []
    for subject, event in [*events(scenario), *training_events(scenario)]:
        versions[subject] += 1
        env = Envelope.wrap(event, source="/wushe/scenario", subject=subject)
        out.append(env.model_copy(update={"sequence": f"{versions[subject]:010d}.0000"}))
    return out
