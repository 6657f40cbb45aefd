"""Where other code hands text over for redaction: every prompt to and output from the language model, and every
audit-log payload."""

from __future__ import annotations

from typing import Any

from governance.pii.keys import tenant_pii_key
from governance.pii.redact import MAX_CHARS, Mode, redact

OVERSIZED_VALUE = "[REDACTED: over 200,000 characters]"


def redact_for_model(text: str, *, schema_name: str, mode: str = Mode.MASK) -> str:
    """`text` as the model may see it (or as it may leave the model). Masks by default; hash mode uses the tenant's
    key so a hashed customer stays one customer through a conversation. Over MAX_CHARS it raises ValueError: the
    caller must refuse the request, never send the text on unredacted."""
    key = tenant_pii_key(schema_name) if mode == Mode.HASH else None
    return redact(text, mode=mode, key=key).redacted


def redact_payload(value: Any) -> Any:
    """Every string inside `value` (dicts, lists and tuples, recursively) masked; other values as they are. Keys are
    left alone: they are names chosen by code. Never raises: an oversized string is replaced whole."""
    if isinstance(value, str):
        return redact(value).redacted if len(value) <= MAX_CHARS else OVERSIZED_VALUE
    if isinstance(value, dict):
        return {key: redact_payload(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_payload(item) for item in value]
    return value
