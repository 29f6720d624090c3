"""One typed Settings object read from the environment and validated at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = ("all", "web", "notifier", "scheduler")


class SettingsError(Exception):
    """A configuration value is wrong; the message names the variable in one line."""


class Settings(BaseSettings):
    """Every knob of the product; each field maps to an environment variable."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True)

    mongodb_uri: str | None = Field(default=None, alias="MONGODB_URI")
    pst_db_name: str = Field(default="pst", alias="PST_DB_NAME")
    pst_data_dir: Path = Field(default=Path("./data"), alias="PST_DATA_DIR")
    pst_secret_key: str | None = Field(default=None, alias="PST_SECRET_KEY")
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    smtp_url: str | None = Field(default=None, alias="SMTP_URL")
    mail_from: str = Field(default="PST Konsultasi <no-reply@pst.localhost>", alias="MAIL_FROM")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    zoom_account_id: str | None = Field(default=None, alias="ZOOM_ACCOUNT_ID")
    zoom_client_id: str | None = Field(default=None, alias="ZOOM_CLIENT_ID")
    zoom_client_secret: str | None = Field(default=None, alias="ZOOM_CLIENT_SECRET")
    zoom_api_base: str = Field(default="https://api.zoom.us/v2", alias="ZOOM_API_BASE")
    zoom_oauth_url: str = Field(default="https://zoom.us/oauth/token", alias="ZOOM_OAUTH_URL")
    jitsi_base_url: str = Field(default="https://meet.jit.si", alias="JITSI_BASE_URL")
    jitsi_app_id: str | None = Field(default=None, alias="JITSI_APP_ID")
    jitsi_app_secret: str | None = Field(default=None, alias="JITSI_APP_SECRET")
    pst_test_clock: bool = Field(default=False, alias="PST_TEST_CLOCK")
    pst_web_dir: Path | None = Field(default=None, alias="PST_WEB_DIR")
    pst_log_level: str = Field(default="INFO", alias="PST_LOG_LEVEL")
    # Session lifetime; a session unused this long is gone.
    pst_session_ttl_hours: int = Field(default=24 * 14, alias="PST_SESSION_TTL_HOURS", ge=1, le=24 * 365)
    pst_scheduler_interval_secs: float = Field(default=30.0, alias="PST_SCHEDULER_INTERVAL_SECS", gt=0, le=3600)
    pst_notifier_interval_secs: float = Field(default=2.0, alias="PST_NOTIFIER_INTERVAL_SECS", gt=0, le=3600)
    pst_max_body_bytes: int = Field(default=11 * 1024 * 1024, alias="PST_MAX_BODY_BYTES", ge=1024)
    # The database work of one request or socket event must finish within this; past it the call answers
    # 503 database_unavailable (a frozen or unreachable database), instead of hanging.
    pst_db_timeout_secs: float = Field(default=10.0, alias="PST_DB_TIMEOUT_SECS", gt=0, le=300)
    # A room's counters, previews and read pointers are written at most this long after the message that
    # changed them, several messages and rooms in one write (server.storage.batching.Trailing); 0: at once.
    pst_trailing_secs: float = Field(default=0.1, alias="PST_TRAILING_SECS", ge=0, le=2)
    # New chat messages are refused `busy` while the event loop runs this late on average (the CPU saturated:
    # server.realtime.loop_lag); 0: never for that reason.
    pst_busy_loop_late_secs: float = Field(default=0.1, alias="PST_BUSY_LOOP_LATE_SECS", ge=0, le=10)
    # Cookies marked Secure when served over https (PUBLIC_BASE_URL decides).
    pst_secure_cookies: bool | None = Field(default=None, alias="PST_SECURE_COOKIES")
    # Origins besides PUBLIC_BASE_URL's and the request's own host that may send cookie-authenticated
    # writes (CSRF check), comma-separated: "https://portal.example.go.id,https://intranet.bps.go.id".
    pst_allowed_origins: str = Field(default="", alias="PST_ALLOWED_ORIGINS")
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated); from
    # anyone else the header is ignored and the connection's address is the client's.
    pst_trusted_proxies: str = Field(default="", alias="PST_TRUSTED_PROXIES")
    # Request limits per client address and account (server/http/ratelimit.py); off only for
    # benchmarks or behind a proxy that limits by itself.
    pst_rate_limits: bool = Field(default=True, alias="PST_RATE_LIMITS")
    # Personal data kept this many years (server/domain/privacy.py): past it, closed consultations' message
    # texts, rendered e-mails and guest book ID numbers are erased by the scheduler; figures stay.
    pst_retention_years: int = Field(default=5, alias="PST_RETENTION_YEARS", ge=1, le=50)
    # WhatsApp Business (Cloud API): the token sends, the app secret signs webhooks, the verify token
    # answers Meta's subscription check. Secrets: never logged, never in an API answer, never in repr().
    whatsapp_token: str | None = Field(default=None, alias="WHATSAPP_TOKEN", repr=False)
    whatsapp_app_secret: str | None = Field(default=None, alias="WHATSAPP_APP_SECRET", repr=False)
    whatsapp_verify_token: str | None = Field(default=None, alias="WHATSAPP_VERIFY_TOKEN", repr=False)
    whatsapp_api_base: str = Field(default="https://graph.facebook.com/v21.0", alias="WHATSAPP_API_BASE")
    # Approved message templates for outside Meta's 24-hour window (names as approved in WhatsApp
    # Manager; their body parameters are listed in README.md), and their language code.
    whatsapp_template_reply_waiting: str = Field(default="pst_reply_waiting", alias="WHATSAPP_TEMPLATE_REPLY_WAITING")
    whatsapp_template_rating: str = Field(default="pst_rating_request", alias="WHATSAPP_TEMPLATE_RATING")
    whatsapp_template_idle: str = Field(default="pst_idle_warning", alias="WHATSAPP_TEMPLATE_IDLE")
    whatsapp_template_lang: str = Field(default="id", alias="WHATSAPP_TEMPLATE_LANG")
    # Each office's mailbox: a JSON file {"7406": "imaps://user:password@host:993/INBOX", ...}, and/or
    # one variable per office, PST_IMAP_<CODE>_URL (which wins). Never from the API.
    pst_imap_accounts_file: Path | None = Field(default=None, alias="PST_IMAP_ACCOUNTS_FILE")
    # Mailboxes without IMAP IDLE are polled this often; with IDLE, the IDLE is renewed this often.
    pst_imap_poll_secs: float = Field(default=60.0, alias="PST_IMAP_POLL_SECS", gt=0, le=3600)
    pst_imap_idle_secs: float = Field(default=600.0, alias="PST_IMAP_IDLE_SECS", gt=0, le=1740)
    # Mails taken from one sender per hour (an e-mail bomb is dropped past it, without a reply).
    pst_channel_mails_per_hour: int = Field(default=30, alias="PST_CHANNEL_MAILS_PER_HOUR", ge=1, le=10_000)

    # Filled in by the CLI, not the environment.
    host: str = "127.0.0.1"
    port: int = 8080
    role: str = "all"

    @field_validator("mongodb_uri")
    @classmethod
    def _mongo_uri(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not (v.startswith("mongodb://") or v.startswith("mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return v

    @field_validator("pst_db_name")
    @classmethod
    def _db_name(cls, v: str) -> str:
        if not v or any(c in v for c in '/\\. "$') or len(v) > 60:
            raise ValueError("must be a valid MongoDB database name")
        return v

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
            raise ValueError("must look like smtp://user:pass@host:port, smtp+starttls://… or smtps://…")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if urlsplit(v).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v

    @field_validator("public_base_url", "zoom_api_base", "zoom_oauth_url", "jitsi_base_url", "whatsapp_api_base")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("pst_allowed_origins")
    @classmethod
    def _origins(cls, v: str) -> str:
        return ",".join(origin_of(item, strict=True) for item in v.split(",") if item.strip())

    @field_validator("pst_trusted_proxies")
    @classmethod
    def _proxies(cls, v: str) -> str:
        out = []
        for item in v.split(","):
            if item.strip():
                try:
                    out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
                except ValueError:
                    raise ValueError(f"{item.strip()!r} is not an IP address or CIDR such as 10.0.0.0/8") from None
        return ",".join(out)

    @field_validator("whatsapp_template_reply_waiting", "whatsapp_template_rating", "whatsapp_template_idle")
    @classmethod
    def _template_name(cls, v: str) -> str:
        # Meta's template names: lower-case letters, digits and underscores.
        if not re.fullmatch(r"[a-z0-9_]{1,512}", v):
            raise ValueError("must be a template name of lower-case letters, digits and underscores")
        return v

    @field_validator("pst_imap_accounts_file")
    @classmethod
    def _imap_file(cls, v: Path | None) -> Path | None:
        if v in (None, Path("")):
            return None
        assert v is not None
        read_imap_accounts_file(v)  # a bad file stops start-up here, naming the variable
        return v

    @model_validator(mode="after")
    def _imap_env(self) -> Settings:
        for name, url in _imap_env_urls().items():
            try:
                check_imap_url(url)
            except ValueError as exc:
                # The message names the variable, never its value (it holds a password).
                raise SettingsError(f"invalid configuration: {name} {exc}") from None
        return self

    @field_validator("pst_log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @property
    def secret_key(self) -> str:
        """The signing key; generated and kept under the data dir when not configured."""
        if self.pst_secret_key:
            return self.pst_secret_key
        path = self.pst_data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Origins allowed to send cookie-authenticated writes: PUBLIC_BASE_URL's and PST_ALLOWED_ORIGINS."""
        found = {o for o in self.pst_allowed_origins.split(",") if o}
        if self.public_base_url:
            found.add(origin_of(self.public_base_url))
        return frozenset(found)

    @property
    def trusted_proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """PST_TRUSTED_PROXIES as networks."""
        return tuple(ipaddress.ip_network(n) for n in self.pst_trusted_proxies.split(",") if n)

    def imap_accounts(self) -> dict[str, str]:
        """Office code -> IMAP URL (with its password): the file's, then PST_IMAP_<CODE>_URL over it."""
        found: dict[str, str] = {}
        if self.pst_imap_accounts_file is not None:
            found.update(read_imap_accounts_file(self.pst_imap_accounts_file))
        for name, url in _imap_env_urls().items():
            found[name.removeprefix("PST_IMAP_").removesuffix("_URL")] = url
        return found

    @property
    def base_url(self) -> str:
        """Where links in e-mails point."""
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        if self.pst_secure_cookies is not None:
            return self.pst_secure_cookies
        return self.base_url.startswith("https://")

    @property
    def mail_dir(self) -> Path:
        return self.pst_data_dir / "mail"

    @property
    def web_dir(self) -> Path:
        if self.pst_web_dir:
            return self.pst_web_dir
        return Path(__file__).resolve().parent.parent / "web"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str, *, strict: bool = False) -> str:
    """`scheme://host[:port]` as browsers send it in `Origin` (lower case, default port left out).

    `strict`: the value must be an origin itself (no path, query or credentials), as in PST_ALLOWED_ORIGINS.
    """
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url.strip()!r} has an invalid port") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url.strip()!r} is not an http(s) origin such as https://pst.example.go.id")
    if strict and (parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise ValueError(f"{url.strip()!r} must be an origin only (scheme://host[:port], no path)")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


_IMAP_ENV = re.compile(r"PST_IMAP_([0-9]{4})_URL")


def _imap_env_urls() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if _IMAP_ENV.fullmatch(k) and v}


def check_imap_url(url: str) -> str:
    """`imap://user:pass@host[:port][/MAILBOX]` or `imaps://…`; ValueError (without the URL) when not."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError("must look like imaps://user:password@host:993/INBOX (or imap://)")
    if not parts.username or parts.password is None:
        raise ValueError("must carry the mailbox user and password")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return url


def read_imap_accounts_file(path: Path) -> dict[str, str]:
    """The JSON file of office code -> IMAP URL; ValueError naming what is wrong (never a password)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    except ValueError:
        raise ValueError("is not a JSON file") from None
    if not isinstance(data, dict):
        raise ValueError('must hold a JSON object {"CODE": "imaps://…"}')
    out: dict[str, str] = {}
    for code, url in data.items():
        if not (isinstance(code, str) and re.fullmatch(r"[0-9]{4}", code)) or not isinstance(url, str):
            raise ValueError("maps office codes (4 digits) to IMAP URLs")
        try:
            out[code] = check_imap_url(url)
        except ValueError as exc:
            raise ValueError(f"office {code}: the URL {exc}") from None
    return out


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; turn the first bad value into one line naming its variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("?",)
        name = str(loc[0]).upper()
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        raise SettingsError(f"invalid configuration: {name} {msg}") from None
