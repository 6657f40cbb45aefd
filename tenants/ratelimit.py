"""Rate limits per tenant and per API key, shared by every web process through Redis (GCRA, one Lua call).

A limit of N per period lets a burst of N through, then one request every period/N; each tenant and each
key has its own bucket, so one tenant's burst never slows another's.
"""

from __future__ import annotations

import math

import redis
from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# KEYS[1] bucket; ARGV[1] emission interval (µs), ARGV[2] burst tolerance (µs). Returns µs to wait, 0 if allowed.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - tolerance > now then
  return new_tat - tolerance - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
"""

_client: redis.Redis | None = None
_script = None


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/minute' → (120, 60)."""
    count, _, period = rate.partition("/")
    if not count.strip().isdigit() or period.strip() not in _PERIODS or int(count) <= 0:
        raise ValueError(f"rate limits look like '120/minute' (second, minute, hour or day), not {rate!r}")
    return int(count), _PERIODS[period.strip()]


def _gcra():
    global _client, _script
    if _script is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
        _script = _client.register_script(_GCRA)
    return _script


def rate_limit_hit(*, bucket: str, rate: str) -> float:
    """Spend one request from `bucket`; returns 0 when allowed, else the seconds until the next is."""
    count, period = parse_rate(rate)
    interval = period * 1_000_000 // count
    wait_us = int(_gcra()(keys=[f"rmn:ratelimit:{bucket}"], args=[interval, interval * count]))
    return wait_us / 1_000_000


class _RedisThrottle(BaseThrottle):
    setting_name = ""

    def bucket(self, request) -> str | None:
        """The Redis bucket this request spends from; None means this throttle does not apply."""
        return None

    def allow_request(self, request, view) -> bool:
        bucket = self.bucket(request)
        if bucket is None:
            return True
        self._wait = rate_limit_hit(bucket=bucket, rate=getattr(settings, self.setting_name))
        return self._wait == 0

    def wait(self) -> float:
        return max(1, math.ceil(self._wait))


class TenantThrottle(_RedisThrottle):
    setting_name = "RMN_RATE_LIMIT_TENANT"

    def bucket(self, request) -> str | None:
        return f"tenant:{connection.schema_name}"


class ApiKeyThrottle(_RedisThrottle):
    setting_name = "RMN_RATE_LIMIT_API_KEY"

    def bucket(self, request) -> str | None:
        key = getattr(request.user, "api_key_id", None)
        return f"key:{key}" if key else None
