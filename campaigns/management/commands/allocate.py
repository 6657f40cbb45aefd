"""`manage.py allocate --tenant SLUG --input problem.json`: the allocation JSON the API returns, or an error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from campaigns.allocation import allocation_solve, problem_or_400
from rmn_saas.errors import ApiError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Allocate a budget across the cells of a problem JSON file (schema: campaigns/optimize/problem.py)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--input", required=True, help="problem JSON file ('-' for stdin)")
        parser.add_argument("--engine", choices=["auto", "fast", "reference"], default="auto")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        try:
            text = sys.stdin.read() if options["input"] == "-" else Path(options["input"]).read_text()
            data = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read the problem: {exc}") from exc
        with schema_context(tenant.schema_name):
            try:
                result = allocation_solve(problem_or_400(data), engine=options["engine"])
            except ApiError as exc:
                self.stdout.write(json.dumps({"error": {"code": exc.error_code, "message": str(exc.detail),
                                                        "details": exc.details}}, default=str))
                sys.stderr.write(f"allocate: {exc.detail}\n")
                raise SystemExit(1) from exc
        self.stdout.write(json.dumps(result, default=str))
