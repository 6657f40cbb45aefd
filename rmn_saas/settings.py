"""Django settings, read from the environment; defaults run the embedded stack of `bin/rmn up`.

Every variable is listed in the README's configuration table.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("RMN_DATA_DIR", BASE_DIR / ".data"))
TESTING = os.environ.get("RMN_TESTING") == "1"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    # Embedded runs keep a generated key under .data so sessions and JWTs survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = _env_bool("DJANGO_DEBUG", False)
SECRET_KEY = _secret_key()
RMN_BASE_DOMAIN = os.environ.get("RMN_BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [RMN_BASE_DOMAIN, f".{RMN_BASE_DOMAIN}", "127.0.0.1"]
if TESTING:
    ALLOWED_HOSTS.append("testserver")

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.accounts",
    "governance.audit",
    "governance.policies",
    "inference.adapters",
    "inference.rag",
    "inference.training",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "inference",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "tenants.accounts",
    "governance.audit",
    "tenants.jobs",
    "campaigns",
    "governance.cleanroom",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "rmn_saas.middleware.HealthCheckMiddleware",
    "rmn_saas.middleware.RequestIdMiddleware",
    "tenants.middleware.TenantMiddleware",
    "rmn_saas.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "governance.audit.middleware.ApiAuditMiddleware",
]

ROOT_URLCONF = "rmn_saas.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "rmn_saas.urls_public"
WSGI_APPLICATION = "rmn_saas.wsgi.application"

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
                "rmn_saas.context_processors.navigation",
            ],
            # {% partialdef %} is built into Django 6; on 5.2 the tag comes from django-template-partials.
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rmn")
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    # pgserver hands out `postgresql://postgres:@/db?host=/socket/dir`: the socket folder is a query parameter.
    host = parse_qs(urlsplit(url).query).get("host")
    if host and not config.get("HOST"):
        config["HOST"] = host[0]
        config.get("OPTIONS", {}).pop("host", None)
    config["ENGINE"] = "django_tenants.postgresql_backend"
    config["TEST"] = {"NAME": f"test_{config['NAME']}"}
    return config


DATABASES = {"default": _database()}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every key carries its tenant's schema name, so no two tenants ever share a cached value.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": "rmn",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Fast hashing in tests only; production keeps Django's PBKDF2 default.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"  # `collectstatic` target for production
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve static/ directly, so `bin/rmn up` needs no collectstatic step

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it; the token travels through hx-headers
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "tenants.authentication.TenantJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.RolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.ratelimit.TenantThrottle", "tenants.ratelimit.ApiKeyThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rmn_saas.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RMN Copilot API",
    "DESCRIPTION": "Retail media planning, measurement and governance across networks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("RMN_JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": SECRET_KEY,
    "UPDATE_LAST_LOGIN": False,
}

# Rate limits as "<count>/<second|minute|hour>", per tenant and per API key, shared through Redis.
RMN_RATE_LIMIT_TENANT = os.environ.get("RMN_RATE_LIMIT_TENANT", "1200/minute")
RMN_RATE_LIMIT_API_KEY = os.environ.get("RMN_RATE_LIMIT_API_KEY", "300/minute")

CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True  # results live on Job rows in the tenant's schema
# Only tasks that set ignore_result=False keep a result here: the few answers a request waits for (RAG search).
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_RESULT_EXPIRES = 300
CELERY_TASK_ACKS_LATE = True
# Redis redelivers an unacknowledged task after this long; training runs take up to hours, so it must be longer
# than the longest task (each task also refuses to start work another worker already took).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 12 * 3600}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {"inference.*": {"queue": "gpu"}, "campaigns.*": {"queue": "default"}}
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "jobs.sweep_stale_all_tenants", "schedule": 300.0},
    # Daily: refit response curves from new RMIS data and record each running plan's realized vs expected.
    "plan-follow-up": {"task": "campaigns.plan_follow_up_all_tenants", "schedule": 86400.0},
}

# The base model: the embedded SmolLM2 GGUF by default, or any local Hugging Face checkpoint path.
# The served base model (inference/base_models.py): an embedded model's name or a Hugging Face checkpoint path;
# RMN_BASE_MODEL_QUANTIZATION=nf4 loads it in 4-bit through bitsandbytes.
RMN_BASE_MODEL = os.environ.get("RMN_BASE_MODEL", "smollm2-135m-instruct")
RMN_BASE_MODEL_QUANTIZATION = os.environ.get("RMN_BASE_MODEL_QUANTIZATION", "")
# Where generation runs: "local" (the gpu worker's own model and adapter manager) or "vllm" (an OpenAI-compatible
# vLLM server with runtime LoRA loading, for scale-out; see inference/backends/vllm.py).
RMN_GENERATION_BACKEND = os.environ.get("RMN_GENERATION_BACKEND", "local")
RMN_VLLM_URL = os.environ.get("RMN_VLLM_URL", "http://127.0.0.1:8000")
RMN_VLLM_MODEL = os.environ.get("RMN_VLLM_MODEL", "")
RMN_VLLM_API_KEY = os.environ.get("RMN_VLLM_API_KEY", "")
RMN_VLLM_LORA_DIR = Path(os.environ.get("RMN_VLLM_LORA_DIR", DATA_DIR / "vllm-loras"))
# The gpu worker's adapter manager: adapter weights held in memory, and merged weights for hot stacks.
RMN_ADAPTER_MEMORY_MB = int(os.environ.get("RMN_ADAPTER_MEMORY_MB", "512"))
# Adapter training (inference/training): run folders (checkpoints, the trained adapter before registration), and
# how many points of held-out exact match a trained adapter must gain over the base model to be approved.
RMN_TRAINING_DIR = Path(os.environ.get("RMN_TRAINING_DIR", DATA_DIR / "training"))
RMN_TRAINING_APPROVAL_MARGIN = float(os.environ.get("RMN_TRAINING_APPROVAL_MARGIN", "0.10"))
RMN_ADAPTER_MERGED_MB = int(os.environ.get("RMN_ADAPTER_MERGED_MB", "0")) or None  # default: two full stacks
RMN_MODEL_CACHE_DIR = Path(os.environ.get("RMN_MODEL_CACHE_DIR", DATA_DIR / "models"))
RMN_GENERATE_MAX_NEW_TOKENS = int(os.environ.get("RMN_GENERATE_MAX_NEW_TOKENS", "512"))
# LoRA adapters (inference/adapters): artifacts live encrypted under RMN_ADAPTER_DIR/<adapter id>/, with AES-GCM keys
# derived per owner tenant from RMN_ADAPTER_KEY (else SECRET_KEY: rotating it then makes stored adapters unreadable).
# They are signed with the platform's Ed25519 key, generated once into .data unless RMN_ADAPTER_SIGNING_KEY names a
# PEM file (PKCS#8) that exists.
RMN_ADAPTER_DIR = Path(os.environ.get("RMN_ADAPTER_DIR", DATA_DIR / "adapters"))
RMN_ADAPTER_KEY = os.environ.get("RMN_ADAPTER_KEY", "")
RMN_ADAPTER_SIGNING_KEY = os.environ.get("RMN_ADAPTER_SIGNING_KEY", "")
RMN_ADAPTER_SIGNING_KEY_DEFAULT = DATA_DIR / "adapter_signing_key.pem"
RMN_ADAPTER_MAX_BYTES = int(os.environ.get("RMN_ADAPTER_MAX_MB", "200")) * 1024 * 1024
# Per-tenant keys for PII hashing, {"schema": "hex"}; a tenant without one gets a key derived from SECRET_KEY
# (governance/pii/keys.py), so rotating SECRET_KEY changes those tenants' hashes.
RMN_PII_KEYS = json.loads(os.environ.get("RMN_PII_KEYS", "{}"))

# Jobs still "running" after this long are marked failed by the beat sweep (a worker died mid-task).
RMN_JOB_STALE_AFTER = timedelta(hours=int(os.environ.get("RMN_JOB_STALE_HOURS", "6")))

RMN_METRICS_TOKEN = os.environ.get("RMN_METRICS_TOKEN", "")

# Harmonizer: uploads over this size are refused before parsing; a batch with a larger share of rejected rows
# fails whole; a restatement moving attributed sales by more than this share is flagged as a warning.
RMN_INGEST_MAX_BYTES = int(os.environ.get("RMN_INGEST_MAX_MB", "1024")) * 1024 * 1024
RMN_INGEST_MAX_REJECT_SHARE = float(os.environ.get("RMN_INGEST_MAX_REJECT_SHARE", "0.05"))
RMN_RESTATEMENT_THRESHOLD = float(os.environ.get("RMN_RESTATEMENT_THRESHOLD", "0.10"))
RMN_UPLOAD_DIR = Path(os.environ.get("RMN_UPLOAD_DIR", DATA_DIR / "uploads"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RMN_LOG_LEVEL", "INFO")},
}
