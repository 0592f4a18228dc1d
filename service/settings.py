"""Settings, read from an environment mapping; nothing runs at import."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/comments.db"

CAPTCHA_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # the same as service.captcha.ALPHABET (a test ties them)

E = TypeVar("E", bound=enum.Enum)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Environment(enum.Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Moderation(enum.Enum):
    PRE = "pre"
    POST = "post"


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0.1 <= value <= 3600:  # also refuses nan and inf
        raise SettingsError(f"{name} must be from 0.1 to 3600 seconds, got {raw}")
    return value


def _networks(environ: Mapping[str, str], name: str) -> tuple[Network, ...]:
    """Addresses and CIDR ranges, separated by commas or spaces (an address is a one-address range)."""
    networks: list[Network] = []
    for item in environ.get(name, "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{name} lists {item!r}, which is neither an IP address nor a CIDR range") from None
    return tuple(networks)


def _enum(environ: Mapping[str, str], name: str, kind: type[E], default: E) -> E:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        allowed = " | ".join(str(member.value) for member in kind)
        raise SettingsError(f"{name} must be one of {allowed}, got {raw!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    env: Environment = Environment.DEVELOPMENT
    secret_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    moderation: Moderation = Moderation.PRE
    captcha_test_answer: str | None = None
    captcha_ttl_seconds: int = 300
    rate_limit: int = 5
    article_rate_limit: int = 60
    report_rate_limit: int = 10
    captcha_rate_limit: int = 30
    captcha_render_rate_limit: int = 20
    min_submit_seconds: int = 2
    max_body_bytes: int = 64 * 1024
    data_dir: Path = field(default=Path("var"))
    # Word lists for automatic flags (docs/flags.md); None: the bundled lists.
    banned_words: Path | None = None
    suspect_words: Path | None = None
    # Seals (signed checkpoints of the log's head): after this many events, or when an event has waited this many
    # minutes unsealed; 0 turns that trigger off (both 0: only `python -m service audit seal` seals).
    seal_every_events: int = 1000
    seal_every_minutes: int = 60
    # `python -m service retention` erases phone subjects whose newest comment is older than this.
    phone_retention_days: int = 365
    # Proxies whose Forwarded / X-Forwarded-For headers name the client (service/web/proxies.py); none by default.
    trusted_proxies: tuple[Network, ...] = ()
    # When set, /metrics answers only `Authorization: Bearer <this>` (Prometheus' bearer_token).
    metrics_token: str | None = None
    # Slow and abusive clients (service/web/connections.py): seconds allowed for a request's line and headers, for its
    # body, and between requests on a kept-alive connection; connections held at once by each process.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    max_connections: int = 1000
    # How long a shared cache (a CDN) may serve the public lists and counts without asking (s-maxage); 0: no-cache.
    cdn_max_age: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = _enum(environ, "COMMENTS_ENV", Environment, Environment.DEVELOPMENT)
        database_url = environ.get("COMMENTS_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError("COMMENTS_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        secret_key = environ.get("COMMENTS_SECRET_KEY", "").strip() or None
        test_answer = environ.get("COMMENTS_CAPTCHA_TEST_ANSWER", "").strip() or None
        if env is Environment.PRODUCTION:
            if secret_key is None:
                raise SettingsError("COMMENTS_SECRET_KEY is required when COMMENTS_ENV=production")
            if test_answer is not None:
                raise SettingsError("COMMENTS_CAPTCHA_TEST_ANSWER is refused when COMMENTS_ENV=production")
        if test_answer is not None and not (
            0 < len(test_answer) <= 8 and set(test_answer.upper()) <= set(CAPTCHA_ALPHABET)
        ):
            # Audio voices exist only for the alphabet's characters; anything else could never be spoken.
            raise SettingsError(f"COMMENTS_CAPTCHA_TEST_ANSWER must be 1-8 characters of {CAPTCHA_ALPHABET}")
        if secret_key is not None and len(secret_key) < 32:
            raise SettingsError("COMMENTS_SECRET_KEY must be at least 32 characters of random text")
        origins = tuple(origin.strip().rstrip("/") for origin in environ.get("COMMENTS_ALLOWED_ORIGINS", "").split(","))
        data_dir = environ.get("COMMENTS_DATA_DIR", "").strip()
        return cls(
            database_url=database_url,
            host=environ.get("COMMENTS_HOST", "").strip() or "127.0.0.1",
            port=_int(environ, "COMMENTS_PORT", 8080, minimum=0),
            env=env,
            secret_key=secret_key,
            allowed_origins=tuple(origin for origin in origins if origin),
            moderation=_enum(environ, "COMMENTS_MODERATION", Moderation, Moderation.PRE),
            captcha_test_answer=test_answer,
            captcha_ttl_seconds=_int(environ, "COMMENTS_CAPTCHA_TTL", 300, minimum=10),
            rate_limit=_int(environ, "COMMENTS_RATE_LIMIT", 5),
            article_rate_limit=_int(environ, "COMMENTS_ARTICLE_RATE_LIMIT", 60),
            report_rate_limit=_int(environ, "COMMENTS_REPORT_RATE_LIMIT", 10),
            captcha_rate_limit=_int(environ, "COMMENTS_CAPTCHA_RATE_LIMIT", 30),
            captcha_render_rate_limit=_int(environ, "COMMENTS_CAPTCHA_RENDER_RATE_LIMIT", 20),
            min_submit_seconds=_int(environ, "COMMENTS_MIN_SUBMIT_SECONDS", 2),
            data_dir=Path(data_dir) if data_dir else _default_data_dir(database_url),
            banned_words=_path(environ, "COMMENTS_BANNED_WORDS"),
            suspect_words=_path(environ, "COMMENTS_SUSPECT_WORDS"),
            seal_every_events=_int(environ, "COMMENTS_SEAL_EVERY_EVENTS", 1000),
            seal_every_minutes=_int(environ, "COMMENTS_SEAL_EVERY_MINUTES", 60),
            phone_retention_days=_int(environ, "COMMENTS_PHONE_RETENTION_DAYS", 365, minimum=1),
            trusted_proxies=_networks(environ, "COMMENTS_TRUSTED_PROXIES"),
            metrics_token=environ.get("COMMENTS_METRICS_TOKEN", "").strip() or None,
            header_timeout=_seconds(environ, "COMMENTS_HEADER_TIMEOUT", 10.0),
            body_timeout=_seconds(environ, "COMMENTS_BODY_TIMEOUT", 30.0),
            keepalive_timeout=_seconds(environ, "COMMENTS_KEEPALIVE_TIMEOUT", 15.0),
            max_connections=_int(environ, "COMMENTS_MAX_CONNECTIONS", 1000, minimum=1),
            cdn_max_age=_int(environ, "COMMENTS_CDN_MAX_AGE", 10),
        )


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise SettingsError(f"{name} names {raw!r}, which is not a readable file")
    return path


def _default_data_dir(database_url: str) -> Path:
    """The folder of the SQLite file, where the development key is kept beside the data it protects."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        path = database_url[len(prefix) :].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path).parent
    return Path("var")
