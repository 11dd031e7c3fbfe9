"""What every page needs: the signed-in person, their APIs, their language, the CSRF check,
and rendering a template with the words of their language."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from console.backends import Api, Backends
from console.domain import figures
from console.domain.words import word
from console.session import CSRF_COOKIE, CSRF_FIELD, LANG_COOKIE, Sealer, Session, csrf_matches

TEMPLATES = Jinja2Templates(directory=Path(__file__).parents[1] / "templates")
TEMPLATES.env.globals.update(
    yuan=figures.yuan, count=figures.count, percent=figures.percent, CSRF_FIELD=CSRF_FIELD
)
TEMPLATES.env.autoescape = True

# Which pages each role opens (the navigation), in order; the first is their home.
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "nav.programme",
        "/programme",
        ("province_officer", "city_officer", "county_officer", "auditor"),
    ),
    ("nav.queues", "/queues", ("province_officer", "city_officer", "county_officer")),
    ("nav.record", "/record", ("station_worker", "social_worker")),
    (
        "nav.stations",
        "/stations",
        (
            "province_officer",
            "city_officer",
            "county_officer",
            "station_worker",
            "social_worker",
            "auditor",
        ),
    ),
    ("nav.foundation", "/foundation", ("funder",)),
    ("nav.reports", "/reports", ("province_officer", "city_officer", "county_officer", "auditor")),
)


class SignInNeeded(Exception):
    """No session, or it ended: the page answers with a redirect to the sign-in."""

    def __init__(self, next_url: str, expired: bool = False) -> None:
        self.next_url = next_url
        self.expired = expired


class CsrfRefused(Exception):
    pass


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def session_of(request: Request) -> Session:
    sealer: Sealer = request.app.state.sealer
    session = sealer.open_session(request.cookies.get("wushe_session"))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target, expired="wushe_session" in request.cookies)
    request.state.session = session
    return session


def api_of(session: Annotated[Session, Depends(session_of)], request: Request) -> Api:
    backends: Backends = request.app.state.backends
    api = backends.for_token(session.token)
    request.state.api = api  # its calls go into the page's Server-Timing header
    return api


async def csrf_checked(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every form POST: the hidden field must equal the CSRF cookie."""
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), csrf):
        raise CsrfRefused()


SignedIn = Annotated[Session, Depends(session_of)]
Apis = Annotated[Api, Depends(api_of)]
CsrfChecked = Depends(csrf_checked)


def nav_for(session: Session | None) -> list[tuple[str, str]]:
    if session is None:
        return []
    return [(key, href) for key, href, roles in NAV if session.has(*roles)]


def home_of(session: Session) -> str:
    nav = nav_for(session)
    return nav[0][1] if nav else "/stations"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    session: Session | None = getattr(request.state, "session", None)

    def t(key: str) -> str:
        return word(key, lang)

    def day(value: Any) -> str:
        return figures.day(value, lang)

    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "t": t,
            "day": day,
            "session": session,
            "nav": nav_for(session),
            "csrf": request.state.csrf,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def signin_url(next_url: str, expired: bool = False) -> str:
    return f"/signin?next={quote(next_url, safe='')}" + ("&expired=1" if expired else "")


def safe_next(next_url: str | None) -> str:
    """Only a path on this console (never another site: an open redirect)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return "/"
    return next_url
