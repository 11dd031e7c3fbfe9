"""The permission table (wushe.permissions) covers every route of every service, names only
roles that exist, and is what docs/permissions.md shows: the document's table section is the
table rendered, so the two cannot drift apart."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wushe import auth, permissions
from wushe_dev.services import API_SERVICES, SERVICES

ROOT = Path(__file__).parents[2]
DOCUMENT = ROOT / "docs" / "permissions.md"
# Charitable giving's public accounts: anyone may read them (decision 0043).
DISCLOSURE = (
    "/disclosure/funds/{fund_id}",
    "/disclosure/funds/{fund_id}.csv",
    "/disclosure/funds/{fund_id}/page",
    "/disclosure/programmes/{programme_id}",
    "/disclosure/programmes/{programme_id}.csv",
    "/disclosure/programmes/{programme_id}/page",
    "/disclosure/funders/{funder_id}/360giving.json",
)
BEGIN, END = "<!-- permission table: generated -->", "<!-- end of the generated table -->"


def documented_routes(service: str) -> set[str]:
    doc = json.loads((ROOT / "services" / service / "openapi.json").read_text())
    return {f"{m.upper()} {path}" for path, ops in doc["paths"].items() for m in ops}


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    # The console has pages, not a REST API: no OpenAPI document and no rows; each page
    # calls the services' APIs with the person's own token, where these rows apply.
    assert set(permissions.TABLE) == set(API_SERVICES)
    for name, service in SERVICES.items():
        assert (ROOT / "services" / name / "openapi.json").exists() != service.console, name
    for service in API_SERVICES:
        rows = set(permissions.rows_of(service))
        routes = documented_routes(service)
        assert routes - rows == set(), f"{service}: routes without a row"
        assert rows - routes == set(), f"{service}: rows without a route"


def test_rows_name_only_known_roles_and_only_health_checks_and_disclosure_are_public() -> None:
    public = set()
    every = {"every service": permissions.EVERY_SERVICE, **permissions.TABLE}
    for service, rows in every.items():
        for route, rule in rows.items():
            assert rule.roles <= auth.ROLES, (service, route, rule.roles - auth.ROLES)
            assert rule.public or rule.roles, (service, route, "open to no role")
            if rule.public:
                public.add(route)
    checks = {"GET /health/live", "GET /health/ready", "POST /certificates/verify"}
    assert public == checks | {f"GET {path}" for path in DISCLOSURE}


def test_no_role_but_auditor_reads_the_audit_and_funders_read_only_their_money() -> None:
    for service in API_SERVICES:
        for route, rule in permissions.rows_of(service).items():
            if route == "GET /audit":
                assert rule.roles == {"auditor"}
            if "funder" in rule.roles and route.split()[1].startswith("/webhooks"):
                # its own webhooks (decision 0042): its integration, nobody else's to touch
                assert rule.roles == {"funder"}, route
            elif "funder" in rule.roles:
                assert route.startswith("GET "), route
                assert "funds" in route or "lineage" in route, route
            if "auditor" in rule.roles:
                assert route.startswith("GET "), route


def test_the_document_shows_the_table() -> None:
    text = DOCUMENT.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    expected = f"{head}{BEGIN}\n{permissions.render()}\n{END}{tail}"
    if os.environ.get("WUSHE_UPDATE_PERMISSIONS"):
        DOCUMENT.write_text(expected)
        text = expected
    assert text == expected, (
        "docs/permissions.md differs from wushe.permissions: "
        "WUSHE_UPDATE_PERMISSIONS=1 uv run --frozen pytest tests/structure -k permissions"
    )
