"""Configuration: the only module that reads the environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SOM_FLOW_{name}", default)


def _engine_options() -> dict:
    """Connection pool settings for PostgreSQL (several web workers and schedulers share its connections);
    left to SQLAlchemy's defaults unless set."""
    options: dict = {}
    for name, key in (("DB_POOL_SIZE", "pool_size"), ("DB_MAX_OVERFLOW", "max_overflow"),
                      ("DB_POOL_RECYCLE_SECONDS", "pool_recycle")):
        if _env(name):
            options[key] = int(_env(name))
    if _env("DB_PRE_PING", "0") == "1":
        options["pool_pre_ping"] = True  # a connection the database dropped (a restart, a failover) is replaced
    return options


def instance_secret_key(instance_path: str | os.PathLike) -> str:
    """The key kept in the instance folder, made on first use: restarts and every process on this host
    share it, so sessions and CSRF tokens survive them. Readable by the owner only."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fresh = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            # a hard link appears whole and never replaces a key another process made first
            os.link(fresh, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(fresh)
    return path.read_text().strip()


class Config:
    SECRET_KEY = _env("SECRET_KEY")  # None: instance_secret_key() in the instance folder
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")  # None: an SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = _engine_options()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = (_env("SECURE_COOKIES", "0") == "1")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # served to browsers over HTTPS (TLS ends at a proxy in front): HSTS and Secure cookies
    HTTPS = _env("HTTPS", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    # reverse proxies in front that set X-Forwarded-For/-Proto; 0 trusts no such header
    PROXY_HOPS = int(_env("PROXY_HOPS", "0"))
    # how long a page login lasts at most (logout, a password change or deactivation end it sooner)
    PERMANENT_SESSION_LIFETIME = timedelta(days=int(_env("SESSION_DAYS", "7")))
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = int(_env("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))
    # flask-smorest / OpenAPI
    API_TITLE = "som_flow"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = None
    # domain settings
    DEFAULT_CURRENCY = _env("DEFAULT_CURRENCY", "USD")
    # how pages write money, numbers and durations (a Babel locale: en, en_GB, nb_NO...)
    LOCALE = _env("LOCALE", "en")
    REMINDER_LOCAL_HOUR = int(_env("REMINDER_LOCAL_HOUR", "8"))
    CLOSE_DATE_REMINDER_DAYS = int(_env("CLOSE_DATE_REMINDER_DAYS", "3"))
    REMINDER_LEASE_SECONDS = int(_env("REMINDER_LEASE_SECONDS", "60"))
    REMINDER_MAX_ATTEMPTS = int(_env("REMINDER_MAX_ATTEMPTS", "5"))
    SCHEDULER_INTERVAL_SECONDS = float(_env("SCHEDULER_INTERVAL_SECONDS", "15"))
    # deals whose loaded process runs each process keeps in memory for its next call (0: none; see engine.RunCache)
    RUN_CACHE_SIZE = int(_env("RUN_CACHE_SIZE", "200"))
    JOB_NAME_PATTERN = _env("JOB_NAME_PATTERN", "{customer} - {title} {year}")
    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = int(_env("SMTP_PORT", "25"))
    MAIL_FROM = _env("MAIL_FROM", "som-flow@localhost")
    WEBHOOK_URL = _env("WEBHOOK_URL")
    WEBHOOK_SECRET = _env("WEBHOOK_SECRET")
    REQUIRED_FIELDS_ON_CREATE = [f for f in (_env("REQUIRED_FIELDS", "") or "").split(",") if f]
    # failed page logins per minute for one e-mail from one address (five times that per address)
    LOGIN_ATTEMPTS_PER_MINUTE = int(_env("LOGIN_ATTEMPTS_PER_MINUTE", "10"))
    # how new passwords are hashed (werkzeug's method string); a check reads the method from the stored hash
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a password
    # operators: logs as `text` or `json` lines (None: leave logging as the host set it up), and their level
    LOG_FORMAT = _env("LOG_FORMAT", "text")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    # GET /metrics answers an admin, or a scraper sending `Authorization: Bearer <this token>`
    METRICS_TOKEN = _env("METRICS_TOKEN")
    # set for a multi-process server (gunicorn): prometheus-client keeps each worker's metrics in files there
    PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105 - fixed for reproducible tests
    WTF_CSRF_ENABLED = False
    LOG_FORMAT = None  # pytest captures the logs; tests of the formats configure them themselves
    # the suite makes and logs in thousands of users: scrypt's cost (~0.1 s a hash, there for an attacker holding
    # the table) was a sixth of its time; the hashing and the checks are the same code
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - a method name, not a password
    METRICS_TOKEN = None
