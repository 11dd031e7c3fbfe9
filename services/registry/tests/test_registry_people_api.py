"""Organisations, social workers and programmes through the API on the real stack."""

from __future__ import annotations

import json
from typing import Any

from wushe_dev.builders import organisation_body
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import created, drained, new_organisation
from wushe_dev.testing import read_topic

ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
NAME = "王小红"


async def test_organisations(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = auth("36")
    body = organisation_body("南昌市青云谱区社会工作服务中心", "91350100M000100Y43", "3601")
    org = await client.post("/organisations", headers=h, json=body)
    assert org.status_code == 201, org.text
    assert org.json()["org_id"] == "org-91350100M000100Y43"
    dup = await client.post("/organisations", headers=h, json={**body, "name": "another name"})
    assert dup.status_code == 409
    not_a_code = organisation_body("x", "91350100M000100Y44", "36", "foundation")
    bad = await client.post("/organisations", headers=h, json=not_a_code)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][-1] == "credit_code"
    assert "check character" in bad.json()["errors"][0]["msg"]
    renamed = await client.patch(
        f"/organisations/{org.json()['org_id']}", headers=h, json={"name": "青云谱区社工中心"}
    )
    assert renamed.json()["name"] == "青云谱区社工中心"
    assert (
        await client.patch(
            f"/organisations/{org.json()['org_id']}", headers=auth("42"), json={"name": "x"}
        )
    ).status_code == 404
    listed = await client.get("/organisations", headers=h)
    assert listed.json()["total"] == 1
    assert (
        await client.get(f"/organisations/{org.json()['org_id']}", headers=auth("42"))
    ).status_code == 404


async def test_social_worker_personal_data_is_masked_and_never_in_events(
    stack: LocalStack, registry: Any, auth: Any
) -> None:
    client, app = registry
    h = auth("36")
    station = await client.post("/stations", headers=h, json={"region_code": "360104002"})
    person = {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE, "region_code": "360104"}
    skills = {"certification": "assistant_social_worker", "general_practice": True}
    worker = await created(client, "/social-workers", h, {**person, **skills})
    assert (worker["name"], worker["phone"], worker["id_number"]) == (
        "王**",
        "138****8000",
        "110105********002X",
    )
    wid = worker["worker_id"]
    assert ID_NUMBER not in wid

    dup = await client.post(
        "/social-workers",
        headers=h,
        json={"name": "someone", "id_number": ID_NUMBER.lower(), "region_code": "360104"},
    )
    assert dup.status_code == 409
    assert dup.json()["errors"][0]["loc"][-1] == "id_number"
    bad = await client.post(
        "/social-workers",
        headers=h,
        json={"name": NAME, "id_number": "110105194912310021", "region_code": "360104"},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][-1] == "id_number"

    assigned = await client.post(
        f"/social-workers/{wid}/assignments",
        headers=h,
        json={"station_id": station.json()["station_id"], "from_date": "2025-01-01"},
    )
    assert assigned.json()["station_id"] == "st-360104002"
    certified = await client.post(
        f"/social-workers/{wid}/certification",
        headers=h,
        json={"certification": "social_worker", "general_practice": True},
    )
    assert certified.json()["certification"] == "social_worker"
    assert (await client.get(f"/social-workers/{wid}", headers=auth("42"))).status_code == 404
    listed = await client.get("/social-workers", headers=h, params={"station_id": "st-360104002"})
    assert [w["worker_id"] for w in listed.json()["items"]] == [wid]
    assert listed.json()["items"][0]["id_number"] == "110105********002X"
    assert (await client.get("/social-workers", headers=auth("42"))).json()["total"] == 0
    new_phone = await client.patch(
        f"/social-workers/{wid}", headers=h, json={"phone": "13900139000"}
    )
    assert new_phone.json()["phone"] == "139****9000"
    bad_phone = await client.patch(f"/social-workers/{wid}", headers=h, json={"phone": "12"})
    assert bad_phone.status_code == 422

    # At rest: ciphertext only. On the topic: nothing personal at all.
    doc = await app.state.ctx.store("social_workers").current.find_one({"_id": wid})
    stored = json.dumps(doc, default=str, ensure_ascii=False)
    for secret in (ID_NUMBER, PHONE, NAME):
        assert secret not in stored

    await drained(app)
    # This test's own events (another test's registry may hold the same person: the id
    # follows from the ID number).
    ours = {
        e["id"]
        async for c in app.state.ctx.store("social_workers").commits.find({"stream_id": wid})
        for e in c["events"]
    }
    about = [
        r
        for r in await read_topic(stack.cfg.kafka_bootstrap, "registry.social-workers")
        if dict(r.headers).get("ce_subject") == wid.encode()
    ]
    records = [r for r in about if dict(r.headers)["ce_id"].decode() in ours]
    assert len(ours) == len(records) == 4
    changed = [
        json.loads(r.value)
        for r in records
        if dict(r.headers)["ce_type"] == b"registry.SocialWorkerDetailsChanged.v1"
    ]
    assert changed == [{"worker_id": wid, "region_code": "360104", "changed": ["phone"]}]
    for r in about:  # every record about this person, any test's
        wire = r.value.decode() + json.dumps([(k, v.decode()) for k, v in r.headers])
        for secret in (ID_NUMBER, PHONE, "13900139000", NAME, "110105", "138****", "139****"):
            assert secret not in wire


async def test_blue_vest_programme_over_enrolled_stations(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = auth("36")
    funder = await new_organisation(
        client, h, "浙江蚂蚁公益基金会", "91350100M000100Y43", "36", "foundation"
    )
    codes = ["360104002", "360104006", "360104007", "360104008", "360104009"]
    for code in codes:
        assert (
            await client.post("/stations", headers=h, json={"region_code": code})
        ).status_code == 201
    targets: dict[str, Any] = {"backbone_volunteers": 5000, "service_sessions": 5544}
    targets["person_times"] = {"elders": 46000}
    programme = {"programme_id": "blue-vest-jiangxi", "name": "蓝马甲行动", "scope_regions": ["36"]}
    period = {"start_date": "2022-01-01", "end_date": "2024-12-31"}
    body = {**programme, "funder_org_id": funder, **period, "total_targets": targets}
    await created(client, "/programmes", h, body)
    enrolled = await client.post(
        "/programmes/blue-vest-jiangxi/enrolments",
        headers=h,
        json={
            "station_ids": [f"st-{c}" for c in codes],
            "enrolled_on": "2022-03-01",
            "targets": "split_total",
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    assert body["enrolled_stations"] == 5
    assert body["enrolled_targets"] == body["total_targets"]  # split exactly

    unknown = await client.post(
        "/programmes/blue-vest-jiangxi/enrolments",
        headers=h,
        json={"station_ids": ["st-360104100"], "enrolled_on": "2022-03-01"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"][-1] == "station_ids[0]"
    again = await client.post(
        "/programmes/blue-vest-jiangxi/enrolments",
        headers=h,
        json={"station_ids": ["st-360104002"], "enrolled_on": "2022-03-01"},
    )
    assert again.status_code == 409
    extended = await client.patch(
        "/programmes/blue-vest-jiangxi", headers=h, json={"end_date": "2025-12-31"}
    )
    assert extended.json()["end_date"] == "2025-12-31"
    too_short = await client.patch(
        "/programmes/blue-vest-jiangxi", headers=h, json={"end_date": "2022-02-01"}
    )
    assert too_short.status_code == 422
    out = await client.post(
        "/programmes/blue-vest-jiangxi/enrolments/st-360104009/withdrawal",
        headers=h,
        json={"withdrawn_on": "2023-06-30", "reason": "承接机构更换"},
    )
    assert out.json()["enrolled_stations"] == 4
    assert (
        await client.get("/programmes/blue-vest-jiangxi", headers=auth("42"))
    ).status_code == 404
    assert (
        await client.get("/programmes/blue-vest-jiangxi", headers=auth("3601"))
    ).status_code == 200
    hubei = {"programme_id": "hubei", "name": "x", "scope_regions": ["42"]}
    outside = await client.post(
        "/programmes", headers=h, json={**hubei, **period, "total_targets": {}}
    )
    assert outside.status_code == 403
