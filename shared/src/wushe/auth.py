"""Bearer-token authentication with a region scope.

Tokens are JWTs signed with an asymmetric key that the identity provider publishes in its
JWKS, named by the token's `kid` (docs/sign-in.md). The verifier takes the algorithm from its
own configuration, never from the token header (so `alg: none` and HS256-with-the-public-key
tricks fail), and checks signature, issuer, audience, expiry and not-before.

A token carries a region scope: a GB/T 2260 code prefix (`36` = Jiangxi, `3601` =
Nanchang). Data outside the scope is invisible: services answer 404, never 403, so a
caller cannot even learn that another province's record exists.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import math
import os
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, HTTPException, Request, status
from jwt import PyJWK, PyJWKSet

from wushe import permissions
from wushe.validators import check_region_code, region_prefix

SCOPE_CLAIM = "region_scope"
ROLES_CLAIM = "roles"
STATIONS_CLAIM = "stations"
FUNDER_CLAIM = "funder_id"

# The roles of the people who use the platform (docs/permissions.md says what each may do).
STATION_ROLES = frozenset({"station_worker", "social_worker"})  # bound to their stations
OFFICER_ROLES = frozenset({"county_officer", "city_officer", "province_officer"})
FUNDER_ROLE = "funder"  # bound to one funder id, not a region
ROLES = (
    STATION_ROLES
    | OFFICER_ROLES
    | {FUNDER_ROLE, "auditor", "platform_operator", "pii_export", "admin"}
)

# Roles that act on every province at once: held only when granted by name.
PLATFORM_ROLES = frozenset({"platform_operator"})
# A funder's scope is its funder id: no region code starts with this, so it sees no region.
NO_REGION = "-"


@dataclass(frozen=True)
class Principal:
    """Who is calling, verified: a subject, a region scope and roles; station staff also the
    stations they work at, a foundation its funder id."""

    subject: str
    region_scope: str  # a normalised prefix: "36", "3601", ...; NO_REGION for a funder
    roles: frozenset[str] = field(default_factory=frozenset)
    stations: frozenset[str] = field(default_factory=frozenset)
    funder_id: str | None = None

    @property
    def station_bound(self) -> bool:
        """Station staff act only at their own stations (an `admin` or an official is not
        bound, whatever else they hold)."""
        return bool(self.roles & STATION_ROLES) and not (self.roles & (OFFICER_ROLES | {"admin"}))

    def at_station(self, station_id: str | None) -> bool:
        """Whether a station's records are this caller's to touch."""
        return not self.station_bound or (station_id is not None and station_id in self.stations)

    def can_see(self, region_code: str | None) -> bool:
        return bool(region_code) and str(region_code).startswith(self.region_scope)

    def shares_scope(self, regions: Iterable[str]) -> bool:
        """Whether a record spanning `regions` (a programme's scope) concerns this caller:
        one of them lies within the caller's scope or contains it."""
        return any(
            r.startswith(self.region_scope) or self.region_scope.startswith(r) for r in regions if r
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


# Clock skew forgiven on `exp`, `nbf` and `iat` (WUSHE_JWT_LEEWAY_S): servers kept in time by
# NTP differ by milliseconds, and an expired token should be refused within seconds.
DEFAULT_LEEWAY_S = 2
# How long a fetched JWKS is trusted (WUSHE_JWKS_CACHE_S): a retired key stops verifying
# at most this long after it leaves the JWKS.
DEFAULT_JWKS_CACHE_S = 300.0
# A `kid` missing from the cached JWKS refetches it at once, but at most this often: tokens
# naming made-up kids must not turn every request into a fetch from the identity provider.
UNKNOWN_KID_REFETCH_S = 5.0
JWKS_FETCH_TIMEOUT_S = 5.0

JwksSource = str | Callable[[], Mapping[str, Any]]


class SigningKeys:
    """The signing keys of a JWKS by `kid`: fetched when first needed and again once
    `cache_s` has passed (so a key removed from the JWKS stops verifying then), and at once
    for a `kid` the cached set lacks (so a key rotated in verifies without a restart), at
    most every `refetch_s`.

    `source`: an https URL (plain http only to a loopback address), fetched with PyJWT's
    `PyJWKClient`; a `file://` URL, read here (PyJWKClient refuses file URLs, a guard for
    URLs taken from tokens; this one comes from our configuration); or a function that
    gives the JWKS (`DevKeys.jwks`).

    A fetch runs inline, in the request that finds the set stale, bounded by `timeout_s`. A
    failed fetch forgets the keys (tokens are refused, 401) and is tried again after
    `refetch_s`: a key retired at the identity provider never outlives an outage of its
    JWKS endpoint.
    """

    def __init__(
        self,
        source: JwksSource,
        *,
        cache_s: float = DEFAULT_JWKS_CACHE_S,
        refetch_s: float = UNKNOWN_KID_REFETCH_S,
        timeout_s: float = JWKS_FETCH_TIMEOUT_S,
    ) -> None:
        if cache_s <= 0:
            raise ValueError("the JWKS cache lifespan must be positive")
        self._fetch = _fetcher(source, timeout_s)
        self.cache_s = cache_s
        self.refetch_s = refetch_s
        self.fetches = 0
        self._keys: dict[str, PyJWK] = {}
        self._until = -math.inf  # monotonic: when the cached set goes stale
        self._refetched = -math.inf  # monotonic: the last fetch for an unknown kid or a retry
        self._failure = ""  # why the last fetch failed, said until the next one
        self._lock = threading.Lock()

    def key(self, kid: str) -> tuple[PyJWK, float]:
        """The key named `kid`, and until when (monotonic) the set holding it is trusted."""
        with self._lock:
            now = time.monotonic()
            if now >= self._until:
                self._load(now)
            elif kid not in self._keys and now - self._refetched >= self.refetch_s:
                self._refetched = now
                self._load(now)
            found = self._keys.get(kid)
            if found is None:
                raise TokenError(self._failure or f'no signing key "{kid}" in the JWKS')
            return found, self._until

    def _load(self, now: float) -> None:
        self.fetches += 1
        try:
            jwk_set = self._fetch()
        except (jwt.PyJWTError, OSError, ValueError) as exc:
            self._keys, self._until, self._refetched = {}, now + self.refetch_s, now
            self._failure = f"signing keys unavailable: {exc}"
            raise TokenError(self._failure) from exc
        self._failure = ""
        self._keys = {
            k.key_id: k for k in jwk_set.keys if k.key_id and k.public_key_use in ("sig", None)
        }
        self._until = now + self.cache_s


def _fetcher(source: JwksSource, timeout_s: float) -> Callable[[], PyJWKSet]:
    if callable(source):
        return lambda: PyJWKSet.from_dict(dict(source()))
    url = urllib.parse.urlsplit(source)
    if url.scheme == "file":
        path = Path(urllib.request.url2pathname(url.path))
        return lambda: PyJWKSet.from_dict(json.loads(path.read_text()))
    if url.scheme == "https" or (url.scheme == "http" and _loopback(url.hostname)):
        client = jwt.PyJWKClient(source, cache_jwk_set=False, timeout=timeout_s)
        return lambda: client.get_jwk_set(refresh=True)
    raise ValueError(f"the JWKS URL must be https (http to loopback only) or file: {source!r}")


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class TokenVerifier:
    """Verifies bearer tokens: the signature with the key the token's `kid` header names in
    the identity provider's JWKS (`jwks`, see `SigningKeys`), or with one fixed public key
    (`public_key_pem`, `kid` ignored: tests, or a deployment without a JWKS endpoint); then
    issuer, audience, expiry and not-before. The algorithm is this verifier's, from
    configuration, never the token header's.

    `leeway_s` (default 2 s, `WUSHE_JWT_LEEWAY_S`) is the clock skew forgiven on `exp`, `nbf`
    and `iat`: a token 3 s past its expiry is refused.

    A token once verified is remembered (by its exact bytes, signature included) until its
    validity ends or the key set that verified it goes stale (`jwks_cache_s`), whichever
    comes first: an integration sends the same token for an hour, and each request would
    otherwise check its signature twice (the rate guard, then the route); and a retired
    key's tokens are refused once the cache lifespan has passed, remembered or not."""

    def __init__(
        self,
        public_key_pem: str = "",
        *,
        jwks: JwksSource = "",
        algorithm: str,
        issuer: str,
        audience: str,
        leeway_s: float = DEFAULT_LEEWAY_S,
        jwks_cache_s: float = DEFAULT_JWKS_CACHE_S,
        remembered: int = 10_000,
    ) -> None:
        if bool(public_key_pem.strip()) == bool(jwks):
            raise ValueError(
                "configure one JWT key source: WUSHE_JWKS_URL or WUSHE_JWT_PUBLIC_KEY[_FILE]"
            )
        self._key = serialization.load_pem_public_key(public_key_pem.encode()) if not jwks else None
        self.keys = SigningKeys(jwks, cache_s=jwks_cache_s) if jwks else None
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
        principal, claims, keys_until = self._decode(token)
        if len(self._verified) >= self._remembered:
            del self._verified[next(iter(self._verified))]
        now = time.time()
        not_before = max(float(claims.get("nbf", 0)), float(claims.get("iat", 0)))
        self._verified[token] = (
            principal,
            not_before - self.leeway_s,
            min(float(claims["exp"]) + self.leeway_s, now + (keys_until - time.monotonic())),
        )
        return principal

    def _decode(self, token: str) -> tuple[Principal, dict[str, Any], float]:
        """The caller, the claims, and until when (monotonic) the key that verified it is
        trusted without asking the JWKS again."""
        try:
            if self.keys is None:
                key, keys_until = self._key, math.inf
            else:
                kid = jwt.get_unverified_header(token).get("kid")
                if not isinstance(kid, str) or not kid:
                    raise TokenError("the token names no signing key (kid)")
                jwk, keys_until = self.keys.key(kid)
                key = jwk.key
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        return principal_of(claims), claims, keys_until


def _strings(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TokenError(f"{name} must be a list of strings")
    return value


def principal_of(claims: dict[str, Any]) -> Principal:
    """The caller a verified token's claims describe. A foundation (`funder`) is scoped by
    its `funder_id` and holds no region; everyone else holds a `region_scope`; station staff
    also name their `stations`."""
    roles = frozenset(_strings(claims, ROLES_CLAIM))
    stations = frozenset(_strings(claims, STATIONS_CLAIM))
    funder_id = claims.get(FUNDER_CLAIM)
    if FUNDER_ROLE in roles:
        if not isinstance(funder_id, str) or not funder_id or funder_id == "anonymous":
            # (every anonymous gift shares the funder id "anonymous": no one's to read)
            raise TokenError(f"a {FUNDER_ROLE} token needs its own {FUNDER_CLAIM}")
        if roles != {FUNDER_ROLE}:
            raise TokenError(f"a {FUNDER_ROLE} token holds no other role")
        return Principal(str(claims["sub"]), NO_REGION, roles, funder_id=funder_id)
    if SCOPE_CLAIM not in claims:
        raise TokenError(f'Token is missing the "{SCOPE_CLAIM}" claim')
    try:
        scope = region_prefix(check_region_code(str(claims[SCOPE_CLAIM])))
    except ValueError as exc:
        raise TokenError(f"bad {SCOPE_CLAIM}: {exc}") from exc
    principal = Principal(str(claims["sub"]), scope, roles, stations)
    if principal.station_bound and not stations:
        raise TokenError(f"station staff tokens name their {STATIONS_CLAIM}")
    return principal


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
        who = verifier.verify(token.strip())
    except TokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc
    # Every route that needs a caller asks here, so here its roles are checked against the
    # permission table, before any work.
    route = request.scope.get("route")
    rows = getattr(request.app.state, "permission_rows", None)
    if rows is None or route is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "permissions not configured")
    permissions.check(who, rows, request.method, route.path_format)
    return who


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# --------------------------------------------------------------------------- dev keys


class DevKeys:
    """A local Ed25519 signing key and its JWKS, for the demo and tests; production verifies
    tokens issued by the province's identity provider and never holds a private key.

    The key's `kid` is its RFC 7638 thumbprint. `jwks()` publishes the public keys: the
    signing key's and those rotated out but not yet retired. `rotate()` signs with a new
    key from then on (the old one stays in the JWKS: its tokens still verify); `retire(kid)`
    takes a key out of the JWKS (its tokens stop verifying once a verifier's JWKS cache
    refreshes). In a folder (`load_or_create`, `save`): `jwt-dev-private.pem` (the signing
    key, mode 0600), `jwt-dev-public.pem`, and `jwks.json` (public keys only), which the
    local stack's services verify against."""

    ISSUER = "wushe-dev"
    AUDIENCE = "wushe"
    ALGORITHM = "EdDSA"
    PRIVATE_FILE = "jwt-dev-private.pem"
    PUBLIC_FILE = "jwt-dev-public.pem"
    JWKS_FILE = "jwks.json"

    def __init__(
        self, private_key: Ed25519PrivateKey, *, older: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """`older`: the public JWKs of keys rotated out and still published."""
        self._private = private_key
        self._older = [dict(k) for k in older if k.get("kid") != self.kid]

    @staticmethod
    def default_dir() -> Path:
        cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
        return Path(cache) / "dev-keys"

    @classmethod
    def generate(cls) -> DevKeys:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, directory: Path) -> DevKeys:
        path = directory / cls.PRIVATE_FILE
        if not path.exists():
            keys = cls.generate()
            keys.save(directory)
            return keys
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key")
        jwks_path = directory / cls.JWKS_FILE
        stored = json.loads(jwks_path.read_text()) if jwks_path.exists() else {"keys": []}
        keys = cls(key, older=stored["keys"])
        if stored != keys.jwks():  # a folder from before the JWKS, or a key file replaced
            keys.save(directory)
        return keys

    def save(self, directory: Path) -> None:
        """Write the signing key and the JWKS, each file replaced whole (a service reading
        `jwks.json` meanwhile sees the old set or the new one)."""
        directory.mkdir(parents=True, exist_ok=True)
        private = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _replace(directory / self.PRIVATE_FILE, private, 0o600)
        _replace(directory / self.PUBLIC_FILE, self.public_pem().encode(), 0o644)
        _replace(directory / self.JWKS_FILE, json.dumps(self.jwks(), indent=2).encode(), 0o644)

    @property
    def kid(self) -> str:
        return self.jwk()["kid"]

    def jwk(self) -> dict[str, str]:
        """The signing key's public JWK."""
        return _ed25519_jwk(self._private.public_key())

    def jwks(self) -> dict[str, Any]:
        """The JWKS: the signing key's public key first, then the older ones not retired."""
        return {"keys": [self.jwk(), *(dict(k) for k in self._older)]}

    def rotate(self) -> str:
        """Sign with a new key from now on, keeping the old one published; the new kid."""
        self._older.insert(0, self.jwk())
        self._private = Ed25519PrivateKey.generate()
        return self.kid

    def retire(self, kid: str) -> None:
        """Take an older key out of the JWKS (never the signing key: rotate first)."""
        if kid == self.kid:
            raise ValueError(f"{kid} is the signing key: rotate before retiring it")
        kept = [k for k in self._older if k.get("kid") != kid]
        if len(kept) == len(self._older):
            raise ValueError(f"no published key {kid}")
        self._older = kept

    def public_pem(self) -> str:
        return (
            self._private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def verifier(self, **options: Any) -> TokenVerifier:
        """A verifier of these keys' tokens against their JWKS, by default asked in memory
        (it sees a rotation or a retirement as a service sees its identity provider's);
        `options` are TokenVerifier's, e.g. `jwks` (a URL serving `jwks()`), `jwks_cache_s`."""
        settings: dict[str, Any] = {
            "jwks": self.jwks,
            "algorithm": self.ALGORITHM,
            "issuer": self.ISSUER,
            "audience": self.AUDIENCE,
            **options,
        }
        return TokenVerifier(**settings)

    def issue(
        self,
        *,
        subject: str,
        region_scope: str | None = None,
        roles: list[str] | None = None,
        ttl_s: int = 3600,
        stations: list[str] | None = None,
        funder_id: str | None = None,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.ISSUER,
            "aud": self.AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": str(uuid.uuid4()),
            ROLES_CLAIM: roles or [],
        }
        if region_scope is not None:
            claims[SCOPE_CLAIM] = region_prefix(check_region_code(region_scope))
        if stations:
            claims[STATIONS_CLAIM] = list(stations)
        if funder_id is not None:
            claims[FUNDER_CLAIM] = funder_id
        claims.update(extra)
        return jwt.encode(
            claims, self._private, algorithm=self.ALGORITHM, headers={"kid": self.kid}
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _ed25519_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """An Ed25519 public key as a JWK, its `kid` the RFC 7638 thumbprint (the SHA-256 of
    the required members, sorted, without whitespace)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    required = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    return {
        **required,
        "kid": _b64url(hashlib.sha256(canonical).digest()),
        "use": "sig",
        "alg": "EdDSA",
    }


def _replace(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.chmod(mode)  # a leftover tmp file keeps the mode it was created with
    os.replace(tmp, path)
