"""Settings from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import ConfigError
from bot.core.validation import parse_count
from bot.program.sections import SEGMENTS


class Settings(BaseSettings):
    """Every setting a deployment can change; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field(default="", description="Token from @BotFather")
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = ""
    telegram_poll_timeout: int = Field(default=30, ge=0, le=50)
    telegram_user_updates_per_minute: int = Field(default=30, ge=1, le=10_000)
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    telegram_webhook_host: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8443, ge=0, le=65535)

    slack_bot_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(default=3000, ge=0, le=65535)
    slack_alert_channel: str = ""
    slack_support_channel: str = ""  # detractors' NPS answers; SLACK_ALERT_CHANNEL when empty
    slack_manager_ids: str = ""
    # The team side's language (en, es or fa): channel posts, and DMs to anyone whose own Slack language is not known.
    team_locale: Literal["en", "es", "fa"] = "en"

    # The engine's own HTTP server (CRM API, metrics, health); port 0 picks a free port.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8081, ge=0, le=65535)
    crm_api_token: str = ""  # bearer token for the CRM API; the API is off when empty
    webhook_urls: str = ""  # comma-separated receivers of referral events
    webhook_secret: str = ""  # signs each webhook (HMAC-SHA256 over timestamp and body)
    webhook_rate_per_second: float = Field(default=5.0, gt=0, le=10_000)
    # Every server the bot runs (this one, the Telegram webhook, Slack's HTTP mode): a connection that has not sent
    # a whole request head this long after it opened, or after its last response, is closed; past the cap, new
    # connections are refused. Clients that connect and send nothing then cannot exhaust the file descriptors.
    http_header_timeout_seconds: float = Field(default=15.0, gt=0, le=3600)
    http_max_connections: int = Field(default=1000, ge=1, le=1_000_000)

    # People outside Telegram (docs/operations.md): the landing page every link also has at PUBLIC_URL/r/<code>,
    # served on LANDING_HOST:LANDING_PORT behind the operator's TLS proxy, and e-mail through SMTP_URL.
    public_url: str = ""
    landing_host: str = "127.0.0.1"
    landing_port: int = Field(default=8080, ge=0, le=65535)
    # The proxies whose X-Forwarded-For names the visitor (comma-separated); the page limits each visitor's forms.
    landing_trusted_proxies: str = "127.0.0.1,::1"
    landing_forms_per_hour: int = Field(default=10, ge=1, le=100_000)  # per visitor's address
    landing_forms_per_code_per_hour: int = Field(default=30, ge=1, le=100_000)  # per referrer's link
    smtp_url: str = ""  # smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS); e-mail off if empty
    smtp_from: str = ""  # Referrals <referrals@example.com>
    smtp_reply_to: str = ""  # the address the team reads replies at; SMTP_FROM when empty
    email_rate_per_second: float = Field(default=5.0, gt=0, le=10_000)  # all mail together
    advocate_link_days: int = Field(default=30, ge=1, le=365)  # how long an e-mailed advocate's personal link works

    # Delivery: how fast and how wide the outbox sends. Defaults follow the platforms' published limits.
    telegram_rate_per_second: float = Field(default=30.0, gt=0, le=10_000)
    telegram_chat_rate_per_second: float = Field(default=1.0, gt=0, le=10_000)
    telegram_chat_burst: int = Field(default=3, ge=1, le=100)
    telegram_group_rate_per_minute: float = Field(default=20.0, gt=0, le=100_000)
    slack_channel_rate_per_second: float = Field(default=1.0, gt=0, le=10_000)
    slack_digest_threshold: int = Field(default=60, ge=2, le=100_000)
    notification_window_seconds: float = Field(default=60.0, ge=0, le=3600)  # 0: every notification on its own
    # How many notifications of a kind a chat gets at once before the rest wait for the window's next slot (Telegram's
    # own burst for a chat); 1 keeps a referrer whose link went viral to one message a minute.
    notification_burst: int = Field(default=3, ge=1, le=100)
    outbox_concurrency: int = Field(default=1, ge=1, le=1000)  # sends in flight per platform
    outbox_lease_seconds: int = Field(default=60, ge=5, le=3600)
    outbox_outage_backoff_seconds: float = Field(default=60.0, ge=1, le=3600)  # the longest wait to retry a platform

    database_url: str = "sqlite:///referrals.db"
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    # Days to keep sent messages, processed update ids (7 at least) and audit events not about a referral; 0 keeps
    # everything (bot/core/retention.py says what stays whatever its age).
    retention_days: int = Field(default=90, ge=0, le=3650)
    program_file: Path = Path("program.toml")
    templates_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        # Telegram tokens are "<bot id>:<secret>"; catching a pasted typo here beats a 401 later.
        if value and (":" not in value or parse_count(value.split(":", 1)[0], 1, 2**63 - 1, ascii_only=True) is None):
            raise ValueError("expected the form 123456:ABC-DEF from @BotFather")
        return value

    @field_validator("templates_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("templates_dir")
    @classmethod
    def _templates_usable(cls, value: Path | None) -> Path | None:
        problem = template_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///path/to/file.db or postgresql://user@host:5432/database")
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: str) -> str:
        for url in (part.strip() for part in value.split(",")):
            if url and not url.startswith(("https://", "http://")):
                raise ValueError(f"{url!r} is not an http(s) URL (separate several with commas)")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("expected the address the landing page is reached at, such as https://refer.example.com")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("use smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS)")
        return value

    @model_validator(mode="after")
    def _email_needs_sender(self) -> Settings:
        if self.smtp_url and "@" not in self.smtp_from:
            raise ValueError("SMTP_FROM: set the address mail comes from, such as Referrals <referrals@example.com>")
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_urls.strip() and len(self.webhook_secret) < 16:
            raise ValueError("WEBHOOK_SECRET: set 16 or more characters to sign webhooks with WEBHOOK_URLS")
        if self.telegram_webhook_url and len(self.telegram_webhook_secret) < 16:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: set 16 or more letters, digits, _ or - with a webhook URL")
        if self.telegram_webhook_url and not self.telegram_webhook_url.startswith("https://"):
            raise ValueError("TELEGRAM_WEBHOOK_URL: Telegram only calls https:// URLs")
        return self

    @property
    def managers(self) -> frozenset[str]:
        return frozenset(part for part in self.slack_manager_ids.replace(",", " ").split() if part)

    @property
    def webhook_targets(self) -> tuple[str, ...]:
        return tuple(url.strip() for url in self.webhook_urls.split(",") if url.strip())

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_url)

    @property
    def trusted_proxies(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.landing_trusted_proxies.split(",") if part.strip())

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def telegram_file_base_url(self) -> str:
        return self.telegram_file_url or self.telegram_api_url.replace("/bot", "/file/bot", 1)

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")


def template_problem(directory: Path) -> str | None:
    """The first override template or labels file that cannot be used, with its line; None when all can.
    Checked at start-up, so a typo in a business's template stops the bot instead of one message."""
    if not directory.is_dir():
        return f"{directory} is not a folder"
    compiler = jinja2.Environment()
    for path in sorted(directory.rglob("*")):
        try:
            if path.suffix in (".html", ".mrkdwn"):
                compiler.compile(path.read_text(encoding="utf-8"), path.name, str(path))
                if misnamed := misnamed_script(path):
                    return misnamed
            elif path.name == "labels.toml":
                tomllib.loads(path.read_text(encoding="utf-8"))
        except jinja2.TemplateSyntaxError as exc:
            return f"{path}: line {exc.lineno}: {exc.message}"
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            return f"{path}: {exc}"
    return None


def misnamed_script(path: Path) -> str | None:
    """A call script for a segment that does not exist would never be shown: say so instead of ignoring it."""
    segment = path.stem.removeprefix("script_")
    if path.suffix != ".mrkdwn" or segment == path.stem or segment in SEGMENTS:
        return None
    known = ", ".join(SEGMENTS)
    return f"{path}: no segment is called {segment!r}: name a call script script_<segment>.mrkdwn, with one of {known}"


# A Slack conversation id: C (public), G (private) or D (direct), then capitals and digits. Channel names are
# lower case, so "#referrals" or "referrals" never passes for one.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def run_problems(settings: Settings) -> list[str]:
    """Everything `run` refuses that is found without contacting anyone (Telegram, Slack, the database), one line
    each: `run` stops at the first, `check` lists them all."""
    problems = []
    if not settings.telegram_bot_token:
        problems.append("setting TELEGRAM_BOT_TOKEN: required to run the bot (the token @BotFather gave you)")
    problems += slack_problems(settings)
    folder = Path(settings.sqlite_path).parent
    if settings.database_url.startswith("sqlite:///") and not folder.is_dir():
        problems.append(f"setting DATABASE_URL: the folder {folder} does not exist")
    return problems


def slack_problems(settings: Settings) -> list[str]:
    """What keeps the Slack side from starting, when SLACK_BOT_TOKEN turns it on."""
    if not settings.slack_enabled:
        return []
    problems = []
    if not settings.slack_alert_channel:
        problems.append("setting SLACK_ALERT_CHANNEL: required with SLACK_BOT_TOKEN (the channel id for alerts)")
    for setting, channel in (
        ("SLACK_ALERT_CHANNEL", settings.slack_alert_channel),
        ("SLACK_SUPPORT_CHANNEL", settings.slack_support_channel),
    ):
        if channel and not _CHANNEL_ID.fullmatch(channel):
            problems.append(
                f"setting {setting}: {channel!r} is not a channel id: use the id, such as C0123ABCD, not the name"
                " (in Slack, click the channel's name at the top: the id is at the bottom of the About tab)"
            )
    if not (settings.slack_app_token or settings.slack_signing_secret):
        problems.append("setting SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is needed (Socket Mode or HTTP mode)")
    return problems


def hide_password(url: str) -> str:
    """A database URL fit to show in a log or a message: its password, in the address or the query, as ***."""
    scheme, separator, rest = url.partition("://")
    address, question, query = rest.partition("?")
    netloc, slash, path = address.partition("/")
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", query)
    return f"{scheme}{separator}{netloc}{slash}{path}{question}{query}" if separator else url


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings names its variable in the message itself
            raise ConfigError(f"setting {first['msg'].removeprefix('Value error, ')}") from None
        raise ConfigError(f"setting {str(first['loc'][0]).upper()}: {first['msg']}") from None
