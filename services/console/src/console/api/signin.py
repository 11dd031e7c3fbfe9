"""Signing in and out, and the language switch.

Production: OpenID Connect (`console.oidc`), the identity provider's access token is what
the services verify. Local stack: the dev sign-in lists the scenario's demo people and signs
in as one with a token from the dev keys; it exists only in environment=local.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console import demo
from console.api.deps import (
    CsrfChecked,
    home_of,
    lang_of,
    render,
    safe_next,
    see_other,
)
from console.backends import ApiProblem
from console.session import LANG_COOKIE, SESSION_COOKIE, Sealer, Session
from wushe.auth import TokenError, TokenVerifier

router = APIRouter()


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/", expired: bool = False) -> HTMLResponse:
    settings = request.app.state.settings
    people: list[demo.DemoPerson] = []
    problem = None
    if demo.enabled(settings):
        try:
            people = await demo.people(request.app)
        except ApiProblem as exc:
            problem = exc.detail
    return render(
        request,
        "signin.html",
        next=safe_next(next),
        expired=expired,
        oidc=bool(settings.oidc_issuer),
        people=people,
        problem=problem,
    )


@router.post("/signin/dev", dependencies=[CsrfChecked])
async def dev_signin(
    request: Request, person: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    settings = request.app.state.settings
    if not demo.enabled(settings):
        return render(request, "error.html", 404, message_key="error.not_found")
    # (`next` is the form field here, not the builtin)
    chosen = {p.key: p for p in await demo.people(request.app)}.get(person)
    if chosen is None:
        return render(request, "error.html", 404, message_key="error.not_found")
    token = demo.token_for(settings, chosen)
    return await start_session(request, token, chosen.name, via="dev", next_url=next)


async def start_session(
    request: Request, token: str, name: str, *, via: str, next_url: str
) -> Response:
    """Verify the token as the services will, learn the person's region's name, and set the
    sealed session cookie."""
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        principal = verifier.verify(token)
    except TokenError as exc:
        return render(request, "error.html", 401, message_key="signin.failed", detail=str(exc))
    region_name = await demo.region_name(request.app, token, principal.region_scope)
    settings = request.app.state.settings
    session = Session(
        subject=principal.subject,
        name=name,
        token=token,
        roles=tuple(sorted(principal.roles)),
        region=principal.region_scope,
        region_name=region_name,
        expires=min(time.time() + settings.session_ttl_s, demo.token_expiry(token)),
        stations=tuple(sorted(principal.stations)),
        funder_id=principal.funder_id,
        via=via,
    )
    request.state.session = session
    target = safe_next(next_url)
    response = see_other(home_of(session) if target == "/" else target)
    sealer: Sealer = request.app.state.sealer
    response.set_cookie(
        SESSION_COOKIE,
        sealer.seal_session(session),
        max_age=int(session.expires - time.time()),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.post("/signout", dependencies=[CsrfChecked])
async def signout(request: Request) -> RedirectResponse:
    response = see_other("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang", dependencies=[CsrfChecked])
async def switch_language(request: Request, next: Annotated[str, Form()] = "/") -> Response:
    response = see_other(safe_next(next))
    to = "zh" if lang_of(request) == "en" else "en"
    response.set_cookie(
        LANG_COOKIE,
        to,
        max_age=365 * 86400,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return response
