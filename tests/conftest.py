"""Test fixtures: a throwaway database with three tenants, HTTP clients per tenant, and real Celery workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
WORKER_ADAPTER_DIR = ARTIFACTS / "worker-adapters"
PASSWORD = "demo-pass-123"


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test database plus the demo tenants, created once and committed for the whole session.

    pytest-django only creates the database when some collected test names `db`; `live_db` tests do not, and
    may be all that runs, so the database is always created here.
    """
    from django.core.management import call_command
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        databases = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
        call_command("seed_demo", "--no-data", stdout=open(os.devnull, "w"))  # noqa: SIM115
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        teardown_databases(databases, verbosity=verbosity)


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    yield
    if connection.connection is not None or connection.in_atomic_block:
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit buckets live in Redis across tests; each test starts with full buckets."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("rmn:ratelimit:*"):
        client.delete(key)
    client.close()
    yield


def _tenant(request, slug: str):
    # A `live_db` test must not end up inside the `db` fixture's transaction: its writes (and the tasks sent
    # on commit) are for the workers to see.
    request.getfixturevalue("live_db" if "live_db" in request.fixturenames else "db")
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug)


@pytest.fixture
def acme(request):
    return _tenant(request, "acme")


@pytest.fixture
def megamart(request):
    return _tenant(request, "megamart")


@pytest.fixture
def platform(request):
    return _tenant(request, "public")


def host_of(tenant) -> str:
    return tenant.domains.get(is_primary=True).domain


def api_client_for(tenant, *, username: str | None = None) -> APIClient:
    """A DRF client on the tenant's domain, logged in (session) as `username` when given."""
    client = APIClient(HTTP_HOST=host_of(tenant))
    if username:
        with schema_context(tenant.schema_name):
            from tenants.accounts.models import User

            client.force_login(User.objects.get(username=username))
    return client


def page_client_for(tenant, *, username: str | None = None) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    if username:
        with schema_context(tenant.schema_name):
            from tenants.accounts.models import User

            client.force_login(User.objects.get(username=username))
    return client


def jwt_for(tenant, username: str) -> str:
    response = APIClient(HTTP_HOST=host_of(tenant)).post(
        "/api/v1/auth/token", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


def api_key_for(tenant, *, role: str, name: str = "test key", actor: str = "user:test") -> tuple[str, str]:
    """A new API key of `tenant` with `role`, made by the real service: (full key, key id)."""
    from tenants.services import api_key_create

    with schema_context(tenant.schema_name):
        key, full = api_key_create(tenant=tenant, name=name, role=role, actor=actor)
    return full, key.key_id


def job_in(tenant, **fields):
    """A Job row written straight into the tenant's schema (no task is sent)."""
    from tenants.jobs.models import Job

    with schema_context(tenant.schema_name):
        return Job.objects.create(**{"kind": "generate", "created_by": "user:test", **fields})


def job_reloaded(tenant, job):
    from tenants.jobs.models import Job

    with schema_context(tenant.schema_name):
        return Job.objects.get(pk=job.pk)


def audit_rows(tenant, **filters):
    from governance.audit.models import AuditEntry

    with schema_context(tenant.schema_name):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Database access without a wrapping transaction: what a test writes is committed, so workers see it."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


def _test_database_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + settings.DATABASES["default"]["NAME"]))


@pytest.fixture(scope="session")
def celery_workers(django_db_setup):
    """The real workers: one process consuming `default` and one (threads, model preloaded) consuming `gpu`, which
    shares the adapter store (WORKER_ADAPTER_DIR) with the tests that upload adapters for it."""
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.rmtree(WORKER_ADAPTER_DIR, ignore_errors=True)
    env = dict(os.environ, DATABASE_URL=_test_database_url(), RMN_PRELOAD_MODEL="1", PYTHONUNBUFFERED="1",
               RMN_ADAPTER_DIR=str(WORKER_ADAPTER_DIR))
    workers = []
    gpu = ["--pool", "threads", "--concurrency", "4", "--prefetch-multiplier", "1"]  # as `bin/rmn up` runs it
    for queue, extra in (("default", ["--concurrency", "1"]), ("gpu", gpu)):
        log = ARTIFACTS / f"celery-{queue}.log"
        command = [sys.executable, "-m", "celery", "-A", "rmn_saas", "worker", "-Q", queue,
                   "-n", f"{queue}-test@%h", "--loglevel", "INFO", "--logfile", str(log), *extra]
        log.unlink(missing_ok=True)
        workers.append((subprocess.Popen(command, env=env, cwd=ROOT), log))
    deadline = time.monotonic() + 600  # the first run converts the GGUF model once
    for process, log in workers:
        while "ready." not in (log.read_text() if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start; see {log}")
            time.sleep(0.2)
    yield workers
    for process, _ in workers:
        process.terminate()
    for process, _ in workers:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_job(client: APIClient, job_id: str, *, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {body}")
