"""Training runs in the admin: platform staff see every run, with its terms, loss curve, evaluation and the adapter
it registered; cancel and resume are actions (the same services as everywhere)."""

from __future__ import annotations

from django.contrib import admin, messages

from inference.training.models import TrainingRun
from inference.training.services import training_cancel, training_resume
from rmn_saas.errors import ApiError


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "kind", "owner", "dataset", "status", "progress", "adapter", "created_at")
    list_filter = ("status", "kind", "dataset")
    search_fields = ("name", "owner__slug")
    readonly_fields = [field.name for field in TrainingRun._meta.fields]
    actions = ("cancel", "resume")

    def has_add_permission(self, request) -> bool:
        return False  # runs start through the service (API, command), which checks their terms

    def _each(self, request, queryset, transition, done: str) -> None:
        for run in queryset:
            try:
                transition(run=run, actor=f"admin:{request.user.username}")
                self.message_user(request, f"run {run.pk}: {done}")
            except ApiError as exc:
                self.message_user(request, f"run {run.pk}: {exc.detail}", level=messages.WARNING)

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request, queryset) -> None:
        self._each(request, queryset, training_cancel, "cancelled")

    @admin.action(description="Resume the selected runs from their last checkpoint")
    def resume(self, request, queryset) -> None:
        self._each(request, queryset, training_resume, "queued to resume")
