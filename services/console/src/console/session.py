"""Sessions and CSRF, without a store of their own.

A session is a sealed cookie (AES-GCM with the console's session key): who signed in, their
bearer token for the services, and when it ends. The browser holds it but cannot read or
change it (HttpOnly, sealed), and it is sent on same-site navigation only (SameSite=Lax:
the OIDC callback is a top-level redirect back from the identity provider).

CSRF: every HTML answer sets a random `wushe_csrf` cookie (SameSite=Strict) when absent, and
every form carries its value in a hidden `csrf` field; a POST whose field and cookie differ
is refused (the double-submit pattern). Another site can make a browser send the cookie but
can neither read it nor guess it.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SESSION_COOKIE = "wushe_session"
CSRF_COOKIE = "wushe_csrf"
LANG_COOKIE = "wushe_lang"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    """The signed-in person, as the console needs them for each page."""

    subject: str
    name: str  # what the page calls them (Chinese first)
    token: str  # their bearer token for the services' APIs
    roles: tuple[str, ...]
    region: str  # the region scope's code ("-" for a foundation)
    region_name: str
    expires: float
    stations: tuple[str, ...] = ()
    funder_id: str | None = None
    via: str = "dev"  # "dev" or "oidc"
    extra: dict[str, str] = field(default_factory=dict)

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles) or "admin" in self.roles

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires


class Sealer:
    """Seals and opens small documents (AES-256-GCM, the cookie name as associated data, so
    one cookie's value never opens as another's)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the console's session key must be 32 bytes (base64 in settings)")
        self._aead = AESGCM(key)

    def seal(self, name: str, doc: dict[str, object]) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, json.dumps(doc).encode(), name.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, name: str, value: str) -> dict[str, object] | None:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], name.encode())
            doc = json.loads(plain)
        except Exception:  # tampered, truncated, or sealed with another key: no session
            return None
        return doc if isinstance(doc, dict) else None

    def seal_session(self, session: Session) -> str:
        return self.seal(SESSION_COOKIE, asdict(session))

    def open_session(self, value: str | None) -> Session | None:
        doc = self.open(SESSION_COOKIE, value) if value else None
        if doc is None:
            return None
        try:
            session = Session(
                **{
                    **doc,
                    "roles": tuple(doc.get("roles") or ()),  # type: ignore[arg-type]
                    "stations": tuple(doc.get("stations") or ()),  # type: ignore[arg-type]
                }
            )
        except TypeError:
            return None
        return None if session.expired else session


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie or "", submitted or "")


def local_session_key(directory: Path) -> bytes:
    """The local stack's session key, made once in the user cache (never used outside
    environment=local: there the key comes from settings)."""
    path = directory / "console-session.key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(base64.b64encode(os.urandom(32)).decode())
        tmp.chmod(0o600)
        tmp.rename(path)
    return base64.b64decode(path.read_text().strip())
