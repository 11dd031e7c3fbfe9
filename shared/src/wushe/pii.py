"""Personal data at rest: encrypted, findable by a blind index, masked when shown.

PIPL Art. 51 asks for encryption and de-identification; personal data never leaves the service
that owns it (not on topics, not in logs). A service keeps, per personal field:

- the ciphertext (AES-256-GCM, random 96-bit nonce, the record id and field bound in as
  associated data, so a ciphertext copied to another record or field does not decrypt);
- a blind index (keyed HMAC-SHA256 of the normalised value) to find "who has this ID
  number" without decrypting everything, and to enforce uniqueness;
- a masked form for display (`110105********002X`, `138****8000`).

Both keys derive (HKDF-SHA256) from one master key held outside the database
(`WUSHE_PII_KEY`, 32 bytes base64). Locally a dev key is generated in the user cache;
outside `environment=local` a missing key is an error, never a silent default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "v1"


class VaultError(ValueError):
    pass


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class Vault:
    def __init__(self, master_key: bytes, *, key_id: str = "k1") -> None:
        if len(master_key) != 32:
            raise VaultError("the PII master key must be 32 bytes")
        self.key_id = key_id
        self._aead = AESGCM(_derive(master_key, b"wushe-pii-encryption"))
        self._index_key = _derive(master_key, b"wushe-pii-blind-index")

    @classmethod
    def from_base64(cls, key: str, *, key_id: str = "k1") -> Vault:
        try:
            raw = base64.b64decode(key, validate=True)
        except ValueError as exc:
            raise VaultError("WUSHE_PII_KEY must be base64") from exc
        return cls(raw, key_id=key_id)

    @classmethod
    def for_environment(cls, key: str, environment: str, *, dev_dir: Path | None = None) -> Vault:
        """The configured key; locally, a generated dev key kept in the user cache."""
        if key:
            return cls.from_base64(key)
        if environment != "local":
            raise VaultError(f"WUSHE_PII_KEY is required in environment {environment!r}")
        path = (dev_dir or _dev_dir()) / "pii-dev.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            path.chmod(0o600)
        return cls.from_base64(path.read_text().strip(), key_id="dev")

    def encrypt(self, value: str, *, context: str) -> str:
        """Ciphertext bound to `context` (for example "social_worker:sw-1:phone")."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, value.encode(), context.encode())
        return f"{FORMAT}.{self.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            fmt, _key_id, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
        except ValueError as exc:
            raise VaultError("not a vault ciphertext") from exc
        if fmt != FORMAT:
            raise VaultError(f"unknown ciphertext format {fmt}")
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise VaultError("ciphertext does not match its context or key") from exc

    def blind_index(self, kind: str, value: str) -> str:
        """A keyed hash for equality lookups; without the key it reveals nothing."""
        normalised = value.strip().upper()
        mac = hmac.new(self._index_key, f"{kind}:{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]


def _dev_dir() -> Path:
    cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
    return Path(cache) / "dev-keys"
