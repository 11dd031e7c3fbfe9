"""A station's history and rooms as the console's station page reads them: statuses with
their reasons, star ratings, rooms with their village's name; another province, and station
staff of another station, see 404 as for a station that does not exist. A status never
begins before the station was registered."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from wushe import clock
from wushe.auth import DevKeys
from wushe_dev.fixtures import bearer, commits, created

JX = "36"
TOWNSHIP = "360104006"  # a street of 青云谱区, Nanchang
ROOM = "360104006001"


def staff(keys: DevKeys, station_id: str) -> dict[str, str]:
    token = keys.issue(
        subject="staff", region_scope="360104", roles=["station_worker"], stations=[station_id]
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_stations_history_and_rooms(registry: Any, auth: Any, keys: DevKeys) -> None:
    client, _ = registry
    h = auth(JX)
    sid = (await created(client, "/stations", h, {"region_code": TOWNSHIP}))["station_id"]
    on = str(clock.today())  # after the registration: a status never begins before it
    opened = {"to": "operating", "reason": "开站", "effective_date": on}
    assert (await client.post(f"/stations/{sid}/status", headers=h, json=opened)).is_success
    province = bearer(keys, JX, "province-1", ["province_officer"])
    rating = {"stars": 4, "rated_on": "2026-06-30", "reason": "四星站点"}
    assert (await client.post(f"/stations/{sid}/ratings", headers=province, json=rating)).is_success
    room = await client.post(f"/stations/{sid}/rooms", headers=h, json={"room_region_code": ROOM})
    assert room.status_code == 201, room.text

    history = await client.get(f"/stations/{sid}/history", headers=h)
    assert history.status_code == 200, history.text
    body = history.json()
    assert [(s["status"], s["reason"]) for s in body["status_history"]] == [
        ("planned", "registered"),
        ("operating", "开站"),
    ]
    assert body["status_history"][1]["since"] == on
    assert [(r["stars"], r["rated_on"], r["rated_by"]) for r in body["rating_history"]] == [
        (4, "2026-06-30", "province-1")
    ]

    rooms = (await client.get(f"/stations/{sid}/rooms", headers=h)).json()
    assert len(rooms) == 1
    assert rooms[0]["room_region_code"] == ROOM
    assert rooms[0]["village_name"]  # the village's name from the reference data
    assert rooms[0]["name"] == f"{rooms[0]['village_name']}社工室"

    # Station staff read their own station's; another province and another station's staff
    # are answered as for a missing station.
    own = staff(keys, sid)
    assert (await client.get(f"/stations/{sid}/history", headers=own)).status_code == 200
    others = [
        auth("42"),
        staff(keys, "st-360104001"),
    ]
    for headers in others:
        for path in (f"/stations/{sid}/history", f"/stations/{sid}/rooms"):
            r = await client.get(path, headers=headers)
            assert r.status_code == 404, (path, r.text)
    missing = await client.get("/stations/st-360104099/history", headers=h)
    assert missing.status_code == 404


async def test_a_status_cannot_begin_before_the_station_was_registered(
    registry: Any, auth: Any
) -> None:
    # Otherwise the stations view, as of that day, counts the station out of a status it was
    # not yet in (status:planned -1).
    client, app = registry
    h = auth(JX)
    sid = (await created(client, "/stations", h, {"region_code": TOWNSHIP}))["station_id"]
    history = (await client.get(f"/stations/{sid}/history", headers=h)).json()
    registered = date.fromisoformat(history["status_history"][0]["since"])
    before = await commits(app)

    early = {"to": "operating", "reason": "开站", "effective_date": str(registered - timedelta(1))}
    refused = await client.post(f"/stations/{sid}/status", headers=h, json=early)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["field"] == "effective_date"
    assert problem["errors"][0]["msg"].startswith("生效日期不能早于当前状态的开始日")
    assert str(registered) in problem["errors"][0]["msg"]
    assert await commits(app) == before
    assert (await client.get(f"/stations/{sid}/history", headers=h)).json() == history
    assert (await client.get(f"/stations/{sid}", headers=h)).json()["status"] == "planned"

    # The day of the registration itself is the earliest a status may begin.
    opened = {**early, "effective_date": str(registered)}
    assert (await client.post(f"/stations/{sid}/status", headers=h, json=opened)).is_success
