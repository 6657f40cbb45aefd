"""Train an adapter from the command line: queued on the gpu worker, or run here with --here (it then prints its
progress and the evaluation). Example: manage.py train_adapter --owner public --kind task --task planner
--name planner --dataset planner --here --set max_steps=150"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from inference.adapters.models import AdapterKind
from inference.training.models import TrainingRun, TrainingStatus
from inference.training.services import training_start
from rmn_saas.errors import ApiError
from tenants.models import Tenant

ACTOR = "command:train_adapter"


def _value(raw: str):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", required=True, help="the owner tenant's slug (public: the platform)")
        parser.add_argument("--kind", required=True, choices=AdapterKind.values)
        parser.add_argument("--name", required=True, help="the adapter's name; the result is its next version")
        parser.add_argument("--dataset", required=True, help="the dataset builder, e.g. planner")
        parser.add_argument("--task", default="", help="task adapters: the task they serve")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="a hyper-parameter, e.g. max_steps=150 or learning_rate=0.001 (repeatable)")
        parser.add_argument("--here", action="store_true", help="train in this process instead of the gpu worker")

    def handle(self, *args, **options) -> None:
        owner = Tenant.objects.filter(slug=options["owner"]).first()
        if owner is None:
            raise CommandError(f"no tenant {options['owner']!r}")
        overrides = {}
        for item in options["set"]:
            key, sep, raw = item.partition("=")
            if not sep:
                raise CommandError(f"--set takes KEY=VALUE, got {item!r}")
            overrides[key] = _value(raw)
        try:
            with schema_context("public"):  # platform staff at work: audited in the public schema
                run = training_start(owner=owner, actor=ACTOR, kind=options["kind"], name=options["name"],
                                     dataset=options["dataset"], task=options["task"], hyperparameters=overrides,
                                     enqueue=not options["here"])
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        if not options["here"]:
            self.stdout.write(f"training run {run.pk} queued on the gpu worker")
            return
        from inference.training.runner import run_training

        run_training(TrainingRun.objects.select_related("owner").get(pk=run.pk))
        run.refresh_from_db()
        self.stdout.write(json.dumps({"run": run.pk, "status": run.status, "message": run.message,
                                      "timing": run.timing, "data": run.data_summary,
                                      "evaluation": {arm: {k: v for k, v in run.evaluation.get(arm, {}).items()
                                                           if k != "failures"} for arm in ("base", "adapter")},
                                      "adapter": run.adapter_id}, indent=2, default=str))
        if run.status != TrainingStatus.SUCCEEDED:
            raise CommandError(run.message)
