"""OpenID Connect sign-in, the protocol side: the authorization-code flow with PKCE (S256),
as a confidential client (client_secret_basic) of the province's identity provider.

- `Provider.discovery()` reads `{issuer}/.well-known/openid-configuration` (kept an hour)
  and insists its `issuer` is the configured one (OIDC Discovery 4.3).
- `Provider.begin(next)` makes a fresh `state`, `nonce` and PKCE verifier, and the
  authorization endpoint's URL; the three secrets travel in a short-lived sealed cookie
  (`FLOW_COOKIE`), never in a store.
- `Provider.finish(flow, code)` exchanges the code at the token endpoint and verifies the
  id_token: its signature with the key its `kid` names in the provider's JWKS (PyJWKClient,
  an asymmetric algorithm only), `iss`, `aud` (our client id), `exp` and the flow's `nonce`.

The id_token says who signed in; the access token is what the services verify (as they
verify any bearer token: their JWKS, issuer and audience) and what the console sends them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import jwt

FLOW_COOKIE = "wushe_oidc"
FLOW_TTL_S = 600  # from leaving for the identity provider to coming back
DISCOVERY_TTL_S = 3600.0
# Never `none` nor a shared-secret (HS*) algorithm, whatever a token's header says.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class OidcError(Exception):
    """A sign-in that cannot go on; `key` is the words' key of what the person is shown."""

    def __init__(self, key: str, detail: str = "", status: int = 400) -> None:
        self.key = key
        self.detail = detail
        self.status = status
        super().__init__(f"{key}: {detail}")


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class SignedInWith:
    """What the identity provider said: the access token, and who it is for."""

    access_token: str
    name: str
    subject: str
    claims: dict[str, Any]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier))."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def same(a: object, b: object) -> bool:
    """Secrets compared in constant time (and only strings match)."""
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a, b)


class Provider:
    """One identity provider, as the console's settings name it; one per process."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        scopes: str = "openid profile",
        leeway_s: float = 2.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes if "openid" in scopes.split() else f"openid {scopes}"
        self.leeway_s = leeway_s
        self.timeout_s = timeout_s
        self._discovery: tuple[Discovery, float] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    async def discovery(self) -> Discovery:
        cached = self._discovery
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(url)
            response.raise_for_status()
            doc = response.json()
            found = Discovery(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise OidcError("oidc.unavailable", f"{url}: {type(exc).__name__}", 502) from exc
        if found.issuer.rstrip("/") != self.issuer:
            raise OidcError("oidc.unavailable", f"the discovery names issuer {found.issuer}", 502)
        if self._jwks is None or self._jwks.uri != found.jwks_uri:
            # Keys cached by kid; an unknown kid fetches the set again (a key rotation).
            self._jwks = jwt.PyJWKClient(found.jwks_uri, cache_keys=True, timeout=self.timeout_s)
        self._discovery = (found, time.monotonic() + DISCOVERY_TTL_S)
        return found

    def begin(self, found: Discovery, next_url: str) -> tuple[str, dict[str, object]]:
        """The authorization URL to send the browser to, and the flow to seal in a cookie."""
        flow: dict[str, object] = {
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": secrets.token_urlsafe(64),  # 86 characters: RFC 7636 wants 43-128
            "next": next_url,
            "until": time.time() + FLOW_TTL_S,
        }
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scopes,
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": pkce_challenge(str(flow["verifier"])),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in found.authorization_endpoint else "?"
        return f"{found.authorization_endpoint}{separator}{urlencode(query)}", flow

    async def finish(self, flow: dict[str, object], code: str) -> SignedInWith:
        found = await self.discovery()
        tokens = await self._exchange(found, code, str(flow["verifier"]))
        access_token, id_token = tokens.get("access_token"), tokens.get("id_token")
        if not isinstance(access_token, str) or not isinstance(id_token, str):
            raise OidcError(
                "oidc.token", "the token endpoint gave no access_token or id_token", 502
            )
        if str(tokens.get("token_type", "Bearer")).lower() != "bearer":
            raise OidcError("oidc.token", f"token_type {tokens.get('token_type')}", 502)
        claims = await self.verify_id_token(found, id_token, str(flow["nonce"]))
        name = claims.get("name") or claims.get("preferred_username") or claims["sub"]
        return SignedInWith(access_token, str(name), str(claims["sub"]), claims)

    async def _exchange(self, found: Discovery, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(
                    found.token_endpoint,
                    data=form,
                    # client_secret_basic: RFC 6749 2.3.1 form-encodes both before Basic
                    auth=httpx.BasicAuth(
                        _form_encoded(self.client_id), _form_encoded(self.client_secret)
                    ),
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise OidcError("oidc.token", type(exc).__name__, 502) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error", "") if isinstance(body, dict) else ""
            description = body.get("error_description", "") if isinstance(body, dict) else ""
            detail = " ".join(str(x) for x in (response.status_code, error, description) if x)
            raise OidcError("oidc.token", detail, 502)
        return body

    async def verify_id_token(self, found: Discovery, id_token: str, nonce: str) -> dict[str, Any]:
        jwks = self._jwks
        if jwks is None:  # discovery() makes it
            raise OidcError("oidc.unavailable", "no JWKS", 502)
        try:
            # PyJWKClient fetches with urllib (blocking): off the event loop.
            key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, id_token)
            algorithm = key.algorithm_name
            if algorithm not in ASYMMETRIC:
                raise OidcError("oidc.id_token", f"algorithm {algorithm} refused", 401)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[algorithm],
                audience=self.client_id,
                issuer=found.issuer,
                leeway=self.leeway_s,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcError("oidc.id_token", str(exc), 401) from exc
        if not same(claims.get("nonce"), nonce):
            raise OidcError("oidc.id_token", "the nonce is not this sign-in's", 401)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("oidc.id_token", "issued to another party (azp)", 401)
        return claims


def _form_encoded(value: str) -> str:
    return quote_plus(value)
