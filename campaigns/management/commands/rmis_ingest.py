"""`manage.py rmis_ingest --tenant SLUG [--format SPEC|auto] FILE`: harmonize one export into a tenant's RMIS."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestError, IngestOptions, ingest_file
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Ingest an export (CSV/TSV/XLSX/JSON, optionally gzip) into a tenant's RMIS tables; prints one JSON object."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True, help="tenant slug, e.g. acme")
        parser.add_argument("--format", default="auto", help="spec name (or name@version), or auto (default)")
        parser.add_argument("--spec-file", help="a spec JSON file, e.g. from rmis_suggest_spec")
        parser.add_argument("--account", default="", help="the network account this export belongs to")
        parser.add_argument("--currency", help="ISO currency when the file does not say")
        parser.add_argument("--window", type=int, help="attribution window in days, when the report used another")
        parser.add_argument("--scope", choices=["click", "click_view"], help="attribution scope override")
        parser.add_argument("--model", choices=["last_touch", "linear"], help="attribution model override")
        parser.add_argument("--max-reject-share", type=float, help="fail the batch above this share (default 0.05)")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        document = None
        if options["spec_file"]:
            try:
                document = json.loads(Path(options["spec_file"]).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"cannot read the spec file: {exc}") from exc
        ingest_options = IngestOptions(
            spec=options["format"], spec_document=document, account=options["account"],
            currency=options["currency"], max_reject_share=options["max_reject_share"],
            attribution={"window_days": options["window"], "scope": options["scope"], "model": options["model"]},
        )
        started = time.perf_counter()
        with schema_context(tenant.schema_name):
            try:
                result = ingest_file(path=path, file_name=path.name, actor="cli:rmis_ingest", options=ingest_options)
            except IngestError as exc:
                self.stdout.write(json.dumps({"error": {"code": exc.code, "message": exc.message,
                                                        "details": exc.details}}, default=str))
                sys.stderr.write(f"rmis_ingest: {exc.message}\n")
                raise SystemExit(1) from exc
        self.stdout.write(json.dumps({**result.to_dict(), "seconds": round(time.perf_counter() - started, 3)},
                                     default=str))
