"""Django settings, read from the environment (see README "Configuration").

With nothing set, the project runs embedded: SQLite in the project folder and
the in-memory channel layer. DATABASE_URL and REDIS_URL switch to the real
services.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from config.env import env_bool, env_choice, env_int, env_list, env_networks, env_str
from config.local_state import kept_secret_key
from config.logging import build_logging, build_production_logging
from streams import connection_options

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of an embedded run: SQLite file, logs, the kept secret key.
# Private to this account; made at start-up, not here (config/local_state.py).
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# `production` is the deployment behind a TLS proxy (README "Production"):
# it refuses to start on settings that are only safe on a developer's
# machine, rather than warn about them in a log nobody reads.
DJANGO_ENV = env_choice("DJANGO_ENV", ["development", "production"], "development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
REDIS_URL = env_str("REDIS_URL")
if PRODUCTION:
    # Several processes (daphne's and the coordinator's) share one key and
    # one channel layer there: a key made per checkout and the in-memory
    # layer cannot be shared. Whether one or several daphne processes run
    # is not knowable here, so REDIS_URL is required either way.
    for _needed, _why in (
        (SECRET_KEY, "SECRET_KEY: set it to a long random value shared by every process"),
        (not DEBUG, "DEBUG off: debug pages show settings and source code to anyone"),
        (
            REDIS_URL,
            "REDIS_URL: the in-memory channel layer cannot carry events "
            "between processes (run_coordinator and each daphne)",
        ),
    ):
        if not _needed:
            raise ImproperlyConfigured(f"DJANGO_ENV=production needs {_why}")
# Development without SECRET_KEY: the key kept in var/ (never in the
# repository), which the first process to start makes (local_state.prepare);
# until then, and for a tool that only imports the settings, one of its own.
SECRET_KEY_KEPT = not PRODUCTION and not SECRET_KEY
if SECRET_KEY_KEPT:
    SECRET_KEY = kept_secret_key(VAR_DIR) or get_random_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Checks answered by a choice made below, each where it is made.
SILENCED_SYSTEM_CHECKS = []

# HTTPS in production. TLS ends at the reverse proxy (docs/deploy.md), which
# must set X-Forwarded-Proto itself, overwriting whatever a client sent.
# Django's defaults already send nosniff, DENY framing, a same-origin
# referrer policy and COOP.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Behind the proxy's own redirect, in case a plain-HTTP route to daphne
    # is ever opened. Probes and scrapers on daphne's host talk plain HTTP
    # to it directly, and must get their answer rather than a redirect.
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    # Both reach beyond this site (sibling hosts; the browsers' preload list,
    # which takes months to leave), so the operator opts in. Left off, the
    # deploy checks' advice to turn them on is answered by that choice.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS += [
        check
        for check, chosen in (
            ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
            ("security.W021", SECURE_HSTS_PRELOAD),
        )
        if not chosen
    ]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "streams",
    "trading",
    "logs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads a form (CSRF does): config/form_charset.py.
    "config.form_charset.FormCharsetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who a request's state moves are by (trading/actors.py).
    "trading.middleware.request_actor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a locked-out login into its 429.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every response, in every profile (django-csp):
# scripts, styles and everything else from this origin only, no inline
# script or style (the login page's behaviour is a static file), no
# plugins, no framing, forms posting here only. 'self' covers the page's
# own ws:/wss: origin. The favicon is a data: image. /api/docs/ adds what
# Redoc needs for styles (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite: WAL lets daphne read while the coordinator writes; IMMEDIATE takes
# the write lock at BEGIN so two writers queue (busy timeout) instead of
# failing with "database is locked" halfway through a transaction.
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Health checks: a connection PostgreSQL dropped (a restart) is replaced
# before use instead of failing the next query.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, which makes the database file 0600 before it
    # opens it (config/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "config.sqlite"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    # A file, not memory: tests start daphne and writers in other processes.
    # One per test process, so parallel runs don't share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer. Unset REDIS_URL: in-memory, one process only (a system check
# warns when DEBUG is off). Set: the channels-redis pub/sub layer; README
# "Choosing the Redis layer" has the measurements behind that choice.
# Prefix of everything streams keeps in Redis (pub/sub channels, sequence
# counters). Pub/sub channels are shared by every Redis database, so the
# default keeps deployments on different databases apart.
STREAMS_NAMESPACE = env_str(
    "STREAMS_NAMESPACE", "asgi-db" + (urlparse(REDIS_URL or "").path.strip("/") or "0")
)
# CHANNEL_LAYER=core selects the list-based core layer instead, so the
# benchmarks can compare the two (BENCHMARKS.md).
_REDIS_LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
CHANNEL_LAYER = env_choice("CHANNEL_LAYER", list(_REDIS_LAYERS), "pubsub")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _REDIS_LAYERS[CHANNEL_LAYER],
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        **connection_options(),
                        # redis-py 8 times reads out after 5 s, which kills
                        # the layer's blocking reads on an idle connection.
                        "socket_timeout": None,
                        # redis-py raises past max_connections instead of
                        # waiting; leave head-room for connect bursts.
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 2000),
                    }
                ],
                "prefix": STREAMS_NAMESPACE,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000, "expiry": 60},
        }
    }

# Django's cache holds the throttle history of POST /api/logs/
# (logs.throttling) and the failed logins (django-axes) and nothing else,
# under an alias of its own. With Redis every server process counts in the
# same place; without it, each process counts alone (one process is all
# the embedded mode runs).
if REDIS_URL:
    _THROTTLE_CACHE = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{STREAMS_NAMESPACE}:throttle",
        # Re-check a pooled connection idle this long before using it, so
        # one made before a Redis restart doesn't fail a request.
        "OPTIONS": {"health_check_interval": 30, "socket_connect_timeout": 5},
    }
else:
    # A LOCATION of its own: local-memory caches with the same one share
    # their store, and clearing the default cache must not reset throttles.
    _THROTTLE_CACHE = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttle",
    }
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": _THROTTLE_CACHE,
}
if not REDIS_URL:
    # axes warns that a memory cache is not shared between processes: the
    # embedded mode has one process (production requires REDIS_URL).
    SILENCED_SYSTEM_CHECKS.append("axes.W001")

# Where `manage.py serve` announces itself in the embedded mode, so other
# processes' events reach its clients (streams/publishing/relay.py).
STREAMS_RELAY_FILE = Path(env_str("STREAMS_RELAY_FILE", str(VAR_DIR / "streams-server.json")))

# Streams protocol knobs (PROTOCOL.md): seconds and bytes.
STREAMS_HEARTBEAT_INTERVAL = env_int("STREAMS_HEARTBEAT_INTERVAL", 20)
STREAMS_MAX_FRAME_BYTES = 64 * 1024
STREAMS_RATE_PER_SECOND = env_int("STREAMS_RATE_PER_SECOND", 20)
STREAMS_RATE_BURST = env_int("STREAMS_RATE_BURST", 60)
# Subscriptions one connection may hold (announced in `welcome`): each is a
# group and a seq counter on the server.
STREAMS_MAX_SUBSCRIPTIONS = env_int("STREAMS_MAX_SUBSCRIPTIONS", 50)
# Origins besides the server's own from which browsers may open /ws, each
# exactly scheme://host[:port] (e.g. https://desk.example.com).
STREAMS_ALLOWED_ORIGINS = env_list("STREAMS_ALLOWED_ORIGINS", [])
# How often every connection's credentials and subscriptions are checked
# again, besides the checks that changes to users, tokens and ownership
# trigger at once (streams/connection/access.py).
STREAMS_AUTH_RECHECK_SECONDS = env_int("STREAMS_AUTH_RECHECK_SECONDS", 5)
# How often each server process asks Redis for its run id and whether the
# process's channel is still subscribed; a restart, a lost subscription or
# no answer closes its sockets with 1012 (streams/fanout/probe.py).
STREAMS_LAYER_PROBE_SECONDS = env_int("STREAMS_LAYER_PROBE_SECONDS", 1)
# How long the publisher retries an event while Redis is away before it gives
# up on it (the scope then starts a new epoch, so clients resync).
STREAMS_PUBLISH_RETRY_SECONDS = env_int("STREAMS_PUBLISH_RETRY_SECONDS", 60)
# A scope's seq counter lives this long after its last event or subscribe;
# one nobody watches then disappears (and restarts in a new epoch).
STREAMS_SEQ_TTL_SECONDS = env_int("STREAMS_SEQ_TTL_SECONDS", 3600)
# A client this far behind (bytes queued, unread) is closed with 1013 and
# resyncs on reconnect, instead of growing the server's memory.
STREAMS_MAX_BACKLOG_BYTES = env_int("STREAMS_MAX_BACKLOG_BYTES", 4 * 1024 * 1024)
# High-rate market streams keep only the latest value per symbol within this
# window (milliseconds in the environment so the helper stays an integer).
STREAMS_CONFLATE_SECONDS = env_int("STREAMS_CONFLATE_MS", 250) / 1000

# GET /metrics (streams/views.py): a scraper sends METRICS_TOKEN as a bearer
# token, or reaches daphne directly (not through the proxy) from one of
# these networks.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
# prometheus-client reads it from the environment itself (streams/infra/metrics.py);
# a directory that isn't there would fail at the first metric, unexplained.
_multiprocess_dir = env_str("PROMETHEUS_MULTIPROC_DIR")
if _multiprocess_dir and not Path(_multiprocess_dir).is_dir():
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={_multiprocess_dir!r} is not a directory; make it "
        "(empty) before the processes start"
    )

# The simulated market feed's symbols, beside those the instances trade.
TRADING_SIM_SYMBOLS = env_list(
    "TRADING_SIM_SYMBOLS", ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "PEPEUSDT"]
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, config/lockout.py): failed logins are
# counted per username and per address in the throttle cache (Redis when
# REDIS_URL is set, shared by every process); past LOGIN_FAILURE_LIMIT
# either is refused, the right password too, with 429 and Retry-After for
# LOGIN_COOLOFF_SECONDS after its last counted failure. Both login pages
# (the desk's and the admin's) go through the same authenticate().
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "throttle"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_COOLOFF_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Attempts refused during a lock don't extend it: the window is what
# Retry-After says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "config.lockout.locked_out"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # POST /api/logs/ (logs.throttling): anonymous clients per address,
    # users per account.
    "DEFAULT_THROTTLE_RATES": {
        "logs_anon": env_str("LOGS_THROTTLE_ANON", "20/min"),
        "logs_user": env_str("LOGS_THROTTLE_USER", "120/min"),
    },
    # Reverse proxies in front of daphne whose X-Forwarded-For is trusted
    # for a client's address; 0 trusts none (so the header can't dodge a
    # throttle).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# /api/schema/ and its Redoc page /api/docs/. Redoc's files come from the
# sidecar package, served like every static file: a CDN would be one more
# host the desk's browsers must reach, and one more party trusted with a
# page on the desk's origin.
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading monitor REST API",
    "DESCRIPTION": "The HTTP side; the streams are described in docs/protocol.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "logs.schema.request_body_schema",
    ],
}


# The largest request body of any HTTP request, refused with 413 before
# Django reads it (config/body_limit.py) and, under `manage.py serve`,
# before daphne does (config/http_limits.py). nginx's client_max_body_size
# is the same 1 MiB; the largest body the app takes is a 256 KiB log batch.
HTTP_MAX_BODY_BYTES = env_int("HTTP_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
# `manage.py serve` only (config/http_limits.py): a request must arrive
# whole within this many seconds of its first byte (slow clients).
HTTP_REQUEST_SECONDS = env_int("HTTP_REQUEST_SECONDS", 20, minimum=1)

# POST /api/logs/: the CPU time a request may spend on its body before it
# is refused with 413 (logs.budget).
LOGS_REQUEST_CPU_MS = env_int("LOGS_REQUEST_CPU_MS", 500, minimum=1)
# Stored entries older than this are deleted as new ones come in
# (logs.retention).
LOGS_RETENTION_DAYS = env_int("LOGS_RETENTION_DAYS", 30, minimum=1)
# Threads of each server process that serve POST /api/logs/ (logs.workers):
# how many log requests work at once; the others wait for one.
LOGS_WORKERS = env_int("LOGS_WORKERS", 2, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files nginx serves in production
# (docs/deploy.md): outside var/, which only this account may read.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders, so `make run` needs no
# collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The console's level; DEBUG also lets daphne's per-frame chatter through.
LOG_LEVEL = env_choice("LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
# A warning of one kind is written once per this many seconds; the others
# are counted (config/logging.py, RepeatedWarnings).
LOG_REPEAT_SECONDS = env_int("LOG_REPEAT_SECONDS", 60, minimum=1)
LOGGING_CONFIG = "config.logging.configure"
if PRODUCTION:
    LOGGING = build_production_logging(LOG_LEVEL, repeat_seconds=LOG_REPEAT_SECONDS)
else:
    LOG_DIR = Path(env_str("LOG_DIR", str(VAR_DIR / "log")))
    LOGGING = build_logging(LOG_DIR, LOG_LEVEL, repeat_seconds=LOG_REPEAT_SECONDS)
