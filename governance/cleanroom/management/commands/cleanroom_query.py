"""`manage.py cleanroom_query --tenant BRAND --lease ID "SQL"`: the API's clean-room query from a shell, as the
brand's command-line actor; prints the answer as JSON, or the refusal on stderr with a non-zero exit."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from governance.cleanroom.services import CleanRoomError, clean_room_query
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Run an aggregate query in a retailer's clean room under one of the brand's leases."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="slug of the brand holding the lease")
        parser.add_argument("--lease", required=True, type=int)
        parser.add_argument("sql")

    def handle(self, *args, **options) -> None:
        brand = Tenant.objects.filter(slug=options["tenant"]).first()
        if brand is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        with schema_context(brand.schema_name):
            try:
                answer = clean_room_query(brand=brand, actor="cli:cleanroom_query", lease_id=options["lease"],
                                          sql=options["sql"])
            except CleanRoomError as exc:
                detail = " ".join(f"{key}={value}" for key, value in exc.details.items())
                raise CommandError(f"{exc.code}: {exc.message}" + (f" ({detail})" if detail else "")) from exc
        self.stdout.write(json.dumps(answer, indent=2, default=str))
