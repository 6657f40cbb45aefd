"""Adapters in the two admins: platform staff see and manage every tenant's (and upload the platform's task adapters);
a brand's or retailer's admins see and manage only their own. Uploads go through the same checks as the API; an
artifact never changes after upload, so only `published` and `metrics` are edited, and nothing is deleted (retire)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import connection
from django.utils.html import format_html

from inference.adapters.artifacts import ArtifactTampered, load_verified, signature_problem
from inference.adapters.models import ARTIFACT_FILES, KIND_OF_OWNER, Adapter, AdapterKind, AdapterStatus
from inference.adapters.services import (
    PUBLISH_RETAILER_ONLY,
    adapter_approve,
    adapter_retire,
    adapter_update,
    adapter_upload,
    adapter_upload_check,
)
from rmn_saas.admin_sites import platform_admin_site, tenant_admin_site
from rmn_saas.errors import ApiError
from tenants.models import Tenant, TenantKind

FILES_HELP = f"Exactly {' and '.join(ARTIFACT_FILES)} (select both)."
VERIFIED = "valid: both files decrypt, match their sha256 and the platform signature"
INVALID = "INVALID: {reason}"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


class AdapterUploadForm(forms.ModelForm):
    files = MultipleFileField(help_text=FILES_HELP)
    declared_base_model = forms.CharField(required=False, max_length=200, label="Base model",
                                          help_text="Optional: checked against adapter_config.json.")
    owner_of_site: Tenant | None = None  # set on a tenant's admin: the tenant whose domain this is

    class Meta:
        model = Adapter
        fields = ["owner", "name", "kind", "task", "published", "metrics"]

    def clean(self) -> dict:
        cleaned = super().clean()
        owner = self.owner_of_site or cleaned.get("owner")
        kind = KIND_OF_OWNER[owner.kind] if self.owner_of_site else cleaned.get("kind")
        if owner is None or not kind or not cleaned.get("name") or not cleaned.get("files"):
            return cleaned
        cleaned["kind"] = kind
        try:
            adapter_upload_check(owner=owner, name=cleaned["name"], kind=kind, files=cleaned["files"],
                                 task=cleaned.get("task") or "", base_model=cleaned.get("declared_base_model") or None,
                                 published=bool(cleaned.get("published")), metrics=cleaned.get("metrics"))
        except ApiError as exc:
            self.add_error("files" if exc.details.get("file") else None, str(exc.detail))
        return cleaned


class AdapterChangeForm(forms.ModelForm):
    class Meta:
        model = Adapter
        fields = ["published", "metrics"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("published") and self.instance.kind != AdapterKind.RETAILER:
            self.add_error("published", PUBLISH_RETAILER_ONLY)
        return cleaned


class AdapterAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "kind", "task", "owner", "status", "published", "base_model", "rank",
                    "signature_status", "created_at"]
    list_filter = ["kind", "status", "published"]
    search_fields = ["name", "task", "base_model"]
    actions = ["approve", "retire", "publish", "withdraw"]
    upload_fields = ["owner", "name", "kind", "task", "declared_base_model", "files", "published", "metrics"]
    detail_fields = ["owner", "name", "kind", "task", "version", "status", "published", "metrics", "base_model",
                     "rank", "alpha", "target_modules", "model_sha256", "model_bytes", "config_sha256",
                     "config_bytes", "artifact_check", "signing_key_id", "signature", "created_by", "created_at",
                     "approved_by", "approved_at", "retired_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = AdapterChangeForm if obj is not None else AdapterUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return self.detail_fields if obj is not None else self.upload_fields

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.detail_fields if name not in ("published", "metrics")] if obj else []

    def has_change_permission(self, request, obj=None):
        # A retired adapter stays as it was: the page shows it read-only.
        return (obj is None or obj.status != AdapterStatus.RETIRED) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Generations and audit rows name adapters: retire one instead.
        return False

    @admin.display(description="signature")
    def signature_status(self, obj: Adapter) -> str:
        problem = signature_problem(obj)
        return "valid" if problem is None else INVALID.format(reason=problem)

    @admin.display(description="artifact")
    def artifact_check(self, obj: Adapter) -> str:
        try:
            load_verified(obj, actor=getattr(obj, "viewer", "system"))
        except ArtifactTampered as exc:
            return format_html("<strong>{}</strong>", INVALID.format(reason=exc.reason))
        return VERIFIED

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.viewer = request.user.actor  # a tamper found while showing the page is on that person's record
        return obj

    def _owner(self, request, form) -> Tenant:
        return form.cleaned_data["owner"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            adapter_update(adapter=obj, actor=request.user.actor, published=data.get("published"),
                           metrics=data.get("metrics"))
            return
        created = adapter_upload(owner=self._owner(request, form), actor=request.user.actor, name=data["name"],
                                 kind=data["kind"], files=data["files"], task=data.get("task") or "",
                                 base_model=data.get("declared_base_model") or None,
                                 published=bool(data.get("published")), metrics=data.get("metrics"))
        # The service made the row; the admin goes on with it.
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def _each(self, request, queryset, action, done: str, **kwargs) -> None:
        for adapter in queryset:
            try:
                action(adapter=adapter, actor=request.user.actor, **kwargs)
            except ApiError as exc:
                self.message_user(request, str(exc.detail), messages.ERROR)
                continue
            self.message_user(request, done.format(adapter=adapter.label), messages.SUCCESS)

    @admin.action(description="Approve the selected drafts (after verifying their artifacts)")
    def approve(self, request, queryset):
        self._each(request, queryset, adapter_approve, "{adapter} approved.")

    @admin.action(description="Retire the selected adapters (for good)")
    def retire(self, request, queryset):
        self._each(request, queryset, adapter_retire, "{adapter} retired.")

    @admin.action(description="Publish the selected retailer adapters to every brand")
    def publish(self, request, queryset):
        self._each(request, queryset, adapter_update, "{adapter} published.", published=True)

    @admin.action(description="Withdraw the selected retailer adapters from publication")
    def withdraw(self, request, queryset):
        self._each(request, queryset, adapter_update, "{adapter} withdrawn.", published=False)


class TenantAdapterAdmin(AdapterAdmin):
    """A brand's or retailer's own admin: its adapters only, owned by the tenant whose domain this is, of its kind."""

    list_display = [name for name in AdapterAdmin.list_display if name not in ("owner", "kind", "task")]
    list_filter = ["status", "published"]
    upload_fields = ["name", "declared_base_model", "files", "published", "metrics"]

    def get_queryset(self, request):
        # The adapter table is public: a tenant admin sees only rows of the tenant on this connection.
        return super().get_queryset(request).filter(owner__schema_name=connection.schema_name)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if request.tenant.kind != TenantKind.RETAILER:
            fields = [name for name in fields if name != "published"]
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"owner_of_site": request.tenant})

    def get_actions(self, request):
        actions = super().get_actions(request)
        if request.tenant.kind != TenantKind.RETAILER:
            actions.pop("publish", None)
            actions.pop("withdraw", None)
        return actions

    def _owner(self, request, form) -> Tenant:
        return request.tenant


platform_admin_site.register(Adapter, AdapterAdmin)
tenant_admin_site.register(Adapter, TenantAdapterAdmin)
