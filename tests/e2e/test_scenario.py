"""The main job, small: a generated scenario played through the public REST APIs of the
real services on the real stack, and the views (programme progress, money, training and
supervision, and the foundation's partner feed) compared exactly with the totals the
generator computed from its own records."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from wushe.auth import DevKeys
from wushe_dev import partner, scenario
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import (
    every_record,
    giving_validator,
    personal_data_in,
    record_bytes,
    wait_for,
)

PROVINCE = "46"  # Hainan: no other test writes there


async def test_a_small_scenario_through_the_apis_equals_the_generators_totals(
    stack: LocalStack, unique: str, platform: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every line the services log, for the scan at the end
    keys = DevKeys.generate()
    token = keys.issue(subject=f"scenario-{unique}", region_scope=PROVINCE, roles=["admin"])
    people = scenario.People(keys.issue, PROVINCE)  # who records the scenario, by role
    async with platform(unique, keys) as urls:
        townships = await scenario.townships_of(urls.registry, token, PROVINCE)
        assert len(townships) > 100  # every township of the province, from the API
        config = scenario.Config(province=PROVINCE, stations=6, months=3, seed=3)
        generated = scenario.generate(config, townships)
        again = scenario.generate(config, townships)
        assert again.expected() == generated.expected()  # deterministic from the seed
        expected = generated.expected()
        assert len({t[:4] for t, _ in generated.townships}) > 1  # spread over cities
        ids = await scenario.load(generated, urls, people)
        final = await scenario.wait_for_views(urls.projector, token, generated, timeout_s=240)
        assert scenario.actuals(final) == expected["totals"]
        assert {m: final["totals"][m]["target"] for m in expected["targets"]} == expected["targets"]
        assert final["stations"] == 6
        # Distinct elders served (人数): from the pseudonyms of the elders each activity named.
        reach = await scenario.reach_of(urls.projector, token, PROVINCE)
        assert reach["totals"]["persons:elders"] > 0
        assert scenario.elders_agree(generated, reach), (reach, generated.distinct_elders())
        for township, figures in expected["per_station"].items():
            station = ids["stations"][township]
            got = {m: final["per_station"][station].get(m, {}).get("actual", 0) for m in figures}
            assert got == figures, township
        headers = {"Authorization": f"Bearer {token}"}
        money: dict[str, int] = {}

        async def money_projected() -> bool:
            # The money events travel on their own topic: wait for them too.
            async with httpx.AsyncClient(base_url=urls.projector, headers=headers) as views:
                r = await views.get(f"/views/lineage/{ids['donor_id']}")
            totals = r.json().get("totals", {}) if r.status_code == 200 else {}
            money.update({k: totals.get(k, 0) for k in expected["money"]})
            return money == expected["money"]

        await wait_for(money_projected, timeout_s=120, what="the money in the lineage view")
        assert money == expected["money"]
        # The foundation follows the same money on its own feed (decision 0028).
        feed: dict[str, int] = {}

        async def feed_complete() -> bool:
            ledger = partner.PartnerLedger(ids["donor_id"])
            totals = (await partner.follow(stack.cfg.kafka_bootstrap, ledger)).totals()
            feed.update({k: totals[k] for k in expected["money"]})
            return feed == expected["money"]

        await wait_for(feed_complete, timeout_s=60, what="the foundation's feed")
        # What the money delivered: the activities naming their station's allocation, in the
        # lineage view, on the fund (its feed's outcomes) and in its monthly statements.
        assert generated.lineage_totals()["activities"] > 0
        outcomes = await scenario.funded_outcomes(urls, token, generated, ids, timeout_s=120)
        assert scenario.outcomes_agree(generated, outcomes), outcomes
        assert outcomes["stated"], outcomes  # the scenario's first months are over
        # Its public disclosure: the foundation's grants as 360Giving data, valid against the
        # standard's schema, and no page or file of it carries anyone's personal data.
        named = [p.name for p in (*generated.volunteers, *generated.social_workers)]
        async with httpx.AsyncClient(base_url=urls.donations) as public:  # no token
            grants = await public.get(f"/disclosure/funders/{ids['donor_id']}/360giving.json")
            assert grants.status_code == 200, grants.text
            giving_validator().validate(grants.json())
            assert len(grants.json()["grants"]) == len(generated.townships)
            fund = f"/disclosure/funds/{ids['fund_id']}"
            pages = [grants, *[await public.get(fund + tail) for tail in ("", ".csv", "/page")]]
        for page in pages:
            assert page.status_code == 200, page.text
            assert personal_data_in(page.content, named) == [], page.url
        # Training and supervision: the province's `training` view, and each city's, and as
        # of a day inside the scenario, equal the generator's own figures exactly.
        assert expected["training"]["training_sessions"] == len(generated.sessions) > 1
        assert expected["training"]["supervision_visits_planned"] == 6 * 3
        assert ids["social_workers"] == len(generated.social_workers)
        training = await scenario.wait_for_training(urls.projector, token, generated, timeout_s=120)
        assert training == expected["training"]
        by_city = await scenario.training_of(urls.projector, token, PROVINCE, by="city")
        assert by_city["by_region"] == expected["training_by_city"]
        middle = config.start + timedelta(days=45)
        then = await scenario.training_of(urls.projector, token, PROVINCE, as_of=middle)
        assert then["totals"] == generated.training_totals(as_of=middle)
        printed = scenario.report(
            generated,
            ids,
            final,
            {},
            {"projector": urls.projector},
            "-",
            training,
            outcomes=outcomes,
        )
        assert "views equal the generator's own totals: yes" in printed
        assert "training view equals the generator's own totals: yes" in printed
        assert "monthly statements" in printed
        assert "equal the generator's: yes" in printed
        assert f"{expected['supervision']['done']} of 18 monthly visits done" in printed
        # Loading again changes nothing: every step is idempotent.
        await scenario.load(generated, urls, people)
        final = await scenario.wait_for_views(urls.projector, token, generated, timeout_s=30)
        assert scenario.actuals(final) == expected["totals"]
        again = await scenario.wait_for_training(urls.projector, token, generated, timeout_s=30)
        assert again == expected["training"]
        # Another scenario (another seed) over this one is refused before it writes anything:
        # its supervision visits would meet this one's, and the views would mix both.
        other_seed = scenario.generate(replace(config, seed=4), townships)
        assert {t for t, _ in other_seed.townships} != {t for t, _ in generated.townships}
        with pytest.raises(RuntimeError, match="already holds another scenario"):
            await scenario.load(other_seed, urls, people)
        async with httpx.AsyncClient(base_url=urls.registry, headers=headers) as reg:
            programmes = (await reg.get("/programmes")).json()["items"]
            stations = (await reg.get("/stations", params={"limit": 1})).json()["total"]
        assert [p["programme_id"] for p in programmes] == [generated.programme_id]
        assert stations == len(generated.townships)
        # Another province sees none of it: each record by id is a 404 exactly like an id
        # that does not exist, lists leave it out, and the views show nothing of Hainan.
        other = {
            "Authorization": "Bearer "
            + keys.issue(subject="jx", region_scope="36", roles=["admin"])
        }
        station = next(iter(ids["stations"].values()))
        by_id = [
            (urls.registry, "/stations/{}", station),
            (urls.donations, "/donors/{}", ids["donor_id"]),
            (urls.donations, "/funds/{}", ids["fund_id"]),
            (urls.projector, "/views/programmes/{}/progress", ids["programme_id"]),
        ]
        async with httpx.AsyncClient(headers=other, timeout=30) as jx:
            for base, template, real in by_id:
                path = template.format(real)
                hidden = await jx.get(base + path)
                missing = await jx.get(base + template.format("zz-none"))
                assert hidden.status_code == missing.status_code == 404, (path, hidden.text)
                # nothing tells the two apart but the id the caller sent
                assert hidden.text == missing.text.replace("zz-none", real)
            listed = (await jx.get(urls.volunteers + "/volunteers", params={"limit": 200})).json()
            assert all(not v["region_code"].startswith(PROVINCE) for v in listed["items"])
            seen = await jx.get(urls.projector + "/views/activities", params={"region": PROVINCE})
            assert seen.status_code == 404  # another province's figures: not even their shape

    # Personal data: none of the scenario's people (ID numbers, mobiles, names) on any topic
    # of the broker, dead-letter topics included, or in any log line of the services or of
    # the stack's servers.
    people = [*generated.volunteers, *generated.social_workers]
    assert people
    assert all(p.id_number and p.phone for p in people)
    # A two-character name can also be part of a place name (高平 in 高平镇): those cannot
    # be told apart from the public place name, so they are left out of the name search.
    places = [name for _, name in townships]
    names = {p.name for p in people if not any(p.name in place for place in places)}
    assert len(names) > len(people) // 2
    topics = await every_record(stack.cfg.kafka_bootstrap)
    dead_letter_topics = sum(t.endswith(".dlq") for t in topics)  # read like the others
    scanned = sum(len(records) for records in topics.values())
    assert scanned >= len(people) + len(generated.activities)  # the scenario's events at least
    for topic, records in topics.items():
        for record in records:
            leaks = personal_data_in(record_bytes(record), names)
            assert not leaks, (topic, record.offset, leaks)
    assert len(caplog.records) > 100
    assert not personal_data_in(caplog.text.encode(), names)
    server_logs = server_log_files(stack)
    assert server_logs
    # Kafka's topic segments hold every record, bytes and binary framing: the records were
    # scanned above, and in a raw segment an 11-digit run inside a random id (a consumer
    # group's, a member's) looks like a mobile number, so there only the scenario's own
    # values count (CI found `16482500980` in `__consumer_offsets`; no one's phone).
    exact = [v.encode() for p in people for v in (p.id_number, p.phone)]
    exact += [name.encode() for name in names]
    segments = stack.cfg.home / "kafka" / "data"
    for path in server_logs:
        blob = path.read_bytes()
        if segments in path.parents:
            assert not [v for v in exact if v in blob], path
        else:
            assert not personal_data_in(blob, names), path
    print(
        f"\n[pii] {scanned} records of {len(topics)} topics ({dead_letter_topics} dead-letter),"
        f" {len(caplog.records)} log records, {len(server_logs)} server logs: nothing found"
    )


def server_log_files(stack: LocalStack) -> list[Path]:
    """The log files of the stack's servers (Kafka, FerretDB, Prometheus)."""
    return [p for p in Path(stack.cfg.home).rglob("*.log") if p.is_file()]
