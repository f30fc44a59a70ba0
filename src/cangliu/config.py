"""Settings, read from environment variables prefixed ``CANGLIU_``."""

from functools import lru_cache
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cangliu.core.hosts import parse as parse_hosts


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CANGLIU_", extra="ignore")

    database_url: str = "sqlite:///./cangliu.db"
    admin_password: str | None = None
    # Signs session cookies. When unset, a random key is generated once and kept in the database.
    secret_key: str | None = None
    # The language for a visitor whose cookie and browser name neither zh nor en.
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    token_hours: int = 12
    sql_echo: bool = False
    # PostgreSQL connections per process: kept open, and opened beyond that under load. All app
    # processes and the worker together need up to (size + overflow) × processes connections.
    db_pool_size: int = 20
    db_max_overflow: int = 20
    # "inprocess": the app runs the background jobs (approval timeouts …) itself; "off" when
    # `cangliu worker` runs them in a process of its own.
    scheduler: Literal["inprocess", "off"] = "inprocess"
    # Live events across app processes: LISTEN/NOTIFY on PostgreSQL (measured in bench/events.py),
    # or, with events_listen off, outbox polling only, every events_poll_seconds.
    events_listen: bool = True
    events_poll_seconds: float = 1.0
    # Where people reach this server: links in robot messages, e-mails and reports.
    public_url: str = "http://127.0.0.1:8000"
    # Where webhooks and robots may send: "external" (public addresses), "private", "loopback",
    # networks (10.0.0.0/8), host names or "*", comma-separated; see cangliu.integrations.guard.
    outbound_allowed_hosts: str = "external"
    # Administrators must use two-step login: until they set it up, their pages lead to the
    # account page, and the API (password login and their tokens) refuses them.
    two_step_for_admins: bool = False
    # Outgoing e-mail (alerts, reports). No host: e-mail deliveries wait, logged as not configured.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "cangliu@localhost"
    smtp_starttls: bool = False
    # Rate limits per caller (API token, else session, else address): token buckets per minute.
    rate_limit_enabled: bool = True
    rate_limit_read_per_minute: int = 600
    rate_limit_write_per_minute: int = 120
    rate_limit_login_per_minute: int = 20
    import_max_mb: int = 20  # the largest spreadsheet an import accepts
    # Operations: log lines as JSON (one object per line, with the request id) or as text.
    log_format: Literal["text", "json"] = "text"
    log_level: str = "info"
    # /metrics needs this bearer token when set; when unset, only loopback clients may read it.
    metrics_token: str | None = None
    # Where worker processes share their metrics (prometheus_client multiprocess mode); `serve
    # --workers N` makes a temporary one when unset.
    metrics_dir: str | None = None

    @field_validator("outbound_allowed_hosts")
    @classmethod
    def _known_hosts(cls, value: str) -> str:
        parse_hosts(value)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
