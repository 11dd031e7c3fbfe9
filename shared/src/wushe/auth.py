"""Bearer-token authentication with a region scope.

Tokens are JWTs signed with an asymmetric key. The verifier takes the algorithm from its own
configuration, never from the token header (so `alg: none` and HS256-with-the-public-key
tricks fail), and checks signature, issuer, audience, expiry and not-before.

A token carries a region scope: a GB/T 2260 code prefix (`36` = Jiangxi, `3601` =
Nanchang). Data outside the scope is invisible: services answer 404, never 403, so a
caller cannot even learn that another province's record exists.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, HTTPException, Request, status

from wushe.validators import check_region_code, region_prefix

SCOPE_CLAIM = "region_scope"
ROLES_CLAIM = "roles"


# Roles that act on every province at once: held only when granted by name.
PLATFORM_ROLES = frozenset({"platform_operator"})


@dataclass(frozen=True)
class Principal:
    """Who is calling, verified: a subject, a region scope and roles."""

    subject: str
    region_scope: str  # a normalised prefix: "36", "3601", ...
    roles: frozenset[str] = field(default_factory=frozenset)

    def can_see(self, region_code: str | None) -> bool:
        return bool(region_code) and str(region_code).startswith(self.region_scope)

    def shares_scope(self, regions: Iterable[str]) -> bool:
        """Whether a record spanning `regions` (a programme's scope) concerns this caller:
        one of them lies within the caller's scope or contains it."""
        return any(
            r.startswith(self.region_scope) or self.region_scope.startswith(r) for r in regions
        )

    def has_role(self, role: str) -> bool:
        """A role held, or implied by `admin`: a province's admin holds every role of its
        province, never a platform role (an operation on every province at once)."""
        return role in self.roles or ("admin" in self.roles and role not in PLATFORM_ROLES)

    def require_visible(self, region_code: str | None, what: str = "resource") -> None:
        """404 for anything outside the scope, exactly as if it did not exist."""
        if not self.can_see(region_code):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


class TokenError(ValueError):
    pass


class TokenVerifier:
    """Verifies tokens. A token once verified is remembered (by its exact bytes, signature
    included) until its validity ends: an integration sends the same token for an hour, and
    each request would otherwise check its signature twice (the rate guard, then the route)."""

    def __init__(
        self,
        public_key_pem: str,
        *,
        algorithm: str,
        issuer: str,
        audience: str,
        leeway_s: int = 30,
        remembered: int = 10_000,
    ) -> None:
        if not public_key_pem.strip():
            raise ValueError("no JWT public key configured (WUSHE_JWT_PUBLIC_KEY[_FILE])")
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self._remembered = remembered
        # token -> (principal, valid from, valid until), oldest first
        self._verified: dict[str, tuple[Principal, float, float]] = {}

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, valid_from, valid_until = known
            if valid_from <= time.time() < valid_until:
                return principal
            del self._verified[token]  # expired since: decoding says so, with the reason
        principal, claims = self._decode(token)
        if len(self._verified) >= self._remembered:
            del self._verified[next(iter(self._verified))]
        not_before = max(float(claims.get("nbf", 0)), float(claims.get("iat", 0)))
        self._verified[token] = (
            principal,
            not_before - self.leeway_s,
            float(claims["exp"]) + self.leeway_s,
        )
        return principal

    def _decode(self, token: str) -> tuple[Principal, dict[str, Any]]:
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub", SCOPE_CLAIM]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        try:
            scope = region_prefix(check_region_code(str(claims[SCOPE_CLAIM])))
        except ValueError as exc:
            raise TokenError(f"bad {SCOPE_CLAIM}: {exc}") from exc
        roles = claims.get(ROLES_CLAIM, [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise TokenError(f"{ROLES_CLAIM} must be a list of strings")
        principal = Principal(
            subject=str(claims["sub"]), region_scope=scope, roles=frozenset(roles)
        )
        return principal, claims


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": 'Bearer realm="wushe"'}
    )


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller (401 when missing or invalid).

    A coroutine, like every dependency here: FastAPI runs a plain function in its thread
    pool, a hop per request that cost more than the check (P6's profile)."""
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "authentication not configured")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing bearer token")
    try:
        return verifier.verify(token.strip())
    except TokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# --------------------------------------------------------------------------- dev keys


class DevKeys:
    """A local Ed25519 key pair for the demo and tests; production verifies tokens issued by
    the province's identity provider and never holds a private key."""

    ISSUER = "wushe-dev"
    AUDIENCE = "wushe"
    ALGORITHM = "EdDSA"

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @staticmethod
    def default_dir() -> Path:
        cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
        return Path(cache) / "dev-keys"

    @classmethod
    def generate(cls) -> DevKeys:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, directory: Path) -> DevKeys:
        path = directory / "jwt-dev-private.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 key")
            return cls(key)
        keys = cls.generate()
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            keys._private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        (directory / "jwt-dev-public.pem").write_text(keys.public_pem())
        return keys

    def public_pem(self) -> str:
        return (
            self._private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(
            self.public_pem(), algorithm=self.ALGORITHM, issuer=self.ISSUER, audience=self.AUDIENCE
        )

    def issue(
        self,
        *,
        subject: str,
        region_scope: str,
        roles: list[str] | None = None,
        ttl_s: int = 3600,
        **extra: Any,
    ) -> str:
        scope = region_prefix(check_region_code(region_scope))
        now = int(time.time())
        claims = {
            "iss": self.ISSUER,
            "aud": self.AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": str(uuid.uuid4()),
            SCOPE_CLAIM: scope,
            ROLES_CLAIM: roles or [],
            **extra,
        }
        return jwt.encode(claims, self._private, algorithm=self.ALGORITHM)
