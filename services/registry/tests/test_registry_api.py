"""The registry's REST API on the real stack: happy paths, bad input (4xx with the field and
nothing written), region scope (another province sees 404), boundary changes."""

from __future__ import annotations

from typing import Any

from wushe.auth import DevKeys
from wushe_dev.fixtures import bearer, commits, created, new_organisation

JX = "36"
QINGYUNPU_STREET = "360104002"  # 洪都街道, Nanchang


def change(kind: str, on: str, old: dict[str, str], new: dict[str, str]) -> dict[str, Any]:
    """A boundary change's body; `old` and `new` regions as code: name."""
    refs = [[{"code": c, "name": n} for c, n in side.items()] for side in (old, new)]
    return {"kind": kind, "effective_date": on, "old": refs[0], "new": refs[1]}


async def test_station_lifecycle(registry: Any, auth: Any, keys: DevKeys) -> None:
    client, _ = registry
    h = auth(JX)
    org_id = await new_organisation(
        client, h, "南昌市青云谱区社会工作服务中心", "91350100M000100Y43", "3601"
    )
    contract = {"contract_start": "2024-01-01", "contract_end": "2026-12-31"}
    functions = {"functions": ["elder_service", "minors_protection"]}
    details = {"hotline": "0791-86000000", **contract, **functions}
    body = {"region_code": QINGYUNPU_STREET, "operator_org_id": org_id, **details}
    station = await created(client, "/stations", h, body)
    assert station["station_id"] == "st-360104002"
    assert (station["name"], station["kind"], station["status"]) == (
        "洪都街道社工站",
        "street",
        "planned",
    )

    sid = station["station_id"]
    assert (await client.get(f"/stations/{sid}", headers=h)).json()["hotline"] == "0791-86000000"
    opened = await client.post(
        f"/stations/{sid}/status", headers=h, json={"to": "operating", "reason": "开站"}
    )
    assert opened.json()["status"] == "operating"
    # Who rated is the province official's token subject; a body naming a rater is refused.
    province = bearer(keys, JX, "province-1", ["province_officer"])
    rating = {"stars": 5, "rated_on": "2026-06-30", "reason": "五星站点"}
    old_client = await client.post(
        f"/stations/{sid}/ratings", headers=province, json={**rating, "rated_by": "江西省民政厅"}
    )
    assert old_client.status_code == 422, old_client.text
    assert old_client.json()["errors"][0]["loc"][-1] == "rated_by"
    rated = await client.post(f"/stations/{sid}/ratings", headers=province, json=rating)
    assert rated.status_code == 200, rated.text
    assert (rated.json()["rating"]["stars"], rated.json()["rating"]["rated_by"]) == (
        5,
        "province-1",
    )
    room = await client.post(
        f"/stations/{sid}/rooms",
        headers=h,
        json={"room_region_code": "360104002001", "name": "社区社工室"},
    )
    assert room.status_code == 201
    assert room.json()["rooms"][0]["room_id"] == "rm-360104002001"
    patched = await client.patch(f"/stations/{sid}", headers=h, json={"hotline": "12345"})
    assert patched.json()["hotline"] == "12345"
    assert patched.json()["version"] == 5

    page = await client.get(
        "/stations", headers=h, params={"region": "3601", "status": "operating"}
    )
    assert page.json()["total"] == 1
    assert page.json()["items"][0]["station_id"] == sid
    assert page.json()["items"][0]["version"] == 5


async def test_bad_input_is_a_clear_4xx_and_writes_nothing(registry: Any, auth: Any) -> None:
    client, app = registry
    h = auth(JX)
    ok = await client.post("/stations", headers=h, json={"region_code": QINGYUNPU_STREET})
    assert ok.status_code == 201
    before = await commits(app)

    cases = [
        ({"region_code": "360104999"}, 422, "region_code", "unknown region code"),
        ({"region_code": "36010"}, 422, "region_code", "pattern"),
        ({"region_code": "420102001"}, 403, "region_code", "outside your region scope"),
        ({"region_code": QINGYUNPU_STREET}, 409, "region_code", "already has station"),
        ({"region_code": "360104007", "hotline": "call me"}, 422, "hotline", "digits"),
        (
            {
                "region_code": "360104007",
                "contract_start": "2025-01-01",
                "contract_end": "2024-01-01",
            },
            422,
            "contract_end",
            "before",
        ),
        ({"region_code": "360104007", "station_id": "st-x"}, 422, "station_id", "xtra"),
        ({"region_code": "360104007", "status": "closed"}, 422, "status", ""),
        (
            {"region_code": "360104007", "operator_org_id": "org-x"},
            422,
            "operator_org_id",
            "no organisation",
        ),
    ]
    for body, code, field, reason in cases:
        resp = await client.post("/stations", headers=h, json=body)
        assert resp.status_code == code, (body, resp.text)
        detail = resp.json()["errors"][0]
        assert detail["loc"][-1] == field, (body, detail)
        assert reason in detail["msg"], (body, detail)

    sid = ok.json()["station_id"]
    bad_transition = await client.post(
        f"/stations/{sid}/status", headers=h, json={"to": "suspended", "reason": "x"}
    )
    assert bad_transition.status_code == 409
    assert "planned -> suspended is not allowed" in bad_transition.json()["errors"][0]["msg"]
    bad_room = await client.post(
        f"/stations/{sid}/rooms", headers=h, json={"room_region_code": "360104006001", "name": "x"}
    )
    assert bad_room.status_code == 422
    assert await commits(app) == before


async def test_another_province_sees_nothing(registry: Any, auth: Any) -> None:
    client, app = registry
    created = await client.post(
        "/stations", headers=auth(JX), json={"region_code": QINGYUNPU_STREET}
    )
    sid = created.json()["station_id"]
    hubei = auth("42")
    before = await commits(app)
    assert (await client.get(f"/stations/{sid}", headers=hubei)).status_code == 404
    missing = (await client.get("/stations/st-none", headers=hubei)).json()["detail"]
    hidden = (await client.get(f"/stations/{sid}", headers=hubei)).json()["detail"]
    assert hidden.replace(sid, "st-none") == missing  # indistinguishable from absent
    assert (
        await client.patch(f"/stations/{sid}", headers=hubei, json={"hotline": "12345"})
    ).status_code == 404
    assert (
        await client.post(
            f"/stations/{sid}/status", headers=hubei, json={"to": "operating", "reason": "x"}
        )
    ).status_code == 404
    listed = await client.get("/stations", headers=hubei, params={"region": "36"})
    assert listed.json()["total"] == 0
    nanchang_city = auth("3601")
    assert (await client.get(f"/stations/{sid}", headers=nanchang_city)).status_code == 200
    ganzhou = auth("3607")
    assert (await client.get(f"/stations/{sid}", headers=ganzhou)).status_code == 404
    assert await commits(app) == before
    assert (await client.get("/stations")).status_code == 401


async def test_regions_lookup_and_boundary_change(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = auth(JX)
    region = (await client.get("/regions/360104002", headers=h)).json()
    assert region["name"] == "洪都街道"
    assert [a["name"] for a in region["ancestors"]] == ["江西省", "南昌市", "青云谱区"]
    children = (await client.get("/regions/3601/children", headers=h)).json()
    assert "360104" in {c["code"] for c in children}
    found = (await client.get("/regions", headers=h, params={"q": "洪都", "within": "36"})).json()
    assert "360104002" in {r["code"] for r in found}

    await client.post("/stations", headers=h, json={"region_code": QINGYUNPU_STREET})
    hongdu, jingshan = {"360104002": "洪都街道"}, {"360104006": "京山街道"}
    merged = change("merge", "2026-01-01", hongdu | jingshan, {"360104098": "洪京街道"})
    merge = await client.post("/boundary-changes", headers=h, json={**merged, "reason": "街道合并"})
    assert merge.status_code == 201, merge.text
    assert merge.json()["stations_moved"] == ["st-360104002"]

    assert (await client.get("/regions/360104002", headers=h)).status_code == 404
    then = await client.get("/regions/360104002", headers=h, params={"as_of": "2025-12-31"})
    assert then.json()["name"] == "洪都街道"
    assert (await client.get("/regions/360104098", headers=h)).json()["name"] == "洪京街道"
    history = (await client.get("/stations/st-360104002/region-history", headers=h)).json()
    assert [s["region_code"] for s in history] == ["360104002", "360104098"]
    assert history[1]["since"] == "2026-01-01"

    renamed = change("rename", "2026-02-01", hongdu, {"360104002": "新洪都街道"})
    again = await client.post("/boundary-changes", headers=h, json=renamed)
    assert again.status_code == 422
    assert again.json()["errors"][0]["loc"][-2:] == ["old[0]", "code"]
    elsewhere = change("rename", "2026-02-01", {"360104100": "青云谱镇"}, {"360104100": "新镇"})
    outside = await client.post("/boundary-changes", headers=auth("42"), json=elsewhere)
    assert outside.status_code == 403
