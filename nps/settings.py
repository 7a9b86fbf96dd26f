"""Settings, read from the environment.

With nothing set, the project runs on an embedded default that needs no server:
SQLite (WAL, busy timeout) and Celery's filesystem transport, with a real worker.
With DATABASE_URL and CELERY_BROKER_URL set it runs on PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# ---------------------------------------------------------------- core
DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
VAR_DIR = Path(env("NPS_VAR_DIR", default=str(BASE_DIR / "var")))
# The embedded database and broker live here; nps/folders.py creates the folders in the
# processes that use them (manage.py, wsgi, Celery worker and beat), not on import.

# ---------------------------------------------------------------- security (production)
# `manage.py check --deploy` is clean with DEBUG off (CI checks it). Behind a TLS proxy
# set SECURE_PROXY_SSL_HEADER_NAME (e.g. HTTP_X_FORWARDED_PROTO).
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env("SECURE_PROXY_SSL_HEADER_NAME", default=""):
        SECURE_PROXY_SSL_HEADER = (env("SECURE_PROXY_SSL_HEADER_NAME"), "https")
X_FRAME_OPTIONS = "DENY"
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# ---------------------------------------------------------------- staff logins
# Password policy: every form that sets a password (the admin's user creation, password
# change and set-password forms) refuses short, common, all-digit and name-like ones.
# `set_password` in code does not validate: the demo logins (DEBUG only) stay short.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute-force protection (django-axes, nps/loginguard.py): LOGIN_FAILURE_LIMIT failures
# for one username from one address lock that pair, and only that pair, for
# LOGIN_LOCKOUT_SECONDS. Attempts are rows in the database (AXES_HANDLER below): every web
# process sees the same counts, and a superuser sees and deletes them (unlocks) in the admin.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked pair before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
AXES_RESET_ON_SUCCESS = True  # a successful login forgets that pair's earlier failures
# Tries while locked are refused without counting: the lock ends on time, not later.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login: only failures are kept
AXES_ENABLE_ADMIN = False  # nps/admin.py registers the attempts list alone
AXES_LOCKOUT_CALLABLE = "nps.loginguard.login_locked_response"
AXES_VERBOSE = False  # no "AXES: BEGIN" line at the start of every command and process
# The client address: REMOTE_ADDR unless a reverse proxy in front of every web process
# sets a header it overwrites (never one the client can send through), e.g.
# AXES_IPWARE_META_PRECEDENCE_ORDER=HTTP_X_FORWARDED_FOR with AXES_IPWARE_PROXY_COUNT=1.
AXES_IPWARE_META_PRECEDENCE_ORDER = tuple(
    env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
)
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)

INSTALLED_APPS = [
    "nps",  # before the admin: its admin/base_site.html brands the admin pages
    "nps.adminsite.NpsAdminConfig",  # django.contrib.admin, with the product's admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "nps.apps.AxesConfig",  # django-axes: login lockouts
    "surveys",
    "followups",
    "care",  # the preference taxonomy, the dissatisfied-customer pool and care campaigns
    "devtools",  # manage.py run_simulator: the SMS gateway simulator for development
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "followups.timezones.UserTimeZoneMiddleware",  # each user's zone (followups.timezones)
    "followups.landing.LandingMiddleware",  # after login: where each role works
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: the lockout page
]

ROOT_URLCONF = "nps.urls"
WSGI_APPLICATION = "nps.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# ---------------------------------------------------------------- database
# SQLite by default: WAL lets the web process read while the worker writes,
# IMMEDIATE transactions take the write lock up front (no upgrade deadlocks),
# and the busy timeout makes writers wait instead of failing.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'nps.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- i18n and time
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = "UTC"
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]  # the compiled .mo is committed: no gettext needed
USE_TZ = True  # everything stored in UTC; quiet hours use the customer's zone

# ---------------------------------------------------------------- static files
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = DEBUG  # development serves app static files without collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested past surveys.jsonbodies.MAX_DEPTH is a 400, as on the webhooks.
    "DEFAULT_PARSER_CLASSES": ["surveys.api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per user (token) and per address; counted in CACHES["default"] (use Redis in production).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NPS loop API",
    "VERSION": "1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "nps.api_schema.add_error_responses",
    ],
}

# ---------------------------------------------------------------- Celery
# Filesystem transport by default: a real worker process, no broker server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
_broker_dir = Path(env("NPS_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any]  # folders (str), flags and timeouts
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else "control/" in the cwd
        "store_processed": False,
    }
else:
    # A message not acknowledged within this time is delivered again (acks_late).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="nps")
# One queue per kind of work, so replies never wait behind sends or reporting: a worker
# started without -Q consumes all of them and takes from each in turn. The default queue
# holds the periodic escalation, verification, campaign and outbound webhook jobs.
NPS_QUEUES = {
    kind: f"{CELERY_TASK_DEFAULT_QUEUE}.{kind}"
    for kind in ("replies", "assign", "receipts", "send", "care", "reporting")
}
CELERY_TASK_QUEUES = [Queue(name) for name in (CELERY_TASK_DEFAULT_QUEUE, *NPS_QUEUES.values())]
_TASKS_BY_QUEUE = {
    "replies": ["surveys.tasks.process_replies", "surveys.tasks.relay_outbox"],
    # A send's delivery receipts, on the sender's worker (Procfile): every conversation SMS
    # brings two back, and on the replies' worker they held up the replies after an overload.
    "receipts": ["surveys.tasks.apply_receipts"],
    "assign": ["followups.tasks.assign_case", "followups.tasks.assign_cases"],
    "send": ["surveys.tasks.send_invitation", "surveys.tasks.send_invitations",
             "surveys.tasks.send_message", "surveys.tasks.send_messages",
             "surveys.tasks.dispatch_due", "surveys.tasks.expire_receipts",
             "surveys.tasks.expire_invitations"],
    # Minutes of work at a million customers: on a worker of their own, never ahead of a reply.
    "care": ["care.risk.train_model", "care.risk.score_customers"],
    # The rollups, reports, alerts, digests and file imports (minutes of work for a rebuild
    # of many days or a large file): on a worker of their own (Procfile "reporting"). On the
    # default queue they shared the sender's worker with the conversation messages a reply
    # triggers; tests/workers/test_reporting_queue.py shows a rebuild no longer delays them.
    "reporting": ["nps.tasks.refresh_rollups", "nps.tasks.refresh_recent_rollups",
                  "nps.tasks.rebuild_recent_rollups", "nps.tasks.refresh_rollup_days",
                  "nps.tasks.generate_reports", "nps.tasks.check_problems",
                  "nps.tasks.evaluate_alerts", "nps.tasks.send_digests",
                  "surveys.tasks.import_interactions"],
}  # fmt: skip
CELERY_TASK_ROUTES = {
    task: {"queue": NPS_QUEUES[kind]} for kind, tasks in _TASKS_BY_QUEUE.items() for task in tasks
}
# The outbox relay runs this often (seconds): the most a reply waits before a worker has it.
NPS_RELAY_INTERVAL = env.float("NPS_RELAY_INTERVAL", default=1.0)
# A relayed batch not processed within this many seconds (lost task) is relayed again.
NPS_RELAY_REQUEUE_SECONDS = env.int("NPS_RELAY_REQUEUE_SECONDS", default=60)
# Database connections live across tasks as they do across requests: Celery's own
# closing (twice per task) is turned off here and nps.celery closes a connection only
# when Django would (older than CONN_MAX_AGE, or broken: CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = 2**62
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A web request must not hang on a dead broker: publish fails fast and the
# periodic sweepers pick up whatever was stored but not queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# How often today's dashboard rollups are recomputed: a new answer is on the dashboard
# within this plus the refresh's own time (docs/capacity.md, "Freshness under load").
NPS_ROLLUP_REFRESH_SECONDS = env.float("NPS_ROLLUP_REFRESH_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Queue invitations whose send time has come (and re-queue lost sends).
    "dispatch-due": {"task": "surveys.tasks.dispatch_due", "schedule": 10.0},
    # The outbox relay: hand stored replies and receipts to workers, in batches.
    # A run still waiting in the queue after one interval is dropped: the next does its
    # work (under overload, runs piling up behind reply batches each cost the worker).
    "relay-outbox": {
        "task": "surveys.tasks.relay_outbox",
        "schedule": NPS_RELAY_INTERVAL,
        "options": {"expires": NPS_RELAY_INTERVAL},
    },
    # Close receipts that matched no send for an hour.
    "expire-receipts": {"task": "surveys.tasks.expire_receipts", "schedule": 600.0},
    # Close invitations whose reply window has passed.
    "expire-invitations": {"task": "surveys.tasks.expire_invitations", "schedule": 300.0},
    # Open a case for any detractor without one; assign waiting cases.
    "sweep-cases": {"task": "followups.tasks.sweep_cases", "schedule": 60.0},
    # Escalate cases past their SLA: level 1 the team lead, level 2 the supervisors.
    "escalate-breaches": {"task": "followups.tasks.escalate_breaches", "schedule": 60.0},
    # Send each supervisor and team lead their daily digest once, at NPS_DIGEST_TIME local.
    "send-digests": {"task": "nps.tasks.send_digests", "schedule": 300.0},
    # Send verification surveys whose day has come after a resolution.
    "send-verifications": {"task": "followups.tasks.send_verifications", "schedule": 300.0},
    # Remind agents of the callbacks customers booked (once each: a claimed stamp).
    "remind-appointments": {"task": "followups.tasks.remind_appointments", "schedule": 60.0},
    # Recompute today's dashboard rollups every NPS_ROLLUP_REFRESH_SECONDS, and those of
    # older days whose cases changed in the last NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS; the
    # last NPS_ROLLUP_REFRESH_DAYS days every 10 minutes.
    "refresh-rollups": {
        "task": "nps.tasks.refresh_rollups", "schedule": NPS_ROLLUP_REFRESH_SECONDS,
    },
    "refresh-recent-rollups": {"task": "nps.tasks.refresh_recent_rollups", "schedule": 600.0},
    # Nightly: recompute the last 30 days (a safety net for changes no history records).
    "rebuild-rollups": {"task": "nps.tasks.rebuild_recent_rollups", "schedule": 24 * 3600.0},
    # Outbound webhooks: send deliveries whose retry time has come (the outbox's safety net).
    "sweep-webhooks": {"task": "nps.tasks.sweep_webhooks", "schedule": 30.0},
    # The dissatisfied-customer pool: stays older than PoolPolicy.age_days leave ("aged").
    "pool-age-out": {"task": "care.pool.age_out", "schedule": 24 * 3600.0},
    # The risk model: retrained weekly (and on demand in the admin), every customer scored
    # daily by the model in use, the riskiest entering the pool as potential members.
    "risk-train": {"task": "care.risk.train_model", "schedule": 7 * 24 * 3600.0},
    "risk-score": {"task": "care.risk.score_customers", "schedule": 24 * 3600.0},
    # Care campaigns: contacts held back by quiet hours, waiting care calls to agents,
    # post-surveys whose day has come, campaigns whose post-survey window has closed.
    "campaigns-contact-due": {"task": "care.campaigns.campaigns_contact_due", "schedule": 300.0},
    "care-calls-assign": {"task": "care.campaigns.care_calls_assign_waiting", "schedule": 60.0},
    "campaigns-post-survey": {
        "task": "care.campaigns.campaigns_post_survey_due", "schedule": 600.0,
    },
    "campaigns-finish": {"task": "care.campaigns.campaigns_finish_due", "schedule": 3600.0},
    # Accountability: alert rules evaluated from the rollups (each alert raised once per
    # condition and window), overdue problems escalated (once a day each), verification
    # figures of the problems being verified, and the reports whose period has ended.
    "evaluate-alerts": {"task": "nps.tasks.evaluate_alerts", "schedule": 300.0},
    "escalate-overdue-problems": {
        "task": "followups.tasks.escalate_overdue_problems", "schedule": 900.0,
    },
    "check-problems": {"task": "nps.tasks.check_problems", "schedule": 3600.0},
    "generate-reports": {"task": "nps.tasks.generate_reports", "schedule": 1800.0},
}

# ---------------------------------------------------------------- SMS gateways
# Every adapter the project has; only those named in NPS_ENABLED_GATEWAYS have webhooks
# and can send. Each lists in "SECRETS" its secret keys and the variables that set them.
NPS_GATEWAYS = {
    "console": {
        "CLASS": "surveys.gateways.console.ConsoleGateway",
        "SECRET": env("CONSOLE_GATEWAY_SECRET", default="console-dev-secret"),
        "SECRETS": {"SECRET": "CONSOLE_GATEWAY_SECRET"},
    },
    "simulator": {
        "CLASS": "surveys.gateways.simulator.SimulatorGateway",
        "URL": env("SIMULATOR_URL", default="http://127.0.0.1:8025"),
        "API_KEY": env("SIMULATOR_API_KEY", default="sim-dev-key"),
        "SECRET": env("SIMULATOR_SECRET", default="sim-dev-secret"),
        "SECRETS": {"API_KEY": "SIMULATOR_API_KEY", "SECRET": "SIMULATOR_SECRET"},
    },
    "twilio": {
        "CLASS": "surveys.gateways.twilio.TwilioGateway",
        "ACCOUNT_SID": env("TWILIO_ACCOUNT_SID", default=""),
        "AUTH_TOKEN": env("TWILIO_AUTH_TOKEN", default=""),
        "FROM": env("TWILIO_FROM", default=""),
        "API_URL": env("TWILIO_API_URL", default="https://api.twilio.com"),
        "SECRETS": {"AUTH_TOKEN": "TWILIO_AUTH_TOKEN"},
    },
}
# The development values above: with DEBUG off a web or worker process refuses to start
# while an enabled gateway has one (or an empty secret), and `check --deploy` reports it
# (surveys/gateways/registry.py).
NPS_GATEWAY_DEV_SECRETS = frozenset({"console-dev-secret", "sim-dev-key", "sim-dev-secret"})
# The gateways in use (environment variable NPS_GATEWAYS, e.g. "twilio"). The development
# gateways (simulator, console) are on by default only with DEBUG on; with DEBUG off none.
NPS_ENABLED_GATEWAYS = env.list(
    "NPS_GATEWAYS", default=["simulator", "console", "twilio"] if DEBUG else []
)
# Which enabled adapter sends surveys.
NPS_SEND_GATEWAY = env("NPS_SEND_GATEWAY", default="simulator" if DEBUG else "twilio")
# Public base URL the gateways call (signatures cover it); empty: taken from the request.
NPS_PUBLIC_BASE_URL = env("NPS_PUBLIC_BASE_URL", default="")
NPS_GATEWAY_TIMEOUT = env.float("NPS_GATEWAY_TIMEOUT", default=10.0)
NPS_SEND_MAX_ATTEMPTS = env.int("NPS_SEND_MAX_ATTEMPTS", default=5)

# ---- cloudsms
# Alibaba Cloud SMS and Tencent Cloud SMS (surveys/gateways/alibaba.py, tencent.py): they
# send approved templates only (Surveys › Gateway templates in the admin). Their callbacks
# are unsigned: the console's callback URLs end in ?token=<CALLBACK_TOKEN>. ENDPOINT is the
# API's host (or a URL, http for a test double). Enable with NPS_GATEWAYS=alibaba (or tencent).
NPS_GATEWAYS["alibaba"] = {
    "CLASS": "surveys.gateways.alibaba.AlibabaGateway",
    "ACCESS_KEY_ID": env("ALIBABA_ACCESS_KEY_ID", default=""),
    "ACCESS_KEY_SECRET": env("ALIBABA_ACCESS_KEY_SECRET", default=""),
    "SIGN_NAME": env("ALIBABA_SIGN_NAME", default=""),
    "ENDPOINT": env("ALIBABA_ENDPOINT", default="dysmsapi.aliyuncs.com"),
    "CALLBACK_TOKEN": env("ALIBABA_CALLBACK_TOKEN", default=""),
    "SECRETS": {
        "ACCESS_KEY_SECRET": "ALIBABA_ACCESS_KEY_SECRET",
        "CALLBACK_TOKEN": "ALIBABA_CALLBACK_TOKEN",
    },
}
NPS_GATEWAYS["tencent"] = {
    "CLASS": "surveys.gateways.tencent.TencentGateway",
    "SECRET_ID": env("TENCENT_SECRET_ID", default=""),
    "SECRET_KEY": env("TENCENT_SECRET_KEY", default=""),
    "SDK_APP_ID": env("TENCENT_SDK_APP_ID", default=""),
    "REGION": env("TENCENT_REGION", default="ap-guangzhou"),
    "SIGN_NAME": env("TENCENT_SIGN_NAME", default=""),
    "ENDPOINT": env("TENCENT_ENDPOINT", default="sms.tencentcloudapi.com"),
    "CALLBACK_TOKEN": env("TENCENT_CALLBACK_TOKEN", default=""),
    "SECRETS": {"SECRET_KEY": "TENCENT_SECRET_KEY", "CALLBACK_TOKEN": "TENCENT_CALLBACK_TOKEN"},
}

# ---- smpp
# SMPP 3.4 to an operator's SMS centre: one gateway process (`manage.py run_smpp`) holds
# the connection; the workers' sends reach it over Redis (SMPP_CHANNEL_URL, by default
# the broker's when it is Redis). README "SMPP" lists every variable.
NPS_GATEWAYS["smpp"] = {
    "CLASS": "surveys.gateways.smpp.SmppGateway",
    "HOST": env("SMPP_HOST", default="127.0.0.1"),
    "PORT": env.int("SMPP_PORT", default=2775),
    "SYSTEM_ID": env("SMPP_SYSTEM_ID", default=""),
    "PASSWORD": env("SMPP_PASSWORD", default=""),
    "SYSTEM_TYPE": env("SMPP_SYSTEM_TYPE", default=""),
    "SOURCE_ADDR": env("SMPP_SOURCE_ADDR", default=""),
    # Submits sent and not yet answered, at most (the SMS centre's window).
    "WINDOW": env.int("SMPP_WINDOW", default=10),
    "ENQUIRE_LINK_SECONDS": env.float("SMPP_ENQUIRE_LINK_SECONDS", default=30.0),
    # A request (submit, enquire_link) unanswered this long: the connection is dead.
    "RESPONSE_TIMEOUT": env.float("SMPP_RESPONSE_TIMEOUT", default=10.0),
    # Reconnect after 1 s, doubling up to this many seconds.
    "RECONNECT_MAX_SECONDS": env.float("SMPP_RECONNECT_MAX_SECONDS", default=60.0),
    # After ESME_RTHROTTLED: pause submits this long, doubling up to the cap.
    "THROTTLE_SECONDS": env.float("SMPP_THROTTLE_SECONDS", default=0.5),
    "THROTTLE_MAX_SECONDS": env.float("SMPP_THROTTLE_MAX_SECONDS", default=10.0),
    # How long a worker's send waits for the SMS centre's answer.
    "SUBMIT_TIMEOUT": env.float("SMPP_SUBMIT_TIMEOUT", default=15.0),
    # The vendor TLV that carries our reference in each submit_sm (0: none).
    "REFERENCE_TAG": env.int("SMPP_REFERENCE_TAG", default=0x1400),
    # The parts of a customer's long message are acknowledged once all are stored, or
    # after this many seconds with the parts that came.
    "REASSEMBLY_SECONDS": env.float("SMPP_REASSEMBLY_SECONDS", default=30.0),
    # A customer's message redelivered by the SMS centre within this time is stored once.
    "MO_DEDUPE_SECONDS": env.int("SMPP_MO_DEDUPE_SECONDS", default=600),
    "CHANNEL_URL": env(
        "SMPP_CHANNEL_URL",
        default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "memory://",
    ),
    # The channel's Redis keys start with this: deployments (and test runs) sharing a
    # Redis keep apart as their queues do.
    "CHANNEL_PREFIX": env("SMPP_CHANNEL_PREFIX", default=f"{CELERY_TASK_DEFAULT_QUEUE}:smpp:"),
    "SECRETS": {"PASSWORD": "SMPP_PASSWORD"},
}

# ---- routing
# Send rates and fail-over (surveys/gateways/routing.py). The Redis every worker keeps
# the gateways' rate buckets and breakers in: by default the Celery broker when it is
# Redis; empty (the filesystem broker) makes each process keep its own.
NPS_GATEWAY_STATE_URL = env(
    "NPS_GATEWAY_STATE_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
# Send rates, "slug=rate[:burst]" comma-separated (messages per second; burst 1 unless
# given), e.g. "smpp=100:20,twilio=1". RATE and BURST in a gateway's NPS_GATEWAYS entry win.
NPS_GATEWAY_RATES: dict[str, str] = env.dict("NPS_GATEWAY_RATES", default={})
# A send that would wait longer than this for its rate is sent later (a retry).
NPS_GATEWAY_RATE_MAX_WAIT = env.float("NPS_GATEWAY_RATE_MAX_WAIT", default=10.0)
# The enabled gateway that takes over while the sending gateway's breaker is open; empty: none.
NPS_SEND_GATEWAY_SECONDARY = env("NPS_SEND_GATEWAY_SECONDARY", default="")
# A gateway's breaker opens after this many retryable failures in a row, or when they have
# gone on this many seconds; after the cool-down one probe send tries it again.
NPS_FAILOVER_FAILURES = env.int("NPS_FAILOVER_FAILURES", default=10)
NPS_FAILOVER_SECONDS = env.float("NPS_FAILOVER_SECONDS", default=60.0)
NPS_FAILOVER_COOLDOWN_SECONDS = env.float("NPS_FAILOVER_COOLDOWN_SECONDS", default=60.0)

# ---- vonage
# Vonage's SMS API (surveys/gateways/vonage.py); enabled by naming "vonage" in NPS_GATEWAYS.
# The signature secret and method are the account's (dashboard, API settings) and sign
# its inbound and delivery receipt webhooks; VONAGE_API_URL is the SMS API's https host.
NPS_GATEWAYS["vonage"] = {
    "CLASS": "surveys.gateways.vonage.VonageGateway",
    "API_KEY": env("VONAGE_API_KEY", default=""),
    "API_SECRET": env("VONAGE_API_SECRET", default=""),
    "SIGNATURE_SECRET": env("VONAGE_SIGNATURE_SECRET", default=""),
    "SIGNATURE_METHOD": env("VONAGE_SIGNATURE_METHOD", default="md5hash"),
    "FROM": env("VONAGE_FROM", default=""),
    "API_URL": env("VONAGE_API_URL", default="https://rest.nexmo.com"),
    "SECRETS": {
        "API_SECRET": "VONAGE_API_SECRET",
        "SIGNATURE_SECRET": "VONAGE_SIGNATURE_SECRET",
    },
}

# ---------------------------------------------------------------- surveys
# Webhook bodies larger than this are refused (413) before they are read.
NPS_WEBHOOK_MAX_BYTES = env.int("NPS_WEBHOOK_MAX_BYTES", default=64 * 1024)
# Outbound webhooks (nps/outbound): timeout per request; retries 30 s doubling to an hour
# apart, given up after 15 attempts or a day; the claim's lease (longer than the timeout);
# the language of group-bot messages.
NPS_WEBHOOK_TIMEOUT = env.float("NPS_WEBHOOK_TIMEOUT", default=5.0)
NPS_WEBHOOK_RETRY_BASE_SECONDS = env.int("NPS_WEBHOOK_RETRY_BASE_SECONDS", default=30)
NPS_WEBHOOK_RETRY_CAP_SECONDS = env.int("NPS_WEBHOOK_RETRY_CAP_SECONDS", default=3600)
NPS_WEBHOOK_MAX_ATTEMPTS = env.int("NPS_WEBHOOK_MAX_ATTEMPTS", default=15)
NPS_WEBHOOK_MAX_AGE_SECONDS = env.int("NPS_WEBHOOK_MAX_AGE_SECONDS", default=86400)
NPS_WEBHOOK_LEASE_SECONDS = env.int("NPS_WEBHOOK_LEASE_SECONDS", default=120)
NPS_WEBHOOK_LANGUAGE = env("NPS_WEBHOOK_LANGUAGE", default="zh-hans")

# ---------------------------------------------------------------- accountability
# Reports (nps/reports): the PDF is Chromium's print of the report's page; without it the
# page is kept and the PDF is marked unavailable (a system check warns).
NPS_CHROMIUM = env("NPS_CHROMIUM", default="/usr/bin/chromium")
NPS_REPORT_LANGUAGE = env("NPS_REPORT_LANGUAGE", default="zh-hans")
# A rectified problem is verified once this many days and answers have passed since the fix.
NPS_PROBLEM_VERIFY_MIN_DAYS = env.int("NPS_PROBLEM_VERIFY_MIN_DAYS", default=7)
NPS_PROBLEM_VERIFY_MIN_ANSWERS = env.int("NPS_PROBLEM_VERIFY_MIN_ANSWERS", default=30)

# ---------------------------------------------------------------- survey links (surveys/links.py)
# A survey whose delivery is "link" sends an SMS with a single-use link to /s/<token>;
# the link's address starts with NPS_PUBLIC_BASE_URL (required to send one).
NPS_SURVEY_LINK_DAYS = env.int("NPS_SURVEY_LINK_DAYS", default=7)
# Requests to /s/ per client address per minute (counted in CACHES["default"]: use Redis
# with several web processes); past it the page answers 429 before any lookup.
NPS_SURVEY_LINK_RATE_PER_MINUTE = env.int("NPS_SURVEY_LINK_RATE_PER_MINUTE", default=30)
# Origins that may frame the survey page (an operator's app, a WeChat page). Sent as
# Content-Security-Policy: frame-ancestors 'self' <these>; every other page keeps DENY.
# Inside another site's frame the browser sends no SameSite=Lax cookie, so the CSRF cookie
# must then be SameSite=None (secure with DEBUG off) for the answer to be accepted.
NPS_SURVEY_LINK_FRAME_ORIGINS = env.list("NPS_SURVEY_LINK_FRAME_ORIGINS", default=[])
if NPS_SURVEY_LINK_FRAME_ORIGINS:
    CSRF_COOKIE_SAMESITE = "None"
# Personal data older than this many days is anonymised (manage.py retention).
NPS_RETENTION_DAYS = env.int("NPS_RETENTION_DAYS", default=365)
# Key of the hash that replaces anonymised phone numbers (surveys/pseudonyms.py); empty: one
# derived from SECRET_KEY. Set it, and never change it, so rows anonymised years apart join.
NPS_PSEUDONYM_KEY = env("NPS_PSEUDONYM_KEY", default="")
NPS_DEFAULT_REGION = "CN"  # phone numbers without a country code
NPS_DEFAULT_TIME_ZONE = env("NPS_DEFAULT_TIME_ZONE", default="Asia/Shanghai")
# Conversation messages queued longer ago than this are considered lost and re-queued.
NPS_SWEEP_GRACE_SECONDS = env.int("NPS_SWEEP_GRACE_SECONDS", default=15)
# An invitation stuck in "sending" this long (worker died) is re-queued.
NPS_SEND_STUCK_SECONDS = env.int("NPS_SEND_STUCK_SECONDS", default=600)
# The preference store the CRM's "preferences" go to (surveys/preferences.py): which codes
# the taxonomy lacks, and storing the values. Named here because surveys does not import care.
NPS_PREFERENCE_CODES_UNKNOWN = "care.preferences.preference_codes_unknown"
NPS_PREFERENCES_RECORD = "care.preferences.preferences_record"
# Who may claim a customer's reply before it is read as a survey answer (surveys/replies.py):
# a running care campaign's join keyword.
NPS_REPLY_CLAIM = "care.participation.replies_claim"

# ---------------------------------------------------------------- follow-ups
# SLA targets by case priority, in business hours of the case's team.
NPS_SLA_TARGETS = {
    "P1": {"first_contact": 2, "resolution": 24},
    "P2": {"first_contact": 8, "resolution": 48},
    "P3": {"first_contact": 24, "resolution": 96},
}
# Failed contact attempts after which a case becomes unreachable.
NPS_UNREACHABLE_AFTER = env.int("NPS_UNREACHABLE_AFTER", default=3)
# Days after resolution when the verification survey goes out; recovered at this score.
NPS_VERIFICATION_DAYS = env.int("NPS_VERIFICATION_DAYS", default=7)
NPS_RECOVERED_SCORE = 7
# Surveys per customer at most, per value tier, over a rolling window of days.
# The rule that says within how many hours a detractor will be called (their open case's
# first-contact due time); the acknowledgement SMS quotes it. Named here because surveys
# does not import followups.
NPS_CALLBACK_HOURS = "followups.sla.callback_hours"
NPS_TIER_CAPS = {"A": {"surveys": 2, "days": 30}, "B": {"surveys": 3, "days": 30}}
# Local time (in each recipient team's time zone) when the daily digest goes out.
NPS_DIGEST_TIME = env("NPS_DIGEST_TIME", default="08:00")
# Minutes before a callback the customer booked when its agent gets a reminder email.
NPS_APPOINTMENT_REMINDER_MINUTES = env.int("NPS_APPOINTMENT_REMINDER_MINUTES", default=15)

# ---------------------------------------------------------------- reporting
# Dashboard days are local dates in this zone (rollups and filters alike).
NPS_REPORTING_TIME_ZONE = env("NPS_REPORTING_TIME_ZONE", default=NPS_DEFAULT_TIME_ZONE)
# Every 10 minutes the rollups of this many recent days are recomputed (today included;
# today alone every minute).
NPS_ROLLUP_REFRESH_DAYS = env.int("NPS_ROLLUP_REFRESH_DAYS", default=3)
# ...and also the older days of cases with a history event in the last this many seconds
# (contacted, resolved, verified days or weeks after opening); several refresh intervals,
# so a late or skipped run misses nothing.
NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS = env.int("NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS", default=300)

# ---------------------------------------------------------------- dashboard
# Below this many answers an NPS is shown as "insufficient data", not as a number.
NPS_DASHBOARD_MIN_SAMPLE = env.int("NPS_DASHBOARD_MIN_SAMPLE", default=30)
# Periods up to this many days get a daily trend; longer ones a weekly trend.
NPS_DASHBOARD_DAILY_TREND_DAYS = env.int("NPS_DASHBOARD_DAILY_TREND_DAYS", default=31)
# Rows shown per breakdown table, in the chosen order (the CSV download has them all).
NPS_DASHBOARD_BREAKDOWN_ROWS = env.int("NPS_DASHBOARD_BREAKDOWN_ROWS", default=25)
# Latest detractor comments shown on the page (the CSV download has up to 1,000).
NPS_DASHBOARD_VERBATIMS = env.int("NPS_DASHBOARD_VERBATIMS", default=20)

# ---------------------------------------------------------------- email
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="nps@localhost")

# ---------------------------------------------------------------- logging
# Phone numbers never reach the logs in full (surveys.phones.MaskPhonesFilter): every
# handler masks them, and Django's own handlers (runserver's request lines in
# "django.server", the unmasked console of "django") are replaced by masked ones.
# Celery's worker and beat log through this too (nps/celery.py); gunicorn's access and
# error logs use the same filter (nps/gunicorn.conf.py).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "mask_phones": {"()": "surveys.phones.MaskPhonesFilter"},
        "ticks_at_debug": {"()": "nps.logfilters.PeriodicTicksAtDebug"},
        "forbidden_without_traceback": {"()": "nps.logfilters.ExpectedForbiddenWithoutTraceback"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_phones"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_phones"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # No handlers of its own: "django.request" and the rest go to the masked root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs every login's bookkeeping at info; lockouts are warnings.
        "axes": {"level": "WARNING"},
        # An expected 403 is one line, not a traceback (nps/logfilters.py).
        "django.request": {"filters": ["forbidden_without_traceback"]},
        # The periodic tasks' ticks at debug level (nps/logfilters.py, NPS_QUIET_TASKS).
        **{
            name: {"filters": ["ticks_at_debug"]}
            for name in (
                "celery.beat",
                "celery.worker.strategy",
                "celery.app.trace",
                "kombu.connection",
            )
        },
    },
}
# Periodic tasks: Celery's three lines for each run (sent, received, succeeded) are logged
# at debug instead of info; what a run does is logged by the project's own loggers.
NPS_QUIET_TASKS = tuple(entry["task"] for entry in CELERY_BEAT_SCHEDULE.values())

# ---- health
# Health checks (nps/health.py, /health/): a check fails past these ages, in seconds.
# Beat's heartbeat task (nps.tasks.beat_heartbeat) runs every NPS_HEARTBEAT_INTERVAL.
NPS_HEARTBEAT_INTERVAL = env.float("NPS_HEARTBEAT_INTERVAL", default=30.0)
NPS_HEALTH_BEAT_MAX_AGE = env.int("NPS_HEALTH_BEAT_MAX_AGE", default=120)
# The oldest reply or receipt the outbox relay has not queued (it runs every second).
NPS_HEALTH_RELAY_LAG_MAX = env.int("NPS_HEALTH_RELAY_LAG_MAX", default=60)
# The oldest reply not processed yet, queued or not (a lost batch is relayed again at 60 s).
NPS_HEALTH_REPLY_AGE_MAX = env.int("NPS_HEALTH_REPLY_AGE_MAX", default=300)
# Load balancers probe over plain HTTP from inside: no redirect to HTTPS for the probes.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
# Prometheus metrics (nps/metrics.py, /metrics): only for `Authorization: Bearer <token>`;
# empty (the default, in every environment) means no endpoint at all (404).
NPS_METRICS_TOKEN = env("NPS_METRICS_TOKEN", default="")
CELERY_BEAT_SCHEDULE["beat-heartbeat"] = {
    # Beat's heartbeat: a fresh stamp says beat schedules and a worker runs its jobs.
    "task": "nps.tasks.beat_heartbeat",
    "schedule": NPS_HEARTBEAT_INTERVAL,
}
NPS_QUIET_TASKS = (*NPS_QUIET_TASKS, "nps.tasks.beat_heartbeat")
# A failing check is in the answer and in django.request's one line per 503; the library's
# own warning with a traceback at every probe (every few seconds) would bury the console.
LOGGING["loggers"]["health_check"] = {"level": "ERROR"}  # type: ignore[index]
# One JSON object per log line (nps/logjson.py) on the console, phone numbers masked.
NPS_LOG_JSON = env.bool("NPS_LOG_JSON", default=False)
if NPS_LOG_JSON:
    LOGGING["formatters"]["json"] = {"()": "nps.logjson.MaskedJsonFormatter"}  # type: ignore[index]
    LOGGING["handlers"]["console"]["formatter"] = "json"  # type: ignore[index]

# ---- imports
# Interaction files uploaded in the admin, and the refused-row CSVs of their imports.
NPS_IMPORT_DIR = Path(env("NPS_IMPORT_DIR", default=str(VAR_DIR / "imports")))
# Rows per transaction (and per progress update) when importing interactions from a file.
NPS_IMPORT_CHUNK = env.int("NPS_IMPORT_CHUNK", default=2000)
# A time in a file without a zone (as spreadsheets write them) is read in this zone.
NPS_IMPORT_TIME_ZONE = env("NPS_IMPORT_TIME_ZONE", default=NPS_DEFAULT_TIME_ZONE)
# On PostgreSQL, store chunks by COPY and set-based statements (off: row by row, as SQLite).
NPS_IMPORT_SET_BASED = env.bool("NPS_IMPORT_SET_BASED", default=True)
# A running import renews its job's heartbeat with every chunk; a delivery of its task that
# finds a heartbeat younger than this waits (the broker hands a task running longer than
# CELERY_VISIBILITY_TIMEOUT out again), an older one means the run is gone: it runs again.
NPS_IMPORT_LEASE_SECONDS = env.int("NPS_IMPORT_LEASE_SECONDS", default=120)
