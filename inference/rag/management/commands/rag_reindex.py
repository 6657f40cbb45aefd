"""Queue a knowledge re-index job for each retailer with an active policy set (or the one named): for an index
built before this code, or after editing the playbooks. The gpu worker does the embedding."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from governance.policies.models import PolicySet, PolicyStatus
from inference.rag.services import knowledge_index_request
from tenants.models import Tenant, TenantKind


class Command(BaseCommand):
    help = "Queue the inference.rag_index job for retailers with an active policy set (it refreshes shared chunks too)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--retailer", help="only this retailer's slug")

    def handle(self, *args, **options) -> None:
        retailers = Tenant.objects.filter(kind=TenantKind.RETAILER)
        if options["retailer"]:
            retailers = retailers.filter(slug=options["retailer"])
            if not retailers.exists():
                raise CommandError(f"no retailer {options['retailer']!r}")
        else:
            active = PolicySet.objects.filter(status=PolicyStatus.ACTIVE).values("retailer")
            retailers = retailers.filter(pk__in=active)
        for retailer in retailers:
            job = knowledge_index_request(retailer=retailer, actor="rag_reindex", reason="rag_reindex command")
            self.stdout.write(f"{retailer.slug}: job {job.id} queued")
