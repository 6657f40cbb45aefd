"""Policy sets in the two admins: platform staff see every retailer's; a retailer's admins see only their own, and
a brand's admin has none. Only drafts are edited; an active set is changed by copying it into a new draft."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db import connection
from django.http import HttpResponse

from governance.policies.models import PolicyRule, PolicySet
from governance.policies.rules import PolicyError, policy_document_validate, rule_validate
from governance.policies.selectors import RULE_FIELDS, policy_export
from governance.policies.services import policy_activate, policy_copy, policy_draft_create, policy_import
from rmn_saas.admin_sites import platform_admin_site, tenant_admin_site
from rmn_saas.errors import ApiError
from tenants.models import Tenant, TenantKind

SELECT_ONE = "Select exactly one policy set."


def _problem(exc: PolicyError) -> str:
    where = f"rules[{exc.entry}]." if exc.entry is not None else ""
    return f"{where}{exc.field}: {exc.message}" if exc.field else exc.message


class PolicyRuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = list(RULE_FIELDS)

    def clean(self) -> dict:
        cleaned = super().clean()
        if all(name in cleaned for name in RULE_FIELDS):
            try:
                rule_validate({name: cleaned[name] for name in RULE_FIELDS})
            except PolicyError as exc:
                self.add_error("spec" if exc.field.startswith("spec") else None, _problem(exc))
        return cleaned


class PolicyRuleInline(admin.StackedInline):
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0

    # The rules of an active or retired set are evidence: violations cite them by (rule id, version).
    def has_add_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_delete_permission(request, obj)


class PolicySetForm(forms.ModelForm):
    document = forms.JSONField(required=False, help_text="Optional: a policy document (the API's export format) "
                               "whose rules the new draft starts with. A malformed one is refused whole.")
    retailer_of_site: Tenant | None = None  # set on a tenant's admin: the retailer whose domain this is

    class Meta:
        model = PolicySet
        fields = ["retailer", "notes"]

    def clean(self) -> dict:
        cleaned = super().clean()
        retailer = self.retailer_of_site or cleaned.get("retailer")
        if cleaned.get("document") is not None and retailer is not None:
            try:
                policy_document_validate(cleaned["document"], retailer_slug=retailer.slug)
            except PolicyError as exc:
                self.add_error("document", _problem(exc))
        return cleaned


class PolicySetAdmin(admin.ModelAdmin):
    form = PolicySetForm
    inlines = [PolicyRuleInline]
    list_display = ["retailer", "version", "status", "rule_count", "created_by", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["version", "status", "created_by", "created_at", "updated_at"]
    actions = ["activate", "copy_as_draft", "export_json"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("retailer").annotate(rule_count=Count("rules"))

    @admin.display(description="rules", ordering="rule_count")
    def rule_count(self, obj) -> int:
        return obj.rule_count

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["retailer", "notes", "document"]
        return ["retailer", "version", "status", "notes", "created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "retailer"] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.is_draft) and super().has_delete_permission(request, obj)

    def _retailer(self, request, form) -> Tenant:
        return form.cleaned_data["retailer"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        retailer, document = self._retailer(request, form), form.cleaned_data.get("document")
        if document is not None:
            created = policy_import(retailer=retailer, document={"notes": obj.notes, **document},
                                    actor=request.user.actor)
        else:
            created = policy_draft_create(retailer=retailer, actor=request.user.actor, notes=obj.notes)
        # The service made the row; the admin goes on with it (its inlines are saved against it).
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description="Activate the selected version (the active one retires)")
    def activate(self, request, queryset):
        if (policy_set := self._one(request, queryset)) is None:
            return
        try:
            policy_activate(retailer=policy_set.retailer, version=policy_set.version, actor=request.user.actor)
        except ApiError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return
        self.message_user(request, f"Version {policy_set.version} is now active.", messages.SUCCESS)

    @admin.action(description="Copy the selected version into a new draft")
    def copy_as_draft(self, request, queryset):
        if (policy_set := self._one(request, queryset)) is not None:
            copy = policy_copy(policy_set=policy_set, actor=request.user.actor)
            self.message_user(request, f"Draft version {copy.version} created.", messages.SUCCESS)

    @admin.action(description="Export the selected version as JSON")
    def export_json(self, request, queryset):
        if (policy_set := self._one(request, queryset)) is not None:
            response = HttpResponse(json.dumps(policy_export(policy_set=policy_set), indent=2),
                                    content_type="application/json")
            name = f"{policy_set.retailer.slug}-policies-v{policy_set.version}.json"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return None

    def _one(self, request, queryset) -> PolicySet | None:
        if queryset.count() != 1:
            self.message_user(request, SELECT_ONE, messages.ERROR)
            return None
        return queryset.get()


def _is_retailer(request) -> bool:
    return request.tenant.kind == TenantKind.RETAILER


class TenantPolicySetAdmin(PolicySetAdmin):
    """A retailer's own admin: its sets only, and the retailer is always the tenant whose domain this is."""

    list_display = [name for name in PolicySetAdmin.list_display if name != "retailer"]

    def get_queryset(self, request):
        # The policy tables are public: a tenant admin sees only rows of the tenant on this connection.
        return super().get_queryset(request).filter(retailer__schema_name=connection.schema_name)

    # A brand's admin is a superuser of its own schema, but retailer policies are none of its business.
    def has_module_permission(self, request):
        return _is_retailer(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _is_retailer(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return _is_retailer(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return _is_retailer(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_retailer(request) and super().has_delete_permission(request, obj)

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name != "retailer"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"retailer_of_site": request.tenant})

    def _retailer(self, request, form) -> Tenant:
        return request.tenant


platform_admin_site.register(PolicySet, PolicySetAdmin)
tenant_admin_site.register(PolicySet, TenantPolicySetAdmin)
