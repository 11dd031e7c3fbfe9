"""The loader: plays a generated scenario through the public REST APIs only (imports where
they exist, single calls elsewhere); it never writes a database or Kafka. Every step is
idempotent, so loading the same scenario again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections import defaultdict
from functools import partial
from typing import Any

import httpx

from wushe import clock
from wushe.validators import uscc_check_char
from wushe_dev.builders import month_over
from wushe_dev.scenario.client import (
    Endpoints,
    People,
    Progress,
    expect,
    patient_client,
    retry_while_unknown,
    run_all,
)
from wushe_dev.scenario.model import (
    PROGRAMME_PREFIX,
    Activity,
    Scenario,
    SocialWorker,
    TrainingSession,
    Visit,
    Volunteer,
)


async def load(
    scenario: Scenario,
    urls: Endpoints,
    people: People,
    *,
    progress: Progress | None = None,
    concurrency: int = 8,
    copy_timeout_s: float = 120,
) -> dict[str, Any]:
    """Play the scenario through the public APIs, each step by the people whose role it is
    (`People`); return the ids the platform gave."""
    note = progress or (lambda step, done, total: None)
    headers = people.province_officer()
    gate = asyncio.Semaphore(concurrency)
    cfg = scenario.config
    async with (
        patient_client(urls.registry, headers, timeout=120) as reg,
        patient_client(urls.activities, headers, timeout=300) as act,
        patient_client(urls.volunteers, headers, timeout=300) as vol,
        patient_client(urls.donations, headers, timeout=120) as don,
        patient_client(urls.training, headers, timeout=120) as trn,
    ):
        await _refuse_another_scenario(reg, scenario.programme_id)
        # 1. Stations (the ledger import) and the programme with split targets.
        rows = [{"region_code": code, "status": "operating"} for code, _ in scenario.townships]
        await _import(reg, "/imports/stations", rows)
        station_of = await _stations(reg, cfg.province, {c for c, _ in scenario.townships})
        note("stations", len(station_of), len(scenario.townships))
        pid = scenario.programme_id
        r = await reg.post(
            "/programmes",
            json={
                "programme_id": pid,
                "name": "蓝马甲行动",
                "scope_regions": [cfg.province],
                "start_date": str(cfg.start),
                "end_date": str(cfg.programme_end),
                "total_targets": {
                    "backbone_volunteers": scenario.targets["backbones"],
                    "service_sessions": scenario.targets["sessions"],
                    "person_times": {"elders": scenario.targets["elders"]},
                },
            },
        )
        expect(r, (201, 409))
        sids = [station_of[c] for c, _ in scenario.townships]
        r = await reg.post(
            f"/programmes/{pid}/enrolments",
            json={"station_ids": sids, "enrolled_on": str(cfg.start), "targets": "split_total"},
        )
        expect(r, (200, 409))
        credit_code = foundation_credit_code(cfg.province)
        org = await reg.post(
            "/organisations",
            json={
                "name": "江西省蓝马甲公益基金会" if cfg.province == "36" else "公益基金会",
                "kind": "foundation",
                "credit_code": credit_code,
                "region_code": cfg.province,
            },
        )
        expect(org, (201, 409))
        org_id = org.json()["org_id"] if org.status_code == 201 else await _org_id(reg, credit_code)
        note("programme", 1, 1)
        wid_of = await _register_social_workers(reg, scenario, station_of, gate, note)
        stations_in: dict[str, list[str]] = defaultdict(list)  # county -> its stations
        for code, sid in station_of.items():
            stations_in[code[:6]].append(sid)

        def staff(place: str) -> dict[str, str]:
            """The station staff of a township's (or a county's) county."""
            return people.station_staff(place[:6], stations_in[place[:6]])

        # 2. Volunteers, registered one by one (the answer carries the id backbones need);
        # until the volunteers service has the stations from the registry's events, a
        # registration is refused with "unknown station" and writes nothing: retry.
        vid_of: dict[str, str] = {}

        async def register(v: Volunteer) -> None:
            async with gate:
                body = {
                    "name": v.name,
                    "id_number": v.id_number,
                    "phone": v.phone,
                    "station_id": station_of[v.township],
                    "skills": ["elder_care"],
                    "registered_on": str(cfg.start),
                }
                r = await retry_while_unknown(
                    lambda: vol.post("/volunteers", json=body, headers=staff(v.township)),
                    copy_timeout_s,
                )
                expect(r, (201,))
                vid_of[v.id_number] = r.json()["volunteer_id"]
                if len(vid_of) % 250 == 0 or len(vid_of) == len(scenario.volunteers):
                    note("volunteers", len(vid_of), len(scenario.volunteers))

        await run_all(*(register(v) for v in scenario.volunteers))

        # 3. Backbones (骨干) for the programme (retried until the programme is known).
        backbones = [v for v in scenario.volunteers if v.backbone_on is not None]
        done = 0

        async def promote(v: Volunteer) -> None:
            nonlocal done
            async with gate:
                body = {
                    "programme_id": pid,
                    "promoted_on": str(v.backbone_on),
                    "reason_code": "service_record",
                }
                path = f"/volunteers/{vid_of[v.id_number]}/backbone"
                r = await retry_while_unknown(
                    lambda: vol.post(path, json=body, headers=staff(v.township)),
                    copy_timeout_s,
                )
                expect(r, (200, 409))
                done += 1
                if done % 250 == 0 or done == len(backbones):
                    note("backbones", done, len(backbones))

        await run_all(*(promote(v) for v in backbones))

        # 4. The foundation's money: a pledge, quarterly gifts, an allocation to each station
        # (before the activities, which name the allocations that funded them).
        r = await retry_while_unknown(
            lambda: don.post(
                "/donors",
                json={"kind": "foundation", "region_code": cfg.province, "org_id": org_id},
            ),
            copy_timeout_s,
        )
        expect(r, (201,))
        donor = str(r.json()["donor_id"])
        key = f"scenario-{pid}"
        # The pledge names the programme and each allocation a station: the donations
        # service's copies of them may lag (retried; the idempotency keys make it safe).
        r = await retry_while_unknown(
            lambda: don.post(
                "/pledges",
                headers={"Idempotency-Key": f"{key}-pledge"},
                json={
                    "donor_id": donor,
                    "programme_id": pid,
                    "amount_fen": scenario.pledge_fen,
                    "period_start": str(cfg.start),
                    "period_end": str(cfg.programme_end),
                },
            ),
            copy_timeout_s,
        )
        expect(r, (201,))
        fund = r.json()["fund_id"]
        for i, amount in enumerate(scenario.gifts_fen):
            r = await don.post(
                f"/pledges/{fund}/gifts",
                headers={"Idempotency-Key": f"{key}-gift-{i}"},
                json={
                    "kind": "cash",
                    "amount_fen": amount,
                    "receipt_no": f"{pid}-{i + 1}",
                    "received_on": str(cfg.start),
                },
            )
            expect(r, (201,))

        # The allocations as one plan: every allocation changes the same fund (one
        # aggregate), so one at a time rewrites the growing fund once each (462 took two
        # minutes). Stations the fund already allocated to (a stack loaded before plans
        # existed) are left out, so loading again never allocates twice.
        r = await don.get(f"/funds/{fund}")
        expect(r, (200,))
        allocated = {a["station_id"] for a in r.json()["allocations"]}
        remaining = [
            (station_of[code], amount)
            for code, amount in scenario.allocations_fen.items()
            if station_of[code] not in allocated
        ]

        async def allocate(body: dict[str, Any], digest: str) -> httpx.Response:
            return await don.post(
                f"/funds/{fund}/allocation-plans",
                headers={"Idempotency-Key": f"{key}-plan-{digest}"},
                json=body,
            )

        for start in range(0, len(remaining), 1000):
            plan = remaining[start : start + 1000]
            digest = hashlib.sha256(",".join(sid for sid, _ in plan).encode()).hexdigest()[:16]
            body = {
                "allocated_on": str(cfg.start),
                "allocations": [{"station_id": sid, "amount_fen": a} for sid, a in plan],
            }
            r = await retry_while_unknown(partial(allocate, body, digest), copy_timeout_s)
            expect(r, (201,))
        r = await don.get(f"/funds/{fund}")
        expect(r, (200,))
        allocation_of = {a["station_id"]: a["allocation_id"] for a in r.json()["allocations"]}
        note("donations", len(scenario.allocations_fen), len(scenario.allocations_fen))

        # 5. A year of activities: planned and held in one import, in chunks, by each
        # county's station staff; three in five name their station's allocation (资助).
        # Re-importing a chunk is harmless (external refs), so rows refused while the
        # activities service did not yet know the programme (or the allocation) are simply
        # imported again.
        by_county: dict[str, list[Activity]] = defaultdict(list)
        for a in scenario.activities:
            by_county[a.township[:6]].append(a)
        imported = 0
        first_held: dict[str, str] = {}  # township -> its first activity (each row is held)
        for county, activities in sorted(by_county.items()):
            for start in range(0, len(activities), 500):
                part = activities[start : start + 500]
                data = _activity_rows(part, station_of, pid, allocation_of)

                async def import_part(data: bytes = data, county: str = county) -> httpx.Response:
                    return await act.post(
                        "/imports/activities",
                        content=data,
                        headers={"Content-Type": "text/csv", **staff(county)},
                    )

                report = await retry_while_unknown(import_part, copy_timeout_s)
                expect(report, (200,))
                if report.json()["errors"]:
                    raise RuntimeError(f"activity import errors: {report.json()['errors'][:3]}")
                for row, activity_id in sorted(report.json()["ids"].items(), key=_by_row):
                    first_held.setdefault(part[int(row) - 1].township, activity_id)
                imported += len(part)
                note("activities", imported, len(scenario.activities))

        # 6. Training (courses, sessions, attendance) and monthly supervision.
        person_of = {**vid_of, **wid_of}
        await _train(trn, scenario, station_of, person_of, gate, copy_timeout_s, note)
        await _supervise(trn, scenario, station_of, people, gate, copy_timeout_s, note)

        # 7. Each county's official verifies what its stations recorded (the recorder never
        # does): one held activity a station, as a county spot-checks.
        verified = await _verify(act, first_held, people, gate)
        note("verified", verified, verified)

        # 8. Each county's official closes the months that are over (数据审核/锁定): after
        # this, a figure of those months changes only by an approved correction.
        last = month_over(clock.today())
        for county in sorted(stations_in):
            r = await reg.post(
                "/closed-months",
                json={"region_code": county, "month": last},
                headers=people.county_officer(county),
            )
            expect(r, (200, 201, 409))  # 409: closed already (a re-run)
        note("closed", len(stations_in), len(stations_in))
    return {
        "verified_stations": verified,
        "closed_through": last,
        "programme_id": pid,
        "donor_id": donor,
        "fund_id": fund,
        "stations": station_of,
        "social_workers": len(wid_of),
    }


def _activity_rows(
    part: list[Activity], station_of: dict[str, str], pid: str, allocation_of: dict[str, str]
) -> bytes:
    """Activities as the import's CSV: planned and held in one row each, the funded ones
    naming their station's allocation."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        [
            "station_id",
            "external_ref",
            "programme_ids",
            "service_area",
            "kind",
            "themes",
            "activity_date",
            "held_on",
            "sessions",
            "elders",
            "elders_served",
            "societies",
            "donation_ids",
        ]
    )
    for a in part:
        writer.writerow(
            [
                station_of[a.township],
                a.ref,
                pid,
                "elder_services",
                "community_event",
                ";".join(a.themes),
                str(a.day),
                str(a.day),
                a.sessions,
                a.elders,
                ";".join(a.participants),
                "volunteers;charity_resources" if a.funded else "volunteers",
                allocation_of[station_of[a.township]] if a.funded else "",
            ]
        )
    return buf.getvalue().encode()


async def _register_social_workers(
    reg: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    gate: asyncio.Semaphore,
    note: Progress,
) -> dict[str, str]:
    """Resident social workers: registered in the registry (which alone keeps their personal
    data) and assigned to their station. The registry refuses a second registration of the
    same person (409) without saying the id, so a re-run finds those in its masked listing
    (region and the ID number's last four, distinct within the scenario)."""
    wid_of: dict[str, str] = {}
    again: list[SocialWorker] = []
    workers = scenario.social_workers

    async def register(w: SocialWorker) -> None:
        async with gate:
            r = await reg.post(
                "/social-workers",
                json={
                    "name": w.name,
                    "id_number": w.id_number,
                    "phone": w.phone,
                    "region_code": w.township,
                    "certification": w.certification,
                    "general_practice": w.certification != "none",
                },
            )
            expect(r, (201, 409))
            if r.status_code == 201:
                wid_of[w.id_number] = r.json()["worker_id"]
            else:
                again.append(w)

    await run_all(*(register(w) for w in workers))
    if again:
        listed: dict[tuple[str, str], list[str]] = defaultdict(list)
        offset = 0
        while True:
            page = (
                await reg.get("/social-workers", params={"limit": 500, "offset": offset})
            ).json()
            for item in page["items"]:
                listed[(item["region_code"], item["id_number"][14:])].append(item["worker_id"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
        for w in again:
            found = listed.get((w.township, w.id_number[14:]), [])
            if len(found) != 1:
                raise RuntimeError(
                    f"social worker of {w.township} ending {w.id_number[14:]}: "
                    f"{len(found)} registered matches"
                )
            wid_of[w.id_number] = found[0]
    note("workers", len(wid_of), len(workers))
    done = 0

    async def assign(w: SocialWorker) -> None:
        nonlocal done
        async with gate:
            r = await reg.post(
                f"/social-workers/{wid_of[w.id_number]}/assignments",
                json={"station_id": station_of[w.township], "from_date": str(w.since)},
            )
            expect(r, (200,))
            done += 1
            if done % 250 == 0 or done == len(workers):
                note("assignments", done, len(workers))

    await run_all(*(assign(w) for w in workers))
    return wid_of


async def _train(
    trn: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    person_of: dict[str, str],
    gate: asyncio.Semaphore,
    patience: float,
    note: Progress,
) -> None:
    """The course series, then each session (the generator's id: a retry cannot schedule it
    twice) and its attendance in one call (all of it or none: a session already scheduled
    that shows attendance, or a 409 for it, means it is recorded)."""
    province = scenario.config.province
    for c in scenario.courses:
        r = await trn.post(
            "/courses",
            json={
                "course_id": c.course_id,
                "region_code": province,
                "title": c.title,
                "series": c.series,
                "topics": list(c.topics),
            },
        )
        expect(r, (201, 409))
    done = 0

    async def hold(s: TrainingSession) -> None:
        nonlocal done
        async with gate:
            r = await trn.post(
                "/sessions",
                json={
                    "session_id": s.session_id,
                    "region_code": s.region_code,
                    "course_id": s.course_id,
                    "kind": s.kind,
                    "mode": s.mode,
                    "session_date": str(s.day),
                    "hours": s.hours,
                },
            )
            expect(r, (201, 409))
            if r.status_code == 409:  # scheduled before: is its attendance recorded too?
                r = await trn.get(f"/sessions/{s.session_id}")
                expect(r, (200,))
                recorded = r.json()["person_times"] > 0
            else:
                recorded = False
            if s.attendees and not recorded:
                body = {
                    "attendances": [
                        {
                            "attendee_kind": a.kind,
                            "attendee_id": person_of[a.person],
                            "station_id": station_of[a.township],
                            "hours": a.hours,
                            "credits": a.credits,
                        }
                        for a in s.attendees
                    ]
                }
                path = f"/sessions/{s.session_id}/attendance"
                r = await retry_while_unknown(lambda: trn.post(path, json=body), patience)
                expect(r, (200, 409))
            done += 1
            if done % 100 == 0 or done == len(scenario.sessions):
                note("training", done, len(scenario.sessions))

    await run_all(*(hold(s) for s in scenario.sessions))


def _by_row(item: tuple[str, str]) -> int:
    return int(item[0])


async def _verify(
    act: httpx.AsyncClient, first_held: dict[str, str], people: People, gate: asyncio.Semaphore
) -> int:
    """The county official verifies each station's first held activity (a re-run finds it
    verified already, or its month closed: 409, left as it is); the number verified."""

    async def verify(township: str, activity_id: str) -> None:
        county = people.county_officer(township[:6])
        async with gate:
            r = await act.post(f"/activities/{activity_id}/verification", json={}, headers=county)
            expect(r, (200, 409))

    await run_all(*(verify(t, aid) for t, aid in first_held.items()))
    return len(first_held)


CHECKLIST = dict.fromkeys(
    ("plans_checked", "briefings_checked", "photos_checked", "staff_talk", "site_visit"), True
)


async def _supervise(
    trn: httpx.AsyncClient,
    scenario: Scenario,
    station_of: dict[str, str],
    people: People,
    gate: asyncio.Semaphore,
    patience: float,
    note: Progress,
) -> None:
    """Each station's monthly visit planned and completed when it took place (the three
    steps, findings, rectification items) by its county's official, and the items closed by
    the province's once rectified (who found a problem does not sign off its fix); a 409
    means the step is done (one visit per station and month: the service's id names both)."""
    done = 0

    async def supervise(v: Visit) -> None:
        nonlocal done
        async with gate:
            sid = station_of[v.township]
            county = people.county_officer(v.township[:6])
            body = {"station_id": sid, "month": v.month, "supervisor_id": v.supervisor_id}
            r = await retry_while_unknown(
                lambda: trn.post("/supervision-visits", json=body, headers=county), patience
            )
            expect(r, (201, 409))
            visit_id = f"sv-{sid}-{v.month}"
            if v.visited_on is not None:
                r = await trn.post(
                    f"/supervision-visits/{visit_id}/completion",
                    headers=county,
                    json={
                        "visited_on": str(v.visited_on),
                        "checklist": CHECKLIST,
                        "findings": v.findings,
                        "items": [
                            {
                                "category": it.category,
                                "description": it.description,
                                "deadline": str(it.deadline),
                            }
                            for it in v.items
                        ],
                    },
                )
                expect(r, (200, 409))
                for i, it in enumerate(v.items):
                    if it.closed_on is not None:
                        r = await trn.post(
                            f"/supervision-visits/{visit_id}/items/{visit_id}-{i + 1}/closure",
                            json={"closed_on": str(it.closed_on), "note": "已整改，材料已补齐"},
                        )
                        expect(r, (200, 409))
            done += 1
            if done % 250 == 0 or done == len(scenario.visits):
                note("supervision", done, len(scenario.visits))

    await run_all(*(supervise(v) for v in scenario.visits))


async def _import(client: httpx.AsyncClient, path: str, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    r = await client.post(
        path, content=buf.getvalue().encode(), headers={"Content-Type": "text/csv"}
    )
    expect(r, (200,))
    if r.json()["errors"]:
        raise RuntimeError(f"{path}: {r.json()['errors'][:3]}")


async def _stations(reg: httpx.AsyncClient, province: str, wanted: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    offset = 0
    while True:
        page = (
            await reg.get("/stations", params={"region": province, "limit": 500, "offset": offset})
        ).json()
        for s in page["items"]:
            if s["region_code"] in wanted:
                found[s["region_code"]] = s["station_id"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return found


async def _refuse_another_scenario(reg: httpx.AsyncClient, programme_id: str) -> None:
    """Loading the same scenario again changes nothing; loading another one (another size,
    seed or start month) over a stack that holds one cannot work: a station has one
    supervision visit a month, already recorded with the other scenario's findings, and the
    province-wide views would hold both (decision 0010). Say so before writing anything."""
    page = await reg.get("/programmes")
    expect(page, (200,))
    others = [
        p["programme_id"]
        for p in page.json()["items"]
        if p["programme_id"].startswith(PROGRAMME_PREFIX) and p["programme_id"] != programme_id
    ]
    if others:
        raise RuntimeError(
            f"this stack already holds another scenario ({', '.join(sorted(others))}), so "
            f"{programme_id} would mix with it. Run the same arguments again, or start "
            "afresh: ./dev down, remove the stack's folder (WUSHE_HOME, default .wushe/), "
            "then ./dev up"
        )


def foundation_credit_code(province: str) -> str:
    """The funding foundation's unified social credit code: registered with civil affairs as a
    foundation (53), in the scenario's own province. Each province's scenario has its own, so
    scenarios of different provinces on one broker never name one organisation differently."""
    first17 = f"53{province.ljust(6, '0')}MJ0000001"
    return first17 + uscc_check_char(first17)


async def _org_id(reg: httpx.AsyncClient, credit_code: str) -> str:
    """The id of the organisation registered under `credit_code` (a re-run's 409)."""
    page = await reg.get("/organisations", params={"kind": "foundation", "limit": 500})
    expect(page, (200,))
    return str(next(o["org_id"] for o in page.json()["items"] if o["credit_code"] == credit_code))
