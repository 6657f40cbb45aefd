"""The tenant admin for harmonizer data: mapping specs (validated as specs), batches (read-only), dimensions."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from campaigns.models import (
    Experiment,
    IncrementalityFactor,
    IngestBatch,
    MappingSpec,
    Plan,
    PlanOutcome,
    ResponseCurve,
    RMISAudienceDimension,
    RMISSKUCrosswalk,
    RMISSKUDimension,
)
from rmn_saas.admin_sites import ReadOnlyAdmin, tenant_admin_site


class MappingSpecForm(forms.ModelForm):
    class Meta:
        model = MappingSpec
        fields = ["name", "version", "definition", "is_active"]

    def clean(self) -> dict:
        from campaigns.harmonize.specs import SpecError, spec_from_document

        cleaned = super().clean()
        definition = cleaned.get("definition")
        if not isinstance(definition, dict):
            self.add_error("definition", "A spec is a JSON object.")
            return cleaned
        if not cleaned.get("name") or not cleaned.get("version"):
            return cleaned  # their own field errors say what is missing
        # The row's name and version are the spec's: the document is validated (and stored) with them.
        document = {**definition, "name": cleaned["name"], "version": cleaned["version"]}
        try:
            self.spec = spec_from_document(document)
        except SpecError as exc:
            self.add_error("definition", [f"{path}: {message}" for path, message in exc.errors.items()])
            return cleaned
        cleaned["definition"] = document
        return cleaned


@admin.register(MappingSpec, site=tenant_admin_site)
class MappingSpecAdmin(admin.ModelAdmin):
    form = MappingSpecForm
    list_display = ["name", "version", "network", "kind", "is_active", "created_by", "created_at"]
    list_filter = ["network", "kind", "is_active"]
    search_fields = ["name", "network"]
    readonly_fields = ["network", "kind", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        # Network and kind are read from the validated document, so the row never disagrees with its spec.
        obj.network, obj.kind = form.spec.network, form.spec.kind
        if not change:
            obj.created_by = request.user.actor
        super().save_model(request, obj, form, change)


@admin.register(IngestBatch, site=tenant_admin_site)
class IngestBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "file_name", "spec_name", "status", "rows_read", "rows_loaded",
                    "rows_rejected", "created_by"]
    list_filter = ["status", "network", "kind"]
    search_fields = ["file_name", "spec_name", "account"]
    readonly_fields = [field.name for field in IngestBatch._meta.fields]

    # Batches are the ingest's record: facts point at them without a foreign key, so none is edited or deleted.
    deletable = False


class CrosswalkInline(admin.TabularInline):
    model = RMISSKUCrosswalk
    extra = 0


@admin.register(RMISSKUDimension, site=tenant_admin_site)
class SkuAdmin(admin.ModelAdmin):
    list_display = ["gtin14", "brand", "name", "category", "size", "price", "unit_cost", "variable_measure"]
    list_filter = ["brand", "category", "variable_measure"]
    search_fields = ["gtin14", "name", "brand"]
    inlines = [CrosswalkInline]


@admin.register(RMISSKUCrosswalk, site=tenant_admin_site)
class CrosswalkAdmin(admin.ModelAdmin):
    list_display = ["network", "id_type", "value", "sku"]
    list_filter = ["network", "id_type"]
    search_fields = ["value", "sku__gtin14", "sku__name"]
    raw_id_fields = ["sku"]


@admin.register(RMISAudienceDimension, site=tenant_admin_site)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["network", "segment_id", "name", "type", "size"]
    list_filter = ["network", "type"]
    search_fields = ["segment_id", "name"]


@admin.register(Plan, site=tenant_admin_site)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "name", "status", "objective", "budget", "flight_start", "flight_end",
                    "expected_spend", "expected_incremental_margin", "created_by"]
    list_filter = ["status", "objective"]
    search_fields = ["name", "created_by"]


@admin.register(ResponseCurve, site=tenant_admin_site)
class ResponseCurveAdmin(ReadOnlyAdmin):
    list_display = ["cell", "form", "vmax", "h", "k", "incrementality", "n_points", "thin", "history_to"]
    list_filter = ["network", "placement", "thin"]
    search_fields = ["cell", "campaign_name", "product"]
    exclude = ["samples"]


@admin.register(PlanOutcome, site=tenant_admin_site)
class PlanOutcomeAdmin(ReadOnlyAdmin):
    list_display = ["plan", "date", "planned_spend", "actual_spend", "expected_incremental_margin",
                    "actual_incremental_margin", "regret"]
    list_filter = ["plan"]


@admin.register(IncrementalityFactor, site=tenant_admin_site)
class IncrementalityFactorAdmin(admin.ModelAdmin):
    """Experiment readouts and analysts' factors: the plans use the most specific one that matches a cell."""

    list_display = ["network", "placement", "campaign", "factor", "source", "updated_at"]
    list_filter = ["network", "placement"]
    search_fields = ["network", "placement", "campaign", "source"]


@admin.register(Experiment, site=tenant_admin_site)
class ExperimentAdmin(ReadOnlyAdmin):
    """Designed through the API or pages (which refuse overlaps); admins read them here."""

    list_display = ["id", "name", "kind", "status", "retailer", "start_date", "end_date", "created_by"]
    list_filter = ["kind", "status", "retailer"]
    search_fields = ["name", "created_by"]
