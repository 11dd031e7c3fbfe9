"""What the recording pages share: the person's stations, cached lists, form values,
and the problems shown next to their fields."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from console.api.deps import SignedIn, lang_of, render, see_other
from console.backends import Api, ApiProblem
from console.domain import codes
from console.domain import record as rec
from console.domain.words import word
from console.session import Session
from wushe import clock

AGENDA_LIMIT = 20  # planned activities listed (the list is slow on FerretDB: keep it small)
VOLUNTEER_LIMIT = 100


class Once:
    """A form posted twice (a double click, a reload of the POST) records once: per person
    and form key, the first submission runs and the page it went to is remembered; a
    second one waits for the first and goes to the same page. In-process only: a plan is
    also protected across processes by its external_ref (the same key, the same activity)."""

    def __init__(self, size: int = 4096, ttl_s: float = 3600.0) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._done: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def run(self, who: str, idem: str, work: Callable[[], Awaitable[Response]]) -> Response:
        if not idem:
            return await work()
        key = (who, idem)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                done = self._done.get(key)
                if done and time.monotonic() - done[0] < self.ttl_s:
                    return see_other(done[1])
                response = await work()
                if response.status_code == 303:
                    self._done[key] = (time.monotonic(), response.headers["location"])
                    while len(self._done) > self.size:
                        self._done.popitem(last=False)
                return response
        finally:
            if not lock.locked():
                self._locks.pop(key, None)


ONCE = Once()


async def record_once(
    session: Session,
    idem: str,
    post: Callable[[], Awaitable[Response]],
    refused: Callable[[ApiProblem], Awaitable[Response]],
    raised: Collection[int] = (401,),
) -> Response:
    """A form's post, run once per form key (`ONCE`): where it went (a 303), or, when the
    service refuses it, the form again with the problem shown. A status in `raised` is no
    problem of the form's (401: sign in again) and goes on to the error page."""

    async def work() -> Response:
        try:
            return await post()
        except ApiProblem as exc:
            if exc.status in raised:
                raise
            return await refused(exc)

    return await ONCE.run(session.subject, idem, work)


# -- helpers


def now_local() -> str:
    """Now, as a datetime-local input shows it (Beijing time, to the minute)."""
    return datetime.now(clock.CHINA).strftime("%Y-%m-%dT%H:%M")


def station_of(session: Session, asked: str | None) -> str | None:
    """The station a page is about: the one asked for when it is the person's, else their
    first."""
    if asked and asked in session.stations:
        return asked
    return session.stations[0] if session.stations else None


class NoStation(Exception):
    """The person records for no station: the page says so (`no_station`)."""


def own_station(session: SignedIn, station: str | None = None) -> str:
    """A record page's station (`station_of` the one its query asks for)."""
    station_id = station_of(session, station)
    if station_id is None:
        raise NoStation()
    return station_id


OwnStation = Annotated[str, Depends(own_station)]


def posted_station(session: Session, values: rec.Form) -> str:
    """The station a posted form is for (`station_of` its station_id field; "": none)."""
    return station_of(session, rec.one(values, "station_id")) or ""


async def maybe(call: Awaitable[Any]) -> Any:
    """A call whose failure leaves its part of the page empty, not the whole page an error:
    the answer, or the `ApiProblem`."""
    try:
        return await call
    except ApiProblem as exc:
        if exc.status == 401:
            raise
        return exc


async def form_of(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(name, []).append(value)
    return values


class Remembered:
    """Reference data the record pages read again and again (the person's stations, the
    programmes, a station's volunteers), kept a short while per person: under load each of
    those calls costs the services a FerretDB query of 0.3-0.5 s. Failures are not kept."""

    def __init__(self, ttl_s: float, size: int = 2048) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._kept: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()

    async def get(self, key: tuple[str, ...], call: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._kept.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        value = await call()
        if not isinstance(value, ApiProblem):
            self._kept[key] = (time.monotonic(), value)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value


REFERENCE = Remembered(ttl_s=300.0)  # stations and programmes change rarely
VOLUNTEERS = Remembered(ttl_s=60.0)  # a volunteer registered now is listed within a minute


def programmes_of(api: Api, session: Session) -> Awaitable[Any]:
    """The programmes the person may see (or the `ApiProblem`)."""
    key = ("programmes", session.subject)
    return REFERENCE.get(key, lambda: maybe(api.get("registry", "/programmes")))


def volunteers_at(api: Api, session: Session, station_id: str) -> Awaitable[Any]:
    """A station's active volunteers (a page of them; or the `ApiProblem`)."""
    params = {"station_id": station_id, "status": "active", "limit": VOLUNTEER_LIMIT}
    return VOLUNTEERS.get(
        ("volunteers", session.subject, station_id),
        lambda: maybe(api.get("volunteers", "/volunteers", params)),
    )


async def stations_named(api: Api, session: Session) -> list[dict[str, Any]]:
    """The person's stations with their names and rooms (one call each; station staff have
    one or two)."""

    def station(s: str) -> Awaitable[Any]:
        return REFERENCE.get(
            ("station", session.subject, s), lambda: maybe(api.get("registry", f"/stations/{s}"))
        )

    found = await api.both(*(station(s) for s in session.stations))
    return [
        f if isinstance(f, dict) else {"station_id": s, "name": s, "rooms": []}
        for s, f in zip(session.stations, found, strict=True)
    ]


def station_in(stations: Sequence[Mapping[str, Any]], station_id: str) -> Mapping[str, Any]:
    """That station among the person's (`stations_named`), else one named by its id."""
    stand_in = {"station_id": station_id, "name": station_id}
    return next((s for s in stations if s["station_id"] == station_id), stand_in)


def label_of(name: str, lang: str, volunteers: Mapping[str, str] | None = None) -> str:
    """A form field's label, for the error summary."""
    if name.startswith("pt_"):
        group = word(f"group.{name[3:]}", lang)
        return f"{word('record.f.person_times', lang)} · {group}"
    if name.startswith("vol_hours_"):
        who = (volunteers or {}).get(name[len("vol_hours_") :], "")
        return f"{word('record.f.hours', lang)} · {who}"
    return word(f"record.f.{name}", lang)


def shown_problems(
    form: str,
    exc: ApiProblem,
    body: Mapping[str, Any],
    lang: str,
    volunteers: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The service's problem as the page shows it: a message per form field (next to the
    field) and the summary at the top (each linking to its field, or none)."""
    if exc.status >= 500:
        found = [rec.Problem("", "unavailable")]
    else:
        found = rec.problems(form, exc.problem, body)
    by_field: dict[str, str] = {}
    summary: list[dict[str, str]] = []
    for p in found:
        params = dict(p.params)
        if p.key == "not_planned" and "status" in params:
            params["status"] = word(f"activity.status.{params['status']}", lang)
        text = word(f"record.msg.{p.key}", lang) if p.key else p.raw
        for k, v in params.items():
            text = text.replace("{" + k + "}", v)
        if p.field:
            by_field[p.field] = text
        summary.append(
            {
                "field": p.field,
                "label": label_of(p.field, lang, volunteers) if p.field else "",
                "text": text,
            }
        )
    return by_field, summary


@dataclass(frozen=True)
class Filled:
    """A form as its page shows it: what was typed (each field's values) and its key
    (`idem`); when the service refused it (422), the problems by field and the summary."""

    values: dict[str, list[str]]
    idem: str = ""
    status_code: int = 200
    problems: dict[str, str] = field(default_factory=dict)
    summary: list[dict[str, str]] = field(default_factory=list)

    def refused(
        self,
        request: Request,
        form: str,
        exc: ApiProblem,
        body: Mapping[str, Any],
        volunteers: Mapping[str, str] | None = None,
    ) -> Filled:
        problems, summary = shown_problems(form, exc, body, lang_of(request), volunteers)
        return replace(self, status_code=422, problems=problems, summary=summary)


def volunteer_name(v: Mapping[str, Any]) -> str:
    """The masked name the service gives, with the id's end to tell two 王* apart."""
    return f"{v.get('name') or '—'}（{str(v.get('volunteer_id', ''))[-4:]}）"


def page_url(path: str, **params: str | None) -> str:
    clean = {k: v for k, v in params.items() if v}
    return path + ("?" + urlencode(clean) if clean else "")


def page(
    request: Request,
    template: str,
    status_code: int = 200,
    filled: Filled | None = None,
    **context: Any,
) -> HTMLResponse:
    """`render` with the record pages' shared words (the API's themes) and the form's state."""
    if filled is not None:
        status_code = filled.status_code
        context |= {
            "values": filled.values,
            "idem": filled.idem,
            "problems": filled.problems,
            "summary": filled.summary,
        }
    return render(request, template, status_code, THEMES=codes.THEMES, **context)


def no_station(request: Request) -> HTMLResponse:
    return page(request, "record_none.html", 403)


# -- home


def console_problem(field: str, reason: str) -> ApiProblem:
    """A problem the console finds before any call (shaped as the services answer)."""
    return ApiProblem(422, {"field": field, "detail": f"{field}: {reason}"}, "console")


def keep(values: dict[str, list[str]], names: Sequence[str]) -> dict[str, list[str]]:
    """The other form's fields reset when one of the page's two forms is posted."""
    now = now_local()
    kept = {k: v for k, v in values.items() if k in names}
    kept.setdefault("at", [now])
    kept.setdefault("out_at", [now])
    return kept
