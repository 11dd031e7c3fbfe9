"""Wiring only: settings in, the console's FastAPI app out."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from console import api, assets
from console.api import places
from console.api.deps import CsrfRefused, SignInNeeded, render, signin_url
from console.api.record_common import NoStation, no_station
from console.backends import ApiProblem, Backends
from console.session import CSRF_COOKIE, Sealer, local_session_key, new_csrf_token
from console.settings import ConsoleSettings
from wushe import telemetry
from wushe.auth import DevKeys, TokenVerifier

# A strict policy: scripts and styles from the console only (no inline script or style
# attribute), no frames, no plugins, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(
    settings: ConsoleSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    token_verifier: TokenVerifier | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    backends = Backends(settings, transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await backends.aclose()

    app = FastAPI(
        title="Wushe console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.sealer = Sealer(session_key(settings))
    app.state.token_verifier = token_verifier or verifier_from(settings)

    metrics = CollectorRegistry()
    tracer_provider = tracer_provider or telemetry.create_tracer_provider(
        settings.service_name, otlp_endpoint=settings.otlp_endpoint
    )

    @app.middleware("http")
    async def frame(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf or new_csrf_token()
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if csrf is None:
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf,
                httponly=True,
                samesite="strict",
                secure=settings.secure_cookies,
                path="/",
            )
        page_ms = (time.perf_counter() - started) * 1000
        timings = [f"page;dur={page_ms:.1f}"]
        page_api = getattr(request.state, "api", None)
        if page_api is not None:
            timings.append(page_api.server_timing())
        response.headers["Server-Timing"] = ", ".join(timings)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.add_middleware(telemetry.HttpMetrics, registry=metrics, tracer_provider=tracer_provider)

    @app.exception_handler(SignInNeeded)
    async def to_signin(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(signin_url(exc.next_url, exc.expired), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "error.html", 403, message_key="error.csrf")

    @app.exception_handler(NoStation)
    async def without_station(request: Request, exc: NoStation) -> Response:
        return no_station(request)

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        if exc.status == 401:
            return RedirectResponse(signin_url(request.url.path, expired=True), status_code=303)
        key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status, "error.unavailable")
        status = exc.status if exc.status in (403, 404) else 502 if exc.status < 503 else 503
        return render(request, "error.html", status, message_key=key, detail=exc.detail)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    vendor = assets.install(settings.assets_dir)
    places.use(vendor)
    app.mount("/vendor", StaticFiles(directory=vendor), name="vendor")
    app.include_router(api.router)
    return app


def session_key(settings: ConsoleSettings) -> bytes:
    secret = settings.session_key.get_secret_value()
    if secret:
        return base64.b64decode(secret)
    if not settings.local:
        raise ValueError("WUSHE_SESSION_KEY is required outside environment=local")
    return local_session_key(settings.dev_keys_dir or DevKeys.default_dir())


def verifier_from(settings: ConsoleSettings) -> TokenVerifier:
    """The same verification as the services' (their settings, their JWKS)."""
    return TokenVerifier(
        "" if settings.jwks_url else settings.public_key_pem(),
        jwks=settings.jwks_url,
        algorithm=settings.jwt_algorithm,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_s=settings.jwt_leeway_s,
        jwks_cache_s=settings.jwks_cache_s,
    )


def app_from_env() -> FastAPI:
    """The process entry point's factory (uvicorn --factory console.app:app_from_env)."""
    settings = ConsoleSettings()
    telemetry.configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per API call is noise
    return create_app(settings)
