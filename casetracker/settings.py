"""casetracker settings, read from the environment (see README "Configuration")."""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from casetracker.env import (
    encryption_keys,
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
    secret_key,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# Demo mode: local sample data and demo users with printed passwords. Never in production.
DEMO = env_bool("DEMO", False)

SECRET_KEY = secret_key(VAR_DIR, allow_generated=DEBUG or DEMO)
# Restricted fields and evidence files are encrypted with keys kept outside the database
# (casetracker.crypto; README "Encryption and backups"). Production refuses to start without.
ENCRYPTION_KEYS, AUDIT_DIGEST_KEY = encryption_keys(VAR_DIR, allow_generated=DEBUG or DEMO)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or DEMO else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "casetracker",
    "people",
    "cases",
    "sources",
    "api",
    "exports",
    "imports",
    "languages",
    "synthetic",
    "snapshots",
    "figures",
    "submissions",
    "website",
    "django_tasks",
    "django_tasks_db",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The interface language: the language cookie, else the browser's Accept-Language...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ...and for a signed-in user, the language stored on their account (languages app).
    "languages.middleware.AccountLanguageMiddleware",
    # Ends sessions older than SESSION_ABSOLUTE_AGE, however active (before OTP: it may sign out).
    "casetracker.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # With REQUIRE_2FA, a signed-in user without a second factor may only set one up or sign out.
    "casetracker.middleware.SecondFactorMiddleware",
    # Writes 403 and 404 answers to signed-in staff into the security log.
    "casetracker.middleware.RefusedAccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Attributes every history record to the signed-in user.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a lockout into the ordinary failed-login page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out sign-ins before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "casetracker.urls"
WSGI_APPLICATION = "casetracker.wsgi.application"

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

_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": parse_database_url(_database_url)
    if _database_url
    else sqlite_database(VAR_DIR / "casetracker.sqlite3")
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0)
DATABASES["default"]["ATOMIC_REQUESTS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The interface languages (README "Languages"); the project's catalogues are in locale/.
LANGUAGES = [
    ("en", "English"),
    ("kk", "Қазақша"),
    ("ru", "Русский"),
    ("zh-hans", "简体中文"),
]
# locale/ is the project's own catalogue; languages/django_gaps/ holds what the catalogues of
# Django (Kazakh: the admin, sign-in, form errors), django-simple-history and django-axes lack.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "languages" / "django_gaps"]
# Date formats for languages Django ships none for (Kazakh).
FORMAT_MODULE_PATH = ["casetracker.formats"]
# The language cookie outlives sign-out, so the sign-in page speaks the reader's language.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
# Uploaded evidence is never served as static media: it is streamed to signed-in staff only,
# through a permission-checked view (sources.views.download_evidence).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = None
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_MB", 200) * 1024 * 1024

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security -----------------------------------------------------------------------------
# Staff sign in with a password and a TOTP code (README "Staff account security"). Only the
# local demo may turn the second factor off; production refuses to start without it.
REQUIRE_2FA = env_bool("REQUIRE_2FA", True)
if not REQUIRE_2FA and not (DEBUG or DEMO):
    raise ImproperlyConfigured(
        "REQUIRE_2FA is false, which only the local demo may do (DEMO=true or DEBUG=true). "
        "Production requires two-factor sign-in: unset REQUIRE_2FA or set it to true."
    )
OTP_TOTP_ISSUER = env_str("TOTP_ISSUER", "casetracker")  # the name staff see in their app
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # never show a device's secret or QR code again

# Sessions end after SESSION_COOKIE_AGE seconds idle (every request renews them) and
# SESSION_ABSOLUTE_AGE seconds after sign-in however active (SessionLifetimeMiddleware).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_AGE = env_int("SESSION_ABSOLUTE_AGE", 12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Brute-force lockout (django-axes): LOGIN_FAILURE_LIMIT failed sign-ins (wrong password or
# wrong code) from one address for one username lock that pair out for 15 minutes. Keyed on
# both, so an attacker cannot lock a colleague out from elsewhere. The locked-out answer is the
# ordinary failed-login page (casetracker.security.lockout_response): it tells an attacker
# nothing. Unlock early with `manage.py axes_reset_username USERNAME`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT must be 1 or more.")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "casetracker.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "casetracker.security.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "otp_token"]
# The security log (casetracker.SecurityEvent) already records sign-ins and lockouts.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False  # no banner on every manage.py command

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere. The Django 5.2
# admin needs neither inline script nor inline style (the enrolment QR code is inline SVG). Its
# one inline <style> comes only with a ModelAdmin that turns off both action bars (it widens a
# column); keep the action bars rather than loosen style-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Production runs behind a TLS-terminating reverse proxy (README "Production"), which also
# tells the client's address (X-Forwarded-For) for lockouts and the security log.
BEHIND_TLS_PROXY = not DEBUG and env_bool("BEHIND_TLS_PROXY", True)

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a hard-to-undo commitment for the whole domain: opt in, don't nag.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Sign-ins, lockouts, 2FA and refused access (casetracker.security): kept whatever LOG_LEVEL.
    "loggers": {"casetracker.security": {"level": "INFO"}},
}

# --- Domain -------------------------------------------------------------------------------
# Prefix of human case references: CT-2024-00017.
CASE_REFERENCE_PREFIX = env_str("CASE_REFERENCE_PREFIX", "CT")
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is a record, not an undo button
# The lowest evidence level (1 reported · 2 testimony · 3 corroborated · 4 documented) a
# verified case needs before it may be published to partners.
MIN_PUBLISH_EVIDENCE_LEVEL = env_int("MIN_PUBLISH_EVIDENCE_LEVEL", 2)
# Synthetic records (`manage.py generate_synthetic`, for benchmarks and trials) never reach
# partners: Case.objects.published() leaves them out unless this is on. Only a database made
# for measuring turns it on (the benchmarks do); a real one never should.
PUBLISH_SYNTHETIC_DATA = env_bool("PUBLISH_SYNTHETIC_DATA", False)

# --- The public website (website app) ---------------------------------------------------------
# Read-only pages of the published cases at "/". Off unless turned on (on in the demo): a
# group decides to have a public face. NOINDEX asks search engines to stay away (noindex,
# robots.txt) for a site shared by link only.
PUBLIC_SITE = env_bool("PUBLIC_SITE", DEMO)
# A process that serves the public website alone (README "Production"): no admin, no staff
# sign-in, no partner API, no sessions; for a server of its own whose database role may read
# only what the site needs (website/public_role.sql).
PUBLIC_SITE_ONLY = env_bool("PUBLIC_SITE_ONLY", False)
# What serves staff, left out of such a process: forms, sessions, users, second factors,
# lockouts, messages (each would read tables the site's role may not).
STAFF_MIDDLEWARE = {
    # Nothing is posted to the website (GET and HEAD only), and the CSRF failure page is the
    # admin's.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "languages.middleware.AccountLanguageMiddleware",
    "casetracker.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "casetracker.middleware.SecondFactorMiddleware",
    "casetracker.middleware.RefusedAccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
}
if PUBLIC_SITE_ONLY:
    PUBLIC_SITE = True
    ROOT_URLCONF = "casetracker.public_urls"
    MIDDLEWARE = [name for name in MIDDLEWARE if name not in STAFF_MIDDLEWARE]
    # The admin's checks that it has its middleware: it is installed (its models are the
    # site's too) but not served.
    SILENCED_SYSTEM_CHECKS = [
        *globals().get("SILENCED_SYSTEM_CHECKS", []),
        "admin.E408",
        "admin.E409",
        "admin.E410",
        "axes.W002",
    ]
PUBLIC_SITE_NOINDEX = env_bool("PUBLIC_SITE_NOINDEX", False)
# How long a browser or a proxy may keep a page before asking again (it then gets a 304 if
# nothing changed).
PUBLIC_SITE_CACHE_SECONDS = env_int("PUBLIC_SITE_CACHE_SECONDS", 300)
# The data download (website.downloads): where its bundles are written (a process serving the
# website alone reads them there: a directory both servers share), whether every change to
# the published set asks for a new one (else only `manage.py publish_downloads` does, e.g.
# from a daily timer: at a scale where a bundle takes long), and the address of the site that
# the bundle's records point at (empty: addresses without a host).
PUBLIC_DOWNLOADS_DIR = Path(env_str("PUBLIC_DOWNLOADS_DIR", str(VAR_DIR / "public-downloads")))
# On by default where this server has the website; the staff server of a split deployment
# (the website on a server of its own) sets it too.
PUBLIC_DOWNLOADS_AFTER_PUBLISHING = env_bool("PUBLIC_DOWNLOADS_AFTER_PUBLISHING", PUBLIC_SITE)
PUBLIC_SITE_URL = env_str("PUBLIC_SITE_URL", "")
# Requests per client address (website.throttling): searches; lists of a place's or a
# charge's cases; answers for a reference or person that is not published (404 or 410).
PUBLIC_SITE_RATES = {
    "search": env_str("PUBLIC_SITE_SEARCH_RATE", "30/min"),
    "list": env_str("PUBLIC_SITE_LIST_RATE", "60/min"),
    "missing": env_str("PUBLIC_SITE_MISSING_RATE", "20/min"),
}

# --- UN submissions (submissions app) ---------------------------------------------------------
# The organisation that submits: the last section of every draft names it, and only it (never a
# testifier or a staff member). Empty values are listed among what a draft lacks.
SUBMITTING_ORGANISATION = {
    "name": env_str("ORGANISATION_NAME", ""),
    "address": env_str("ORGANISATION_ADDRESS", ""),
    "email": env_str("ORGANISATION_EMAIL", ""),
    "website": env_str("ORGANISATION_WEBSITE", ""),
}

# --- Partner API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Deny by default: partner tokens only, reads only; staff sessions do not reach the API.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.PartnerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.IsPartner"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.PartnerBurstThrottle",
        "api.throttling.PartnerSustainedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "partner_burst": env_str("API_RATE_BURST", "120/min"),
        "partner_sustained": env_str("API_RATE_SUSTAINED", "20000/day"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
_rates = REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
# Partner exports (exports/api.py): GET /api/v1/exports/cases.zip writes the bundle inside the
# request for up to this many cases (more are refused with the way to ask for them as a job:
# POST /api/v1/exports/), and a partner may have this many exports waiting or running at once.
PARTNER_DIRECT_EXPORT_MAX_CASES = env_int("PARTNER_DIRECT_EXPORT_MAX_CASES", 10_000)
PARTNER_EXPORTS_AT_ONCE = env_int("PARTNER_EXPORTS_AT_ONCE", 2)
SPECTACULAR_SETTINGS = {
    "TITLE": "casetracker partner API",
    "DESCRIPTION": f"""Verified, published detainee cases for partner groups. Read-only, but
for asking for an export (`POST /api/v1/exports/`).

You get the public part of published cases: the person and every recorded spelling of their
name, the detention events with dates (EDTF, with earliest and latest days), places, charges
and sentences, the incidents, and the public sources cited, with locators. You never get
unpublished or sensitive cases, internal notes, contact details, relatives and testifiers,
restricted or confidential sources, evidence files, or who on the staff did what.

**Token.** Send `Authorization: Token <key>` (or `Bearer <key>`) with every request.

**Records** are identified by `uid`, which never changes; cases also by `reference`
(`CT-2024-00017`).

**Lists** are cursor-paginated: follow `next` until it is `null`. `page_size` is 1 to 500
(default 50).

**Keeping a copy.** Ask `/api/v1/cases/?updated_since=<start of your last sync>` for the cases
that changed, and `/api/v1/cases/withdrawn/?since=<the same time>` for those to delete. A
case whose correction is in review stays as it was last verified until the correction is
verified; it then comes as changed.

**Exports.** Every published case (or those the case filters pick) as a zip of CSV, JSON and
XLSX files: `GET /api/v1/exports/cases.zip` for up to {PARTNER_DIRECT_EXPORT_MAX_CASES:,}
cases, written while you wait; `POST /api/v1/exports/` for any number, written by a
background job you follow, then download.

**Errors.** A 400 names each refused parameter: `{{"date_from": ["…"]}}`; unknown parameters
are refused, not ignored. 401, 404 and 429 say why in `{{"detail": "…"}}`. A record that is not
published is not found (404), whatever the reason.

**Limits.** {_rates["partner_burst"]} and {_rates["partner_sustained"]} per token; beyond, 429
with `Retry-After` (seconds).""",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page (/api/v1/docs/) loads Swagger UI from our own static files, never a CDN,
    # and runs under the site's Content-Security-Policy (api/urls.py).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        # A token typed into "Authorize" is forgotten with the tab, never kept in the browser.
        "persistAuthorization": False,
        "displayRequestDuration": True,
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "cases.models.EventKind",
        "LocationKindEnum": "cases.models.LocationKind",
        "OrganisationKindEnum": "people.models.OrganisationKind",
        "NameKindEnum": "people.models.NameKind",
        "SourceKindEnum": "sources.models.SourceKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.cursor_links",
    ],
    "TAGS": [
        {"name": "cases", "description": "Published cases, and those withdrawn since a time."},
        {"name": "people", "description": "People named in published cases."},
        {"name": "incidents", "description": "Waves and operations."},
        {"name": "organisations", "description": "Authorities and publishers."},
        {"name": "locations", "description": "Places and facilities, with their parents."},
        {"name": "charges", "description": "PRC Criminal Law charges."},
        {"name": "sources", "description": "Public sources cited by published cases."},
    ],
}
# Throttle counters must be shared by every worker process: a file cache needs no server.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "cache",
    },
    # The statistics partners and the public read (figures.cache): kept apart, so that
    # clearing it clears nothing else, and shared by every server process of this host
    # (with several hosts, point it at a cache they share, e.g. Django's Redis backend).
    "statistics": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "cache" / "statistics",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

# Statistics (figures; README "Statistics"): in what partners and the public see, a count
# from 1 to this minus one is hidden, so that a small count cannot point at one person.
STATISTICS_MIN_CELL = env_int("STATISTICS_MIN_CELL", 5)
if STATISTICS_MIN_CELL < 2:
    raise ImproperlyConfigured("STATISTICS_MIN_CELL must be 2 or more: 1 hides nothing.")

# Background jobs (jobs app; README "Background jobs"): django-tasks with its queue in this
# database, worked by `manage.py run_worker`. A file a job makes (an export) is kept, encrypted,
# this many hours for the person who asked to download.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
JOB_FILES_KEPT_HOURS = env_int("JOB_FILES_KEPT_HOURS", 24)
