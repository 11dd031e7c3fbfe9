"""The national export with full names and ID numbers (the `pii_export` role) on the real
stack, next to a real registry: each one is an audit record an auditor of the province reads
(who, which export, whose identities it held); a masked export is not a read of identities
and leaves none."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.testing import person

VOLUNTEER = person("曾凤英", "19710209", "028", "13970050001")
YESTERDAY = clock.today() - timedelta(days=1)


async def test_a_full_export_leaves_an_audit_record(
    run_services: fixtures.RunServices, unique: str
) -> None:
    async with run_services("registry", "volunteers") as s:
        reg, vol = s["registry"], s["volunteers"]
        clerk = s.bearer("36", f"clerk-{unique}")  # records (an admin: every role)
        approver = s.bearer("36", f"approver-{unique}")  # certifies what another recorded
        sid = await fixtures.new_station(reg, clerk, "360402001")
        await fixtures.copied(s.apps["volunteers"], [sid])
        since = str(YESTERDAY - timedelta(days=30))
        body = {**VOLUNTEER, "station_id": sid, "registered_on": since}
        vid = (await fixtures.created(vol, "/volunteers", clerk, body))["volunteer_id"]
        shift = {
            "station_id": sid,
            "shift_date": str(YESTERDAY),
            "starts_at": "09:00",
            "ends_at": "11:00",
            "duty": "热线值守",
        }
        shift_id = (await fixtures.created(vol, "/shifts", clerk, shift))["shift_id"]
        start = datetime.combine(YESTERDAY, time(9), tzinfo=clock.CHINA)
        ledger = await fixtures.created(
            vol,
            f"/volunteers/{vid}/attendances",
            clerk,
            {"source": "shift", "source_id": shift_id, "at": start.isoformat()},
        )
        att = ledger["attendances"][0]["attendance_id"]
        end = (start + timedelta(hours=2)).isoformat()
        path = f"/volunteers/{vid}/attendances/{att}"
        await fixtures.created(vol, f"{path}/check-out", clerk, {"at": end}, 200)
        await fixtures.created(vol, f"{path}/approve", approver, None, 200)

        params = {"period_start": str(YESTERDAY), "period_end": str(YESTERDAY), "station_id": sid}
        exporter = f"exporter-{unique}"
        full_token = s.bearer("36", exporter, ["county_officer", "pii_export"])
        full = await vol.get(
            "/exports/national-service-records.csv", headers=full_token, params=params
        )
        assert full.status_code == 200, full.text
        (row,) = list(csv.DictReader(io.StringIO(full.text)))
        assert (row["name"], row["id_number"]) == (VOLUNTEER["name"], VOLUNTEER["id_number"])
        reader = s.bearer("36", f"reader-{unique}", ["county_officer"])
        masked = await vol.get(
            "/exports/national-service-records.csv", headers=reader, params=params
        )
        assert VOLUNTEER["id_number"] not in masked.text

        auditor = s.bearer("36", f"aud-{unique}", ["auditor"])
        audit = await vol.get("/audit", headers=auditor, params={"kind": "identity_export"})
        assert audit.status_code == 200, audit.text
        (record,) = audit.json()  # the full export only
        assert (record["subject"], record["roles"]) == (exporter, ["county_officer", "pii_export"])
        assert record["record_id"] == (
            f"national-service-records.csv?period_start={YESTERDAY}&period_end={YESTERDAY}"
            f"&station_id={sid}"
        )
        assert (record["records"], record["region_code"]) == ([vid], "36")
        assert (record["path"], record["status"]) == ("/exports/national-service-records.csv", 200)
        # Who saw this volunteer's identity: asked by the volunteer's id.
        by_volunteer = await vol.get("/audit", headers=auditor, params={"record_id": vid})
        assert [r["subject"] for r in by_volunteer.json()] == [exporter]
        assert VOLUNTEER["id_number"] not in (await vol.get("/audit", headers=auditor)).text
        hubei = s.bearer("42", f"aud-hb-{unique}", ["auditor"])
        assert (await vol.get("/audit", headers=hubei)).json() == []
