"""Homeroom's one settings module. Every deployment choice is an environment variable listed in
.env.example; the defaults suit production, and `make run` sets the development values."""

import json
import secrets
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from homeroom.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("HOMEROOM_DEBUG", default=False)
TESTING = env_bool("HOMEROOM_TESTING", default="pytest" in sys.modules)

# Processes that sign what they hand out (sessions, sign-in codes, links in mail) need the real key.
SERVING = env_bool("HOMEROOM_SERVING", default=False) or sys.argv[1:2] in (["runserver"], ["db_worker"])
SECRET_KEY = env_str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "development-only-key-not-for-production-use-0123456789abcdefghijklmnop"  # noqa: S105
    elif SERVING:
        raise ImproperlyConfigured("SECRET_KEY must be set when HOMEROOM_DEBUG is not true")
    else:
        # One-off commands (migrate, makemigrations, createsuperuser) sign nothing that outlives them.
        SECRET_KEY = secrets.token_urlsafe(50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default="127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "accounts",
    "roster",
    "audit",
    "portal",
    "insights",
    "delivery",
    "communication",
    "intake",
    "goals",
    "behavior",
    "records",
    "students",
    "seeding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "homeroom.middleware.PrivatePagesMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "homeroom.middleware.SecondFactorMiddleware",
]

ROOT_URLCONF = "homeroom.urls"
WSGI_APPLICATION = "homeroom.wsgi.application"

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
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'homeroom.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=DEFAULT_SQLITE_URL), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=0)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the task worker write while the web process reads; a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and sys.argv[1:2] == ["db_worker"]:
    # A task worker's commits need not wait for the disk: a worker killed after a commit loses nothing, and a
    # delivery marked sent just before the database server itself crashed is at worst sent again (with its own
    # Message-ID, which mail programs show once). Sending a school-wide notice waits a tenth as long.
    DATABASES["default"]["OPTIONS"] = {"options": "-c synchronous_commit=off"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is slow on purpose; tests sign in hundreds of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: staff sign in with email and password; families with a one-time code by email.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "accounts.adapter.HomeroomAccountAdapter"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # The key is the account and the client's address together (accounts.adapter): a guesser stops only themself.
    "login_failed": "30/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
}
# Behind a reverse proxy, how many proxies add themselves to X-Forwarded-For: the client's address is read from
# there, for allauth's limits and Homeroom's alike. 0 (no proxy) ignores the header, which anyone can forge.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("HOMEROOM_TRUSTED_PROXY_COUNT", default=0)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Homeroom] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Homeroom"
# Leaders and district administrators (and teachers, where their school says so) must add an authenticator app.
# Off on a developer's machine (HOMEROOM_DEBUG), so that the demo school's sign-ins work at once, and in tests,
# which turn it on where they test it.
HOMEROOM_REQUIRE_SECOND_FACTOR = env_bool("HOMEROOM_REQUIRE_SECOND_FACTOR", default=not (DEBUG or TESTING))

# Rate limits and allauth's login codes live in the cache; a shared cache is needed with several web processes.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS_URL = env_str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", default="America/New_York")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Background work: Django's task API with the database backend, so the embedded default needs no extra server.
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
# A provider's API instead of SMTP: EMAIL_BACKEND=anymail.backends.mailgun.EmailBackend (or postmark, sendgrid,
# amazon_ses…) and ANYMAIL as JSON, e.g. {"MAILGUN_API_KEY": "…"}. Open and click tracking stay off.
ANYMAIL = {"IGNORE_UNSUPPORTED_FEATURES": False, **json.loads(env_str("ANYMAIL", default="{}"))}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="Homeroom <homeroom@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Production defaults; `make run` turns HTTPS off for 127.0.0.1.
HTTPS = env_bool("HOMEROOM_HTTPS", default=not (DEBUG or TESTING))
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", default=False) else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "script-src": [SELF],
        "style-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

HOMEROOM_DEFAULT_CADENCE_DAYS = 21
HOMEROOM_DEFAULT_POSITIVE_RATIO = 4
HOMEROOM_DEFAULT_GOOD_NEWS_DAYS = 14
# Delivery of messages to families. A temporary failure (a mail server busy or away) is retried after 1, 2, 4, 8...
# minutes, never more than RETRY_MAX_SECONDS apart. A family with another channel gets it that way after MAX_ATTEMPTS
# tries; one without keeps being retried for RETRY_WINDOW_HOURS from the first failure, after which the sender is
# told it did not go, and `deliver_pending` still tries it now and then for LATE_RETRY_DAYS: a mail server away for
# longer than the window loses nothing.
HOMEROOM_DELIVERY_MAX_ATTEMPTS = env_int("HOMEROOM_DELIVERY_MAX_ATTEMPTS", default=6)
HOMEROOM_DELIVERY_RETRY_SECONDS = env_int("HOMEROOM_DELIVERY_RETRY_SECONDS", default=60)
HOMEROOM_DELIVERY_RETRY_MAX_SECONDS = env_int("HOMEROOM_DELIVERY_RETRY_MAX_SECONDS", default=60 * 60)
HOMEROOM_DELIVERY_RETRY_WINDOW_HOURS = env_int("HOMEROOM_DELIVERY_RETRY_WINDOW_HOURS", default=24)
HOMEROOM_DELIVERY_LATE_RETRY_DAYS = env_int("HOMEROOM_DELIVERY_LATE_RETRY_DAYS", default=7)
# A worker holds the deliveries of its batch for this long, and renews the hold every third of it while the batch
# runs: the deliveries of a worker that died are sent by another within minutes (`deliver_pending` puts them back).
# Well above one message's time (a few EMAIL_TIMEOUTs at worst), which the renewal cannot interrupt.
HOMEROOM_DELIVERY_CLAIM_SECONDS = env_int("HOMEROOM_DELIVERY_CLAIM_SECONDS", default=5 * 60)
# A family's link to the questions about its child works this many days after it was sent.
HOMEROOM_INTAKE_LINK_DAYS = env_int("HOMEROOM_INTAKE_LINK_DAYS", default=30)
# Families that have not answered get one reminder this many days after the link (`manage.py remind_families`).
HOMEROOM_INTAKE_REMINDER_DAYS = env_int("HOMEROOM_INTAKE_REMINDER_DAYS", default=7)
# A family's link to a goal (to read it, agree, say what they see at home) works this many days after it was
# sent: long enough for a goal's life; the teacher can send a new one.
HOMEROOM_GOAL_LINK_DAYS = env_int("HOMEROOM_GOAL_LINK_DAYS", default=120)
# Roster imports (OneRoster or plain CSV). Uploads wait here for the task worker, outside any served folder, and are
# removed once read; a shared disk when workers run on other machines. The limits stop zip bombs and runaway files:
# a district of 50,000 students is about 15 MB zipped and 80 MB unpacked.
HOMEROOM_IMPORT_DIR = Path(env_str("HOMEROOM_IMPORT_DIR", default=str(VAR_DIR / "imports")))
HOMEROOM_IMPORT_MAX_BYTES = env_int("HOMEROOM_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
HOMEROOM_IMPORT_MAX_ZIP_ENTRIES = env_int("HOMEROOM_IMPORT_MAX_ZIP_ENTRIES", default=64)
HOMEROOM_IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("HOMEROOM_IMPORT_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024)
HOMEROOM_IMPORT_MAX_COMPRESSION_RATIO = env_int("HOMEROOM_IMPORT_MAX_COMPRESSION_RATIO", default=100)
# A bulk file that would deactivate more than this share of a kind of the schools it covers (and more than the
# floor) is held until a person confirms; one that skips more than this share and this many of its rows stops.
HOMEROOM_IMPORT_HOLD_DEACTIVATION_SHARE = env_float("HOMEROOM_IMPORT_HOLD_DEACTIVATION_SHARE", default=0.10)
HOMEROOM_IMPORT_HOLD_DEACTIVATION_FLOOR = env_int("HOMEROOM_IMPORT_HOLD_DEACTIVATION_FLOOR", default=5)
HOMEROOM_IMPORT_SKIP_STOP_SHARE = env_float("HOMEROOM_IMPORT_SKIP_STOP_SHARE", default=0.05)
HOMEROOM_IMPORT_SKIP_STOP_ROWS = env_int("HOMEROOM_IMPORT_SKIP_STOP_ROWS", default=20)

# Where families reach this installation: links in emails are built from it.
HOMEROOM_BASE_URL = env_str("HOMEROOM_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Text messages: the console backend prints them (development); the Twilio backend sends them. Twilio calls
# HOMEROOM_BASE_URL/hooks/sms/ with each text a family sends back (STOP, START, HELP or a reply).
HOMEROOM_SMS_BACKEND = env_str(
    "HOMEROOM_SMS_BACKEND",
    default="delivery.sms.ConsoleSmsBackend" if DEBUG or TESTING else "delivery.sms.TwilioSmsBackend",
).replace("communication.sms.", "delivery.sms.", 1)  # where the backends lived before: an old .env still works
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", default="")
# Only for tests and self-hosted Twilio-compatible gateways: where the Twilio API is reached.
TWILIO_API_URL = env_str("TWILIO_API_URL", default="")

# Machine translation of what staff write: "none" sends the original; "libretranslate" uses a self-hosted
# LibreTranslate server, so that no student data leaves the school's own servers.
HOMEROOM_TRANSLATION_BACKEND = env_str("HOMEROOM_TRANSLATION_BACKEND", default="none")
LIBRETRANSLATE_URL = env_str("LIBRETRANSLATE_URL", default="http://127.0.0.1:5000").rstrip("/")
LIBRETRANSLATE_API_KEY = env_str("LIBRETRANSLATE_API_KEY", default="")
LIBRETRANSLATE_TIMEOUT = env_int("LIBRETRANSLATE_TIMEOUT", default=15)

# Families' email replies: Reply-To is reply+TOKEN@this domain; the mail server hands them to
# /hooks/email/ or to a Maildir that `manage.py receive_replies` reads.
HOMEROOM_REPLY_DOMAIN = env_str("HOMEROOM_REPLY_DOMAIN", default="")
HOMEROOM_INBOUND_SECRET = env_str("HOMEROOM_INBOUND_SECRET", default="")
# The largest email /hooks/email/ takes, in bytes: phone photos make replies of several megabytes, larger than
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which still holds for every other route. Above it the hook answers 413.
HOMEROOM_INBOUND_EMAIL_MAX_BYTES = env_int("HOMEROOM_INBOUND_EMAIL_MAX_BYTES", default=10 * 1024 * 1024)
