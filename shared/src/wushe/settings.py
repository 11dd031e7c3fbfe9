"""Settings every service shares. A service subclasses `ServiceSettings`, builds it once in its
entry point and passes it to `create_app(settings)`: nothing reads the environment at import.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WUSHE_", env_ignore_empty=True, extra="ignore", frozen=True
    )

    service_name: str = Field(
        description="short name, also the Kafka client id and the CloudEvents source /wushe/<name>"
    )
    environment: str = "local"

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    consumer_max_attempts: int = Field(
        3, ge=1, le=20, description="tries before a message goes to the DLQ"
    )
    consumer_retry_backoff_s: float = Field(0.2, ge=0)

    consumer_lag_interval_s: float = Field(
        15.0, gt=0, description="how often the service measures its consumer groups' lag"
    )

    # Document store (FerretDB locally, MongoDB in production)
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
    mongo_db: str = ""
    mongo_timeout_ms: int = 5000
    store_probe_interval_s: float = Field(
        1.0, gt=0, description="how often the service pings its store (503 while it is down)"
    )
    store_probe_timeout_s: float = Field(
        3.0, gt=0, description="a ping slower than this counts as the store being down"
    )

    # Outbox relay
    relay_batch_size: int = Field(500, ge=1)
    relay_sweep_interval_s: float = Field(
        5.0, gt=0, description="how often the relay scans for events no in-process signal announced"
    )

    # Auth (docs/sign-in.md): tokens are verified against the identity provider's JWKS, or,
    # when no JWKS URL is set, one fixed public key (PEM). The algorithm comes from here,
    # never from the token header.
    jwks_url: str = Field(
        "",
        description="the identity provider's JWKS: https (http to loopback only) or file://;"
        " wins over the public key",
    )
    jwks_cache_s: float = Field(
        300.0, gt=0, description="a fetched JWKS is trusted this long (a retired key's limit)"
    )
    jwt_public_key_file: Path | None = None
    jwt_public_key: str = ""
    jwt_algorithm: str = "EdDSA"
    jwt_issuer: str = "wushe-dev"
    jwt_audience: str = "wushe"
    jwt_leeway_s: int = Field(
        2, ge=0, le=60, description="clock skew forgiven on exp, nbf and iat, in seconds"
    )

    # Request guards (wushe.guards): JSON body size, and the per-client token bucket
    max_json_bytes: int = Field(1 << 20, ge=1024, description="largest JSON body accepted (413)")
    rate_limit_per_s: float = Field(
        200.0, gt=0, description="sustained requests per second per client (429 past it)"
    )
    rate_limit_burst: int = Field(400, ge=1, description="requests a client may make at once")

    # Personal data (`wushe.pii.Vault`, decision 0034): keys of 32 bytes, base64. One master
    # key (`pii_key`, sealing as key id k1), or a keyring that rotates: `pii_keys`
    # "k1:<b64>,k2:<b64>", `pii_key_id` the current one, `pii_index_key` the blind-index key
    # (it never rotates). Required outside environment=local; locally a dev key is generated
    # in the user cache.
    pii_key: SecretStr = SecretStr("")
    pii_keys: SecretStr = SecretStr("")
    pii_key_id: str = ""
    pii_index_key: SecretStr = SecretStr("")
    pii_rekey_interval_s: float = Field(
        120.0, gt=0, description="pause between passes re-sealing what older PII keys sealed"
    )

    # Telemetry
    otlp_endpoint: str = ""
    log_level: str = "INFO"

    # Memory (wushe.heap): how often what is alive is frozen out of full collections
    heap_settle_interval_s: float = Field(
        30.0, gt=0, description="how often live objects are frozen out of full GCs"
    )
    gc_young_threshold: int = Field(
        50_000, ge=100, description="net allocations between young-generation collections"
    )

    @field_validator("jwt_algorithm")
    @classmethod
    def _asymmetric_only(cls, v: str) -> str:
        if v not in {"EdDSA", "ES256", "RS256", "PS256"}:
            raise ValueError("jwt_algorithm must be asymmetric: EdDSA, ES256, RS256 or PS256")
        return v

    @property
    def database_name(self) -> str:
        return self.mongo_db or f"wushe_{self.service_name}"

    def public_key_pem(self) -> str:
        if self.jwt_public_key:
            return self.jwt_public_key
        if self.jwt_public_key_file:
            return self.jwt_public_key_file.read_text()
        return ""
