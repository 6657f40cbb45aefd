"""Writing audit rows: the one way anything in RMN Copilot records what happened."""

from __future__ import annotations

from typing import Any

from governance.audit.models import AuditEntry, Outcome
from governance.pii.hooks import redact_payload
from rmn_saas.request_context import current_request_id


def audit_record(
    *,
    actor: str,
    action: str,
    outcome: str = Outcome.SUCCESS,
    object_type: str = "",
    object_id: str = "",
    request_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one row to the audit log of the schema the connection is on. Strings in `details` are stored with
    personal data masked (governance/pii): the log is kept for years and read by many."""
    return AuditEntry.objects.create(
        actor=actor[:200],
        action=action[:100],
        outcome=outcome,
        object_type=object_type[:100],
        object_id=str(object_id)[:100],
        request_id=request_id if request_id is not None else current_request_id(),
        ip=ip,
        details=redact_payload(details or {}),
    )
