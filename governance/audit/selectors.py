"""Reading the audit log, newest first, with simple filters."""

from __future__ import annotations

from django.db.models import QuerySet

from governance.audit.models import AuditEntry


def audit_list(*, action: str = "", actor: str = "", outcome: str = "", request_id: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor__icontains=actor)
    if outcome:
        entries = entries.filter(outcome=outcome)
    if request_id:
        entries = entries.filter(request_id=request_id)
    return entries
