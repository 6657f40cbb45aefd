"""Reading training runs: a tenant's own, newest first, and one of them by id — another tenant's run is the same
not-found as a missing one, so an id tells nobody whether it exists."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from inference.training.models import TrainingRun
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.models import Tenant


def training_run_list(*, owner: Tenant) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(owner=owner).select_related("adapter")


def training_run_of_owner(*, tenant: Tenant, run_id: Any) -> TrainingRun:
    """One of `tenant`'s own runs; anyone else's is as missing as a missing one."""
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise NotFound(NOT_FOUND_MESSAGE)
    run = training_run_list(owner=tenant).filter(pk=run_id).first()
    if run is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return run
