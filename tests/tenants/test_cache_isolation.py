"""The shared cache keys every value by the schema it was written from, so tenants never read each other's."""

import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import schema_context


@pytest.fixture
def cache_key():
    name = f"report-{uuid.uuid4().hex}"
    yield name
    # Redis outlives the test transaction: clean up in every schema the test may have written from.
    for schema in ("acme", "megamart", "public"):
        with schema_context(schema):
            cache.delete(name)


def _raw_keys(name: str) -> list[bytes]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return sorted(client.scan_iter(f"*{name}*"))
    finally:
        client.close()


def test_value_cached_in_one_tenant_is_invisible_in_another(acme, megamart, cache_key):
    # given a value cached while serving acme
    with schema_context(acme.schema_name):
        cache.set(cache_key, "acme's numbers", 60)

    # when megamart and the platform read the same key
    with schema_context(megamart.schema_name):
        from_megamart = cache.get(cache_key)
    with schema_context("public"):
        from_platform = cache.get(cache_key)

    # then neither sees it, while acme still does
    assert from_megamart is None
    assert from_platform is None
    with schema_context(acme.schema_name):
        assert cache.get(cache_key) == "acme's numbers"


def test_same_key_holds_one_value_per_tenant(acme, megamart, cache_key):
    # given both tenants cache under the same name
    with schema_context(acme.schema_name):
        cache.set(cache_key, "acme", 60)
    with schema_context(megamart.schema_name):
        cache.set(cache_key, "megamart", 60)
        # when megamart deletes its value
        cache.delete(cache_key)

    # then acme's is untouched
    with schema_context(acme.schema_name):
        assert cache.get(cache_key) == "acme"
    with schema_context(megamart.schema_name):
        assert cache.get(cache_key) is None


def test_raw_redis_key_carries_the_schema_name(acme, megamart, cache_key):
    # when each tenant caches under the same name
    with schema_context(acme.schema_name):
        cache.set(cache_key, 1, 60)
    with schema_context(megamart.schema_name):
        cache.set(cache_key, 2, 60)

    # then Redis holds two keys, each starting with its schema
    assert _raw_keys(cache_key) == [f"acme:rmn:1:{cache_key}".encode(), f"megamart:rmn:1:{cache_key}".encode()]
