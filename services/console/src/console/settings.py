"""Console settings: where the services answer, how people sign in, and the session key."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from wushe.settings import ServiceSettings

# The services the console calls, each by its public API (never by its database).
BACKENDS = ("registry", "activities", "volunteers", "donations", "training", "projector")


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"

    # WUSHE_REGISTRY_URL, WUSHE_ACTIVITIES_URL, ...: given by whoever starts the console
    # (the local stack, compose, k8s), from the one service table.
    registry_url: str = ""
    activities_url: str = ""
    volunteers_url: str = ""
    donations_url: str = ""
    training_url: str = ""
    projector_url: str = ""
    backend_timeout_s: float = Field(
        10.0, gt=0, description="longest wait for one API call a page makes"
    )

    # Sessions: sealed cookies (AES-GCM) keyed by `session_key` (32 bytes, base64);
    # required outside environment=local, where one is generated in the user cache.
    session_key: SecretStr = SecretStr("")
    session_ttl_s: int = Field(8 * 3600, ge=60, description="a session's longest life")
    public_url: str = Field(
        "", description="the console's address as browsers see it (OIDC redirect, Secure cookies)"
    )

    # Production sign-in: OpenID Connect authorization-code flow with PKCE (docs/console.md).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid profile"

    # Local sign-in as one of the scenario's demo people, with tokens from the dev keys.
    # Refused outside environment=local whatever this says.
    dev_signin: bool = True
    dev_keys_dir: Path | None = None
    dev_province: str = Field("36", description="the province whose demo people are offered")

    assets_dir: Path | None = Field(
        None, description="the fetched front-end packages (ECharts, maps); default: user cache"
    )

    def backend_url(self, name: str) -> str:
        url: str = getattr(self, f"{name}_url")
        if not url:
            raise ValueError(f"WUSHE_{name.upper()}_URL is not set: the console calls {name}")
        return url.rstrip("/")

    @property
    def local(self) -> bool:
        return self.environment == "local"

    @property
    def secure_cookies(self) -> bool:
        return not self.local or self.public_url.startswith("https://")
