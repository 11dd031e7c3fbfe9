"""The projector on real Kafka: two instances sharing the partitions give the numbers one
would, with every event delivered twice; the views API answers by region and as of a day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from wushe.contracts import Envelope
from wushe.topics import group_size
from wushe_dev.builders import envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually, service_app
from wushe_dev.testing import publish_all, serve, wait_for

DAY = date(2026, 3, 1)


def activity_events(n: int, tag: str) -> tuple[list[Envelope], dict[str, int]]:
    envelopes: list[Envelope] = []
    expected = {"activities": 0, "person_times:elders": 0}
    for i in range(n):
        city = ("3601", "3607")[i % 2]
        held = held_activity(
            f"act-{tag}-{i}", f"st-{city}04002", DAY + timedelta(days=i % 20), 10 + i
        )
        envelopes.append(envelope(held, held.activity.activity_id, 2))
        expected["activities"] += 1
        expected["person_times:elders"] += 10 + i
    return envelopes, expected


async def test_two_instances_and_duplicates_give_exact_views(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    envelopes, expected = activity_events(60, unique)
    async with run_services("projector", batch_size=25) as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        second = service_app(stack, "projector", unique, services.keys, batch_size=25)
        async with serve(second) as views2:
            await publish_all(stack.cfg.kafka_bootstrap, envelopes, times=2)
            march = {"region": "36", "by": "city", "as_of": str(DAY + timedelta(days=19))}

            async def by_city() -> dict[str, Any]:
                resp = await views.get("/views/activities", headers=auth, params=march)
                return dict(resp.json().get("by_region", {}))

            # Our events are the only ones in March 2026 in these two cities (other tests'
            # activities elsewhere in 36 must not make this look done).
            cities = await eventually(
                by_city,
                lambda got: (
                    sum(got.get(c, {}).get("activities", 0) for c in ("3601", "3607"))
                    >= expected["activities"]
                ),
                what="both projectors caught up",
                timeout_s=60,
            )
            got = {k: cities["3601"].get(k, 0) + cities["3607"].get(k, 0) for k in expected}
            assert got == expected
            half = await views.get(
                "/views/activities",
                headers=auth,
                params={"region": "3601", "as_of": str(DAY + timedelta(days=9))},
            )
            assert 0 < half.json()["totals"]["activities"] < expected["activities"] // 2 + 1
            exported = await views.get("/views/activities.csv", headers=auth, params=march)
            assert exported.headers["content-type"].startswith("text/csv")
            lines = exported.text.splitlines()
            assert lines[0].startswith("region_code,as_of,")
            assert {line.split(",")[0] for line in lines[1:]} >= {"3601", "3607"}
            # Either instance may have applied them: read both.
            metrics = (await views.get("/metrics")).text + (await views2.get("/metrics")).text
            assert 'wushe_projection_freshness_seconds{topic="activities.activities"}' in metrics
            assert 'wushe_projection_events_total{topic="activities.activities"}' in metrics
            hubei = services.bearer("42", "hb")
            assert (
                await views.get("/views/activities", headers=hubei, params={"region": "36"})
            ).status_code == 404
            # Two instances share the views group: a rebuild (which pauses the live consumer
            # of one process) is refused until the projector runs as one instance.
            group = second.state.ctx.settings.views_group

            async def both_joined() -> bool:
                return await group_size(stack.cfg.kafka_bootstrap, group) == 2

            await wait_for(both_joined, timeout_s=60, what="both instances in the views group")
            ops = services.bearer("36", "ops", ["platform_operator"])
            refused = await views.post("/views/rebuilds", headers=ops)
            assert refused.status_code == 409, refused.text
            assert "2 projector instances" in refused.text


def programme_events(pid: str, unique: str) -> list[Envelope]:
    """A programme over two stations, the first holding six sessions by mid-year."""
    from wushe.contracts.events import registry as reg

    targets = reg.Targets(backbone_volunteers=10, service_sessions=12, person_times={"elders": 100})
    created = reg.ProgrammeCreated(
        programme_id=pid,
        region_code="36",
        name="蓝马甲行动",
        scope_regions=["36"],
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        total_targets=reg.Targets(service_sessions=24),
        station_targets=targets,
    )
    envelopes = [envelope(created, pid, 1)]
    for i, sid in enumerate(("st-360104002", "st-360704002")):
        enrolled = reg.StationEnrolled(
            programme_id=pid,
            station_id=sid,
            region_code=sid[3:],
            enrolled_on=date(2026, 1, 1),
            targets=targets,
        )
        envelopes.append(envelope(enrolled, pid, i + 2))
    for n in range(6):
        aid = f"a-{unique}-{n}"
        held = held_activity(aid, "st-360104002", date(2026, 3, 1 + n), 9, programme_ids=[pid])
        envelopes.append(envelope(held, aid, 2))
    return envelopes


async def test_programme_progress_through_the_views_api(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    pid = f"pg-{unique}"
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        await publish_all(stack.cfg.kafka_bootstrap, programme_events(pid, unique))

        async def progress(**params: str) -> Any:
            path = f"/views/programmes/{pid}/progress"
            return await views.get(path, headers=auth, params={"as_of": "2026-07-02", **params})

        # Until the enrolments are applied the totals have no measures yet.
        resp = await eventually(
            progress,
            lambda r: (
                r.status_code == 200
                and r.json().get("totals", {}).get("sessions", {}).get("actual") == 6
            ),
            what="programme progress",
            timeout_s=60,
        )
        body = resp.json()
        assert body["stations"] == 2
        assert body["totals"]["sessions"]["target"] == 24
        assert body["totals"]["person_times:elders"]["actual"] == 54
        assert 0.49 < body["elapsed"] < 0.51
        # No volunteer events here: both lag on backbones; sessions tell them apart.
        assert {s["station_id"] for s in body["lagging"]} == {"st-360104002", "st-360704002"}
        per_station = body["per_station"]
        assert per_station["st-360104002"]["sessions"]["actual"] == 6
        assert per_station["st-360704002"]["sessions"]["actual"] == 0
        assert body["next_stations_after"] is None  # both fit the default page
        # A page at a time, by station id: the second page starts after the first's last.
        pages = []
        params = {"stations_limit": "1"}
        while True:
            page = (await progress(**params)).json()
            pages.append(list(page["per_station"]))
            assert page["totals"] == body["totals"]  # every page carries the totals
            if page["next_stations_after"] is None:
                break
            params["stations_after"] = page["next_stations_after"]
        assert pages == [["st-360104002"], ["st-360704002"]]
        city = (await progress(region="3607")).json()
        assert city["stations"] == 1
        assert city["totals"]["sessions"]["actual"] == 0
        # The cities side by side in one answer, each as its own region's answer.
        grouped = (await progress(by="city", stations_limit="0", lagging="0")).json()
        assert grouped["totals"] == body["totals"]
        assert grouped["per_station"] == {}
        assert sorted(grouped["groups"]) == ["3601", "3607"]
        for code, part in grouped["groups"].items():
            alone = (await progress(region=code, lagging="500")).json()
            assert part == {
                "stations": alone["stations"],
                "lagging": len(alone["lagging"]),
                "totals": alone["totals"],
            }
        assert body["groups"] == {}  # without `by`, none

        # A period: what was done in it (two of the six March sessions) against what the
        # programme's share of time in it asked (2 days of 364).
        path = f"/views/programmes/{pid}/progress"
        period = await views.get(
            path, headers=auth, params={"from": "2026-03-03", "to": "2026-03-04", "by": "city"}
        )
        assert period.status_code == 200, period.text
        week = period.json()
        assert (week["from"], week["as_of"]) == ("2026-03-03", "2026-03-04")
        sessions = week["totals"]["sessions"]
        assert (sessions["target"], sessions["actual"]) == (24, 2)
        assert week["totals"]["person_times:elders"]["actual"] == 18
        assert week["elapsed"] == round(2 / 364, 3)
        assert sessions["expected_by_now"] == round(24 * 2 / 364, 1)
        assert week["groups"]["3601"]["totals"]["sessions"]["actual"] == 2
        assert week["groups"]["3607"]["totals"]["sessions"]["actual"] == 0
        both = await views.get(
            path, headers=auth, params={"from": "2026-03-03", "as_of": "2026-03-04"}
        )
        assert both.status_code == 422


async def test_rebuild_from_offset_zero_switches_to_equal_views(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    envelopes, _expected = activity_events(30, unique)
    march = {"region": "36", "as_of": str(DAY + timedelta(days=19))}
    async with run_services("projector") as services:
        app, views = services.apps["projector"], services["projector"]
        auth, admin = services.bearer("36", "jx"), services.bearer("36", "jx", ["admin"])
        operator = services.bearer("36", "ops", ["platform_operator"])
        await publish_all(stack.cfg.kafka_bootstrap, envelopes)

        async def counted(n: int) -> bool:
            resp = await views.get("/views/activities", headers=auth, params=march)
            return resp.json()["totals"].get("activities", 0) >= n

        await wait_for(lambda: counted(30), timeout_s=60, what="live views")
        # What a rebuild replays must still be there: every source kept forever.
        for topic in app.state.generations.topics:
            assert await retention_of(stack.cfg.kafka_bootstrap, topic) == "-1", topic
        before_gen = app.state.generations
        old = await before_gen.current()
        # Every province's views are rebuilt: not even a province's admin may start it.
        for province in (auth, admin):
            refused = await views.post("/views/rebuilds", headers=province)
            assert refused.status_code == 403, refused.text
        started = await views.post("/views/rebuilds", headers=operator)
        assert started.status_code == 202, started.text
        rid = started.json()["rebuild_id"]
        # ...nor follow it (the permission table: platform_operator only).
        followed = await views.get(f"/views/rebuilds/{rid}", headers=admin)
        assert followed.status_code == 403, followed.text
        assert followed.json()["type"] == "urn:wushe:problem:role-not-permitted"

        async def switched() -> bool:
            run = (await views.get(f"/views/rebuilds/{rid}", headers=operator)).json()
            assert run["status"] != "failed", run
            return run["status"] == "switched"

        await wait_for(switched, timeout_s=120, what="rebuild switched")
        new = await app.state.generations.current()
        assert new.generation == started.json()["generation"] != old.generation
        assert await new.checksum() == await old.checksum()  # rebuilt == incremental

        more, _ = activity_events(5, unique + "b")  # after the switch: live, new gen
        await publish_all(stack.cfg.kafka_bootstrap, more)
        await wait_for(lambda: counted(35), timeout_s=60, what="live views after switch")
        # Served by the rebuild's own projector: its partitions and totals were in memory,
        # so neither the live batches nor the reads after the switch read every chunk.
        assert await app.state.generations.current() is new
        assert new.scans == 0


async def retention_of(bootstrap: str, topic: str) -> str:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [(_, _, _, _, entries)] = response.resources
        return str({e[0]: e[1] for e in entries}["retention.ms"])
    finally:
        await admin.close()
