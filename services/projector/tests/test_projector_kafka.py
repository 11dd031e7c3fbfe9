"""The projector on real Kafka: two instances sharing the partitions give the numbers one
would, with every event delivered twice; the views API answers by region and as of a day."""

from __future__ import annotations

from datetime import date, timedelta

from projector.app import create_app
from projector.settings import ProjectorSettings
from wushe.auth import DevKeys
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe.store import create_mongo_client
from wushe.topics import group_size
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import publish_all, serve, wait_for

DAY = date(2026, 3, 1)


def activity_events(n: int, tag: str) -> tuple[list[Envelope], dict[str, int]]:
    envelopes: list[Envelope] = []
    expected = {"activities": 0, "person_times:elders": 0}
    for i in range(n):
        city = ("3601", "3607")[i % 2]
        sid = f"st-{city}04002"
        aid = f"act-{tag}-{i}"
        day = DAY + timedelta(days=i % 20)
        facts = act.ActivityFacts(
            activity_id=aid,
            station_id=sid,
            region_code=f"{city}04002",
            service_area="elder_services",
            kind="community_event",
            activity_date=day,
        )
        held = act.ActivityHeld(
            activity=facts,
            held_on=day,
            counts=act.Counts(sessions=1, person_times={"elders": 10 + i}),
            linkage=act.Linkage(),
        )
        envelopes.append(
            Envelope.wrap(held, source="/wushe/activities", subject=aid).model_copy(
                update={"sequence": "0000000002.0000"}
            )
        )
        expected["activities"] += 1
        expected["person_times:elders"] += 10 + i
    return envelopes, expected


async def test_two_instances_and_duplicates_give_exact_views(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    settings = ProjectorSettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"views_{unique}",
        views_group=f"views.{unique}",
        batch_size=25,
    )
    envelopes, expected = activity_events(60, unique)
    auth = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    first = create_app(settings, token_verifier=keys.verifier())
    second = create_app(settings, token_verifier=keys.verifier())
    try:
        async with serve(first) as views, serve(second) as views2:
            await publish_all(stack.cfg.kafka_bootstrap, envelopes, times=2)

            async def caught_up() -> bool:
                # Our events are the only ones in March 2026 in these two cities (other
                # tests' activities elsewhere in 36 must not make this look done).
                resp = await views.get(
                    "/views/activities",
                    headers=auth,
                    params={"region": "36", "by": "city", "as_of": str(DAY + timedelta(days=19))},
                )
                by_city = resp.json().get("by_region", {})
                done = sum(by_city.get(c, {}).get("activities", 0) for c in ("3601", "3607"))
                return done >= expected["activities"]

            await wait_for(caught_up, timeout_s=60, what="both projectors caught up")
            # Our events are the only ones in March 2026 for these two stations.
            march = await views.get(
                "/views/activities",
                headers=auth,
                params={"region": "36", "by": "city", "as_of": str(DAY + timedelta(days=19))},
            )
            body = march.json()
            got = {
                k: body["by_region"]["3601"].get(k, 0) + body["by_region"]["3607"].get(k, 0)
                for k in expected
            }
            assert got == expected
            half = await views.get(
                "/views/activities",
                headers=auth,
                params={"region": "3601", "as_of": str(DAY + timedelta(days=9))},
            )
            assert 0 < half.json()["totals"]["activities"] < expected["activities"] // 2 + 1
            exported = await views.get(
                "/views/activities.csv",
                headers=auth,
                params={"region": "36", "by": "city", "as_of": str(DAY + timedelta(days=19))},
            )
            assert exported.headers["content-type"].startswith("text/csv")
            lines = exported.text.splitlines()
            assert lines[0].startswith("region_code,as_of,")
            assert {line.split(",")[0] for line in lines[1:]} >= {"3601", "3607"}
            # Either instance may have applied them: read both.
            metrics = (await views.get("/metrics")).text + (await views2.get("/metrics")).text
            assert 'wushe_projection_freshness_seconds{topic="activities.activities"}' in metrics
            assert 'wushe_projection_events_total{topic="activities.activities"}' in metrics
            hubei = {"Authorization": "Bearer " + keys.issue(subject="hb", region_scope="42")}
            assert (
                await views.get("/views/activities", headers=hubei, params={"region": "36"})
            ).status_code == 404
            # Two instances share the views group: a rebuild (which pauses the live consumer
            # of one process) is refused until the projector runs as one instance.
            ops = {
                "Authorization": "Bearer "
                + keys.issue(subject="ops", region_scope="36", roles=["platform_operator"])
            }

            async def both_joined() -> bool:
                return await group_size(stack.cfg.kafka_bootstrap, settings.views_group) == 2

            await wait_for(both_joined, timeout_s=60, what="both instances in the views group")
            refused = await views.post("/views/rebuilds", headers=ops)
            assert refused.status_code == 409, refused.text
            assert "2 projector instances" in refused.text
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        await client.drop_database(f"views_{unique}")
        await client.close()


async def test_programme_progress_through_the_views_api(stack: LocalStack, unique: str) -> None:
    from wushe.contracts.events import registry as reg

    keys = DevKeys.generate()
    settings = ProjectorSettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"views_{unique}",
        views_group=f"views.{unique}",
    )
    pid = f"pg-{unique}"
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
    envelopes = [
        Envelope.wrap(created, source="/wushe/registry", subject=pid).model_copy(
            update={"sequence": "0000000001.0000"}
        )
    ]
    for i, sid in enumerate(("st-360104002", "st-360704002")):
        enrolled = reg.StationEnrolled(
            programme_id=pid,
            station_id=sid,
            region_code=sid[3:],
            enrolled_on=date(2026, 1, 1),
            targets=targets,
        )
        envelopes.append(
            Envelope.wrap(enrolled, source="/wushe/registry", subject=pid).model_copy(
                update={"sequence": f"{i + 2:010d}.0000"}
            )
        )
    for n in range(6):  # the first station holds six sessions by mid-year, the second none
        facts = act.ActivityFacts(
            activity_id=f"a-{unique}-{n}",
            station_id="st-360104002",
            region_code="360104002",
            programme_ids=[pid],
            service_area="elder_services",
            kind="community_event",
            activity_date=date(2026, 3, 1 + n),
        )
        held = act.ActivityHeld(
            activity=facts,
            held_on=facts.activity_date,
            counts=act.Counts(sessions=1, person_times={"elders": 9}),
            linkage=act.Linkage(),
        )
        envelopes.append(
            Envelope.wrap(held, source="/wushe/activities", subject=facts.activity_id).model_copy(
                update={"sequence": "0000000002.0000"}
            )
        )
    auth = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    app = create_app(settings, token_verifier=keys.verifier())
    try:
        async with serve(app) as views:
            await publish_all(stack.cfg.kafka_bootstrap, envelopes)

            async def arrived() -> bool:
                resp = await views.get(
                    f"/views/programmes/{pid}/progress",
                    headers=auth,
                    params={"as_of": "2026-07-02"},
                )
                # Until the enrolments are applied the totals have no measures yet.
                sessions = resp.json().get("totals", {}).get("sessions", {})
                return resp.status_code == 200 and sessions.get("actual") == 6

            await wait_for(arrived, timeout_s=60, what="programme progress")
            body = (
                await views.get(
                    f"/views/programmes/{pid}/progress",
                    headers=auth,
                    params={"as_of": "2026-07-02"},
                )
            ).json()
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
            params = {"as_of": "2026-07-02", "stations_limit": "1"}
            while True:
                page = (
                    await views.get(
                        f"/views/programmes/{pid}/progress", headers=auth, params=params
                    )
                ).json()
                pages.append(list(page["per_station"]))
                assert page["totals"] == body["totals"]  # every page carries the totals
                if page["next_stations_after"] is None:
                    break
                params["stations_after"] = page["next_stations_after"]
            assert pages == [["st-360104002"], ["st-360704002"]]
            city = (
                await views.get(
                    f"/views/programmes/{pid}/progress",
                    headers=auth,
                    params={"as_of": "2026-07-02", "region": "3607"},
                )
            ).json()
            assert city["stations"] == 1
            assert city["totals"]["sessions"]["actual"] == 0
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        await client.drop_database(f"views_{unique}")
        await client.close()


async def test_rebuild_from_offset_zero_switches_to_equal_views(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    settings = ProjectorSettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"views_{unique}",
        views_group=f"views.{unique}",
    )
    envelopes, _expected = activity_events(30, unique)
    auth = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    admin = {
        "Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36", roles=["admin"])
    }
    operator = {
        "Authorization": "Bearer "
        + keys.issue(subject="ops", region_scope="36", roles=["platform_operator"])
    }
    app = create_app(settings, token_verifier=keys.verifier())
    march = {"region": "36", "as_of": str(DAY + timedelta(days=19))}
    try:
        async with serve(app) as views:
            await publish_all(stack.cfg.kafka_bootstrap, envelopes)

            async def counted(n: int) -> bool:
                totals = (await views.get("/views/activities", headers=auth, params=march)).json()[
                    "totals"
                ]
                return totals.get("activities", 0) >= n

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
            assert (await views.get(f"/views/rebuilds/{rid}", headers=admin)).status_code == 404

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
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        await client.drop_database(f"views_{unique}")
        await client.close()


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
