"""Closed months (数据审核/锁定) in the volunteers service, on the real stack beside the
registry that closes them: a shift, a check-in or check-out, an approval of hours or a
registration dated inside a closed month of the station's county is refused with 409
`period-closed`; today's, in an open month, goes through."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.builders import close_month_body, month_over
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import person

# A county of a province no other test records in: its closes stay its own.
TOWNSHIP = "530111001"
PERIOD_CLOSED = "urn:wushe:problem:period-closed"


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour, 0), tzinfo=clock.CHINA).isoformat()


async def test_writes_dated_in_a_closed_month_are_refused(
    stack: LocalStack, run_services: fixtures.RunServices
) -> None:
    async with run_services("registry", "volunteers") as s:
        reg, vol = s["registry"], s["volunteers"]
        admin = s.bearer("53", "yunnan-admin")
        sid = await fixtures.new_station(reg, admin, TOWNSHIP)
        await fixtures.copied(s.apps["volunteers"], [sid])
        worker, approver = (
            {
                "Authorization": "Bearer "
                + s.keys.issue(
                    subject=subject, region_scope="53", roles=["station_worker"], stations=[sid]
                )
            }
            for subject in ("worker-1", "worker-2")
        )
        county = s.bearer(TOWNSHIP[:6], "county-1", ["county_officer"])
        day = clock.today().replace(day=1) - timedelta(days=1)  # last month's last day
        who = person("段丽萍", "19800412", "021", "13987010001", TOWNSHIP[:6])
        since = str(day - timedelta(days=40))
        volunteer = await fixtures.created(
            vol, "/volunteers", worker, {**who, "station_id": sid, "registered_on": since}
        )
        vid = volunteer["volunteer_id"]

        def shift(on: date) -> dict[str, str]:
            times = {"shift_date": str(on), "starts_at": "09:00", "ends_at": "11:00"}
            return {"station_id": sid, **times, "duty": "助餐点值班"}

        # Recorded before the month closes: a shift, a check-in and its check-out.
        shift_id = (await fixtures.created(vol, "/shifts", worker, shift(day)))["shift_id"]
        checked_in = {"source": "shift", "source_id": shift_id, "at": at(day, 9)}
        ledger = await fixtures.created(vol, f"/volunteers/{vid}/attendances", worker, checked_in)
        aid = ledger["attendances"][0]["attendance_id"]
        closed = await reg.post(
            "/closed-months",
            headers=county,
            json=close_month_body(TOWNSHIP, month_over(clock.today())),
        )
        assert closed.status_code == 200, closed.text
        copy = fixtures.registry_copy(s.apps["volunteers"])
        await fixtures.eventually(
            lambda: copy.closed_month(TOWNSHIP, day), lambda m: m is not None, what="the close"
        )

        attendance = f"/volunteers/{vid}/attendances/{aid}"
        other = person("孙国强", "19750807", "033", "13987010002", TOWNSHIP[:6])
        refused = {
            "/shifts": (shift(day), "shift_date"),
            f"/volunteers/{vid}/attendances": (checked_in, "at"),
            f"{attendance}/check-out": ({"at": at(day, 11)}, "at"),
            f"{attendance}/approve": (None, "attendance_id"),
            "/volunteers": (
                {**other, "station_id": sid, "registered_on": str(day)},
                "registered_on",
            ),
        }
        for path, (body, field) in refused.items():
            r = await vol.post(path, headers=approver if "approve" in path else worker, json=body)
            assert r.status_code == 409, (path, r.text)
            assert r.json()["type"] == PERIOD_CLOSED, r.text
            assert r.json()["field"] == field, r.text
            assert f"{day:%Y-%m} is closed for {TOWNSHIP[:6]}" in r.json()["detail"]
        # Registering again changes nothing: the existing record is answered.
        again = {**who, "station_id": sid, "registered_on": str(day)}
        r = await vol.post("/volunteers", headers=worker, json=again)
        assert r.status_code == 201, r.text
        assert r.json()["volunteer_id"] == vid
        # Today is in an open month.
        assert (await vol.post("/shifts", headers=worker, json=shift(clock.today()))).is_success
