"""The one settings class: every knob comes from the environment (or a `.env` file)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Validated configuration. Every field is documented in README.md and .env.example."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./intempo.db",
        description="SQLAlchemy URL; postgresql:// URLs are run through asyncpg.",
    )
    port: int = Field(default=8000, ge=1, le=65535)
    host: str = "127.0.0.1"
    timezone: str = "Europe/Rome"
    default_language: str = Field(default="it", pattern="^(it|en)$")
    enrolment_code_days: int = Field(default=30, ge=1, le=365)
    booking_horizon_days: int = Field(default=14, ge=1, le=60)
    dispatch_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    log_level: str = "INFO"

    reminder_hours: list[float] = Field(default=[24, 1])  # REMINDER_HOURS='[24, 1]'
    quiet_hours: str = Field(default="21:00-08:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    survey_delay_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    survey_reminder_hours: int = Field(default=24, ge=1, le=24 * 7)
    survey_close_days: int = Field(default=7, ge=1, le=60)
    digest_time: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
    retention_days: int = Field(default=90, ge=1, le=3650)
    signing_secret: SecretStr | None = None  # signs links to charts and files

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str | None = None
    public_base_url: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    # how long a dispatcher's claim on a notice lasts: after a crash, its notices wait this
    # long before another dispatcher takes them (and checks the send left unknown)
    dispatch_lease_seconds: float = Field(default=120.0, ge=2, le=3600)

    metrics_token: SecretStr | None = None  # GET /metrics with this bearer token; unset: off
    log_format: str = Field(default="text", pattern="^(text|json)$")
    backup_dir: str | None = None  # the nightly backup's folder; unset: no nightly backup
    backup_keep: int = Field(default=7, ge=1, le=365)
    backup_time: str = Field(default="02:30", pattern=r"^\d{2}:\d{2}$")
    # rest: the webhook stores the message and answers at once, replies go through the
    # REST API (buttons and lists); twiml: the turn runs in the webhook, numbered replies
    whatsapp_reply_mode: Literal["rest", "twiml"] = "rest"
    # the bot's @username, for the t.me links and QR codes of the enrolment sheets
    telegram_bot_username: str | None = Field(default=None, pattern=r"^@?[A-Za-z0-9_]{5,32}$")

    panel_link_minutes: int = Field(default=10, ge=1, le=60)  # the web console's sign-in link
    panel_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    panel_session_hours: int = Field(default=12, ge=1, le=72)

    @property
    def panel_url(self) -> str:
        """Where the web console is reached: PUBLIC_BASE_URL, else this process's address."""
        base = self.public_base_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/pannello"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the URLs platforms hand out and pick the async driver for them."""
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix):]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
