"""The audit log for tenant admins: filtered JSON and a CSV export; a retailer's log shows every clean-room query
run under its leases; nobody but an admin reads it."""

from __future__ import annotations

import csv
import io
import json

from django_tenants.utils import schema_context

from governance.audit.services import audit_record
from tests.conftest import api_client_for


def test_admins_filter_and_export_the_log(acme):
    with schema_context("acme"):
        audit_record(actor="user:acme-analyst", action="cleanroom.query", object_type="lease", object_id="7",
                     details={"rows_returned": 4, "note": "ask bob@example.com"})
        audit_record(actor="user:acme-admin", action="lease.grant", outcome="denied")
    admin = api_client_for(acme, username="acme-admin")

    listed = admin.get("/api/v1/audit?action=cleanroom.").json()["results"]
    denied = admin.get("/api/v1/audit?outcome=denied").json()["results"]
    exported = b"".join(admin.get("/api/v1/audit/export.csv?action=cleanroom.").streaming_content).decode()

    assert [(e["actor"], e["details"]["rows_returned"]) for e in listed] == [("user:acme-analyst", 4)]
    assert [e["action"] for e in denied] == ["lease.grant"]
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["action"], r["object_id"]) for r in rows] == [("cleanroom.query", "7")]
    assert json.loads(rows[0]["details"]) == {"note": "ask [EMAIL]", "rows_returned": 4}  # redacted when written


def test_only_admins_read_the_log_and_bad_filters_are_named(acme):
    assert api_client_for(acme, username="acme-analyst").get("/api/v1/audit").status_code == 403
    bad = api_client_for(acme, username="acme-admin").get("/api/v1/audit?since=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "since"
