"""A client's full identity on the real stack, next to a real registry: only the social
worker whose client it is reads it, with a purpose; another social worker of the same
station, the station's staff, an admin are refused; every read, and every refused attempt,
is an audit record an auditor of the province reads (who, which file, why), without the
identity itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.testing import person

CLIENT = person("简秀珍", "19450802", "026", "13970040001", "360104")
YOUNG = person("付文斌", "19800311", "017", "13970040002", "360104")
PURPOSE = "入户走访前核对身份"


@pytest.fixture
async def services(run_services: fixtures.RunServices, unique: str) -> AsyncIterator[Any]:
    """The services, an admin (`admin-{unique}`) and a station they registered, known to
    activities."""
    async with run_services("registry", "activities") as s:
        admin = s.bearer("36", f"admin-{unique}")
        sid = await fixtures.new_station(s["registry"], admin, "360104002")
        await fixtures.copied(s.apps["activities"], [sid])
        yield s, s["activities"], admin, sid


def token(s: fixtures.Services, subject: str, roles: list[str], **claims: Any) -> dict[str, str]:
    claims.setdefault("region_scope", "3601")
    return {"Authorization": f"Bearer {s.keys.issue(subject=subject, roles=roles, **claims)}"}


async def test_only_the_clients_social_worker_reads_the_identity_and_each_read_is_audited(
    services: Any, unique: str
) -> None:
    s, act, admin, sid = services
    mine, colleague = f"sw-a-{unique}", f"sw-b-{unique}"
    sw_a = token(s, mine, ["social_worker"], stations=[sid])
    sw_b = token(s, colleague, ["social_worker"], stations=[sid])
    clerk = token(s, f"clerk-{unique}", ["station_worker"], stations=[sid])
    auditor = token(s, f"aud-{unique}", ["auditor"], region_scope="36")
    elsewhere = token(s, f"aud-hb-{unique}", ["auditor"], region_scope="42")
    today = str(clock.today())
    opening = {"station_id": sid, "consent_on": today, "opened_on": today}

    # Opened by a social worker: their client. Opened by the admin naming one: that one's.
    body = {**opening, **CLIENT, "categories": ["empty_nest_elder"]}
    opened = await act.post("/client-files", headers=sw_a, json=body)
    assert opened.status_code == 201, opened.text
    assert opened.json()["case_worker"] == mine
    fid = opened.json()["file_id"]
    body = {**opening, **YOUNG, "case_worker": colleague}
    assigned = await act.post("/client-files", headers=admin, json=body)
    assert assigned.json()["case_worker"] == colleague, assigned.text

    # The social worker whose client it is: the identity in full.
    read = await act.get(f"/client-files/{fid}/identity", headers=sw_a, params={"purpose": PURPOSE})
    assert read.status_code == 200, read.text
    identity = read.json()
    assert (identity["name"], identity["id_number"], identity["phone"]) == (
        CLIENT["name"],
        CLIENT["id_number"],
        CLIENT["phone"],
    )
    assert identity["categories"] == ["empty_nest_elder"]
    assert (identity["consent_on"], identity["guardian_name"]) == (today, None)
    # ... and only with a purpose.
    bare = await act.get(f"/client-files/{fid}/identity", headers=sw_a)
    assert (bare.status_code, bare.json()["field"]) == (422, "purpose")

    # Another social worker of the same station reads the masked file, not the identity.
    assert (await act.get(f"/client-files/{fid}", headers=sw_b)).status_code == 200
    refused = await act.get(
        f"/client-files/{fid}/identity", headers=sw_b, params={"purpose": "好奇"}
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "urn:wushe:problem:not-your-client"
    assert "not one of your clients" in refused.json()["detail"]
    assert CLIENT["name"] not in refused.text
    # Their own client they do read.
    theirs = await act.get(
        f"/client-files/{assigned.json()['file_id']}/identity",
        headers=sw_b,
        params={"purpose": PURPOSE},
    )
    assert theirs.json()["id_number"] == YOUNG["id_number"], theirs.text
    # The station's other staff and the admin: refused by role, and as nobody's case worker.
    by_clerk = await act.get(
        f"/client-files/{fid}/identity", headers=clerk, params={"purpose": PURPOSE}
    )
    assert by_clerk.json()["type"] == "urn:wushe:problem:role-not-permitted", by_clerk.text
    by_admin = await act.get(
        f"/client-files/{fid}/identity", headers=admin, params={"purpose": PURPOSE}
    )
    assert by_admin.json()["type"] == "urn:wushe:problem:not-your-client", by_admin.text
    # A social worker of another station: no such file.
    other_station = token(s, f"sw-c-{unique}", ["social_worker"], stations=["st-360104003"])
    by_other = await act.get(
        f"/client-files/{fid}/identity", headers=other_station, params={"purpose": PURPOSE}
    )
    assert by_other.status_code == 404, by_other.text

    # The auditor sees who read which file, why and when; the refusals too; never the identity.
    audit = await act.get("/audit", headers=auditor, params={"kind": "identity_read"})
    assert audit.status_code == 200, audit.text
    reads = [(r["subject"], r["record_id"], r["purpose"], r["status"]) for r in audit.json()]
    assert sorted(reads) == sorted(
        [
            (mine, fid, PURPOSE, 200),
            (colleague, fid, "好奇", 403),
            (colleague, assigned.json()["file_id"], PURPOSE, 200),
            (f"admin-{unique}", fid, PURPOSE, 403),
        ]
    )
    first = next(r for r in audit.json() if r["subject"] == mine)
    who = (first["roles"], first["stations"], first["region_scope"])
    assert who == (["social_worker"], [sid], "3601")
    what = (first["kind"], first["method"], first["path"], first["region_code"])
    assert what == ("identity_read", "GET", f"/client-files/{fid}/identity", "360104002")
    assert first["at"]
    one_file = await act.get("/audit", headers=auditor, params={"record_id": fid})
    assert {r["subject"] for r in one_file.json()} == {mine, colleague, f"admin-{unique}"}
    everything = await act.get("/audit", headers=auditor)
    writes = [r for r in everything.json() if r["kind"] == "write"]
    assert {r["path"] for r in writes} == {"/client-files"}
    for secret in (*CLIENT.values(), *YOUNG.values()):
        assert secret not in everything.text
    assert (await act.get("/audit", headers=elsewhere)).json() == []


async def test_a_file_opened_by_staff_has_no_reader_until_one_is_named(
    services: Any, unique: str
) -> None:
    s, act, _, sid = services
    clerk = token(s, f"clerk-{unique}", ["station_worker"], stations=[sid])
    sw = token(s, f"sw-{unique}", ["social_worker"], stations=[sid])
    today = str(clock.today())
    body = {"station_id": sid, **CLIENT, "consent_on": today, "opened_on": today}
    opened = await act.post("/client-files", headers=clerk, json=body)
    assert opened.json()["case_worker"] is None, opened.text
    fid = opened.json()["file_id"]
    r = await act.get(f"/client-files/{fid}/identity", headers=sw, params={"purpose": PURPOSE})
    assert r.status_code == 403, r.text
    assert "no social worker assigned" in r.json()["detail"]
    blank = await act.post("/client-files", headers=clerk, json={**body, "case_worker": " "})
    assert (blank.status_code, blank.json()["field"]) == (422, "case_worker"), blank.text
