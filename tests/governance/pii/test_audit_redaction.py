"""Audit payloads pass through PII redaction before they are stored."""

from __future__ import annotations

from django_tenants.utils import schema_context

from governance.audit.models import AuditEntry
from governance.audit.services import audit_record


def test_an_email_in_details_is_stored_masked(acme):
    with schema_context(acme.schema_name):
        # when a service records details that carry personal data
        entry = audit_record(actor="user:acme-admin", action="test.pii", details={
            "note": "shopper jane.doe@acme.com called from (212) 555-0147", "rows": [{"ip": "203.0.113.45"}],
            "count": 3, "ids": {"asin": "B08N5WRWNW", "gtin": "036000291452"},
        })

        # then the stored row has them masked, and the rest as it was
        row = AuditEntry.objects.get(pk=entry.pk)
    assert row.details == {"note": "shopper [EMAIL] called from [PHONE]", "rows": [{"ip": "[IP]"}], "count": 3,
                           "ids": {"asin": "B08N5WRWNW", "gtin": "036000291452"}}
