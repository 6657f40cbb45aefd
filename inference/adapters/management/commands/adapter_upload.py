"""Upload an adapter from local files for any owner: how platform staff add task adapters outside the admin (the
platform domain serves no tenant API). The same checks as the API; a refused upload stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from inference.adapters.models import AdapterKind
from inference.adapters.services import adapter_approve, adapter_upload
from rmn_saas.errors import ApiError
from tenants.models import Tenant

ACTOR = "command:adapter_upload"


class Command(BaseCommand):
    help = ("Upload adapter_model.safetensors and adapter_config.json as the owner's next version of NAME (a draft, "
            "or approved with --approve). Example: manage.py adapter_upload --owner public --kind task --task "
            "ad_copy --name ad-copy out/adapter_model.safetensors out/adapter_config.json")

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--owner", required=True, help="the owner tenant's slug (public: the platform)")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=AdapterKind.values)
        parser.add_argument("--task", default="", help="task adapters: the task they serve")
        parser.add_argument("--base-model", default=None, help="checked against adapter_config.json when given")
        parser.add_argument("--metrics", default=None, help="evaluation metrics, a JSON object")
        parser.add_argument("--published", action="store_true", help="retailer adapters: usable by every brand")
        parser.add_argument("--approve", action="store_true", help="approve it once stored and verified")

    def handle(self, *args, **options) -> None:
        owner = Tenant.objects.filter(slug=options["owner"]).first()
        if owner is None:
            raise CommandError(f"no tenant {options['owner']!r}")
        try:
            metrics = json.loads(options["metrics"]) if options["metrics"] else None
        except ValueError as exc:
            raise CommandError(f"--metrics is not JSON: {exc}") from None
        handles = []
        try:
            for path in options["files"]:
                if not path.is_file():
                    raise CommandError(f"{path} is not a file")
                handles.append(File(path.open("rb"), name=path.name))
            # Audited in the public schema: this is platform staff at work.
            with schema_context("public"):
                adapter = adapter_upload(owner=owner, actor=ACTOR, name=options["name"], kind=options["kind"],
                                         files=handles, task=options["task"], base_model=options["base_model"],
                                         published=options["published"], metrics=metrics)
                if options["approve"]:
                    adapter = adapter_approve(adapter=adapter, actor=ACTOR)
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        finally:
            for handle in handles:
                handle.close()
        self.stdout.write(f"adapter {adapter.pk}: {adapter.label} of {owner.slug} ({adapter.kind}, {adapter.status}), "
                          f"sha256 {adapter.model_sha256[:12]}…, signed with key {adapter.signing_key_id}")
