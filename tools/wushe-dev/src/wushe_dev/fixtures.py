"""One factory for every service's tests (a fixture of the `wushe_dev.testing` plugin).

`run_services("registry", "activities")` runs those services' apps in-process on the test
stack, each with a database and consumer groups of its own test (from `unique`), and gives
an httpx client per service; their databases are dropped afterwards. `bearer` makes the
headers of a token, `eventually` waits until a view or a copy shows something.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import httpx
import pytest

from wushe.auth import DevKeys
from wushe.refcopy import RegistryCopy
from wushe.store import create_mongo_client
from wushe_dev.builders import organisation_body
from wushe_dev.devstack import LocalStack
from wushe_dev.services import SERVICES
from wushe_dev.testing import serve, wait_for

T = TypeVar("T")
RunServices = Callable[..., contextlib.AbstractAsyncContextManager["Services"]]


def bearer(
    keys: DevKeys, region: str = "36", subject: str = "tester", roles: list[str] | None = None
) -> dict[str, str]:
    """The Authorization header of a token scoped to `region`, holding `roles` (by default a
    province's `admin`, who holds every role of the province)."""
    token = keys.issue(subject=subject, region_scope=region, roles=roles or ["admin"])
    return {"Authorization": f"Bearer {token}"}


def service_app(
    stack: LocalStack,
    name: str,
    unique: str,
    keys: DevKeys,
    *,
    tracer_provider: Any = None,
    **settings: Any,
) -> Any:
    """Service `name`'s app on the test stack: database `<name>_<unique>`, every consumer
    group `<name>.<setting>.<unique>`, a quick relay sweep, tokens signed by `keys`;
    `settings` override any of them (`tracer_provider`: spans to a test's own exporter)."""
    package = SERVICES[name].package
    app_module = importlib.import_module(SERVICES[name].module)
    settings_class = getattr(
        importlib.import_module(f"{package}.settings"), f"{name.title()}Settings"
    )
    groups = {
        f: f"{name}.{f}.{unique}" for f in settings_class.model_fields if f.endswith("_group")
    }
    values = {
        "kafka_bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "mongo_db": f"{name}_{unique}",
        "relay_sweep_interval_s": 0.5,
        **groups,
        **settings,
    }
    return app_module.create_app(
        settings_class(**values), token_verifier=keys.verifier(), tracer_provider=tracer_provider
    )


@dataclass
class Services:
    """Running services: `services["registry"]` is a client, `services.apps["registry"]`
    the app."""

    keys: DevKeys
    apps: dict[str, Any]
    clients: dict[str, httpx.AsyncClient]

    def __getitem__(self, name: str) -> httpx.AsyncClient:
        return self.clients[name]

    def bearer(
        self, region: str = "36", subject: str = "tester", roles: list[str] | None = None
    ) -> dict[str, str]:
        return bearer(self.keys, region, subject, roles)


@contextlib.asynccontextmanager
async def running(
    stack: LocalStack, unique: str, *names: str, keys: DevKeys | None = None, **settings: Any
) -> AsyncIterator[Services]:
    keys = keys or DevKeys.generate()
    apps = {n: service_app(stack, n, unique, keys, **settings) for n in names}
    try:
        async with contextlib.AsyncExitStack() as exits:
            clients = {n: await exits.enter_async_context(serve(a, n)) for n, a in apps.items()}
            yield Services(keys, apps, clients)
    finally:
        await drop_databases(stack, *(a.state.ctx.settings.mongo_db for a in apps.values()))


@pytest.fixture
def run_services(stack: LocalStack, unique: str) -> RunServices:
    """`async with run_services("registry", "activities", keys=..., **settings) as s:`."""
    return functools.partial(running, stack, unique)


async def drop_databases(stack: LocalStack, *names: str) -> None:
    client = create_mongo_client(stack.cfg.mongo_url)
    try:
        for name in names:
            await client.drop_database(name)
    finally:
        await client.close()


async def commits(app: Any) -> int:
    """Commits in every store of a service: what a refused command must not add to."""
    return sum([await s.commits.count_documents({}) for s in app.state.ctx.stores.values()])


async def drained(app: Any) -> None:
    """Wait until the service's relay has published every committed event."""

    async def nothing_left() -> bool:
        left: list[int] = [await s.unpublished_count() for s in app.state.ctx.stores.values()]
        return sum(left) == 0

    await wait_for(nothing_left, what="relay drained")


def registry_copy(app: Any) -> RegistryCopy:
    """The service's local copy of the registry (what its consumers keep)."""
    return RegistryCopy(app.state.ctx.db)


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    what: str,
    timeout_s: float = 30.0,
) -> T:
    """Fetch again until `until` holds of what came back, and give that."""
    seen: list[T] = []

    async def holds() -> bool:
        seen[:] = [await fetch()]
        return until(seen[0])

    await wait_for(holds, timeout_s=timeout_s, what=what)
    return seen[0]


# Registry set-up through its API, and the wait for the copies other services keep of it.


async def created(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any, status: int = 201
) -> Any:
    """POST `body` to `path`, which must answer `status`; the answer's body."""
    r = await client.post(path, headers=headers, json=body)
    assert r.status_code == status, r.text
    return r.json()


async def new_station(
    registry: httpx.AsyncClient, headers: dict[str, str], township: str, status: str = "operating"
) -> str:
    body = {"region_code": township, "status": status}
    return str((await created(registry, "/stations", headers, body))["station_id"])


async def new_organisation(
    registry: httpx.AsyncClient,
    headers: dict[str, str],
    name: str,
    credit_code: str,
    region_code: str,
    kind: str = "social_work_org",
) -> str:
    body = organisation_body(name, credit_code, region_code, kind)
    return str((await created(registry, "/organisations", headers, body))["org_id"])


async def new_programme(
    registry: httpx.AsyncClient,
    headers: dict[str, str],
    programme_id: str,
    start: date,
    end: date,
    stations: Iterable[str] = (),
    **body: Any,
) -> None:
    """蓝马甲行动 over Jiangxi from `start` to `end` (`body`: its targets), with `stations`
    enrolled on its first day."""
    period = {"start_date": str(start), "end_date": str(end)}
    programme = {"programme_id": programme_id, "name": "蓝马甲行动", "scope_regions": ["36"]}
    await created(registry, "/programmes", headers, {**programme, **period, **body})
    if enrolled := list(stations):
        enrolment = {"station_ids": enrolled, "enrolled_on": str(start)}
        await created(registry, f"/programmes/{programme_id}/enrolments", headers, enrolment, 200)


async def copied(
    app: Any,
    stations: Iterable[str] = (),
    *,
    rooms: Iterable[str] = (),
    programme: str | None = None,
    enrolled: Iterable[str] = (),
    organisations: Iterable[str] = (),
    workers: Mapping[str, str] | None = None,
) -> None:
    """Wait until the service's copy of the registry holds `stations` (with `rooms`),
    `programme` (with `enrolled`), `organisations` and social `workers` at their stations."""
    copy = registry_copy(app)
    sids, rooms, enrolled = list(stations), set(rooms), set(enrolled)

    async def holds() -> bool:
        known = [await copy.known_station(s) for s in sids]
        if None in known or not rooms <= {r for k in known if k for r in k.rooms}:
            return False
        if programme is not None:
            p = await copy.known_programme(programme)
            if p is None or not enrolled <= set(p.enrolled):
                return False
        if None in [await copy.organisation(o) for o in organisations]:
            return False
        for worker, station in (workers or {}).items():
            doc = await copy.social_worker(worker)
            if doc is None or doc.get("station_id") != station:
                return False
        return True

    name = app.state.ctx.settings.service_name
    await wait_for(holds, timeout_s=30, what=f"the registry copy in {name}")


async def at_once(
    n: int, request: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[list[httpx.Response], int]:
    """`request(0)` .. `request(n - 1)` sent together, each answered 201 (done) or 409
    (refused): the answers, and how many were done."""
    answers = await asyncio.gather(*(request(i) for i in range(n)))
    codes = Counter(r.status_code for r in answers)
    assert set(codes) <= {201, 409}, codes
    return answers, codes[201]
