"""Settings: one pydantic-settings class, read from TAPSERVER_* variables and an optional .env file."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


class SettingsError(Exception):
    """Raised when the configuration is invalid; the message names the setting."""


#: ``upload_url_allow`` entry: every globally routable address.
PUBLIC = "public"
_HOST_PATTERN = re.compile(r"^[a-z0-9_*]([a-z0-9_*.-]*[a-z0-9_*])?$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_url_allow(entries: list[str] | tuple[str, ...]) -> tuple[bool, tuple[Network, ...], tuple[str, ...]]:
    """The entries of ``upload_url_allow`` as (``public`` given, IP networks, host names or patterns, lower
    case); ValueError for an entry that is none of these."""
    public, networks, hosts = False, [], []
    for entry in entries:
        item = entry.strip().lower()
        if item == PUBLIC:
            public = True
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
            continue
        except ValueError:
            pass
        if not _HOST_PATTERN.match(item):
            raise ValueError(f"{entry!r} is neither {PUBLIC!r}, an IP network nor a host name (pattern)")
        hosts.append(item)
    return public, tuple(networks), tuple(hosts)


class Settings(BaseSettings):
    """Every tunable of the server. Built once per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(
        env_prefix="TAPSERVER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/tapserver",
        description="SQLAlchemy URL of the archive database (owner role: migrations, ingest, jobs).",
    )
    query_database_url: str | None = Field(
        None,
        description="URL used for user queries. Default: database_url with the reader role as user.",
    )
    reader_role: str = Field("tapserver_reader", description="Read-only role that runs user ADQL.")
    reader_password: str | None = Field(None, description="Password set on the reader role, if any.")
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the service, used in capabilities and links."
    )
    data_dir: Path = Field(Path("var/data"), description="Directory for job results and uploads.")
    data_roots: list[Path] = Field(
        default_factory=list, description="Directories from which DataLink may serve files."
    )
    default_maxrec: int = Field(10_000, ge=0, description="MAXREC when the client gives none.")
    hard_maxrec: int = Field(10_000_000, ge=1, description="Largest MAXREC a client may ask for.")
    sync_timeout: float = Field(60.0, gt=0, description="Seconds a sync query may run.")
    execution_duration: int = Field(3600, gt=0, description="Seconds an async job may run.")
    retention_days: float = Field(7.0, gt=0, description="Days before an async job is destroyed.")
    upload_limit_bytes: int = Field(50_000_000, gt=0, description="Largest accepted upload (all tables of one "
                                    "request, bytes counted after decompression).")
    upload_limit_rows: int = Field(1_000_000, gt=0, description="Most rows accepted in one upload.")
    form_limit_bytes: int = Field(10_000_000, gt=0, description="Largest url-encoded request body; a multipart "
                                  "body may hold this plus upload_limit_bytes. A larger body is answered 413.")
    # --- URL uploads: what UPLOAD=name,URL may make the server fetch (tapserver.uploads.UrlPolicy) ---
    upload_url_enabled: bool = Field(
        True, description="Accept UPLOAD=name,http(s)://... (the server fetches the table). False: inline "
        "(param:) uploads only, and only upload-inline is advertised.",
    )
    upload_url_allow: list[str] = Field(
        default_factory=lambda: ["public"],
        description="Where URL uploads may connect: `public` (any globally routable address), networks "
        "(`10.1.0.0/16`, `::1/128`), host names or patterns (`*.example.org`: any address). A URL is fetched "
        "if its host matches a host entry or every address it resolves to is allowed. Default: public only.",
    )
    # --- end URL uploads ---
    workers: int = Field(2, ge=0, description="Async job workers started inside `tapserver serve`.")
    web_warm_up: bool = Field(
        True, description="Fill the landing page's caches (archive figures, coverage MOC, sky map) in the "
        "background when a server process starts, so that the first visitor does not wait. False: the first "
        "visit fills them (a process that serves no page saves about a second of CPU: astropy, mocpy).",
    )
    gadf_sync_limit_bytes: int = Field(
        4_000_000_000, ge=0, description="Largest GADF bundle /gadf/datastore sends in one request (bytes); "
        "larger selections are refused with 413 and go through /gadf/async (a job whose result is the bundle).",
    )
    batch_rows: int = Field(5000, gt=0, description="Rows fetched and encoded per batch when streaming.")
    pool_size: int = Field(10, gt=0, description="Database connections per engine.")
    cors_origins: list[str] = Field(default_factory=lambda: ["*"], description="Allowed CORS origins.")
    provsap_max_depth: int = Field(
        50, ge=1, description="Largest numeric DEPTH of a ProvSAP request (DEPTH=ALL walks the whole history)."
    )
    provsap_max_nodes: int = Field(
        200_000, ge=1, description="Most entities, activities and agents in one ProvSAP answer."
    )
    title: str = Field("tapserver DL3 archive", description="Service title shown in pages and documents.")
    publisher_authority: str = Field(
        "ivo://tapserver.example", description="IVOA authority used for publisher DIDs."
    )
    # --- operations: observability ---
    log_format: Literal["text", "json"] = Field(
        "text", description="Format of the tapserver log lines on stderr: text, or json (one object a line)."
    )
    worker_metrics_port: int | None = Field(
        None, ge=1, le=65535, description="`tapserver worker` serves its Prometheus metrics (the query "
        "counters of the jobs it runs) on this port at /metrics. Unset: none (its query log still has them).",
    )
    worker_metrics_host: str = Field("0.0.0.0", description="Address the worker's metrics port listens on.")
    # --- end operations ---
    # --- registry: the OAI-PMH record at /oai (tapserver.registry) ---
    registry_identifier: str | None = Field(
        None, description="IVOA identifier of this service's registry record. Default: {publisher_authority}/tap."
    )
    registry_short_name: str | None = Field(None, description="Short name (at most 16 characters) in the record.")
    registry_publisher: str = Field("tapserver operator", description="Publisher named in the registry record.")
    registry_contact_name: str = Field("Archive operator", description="Contact person or role in the record.")
    registry_contact_email: str = Field(
        "operator@tapserver.example", description="Contact e-mail of the record (also the OAI-PMH adminEmail)."
    )
    registry_description: str = Field(
        "IVOA ObsTAP / ProvTAP service of DL3 gamma-ray observations (event lists and IRFs).",
        description="Description in the registry record.",
    )
    registry_subjects: list[str] = Field(
        default_factory=lambda: ["gamma-ray astronomy"], description="Subjects (UAT terms) of the record."
    )
    registry_reference_url: str | None = Field(
        None, description="Documentation URL in the record. Default: the service's base URL (landing page)."
    )
    # --- end registry ---
    # --- authentication and authorisation (tapserver.auth) -----------------------------------------
    auth_tokens: bool = Field(
        False, description="Accept `Authorization: Bearer` tokens (operator tokens, and OIDC JWTs when "
        "oidc_issuer is set) and advertise ivo://ivoa.net/sso#token in the capabilities.",
    )
    oidc_issuer: str | None = Field(None, description="OIDC issuer URL whose JWTs are accepted (exact `iss`).")
    oidc_audience: str | None = Field(None, description="Required `aud` of OIDC JWTs (None: no audience check).")
    oidc_jwks_url: str | None = Field(
        None, description="JWKS URL of the issuer. Default: from {oidc_issuer}/.well-known/openid-configuration.",
    )
    oidc_user_claim: str = Field("sub", description="JWT claim that names the user.")
    oidc_groups_claim: str = Field("groups", description="JWT claim that lists the user's groups.")
    oidc_jwks_cache_seconds: float = Field(3600.0, gt=0, description="Seconds a fetched JWKS is reused.")
    oidc_timeout: float = Field(5.0, gt=0, description="Seconds to wait for the issuer (JWKS, discovery).")
    proprietary_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Groups that may read proprietary products, keyed `collection:NAME` or `proposal:ID`.",
    )
    # --- end of authentication settings -----------------------------------------------------------

    @field_validator("database_url", "query_database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        # SQLAlchemy is imported where a URL is read: `tapserver --help` and argument errors need none.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"only PostgreSQL is supported, got {url.drivername!r}")
        return value

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("upload_url_allow")
    @classmethod
    def _valid_url_allow(cls, value: list[str]) -> list[str]:
        parse_url_allow(value)  # raises ValueError naming a bad entry
        return value

    @model_validator(mode="after")
    def _maxrec_order(self) -> Settings:
        if self.default_maxrec > self.hard_maxrec:
            raise ValueError("default_maxrec must not exceed hard_maxrec")
        return self

    @property
    def admin_url(self) -> URL:
        """URL of the owner connection, with the psycopg 3 driver."""
        from sqlalchemy.engine import make_url

        return _psycopg(make_url(self.database_url))

    @property
    def query_url(self) -> URL:
        """URL of the read-only connection used for user queries."""
        if self.query_database_url:
            from sqlalchemy.engine import make_url

            return _psycopg(make_url(self.query_database_url))
        return self.admin_url.set(username=self.reader_role, password=self.reader_password)

    @property
    def tap_url(self) -> str:
        """Public base URL of the TAP service."""
        return f"{self.base_url}/tap"


def _psycopg(url: URL) -> URL:
    return url.set(drivername="postgresql+psycopg")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and overrides), turning validation errors into SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "TAPSERVER_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return load_settings()
