"""The per-tenant secret behind hash-mode redaction: the same identifier hashes the same within a tenant and
differently across tenants, so hashes join a tenant's systems but never link people across tenants.

By default the key is derived: HMAC-SHA256(SECRET_KEY, "pii-hash:<schema>"). Rotating SECRET_KEY therefore changes
every tenant's hashes. A tenant whose hashes must match an outside system (a clean room, a CRM export) gets an
explicit key instead: settings.RMN_PII_KEYS = {"<schema>": "<hex>"}, at least 32 bytes.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

MIN_KEY_BYTES = 32
KEY_TOO_SHORT = "RMN_PII_KEYS[{schema!r}] must be at least 32 bytes of hex"


def tenant_pii_key(schema_name: str) -> bytes:
    configured = getattr(settings, "RMN_PII_KEYS", None) or {}
    if schema_name in configured:
        key = bytes.fromhex(configured[schema_name])
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(KEY_TOO_SHORT.format(schema=schema_name))
        return key
    return hmac.new(settings.SECRET_KEY.encode(), f"pii-hash:{schema_name}".encode(), hashlib.sha256).digest()
