"""Signing in to the console: OpenID Connect against a real (fake) identity provider, served by
uvicorn on loopback (discovery, an authorization endpoint that sends the browser straight
back with a code, the token endpoint, the JWKS), tokens signed with `wushe.auth.DevKeys`;
and the frame every page keeps: CSRF on forms, the Content-Security-Policy, the dev sign-in
only on the local stack.

The console runs in-process (httpx's ASGI transport, as `https://console.test`); the only
service it calls while signing in, the registry (`/regions/{code}`: the region's name), is
answered by a mock transport: what is under test is the protocol, not the services.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import pkgutil
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

import console.api
from console.app import CONTENT_SECURITY_POLICY, create_app
from console.oidc import FLOW_COOKIE
from console.session import CSRF_COOKIE, SESSION_COOKIE, Session
from console.settings import BACKENDS, ConsoleSettings
from wushe.auth import DevKeys
from wushe_dev.testing import serve_http

CONSOLE = "https://console.test"
CLIENT_ID = "wushe-console"
CLIENT_SECRET = "s3cret:with/odd&chars"  # form-encoded before Basic (RFC 6749 2.3.1)
AUDIENCE = "wushe"  # what the services verify in an access token


@dataclass
class FakeIdentityProvider:
    """Just enough of an OpenID provider: it signs with `keys` as `url` (its issuer, known
    once served); each knob makes it misbehave in one way."""

    keys: DevKeys
    url: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    state_back: str | None = None  # send this state back instead of the one given
    nonce_back: str | None = None  # put this nonce in the id_token instead
    token_error: bool = False  # the token endpoint refuses the code
    exchanged: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/health/live")
        async def live() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["EdDSA"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return self.keys.jwks()

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code"
            assert q["client_id"] == CLIENT_ID
            assert q["redirect_uri"] == f"{CONSOLE}/signin/callback"
            assert "openid" in q["scope"].split()
            assert q["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
                "redirect_uri": q["redirect_uri"],
            }
            back = {"code": code, "state": self.state_back or q["state"]}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.exchanged.append(form)
            basic = base64.b64encode(f"{CLIENT_ID}:{quote_plus(CLIENT_SECRET)}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {basic}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            issued = self.codes.pop(form.get("code", ""), None)
            if self.token_error or issued is None or form["redirect_uri"] != issued["redirect_uri"]:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "code not valid"},
                    status_code=400,
                )
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if challenge.rstrip(b"=").decode() != issued["challenge"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            access = self.keys.issue(
                subject="official-1",
                region_scope="36",
                roles=["province_officer"],
                iss=self.url,
                aud=AUDIENCE,
            )
            identity = self.keys.issue(
                subject="official-1",
                iss=self.url,
                aud=CLIENT_ID,
                nonce=self.nonce_back or issued["nonce"],
                name="李华",
                preferred_username="lihua",
            )
            return JSONResponse(
                {
                    "access_token": access,
                    "id_token": identity,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            )

        return app


def registry_only(request: httpx.Request) -> httpx.Response:
    """The backends as signing in needs them: the region's name, and nothing else."""
    if request.url.path == "/regions/36":
        return httpx.Response(200, json={"code": "36", "name": "江西省", "level": "province"})
    return httpx.Response(404, json={"title": "Not Found", "detail": "not in this test"})


def scenario_people(request: httpx.Request) -> httpx.Response:
    """The backends as the dev sign-in needs them: the province's first station, its
    county, the first fund (the demo people are found through the APIs)."""
    answers: dict[str, Any] = {
        "/regions/36": {"code": "36", "name": "江西省"},
        "/regions/360102": {"code": "360102", "name": "东湖区"},
        "/stations": {
            "items": [
                {"station_id": "st-360102008", "region_code": "360102008", "name": "豫章街道社工站"}
            ]
        },
        "/funds": {"items": [{"funder_id": "dnr-1", "donor_id": "dnr-1"}]},
        "/donors/dnr-1": {"donor_id": "dnr-1", "display_name": "江西省慈善总会"},
    }
    if request.url.path in answers:
        return httpx.Response(200, json=answers[request.url.path])
    return httpx.Response(404, json={"title": "Not Found", "detail": "not in this test"})


def settings_for(tmp_path: Path, **overrides: Any) -> ConsoleSettings:
    assets = tmp_path / "assets"  # what npm would fetch: nothing needed here
    assets.mkdir(exist_ok=True)
    (assets / ".complete").write_text("test\n")
    (assets / "echarts.min.js").write_text("/* test */\n")
    values: dict[str, Any] = {
        "environment": "production",
        "public_url": CONSOLE,
        "session_key": base64.b64encode(os.urandom(32)).decode(),
        "assets_dir": assets,
        **{f"{name}_url": f"http://{name}.test" for name in BACKENDS},
        **overrides,
    }
    return ConsoleSettings(**values)


@pytest.fixture
async def idp() -> AsyncIterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(DevKeys.generate())
    async with serve_http(provider.app()) as url:
        provider.url = url
        yield provider


@pytest.fixture
async def oidc_console(
    tmp_path: Path, idp: FakeIdentityProvider
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The console, set up as a deployment would be: the identity provider's issuer for
    OIDC, and the services' token settings (issuer, audience, key) for its access tokens."""
    settings = settings_for(
        tmp_path,
        oidc_issuer=idp.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        jwt_issuer=idp.url,
        jwt_audience=AUDIENCE,
        jwt_public_key=idp.keys.public_pem(),
    )
    app = create_app(settings, transport=httpx.MockTransport(registry_only))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as client:
        yield app, client
    await app.state.backends.aclose()


async def to_the_provider_and_back(
    client: httpx.AsyncClient, next_url: str = "/stations"
) -> httpx.Response:
    """What a browser does: the console sends it to the provider, which sends it back."""
    start = await client.get("/signin/oidc", params={"next": next_url})
    assert start.status_code == 303, start.text
    assert FLOW_COOKIE in start.cookies
    authorize = start.headers["location"]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(authorize)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}" == CONSOLE
    return await client.get(f"{callback.path}?{callback.query}")


async def refused_on_return(client: httpx.AsyncClient, status: int, *says: str) -> None:
    """Back from the provider, the console refuses: the status, a page saying why, no session."""
    answer = await to_the_provider_and_back(client)
    assert answer.status_code == status
    for text in says:
        assert text in answer.text
    assert SESSION_COOKIE not in client.cookies


def set_cookie_header(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set: {response.headers.get_list('set-cookie')}"
    return found[0]


@pytest.mark.service  # the provider under uvicorn on loopback (no stack)
async def test_signing_in_with_the_provider_sets_the_session_cookie(
    oidc_console: tuple[FastAPI, httpx.AsyncClient], idp: FakeIdentityProvider
) -> None:
    app, client = oidc_console
    start = await client.get("/signin/oidc", params={"next": "/stations?region=36"})
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert start.headers["location"].startswith(f"{idp.url}/authorize?")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # a SHA-256, base64url without padding
    assert query["state"][0] != query["nonce"][0]
    flow_cookie = set_cookie_header(start, FLOW_COOKIE).lower()
    assert "httponly" in flow_cookie
    assert "samesite=lax" in flow_cookie
    assert "secure" in flow_cookie
    # the flow's secrets are sealed: neither state, nonce nor verifier can be read
    assert query["state"][0] not in start.cookies[FLOW_COOKIE]

    answer = await to_the_provider_and_back(client, "/stations?region=36")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/stations?region=36"
    session_cookie = set_cookie_header(answer, SESSION_COOKIE).lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert "secure" in session_cookie
    assert "path=/" in session_cookie
    # the flow is used once
    assert f"{FLOW_COOKIE}=" in " ".join(answer.headers.get_list("set-cookie"))
    assert FLOW_COOKIE not in client.cookies

    session: Session | None = app.state.sealer.open_session(client.cookies[SESSION_COOKIE])
    assert session is not None
    assert session.via == "oidc"
    assert session.name == "李华"
    assert session.subject == "official-1"
    assert session.roles == ("province_officer",)
    assert session.region == "36"
    assert session.region_name == "江西省"
    # the access token is what the console sends the services (not the id_token)
    assert session.token != ""
    assert session.token.count(".") == 2
    (exchange,) = idp.exchanged
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == f"{CONSOLE}/signin/callback"
    assert 43 <= len(exchange["code_verifier"]) <= 128


@pytest.mark.service  # the provider under uvicorn on loopback (no stack)
@pytest.mark.parametrize(
    ("fault", "status", "says", "exchanges"),
    [
        # a callback with another state: the code is never exchanged
        (("state_back", "someone-elses-state"), 400, ("state", "请重新登录"), 0),
        # an id_token with another nonce
        (("nonce_back", "a-replayed-nonce"), 401, ("身份凭证校验失败",), 1),
        # the token endpoint refuses the code
        (("token_error", True), 502, ("无法从统一身份认证服务取得登录凭证", "invalid_grant"), 1),
    ],
    ids=["another-state", "another-nonce", "token-endpoint-error"],
)
async def test_a_sign_in_the_provider_answers_wrongly_is_refused(
    oidc_console: tuple[FastAPI, httpx.AsyncClient],
    idp: FakeIdentityProvider,
    fault: tuple[str, Any],
    status: int,
    says: tuple[str, ...],
    exchanges: int,
) -> None:
    _, client = oidc_console
    setattr(idp, *fault)
    await refused_on_return(client, status, *says)
    assert len(idp.exchanged) == exchanges


@pytest.mark.service  # the provider under uvicorn on loopback (no stack)
async def test_the_providers_error_and_a_callback_without_a_flow_are_refused(
    oidc_console: tuple[FastAPI, httpx.AsyncClient], idp: FakeIdentityProvider
) -> None:
    _, client = oidc_console
    denied = await client.get("/signin/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 400
    assert "统一身份认证未同意本次登录" in denied.text
    stray = await client.get("/signin/callback", params={"code": "c", "state": "s"})
    assert stray.status_code == 400
    assert "登录请求已过期" in stray.text
    assert SESSION_COOKIE not in client.cookies


# --------------------------------------------------------------------------- the frame


@pytest.fixture
async def local_console(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    keys = DevKeys.generate()
    keys.save(tmp_path / "keys")
    settings = settings_for(
        tmp_path, environment="local", dev_keys_dir=tmp_path / "keys", session_key=""
    )
    app = create_app(
        settings, transport=httpx.MockTransport(scenario_people), token_verifier=keys.verifier()
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=CONSOLE
    ) as client:
        yield app, client
    await app.state.backends.aclose()


@pytest.mark.unit
async def test_a_form_post_without_the_csrf_field_is_refused(
    local_console: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = local_console
    await client.get("/signin")  # the CSRF cookie
    csrf = client.cookies[CSRF_COOKIE]
    assert (await client.post("/lang", data={"next": "/signin"})).status_code == 403
    assert (await client.post("/signout", data={})).status_code == 403
    wrong = await client.post("/lang", data={"csrf": "not-the-cookie", "next": "/signin"})
    assert wrong.status_code == 403
    assert "表单已失效" in wrong.text
    right = await client.post("/lang", data={"csrf": csrf, "next": "/signin"})
    assert right.status_code == 303


@pytest.mark.unit
async def test_the_dev_signin_signs_in_as_a_demo_person_on_the_local_stack(
    local_console: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = local_console
    page = await client.get("/signin", params={"next": "/stations"})
    assert page.status_code == 200
    for who in ("江西省民政厅", "东湖区民政局", "豫章街道社工站", "江西省慈善总会"):
        assert who in page.text
    answer = await client.post(
        "/signin/dev",
        data={
            "csrf": client.cookies[CSRF_COOKIE],
            "person": "station_worker-st-360102008",
            "next": "/stations",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/stations"
    cookie = set_cookie_header(answer, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    session = app.state.sealer.open_session(client.cookies[SESSION_COOKIE])
    assert session is not None
    assert session.via == "dev"
    assert session.roles == ("station_worker",)
    assert session.stations == ("st-360102008",)
    assert session.region_name == "东湖区"


@pytest.mark.unit
async def test_every_page_carries_the_content_security_policy(
    local_console: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    """Signed in or not, found or not, an error or a file: the same strict policy."""
    app, client = local_console
    anonymous = ["/", "/signin", "/signin?expired=1", "/no-such-page", "/static/console.css"]
    for path in anonymous:
        response = await client.get(path)
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path
    csp = CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp

    # every page the console has, signed in (the services answer 404 here: an error page)
    session = Session(
        subject="t",
        name="测试",
        token=DevKeys.generate().issue(subject="t", region_scope="36", roles=["admin"]),
        roles=("admin",),
        region="36",
        region_name="江西省",
        expires=4102444800.0,
    )
    client.cookies.set(SESSION_COOKIE, app.state.sealer.seal_session(session))
    pages = sorted(
        {
            route.path.replace("{", "").replace("}", "")
            for module in pkgutil.iter_modules(console.api.__path__)
            for route in getattr(
                importlib.import_module(f"console.api.{module.name}"), "router", APIRouter()
            ).routes
            if "GET" in getattr(route, "methods", ()) and route.path != "/signin/oidc"
        }
    )
    assert "/" in pages
    for path in pages:
        response = await client.get(path)
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path
        assert "Server-Timing" in response.headers, path


@pytest.mark.unit
async def test_the_dev_signin_answers_404_outside_the_local_stack(tmp_path: Path) -> None:
    app = create_app(
        settings_for(tmp_path),
        transport=httpx.MockTransport(registry_only),
        token_verifier=DevKeys.generate().verifier(),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=CONSOLE
    ) as client:
        page = await client.get("/signin")
        assert page.status_code == 200
        assert "/signin/dev" not in page.text  # no demo people offered
        csrf = client.cookies[CSRF_COOKIE]
        answer = await client.post(
            "/signin/dev", data={"csrf": csrf, "person": "province_officer-36", "next": "/"}
        )
        assert answer.status_code == 404
        assert SESSION_COOKIE not in client.cookies
        # and no OIDC configured: its routes are not there either
        assert (await client.get("/signin/oidc")).status_code == 404
    await app.state.backends.aclose()
