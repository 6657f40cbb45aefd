"""PII detection and redaction: `find_pii` finds, `redact` masks, removes or hashes; `redact_for_model` is the hook
for every prompt and model output, and audit payloads pass through `redact_payload`."""

from governance.pii.detect import Finding, PiiType, find_pii
from governance.pii.hooks import redact_for_model, redact_payload
from governance.pii.keys import tenant_pii_key
from governance.pii.redact import MAX_CHARS, Mode, PiiInputError, Redaction, redact

__all__ = [
    "MAX_CHARS", "Finding", "Mode", "PiiInputError", "PiiType", "Redaction", "find_pii", "redact",
    "redact_for_model", "redact_payload", "tenant_pii_key",
]
