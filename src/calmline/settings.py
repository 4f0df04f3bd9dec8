"""Service settings: where data lives and who is told about incidents (environment or a file).

Every field can be set from the environment as ``CALMLINE_<FIELD>`` (nested sections with a
double underscore: ``CALMLINE_NOTIFY__WEBHOOK_URL``) or from a ``.env``-style file given to
:func:`load_settings`. Unknown ``CALMLINE_`` variables in a settings file are errors, so a typo
is reported instead of silently ignored. Nothing here reaches the network on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_path
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from calmline.errors import SettingsError


def default_data_dir() -> Path:
    """The user's data directory for calmline (``~/.local/share/calmline`` on Linux)."""
    return user_data_path("calmline", appauthor=False)


class NotifySettings(BaseModel):
    """Where the line manager is told about incidents (D7). Every channel is off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: POST each notification as JSON to this URL, signed with ``webhook_secret``
    webhook_url: str | None = None
    #: shared secret for the ``X-Calmline-Signature: sha256=<hex>`` HMAC header
    webhook_secret: SecretStr | None = None
    #: SMTP server for email notifications
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: the sender address of notification emails
    email_from: str = "calmline@localhost"
    #: the line managers' addresses (comma-separated in the environment)
    email_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: write each notification to the ``calmline.notify`` logger (no message bodies)
    log: bool = True
    #: seconds before the first retry; doubles each attempt up to ``max_backoff_seconds``
    backoff_seconds: Annotated[float, Field(gt=0)] = 5.0
    max_backoff_seconds: Annotated[float, Field(gt=0)] = 900.0
    #: seconds a delivery may take before it counts as failed
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("email_to", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value


class ServeSettings(BaseModel):
    """How ``calmline serve`` listens, limits and reports (``CALMLINE_SERVE__<FIELD>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the address to listen on; keep 127.0.0.1 unless a reverse proxy in front needs otherwise
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: the largest request body accepted, in bytes (a bigger one is refused with 413)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    #: requests allowed per API key (``N/second``, ``N/minute``, ``N/hour``; several with ``;``)
    rate_limit: str = "1200/minute"
    #: where request counts are kept: ``memory://`` (one process) or ``redis://host:port`` (several)
    rate_limit_storage: str = "memory://"
    #: how long a verified key is trusted before the database is asked again (revocation delay)
    key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    #: milliseconds the live draft check waits for the agent to stop typing
    ws_debounce_ms: int = Field(default=150, ge=0, le=5000)
    #: access log lines as JSON objects (``json``) or plain text (``text``)
    log_format: Literal["json", "text"] = "json"
    #: also log HTTP request bodies (first 4 KB; never the sign-in): for debugging only
    log_bodies: bool = False
    #: serve Prometheus metrics at ``/metrics``
    metrics: bool = True
    #: mark the web UI's key cookie ``Secure`` (turn on when served over HTTPS)
    secure_cookies: bool = False


class AppSettings(BaseSettings):
    """Settings of calmline's stored coaching and service: database, notifications, server."""

    model_config = SettingsConfigDict(
        env_prefix="CALMLINE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    #: SQLAlchemy URL; default: a SQLite file ``calmline.db`` in ``data_dir``
    database_url: str | None = None
    #: where calmline keeps its SQLite database
    data_dir: Path = Field(default_factory=default_data_dir)
    #: a team playbook YAML merged over the default one
    playbook: Path | None = None
    notify: NotifySettings = Field(default_factory=NotifySettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'calmline.db'}"


def load_settings(env_file: str | Path | None = None) -> AppSettings:
    """Settings from the environment, or from ``env_file`` (``CALMLINE_X=value`` lines) over it."""
    if env_file is not None:
        path = Path(env_file)
        if path.is_dir():
            raise SettingsError(f"{env_file}: is a folder; give a settings file")
        if not path.is_file():
            raise SettingsError(f"{env_file}: settings file not found")
    try:
        return AppSettings(_env_file=env_file)  # type: ignore[call-arg]
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{env_file}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SettingsError(f"{env_file}: cannot read it ({exc.strerror})") from None
    except SourceError as exc:
        where = str(env_file) if env_file else "environment"
        raise SettingsError(f"{where}: {exc}") from None
    except ValidationError as exc:
        where = str(env_file) if env_file else "environment"
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{where}: {problems}") from None


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable a validation error is about."""
    name = "__".join(str(p).upper() for p in loc)
    return name if name.startswith("CALMLINE_") else f"CALMLINE_{name}"
