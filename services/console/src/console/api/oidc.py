"""Sign-in with the province's identity provider (OpenID Connect, `console.oidc`).

`GET /signin/oidc?next=` sends the browser to the provider with a fresh state, nonce and
PKCE challenge, the three kept in a sealed cookie for ten minutes; `GET /signin/callback`
checks the state, exchanges the code, verifies the id_token and starts the session with
the access token. Each flow is used once: the callback always drops its cookie.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.api.deps import render, safe_next
from console.api.signin import start_session
from console.oidc import FLOW_COOKIE, FLOW_TTL_S, OidcError, Provider, same
from console.session import Sealer
from console.settings import ConsoleSettings

router = APIRouter()
CALLBACK = "/signin/callback"


def provider_of(request: Request) -> Provider:
    """The process's one provider client (its discovery and keys cached), made on first use."""
    provider: Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        settings: ConsoleSettings = request.app.state.settings
        base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        provider = Provider(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            base + CALLBACK,
            scopes=settings.oidc_scopes,
            leeway_s=settings.jwt_leeway_s,
            timeout_s=settings.backend_timeout_s,
        )
        request.app.state.oidc_provider = provider
    return provider


def refused(request: Request, exc: OidcError) -> Response:
    response = render(request, "error.html", exc.status, message_key=exc.key, detail=exc.detail)
    response.delete_cookie(FLOW_COOKIE, path="/signin")
    return response


@router.get("/signin/oidc")
async def oidc_start(request: Request, next: str = "/") -> Response:
    settings: ConsoleSettings = request.app.state.settings
    if not settings.oidc_issuer:
        return render(request, "error.html", 404, message_key="oidc.not_configured")
    provider = provider_of(request)
    try:
        found = await provider.discovery()
    except OidcError as exc:
        return refused(request, exc)
    url, flow = provider.begin(found, safe_next(next))
    sealer: Sealer = request.app.state.sealer
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        sealer.seal(FLOW_COOKIE, flow),
        max_age=FLOW_TTL_S,
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET navigation from its site.
        samesite="lax",
        secure=settings.secure_cookies,
        path="/signin",
    )
    return response


@router.get(CALLBACK)
async def oidc_callback(
    request: Request,
    code: str = "",
    state: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    if not settings.oidc_issuer:
        return render(request, "error.html", 404, message_key="oidc.not_configured")
    sealer: Sealer = request.app.state.sealer
    sealed = request.cookies.get(FLOW_COOKIE)
    flow = sealer.open(FLOW_COOKIE, sealed) if sealed else None
    try:
        if error:  # the provider refused (the person cancelled, or was not allowed)
            raise OidcError("oidc.refused", f"{error} {error_description}".strip())
        if flow is None or float(str(flow.get("until", 0))) < time.time():
            raise OidcError("oidc.expired", "no sign-in under way in this browser")
        if not same(state, flow.get("state")):
            raise OidcError("oidc.state", "the state is not this browser's sign-in")
        if not code:
            raise OidcError("oidc.refused", "no code")
        signed = await provider_of(request).finish(flow, code)
    except OidcError as exc:
        return refused(request, exc)
    response = await start_session(
        request,
        signed.access_token,
        signed.name,
        via="oidc",
        next_url=str(flow.get("next") or "/"),
    )
    response.delete_cookie(FLOW_COOKIE, path="/signin")
    return response
