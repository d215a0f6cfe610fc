"""Configuration read from the environment; nothing secret lives in the code."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting at once must not each write a different key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _database_url(instance_path: str, demo: bool) -> str:
    """DATABASE_URL, else an SQLite file in the instance folder; the demo always has a file of its own."""
    if demo:
        return "sqlite:///" + str(Path(instance_path) / "demo.sqlite")
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "chainmatch.sqlite")
    # Heroku-style URLs and bare postgresql:// go through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _proxy_hops() -> int | None:
    """CHAINMATCH_PROXY_HOPS: how many reverse proxies in front of us to trust; None leaves it to BEHIND_TLS."""
    value = os.environ.get("CHAINMATCH_PROXY_HOPS", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"CHAINMATCH_PROXY_HOPS must be a whole number of proxies (0, 1, 2 …), not {value!r}")
    return int(value)


def _number(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def account_settings() -> dict:
    """Sessions, throttling and password links. docs/operations.md explains each."""
    return {
        "SESSION_IDLE_MINUTES": _number("CHAINMATCH_SESSION_IDLE_MINUTES", 60),
        "SESSION_LIFETIME_HOURS": _number("CHAINMATCH_SESSION_LIFETIME_HOURS", 12),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_number("CHAINMATCH_REMEMBER_DAYS", 14)),
        "PASSWORD_RESET_MAX_AGE": 3600,                 # seconds a reset link stays valid
        "EMAIL_VERIFICATION_MAX_AGE": 7 * 24 * 3600,    # seconds a verification link stays valid
        # Flask-Limiter: memory in one process (the demo); Redis when several workers share the counts.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": os.environ.get("CHAINMATCH_RATELIMIT", "1") != "0",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "chainmatch",
        "RATELIMIT_SWALLOW_ERRORS": True,               # a Redis outage falls back to counting in memory
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "SIGN_IN_FAILURES_PER_ACCOUNT": "10 per 15 minutes",
        "SIGN_IN_FAILURES_PER_CLIENT": "30 per 15 minutes;200 per day",
        "SIGN_UPS_PER_CLIENT": "20 per hour",
        "PASSWORD_RESETS_PER_ADDRESS": "5 per hour",
        "PASSWORD_RESETS_PER_CLIENT": "20 per hour",
        "MEETING_REQUESTS_PER_USER": "30 per hour;200 per day",
    }


def load_config(instance_path: str) -> dict:
    demo = os.environ.get("CHAINMATCH_DEMO") == "1"
    return {
        **account_settings(),
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path, demo),
        # A connection that died while idle in the pool (database restart, backend terminated) is replaced at
        # checkout; one that dies during a request: chainmatch/web.py retries a GET once, else answers 503.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_BUSY_TIMEOUT_MS": _number("CHAINMATCH_SQLITE_BUSY_TIMEOUT_MS", 15_000),
        "DATABASE_RETRY_AFTER_SECONDS": _number("CHAINMATCH_DATABASE_RETRY_AFTER", 5),  # the 503's Retry-After
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh", "en"],
        "DEMO_MODE": demo,
        "WTF_CSRF_TIME_LIMIT": None,
        # Request bodies: nothing here uploads files, and the largest form (a policy's rule text) is far below
        # 1 MB. Larger bodies get the 413 page before anything parses them. A form may use the whole body
        # (werkzeug's own default for a url-encoded form is 500 kB) in at most 500 multipart parts.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "MAX_FORM_PARTS": 500,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Behind a TLS-terminating reverse proxy: HSTS, Secure cookies, https redirects, ProxyFix
        # (chainmatch/security.py derives all of them from this one setting).
        "BEHIND_TLS": os.environ.get("CHAINMATCH_BEHIND_TLS") == "1",
        "PROXY_HOPS": _proxy_hops(),  # None: 1 behind TLS, else 0
        "CSP_ENABLED": True,
        "MAIL_BACKEND": os.environ.get("CHAINMATCH_MAIL_BACKEND", "file"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "noreply@chainmatch.local"),
        # The site's address, for the links in e-mails (verification, password reset, reminders).
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
    }
