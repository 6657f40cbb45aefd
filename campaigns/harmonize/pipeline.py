"""The ingest pipeline: file → spec → typed chunks → COPY into RMIS → replace the restated scope, in one
transaction. The same file twice is a no-op; a batch with too many rejected rows writes no RMIS row at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from campaigns.harmonize import anomalies as anomaly_rules
from campaigns.harmonize import transforms
from campaigns.harmonize.frames import REASONS, ChunkContext, natural_key_hash, raw_rows_json, typed_frame
from campaigns.harmonize.readers import LINE_COLUMN, SourceFile, UnreadableFile, open_source, open_upload_workdir
from campaigns.harmonize.specs import ColumnPlan, Spec, SpecError, detect_spec, plan_columns, spec_from_document
from campaigns.models import (
    BatchStatus,
    IngestAnomaly,
    IngestBatch,
    IngestReject,
    MappingSpec,
    RMISSKUCrosswalk,
    RMISSKUDimension,
    SpecKind,
)

logger = logging.getLogger(__name__)

KEPT_REJECTS = 50_000  # rejects stored per batch; beyond this they are counted, not kept

EVENT_COLUMNS = (
    "id", "batch_id", "line", "date", "network", "account", "campaign_id", "campaign_name", "ad_group_id",
    "ad_group_name", "ad_id", "placement", "placement_raw", "environment", "gtin14", "product_id_raw", "keyword",
    "search_term",
    "match_type", "impressions", "clicks", "spend", "currency", "attributed_sales", "attributed_orders",
    "attributed_units", "attribution_window_days", "attribution_scope", "attribution_model", "same_sku_sales",
    "other_sku_sales", "ntb_sales", "sales_by_window",
)
SALES_COLUMNS = ("id", "batch_id", "line", "date", "gtin14", "product_id_raw", "retailer", "region", "units", "revenue",
                 "on_hand", "currency")
EVENT_KEY = ("date", "account", "campaign_id", "campaign_name", "ad_group_id", "ad_group_name", "ad_id",
             "placement_raw", "environment", "keyword", "search_term", "match_type", "product_id",
             "attribution_window_days")
SALES_KEY = ("date", "product_id", "retailer", "region")


class IngestError(Exception):
    """The ingest cannot go ahead; nothing was written to RMIS. `code` and `details` go to the API as they are."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


FILE_TOO_LARGE = "The file is larger than the {limit} MB upload limit."
UNKNOWN_FORMAT = "The file's headers match no known format. Suggest a spec for it, confirm it, then ingest."
NO_DATA_ROWS = "The file has a header but no data rows."
TOO_MANY_REJECTS = ("{share:.1%} of rows were rejected, above the {limit:.1%} limit: the batch was not loaded. "
                    "Fix the rows listed in the rejects and upload again.")
SPEC_NOT_FOUND = "No mapping spec named {name!r}."
HEADERS_DO_NOT_MATCH = "The file's headers do not fit spec {name!r}: missing {missing}."


@dataclass
class IngestOptions:
    spec: str = "auto"  # "auto", a spec name, or "name@version"
    spec_document: dict | None = None  # an unsaved spec (from rmis_suggest_spec or the preview page)
    account: str = ""
    currency: str | None = None
    attribution: dict = field(default_factory=dict)  # window_days / scope / model overrides for this file
    max_reject_share: float | None = None


@dataclass
class IngestResult:
    batch: IngestBatch
    anomalies: list[dict]
    unchanged: bool = False

    def to_dict(self) -> dict[str, Any]:
        batch = self.batch
        return {
            "batch": batch.pk,
            "status": batch.status,
            "format": batch.spec_name,
            "format_version": batch.spec_version,
            "detection": batch.detection,
            "rows_read": batch.rows_read,
            "rows_loaded": batch.rows_loaded,
            "rows_replaced": batch.rows_replaced,
            "rows_rejected": batch.rows_rejected,
            "totals": batch.totals,
            "date_min": batch.date_min.isoformat() if batch.date_min else None,
            "date_max": batch.date_max.isoformat() if batch.date_max else None,
            "unchanged": self.unchanged,
            "duplicate_of": batch.duplicate_of_id,
            "anomalies": self.anomalies,
        }


def available_specs() -> list[Spec]:
    """Built-in specs plus the tenant's own active specs (a tenant spec with a built-in's name wins)."""
    from campaigns.harmonize.specs import builtin_specs

    specs = {spec.name: spec for spec in builtin_specs()}
    latest: dict[str, MappingSpec] = {}
    for row in MappingSpec.objects.filter(is_active=True).order_by("name", "version"):
        latest[row.name] = row
    for row in latest.values():
        specs[row.name] = spec_from_document({**row.definition, "name": row.name, "version": row.version})
    return list(specs.values())


def find_spec(name: str) -> Spec:
    base, _, version = name.partition("@")
    if version:
        row = MappingSpec.objects.filter(name=base, version=int(version) if version.isdigit() else -1).first()
        if row is None:
            raise IngestError("unknown_spec", SPEC_NOT_FOUND.format(name=name))
        return spec_from_document({**row.definition, "name": row.name, "version": row.version})
    for spec in available_specs():
        if spec.name == base:
            return spec
    raise IngestError("unknown_spec", SPEC_NOT_FOUND.format(name=name),
                      {"known": sorted(spec.name for spec in available_specs())})


def choose_plan(source: SourceFile, options: IngestOptions) -> ColumnPlan:
    if options.spec_document is not None:
        try:
            spec = spec_from_document(options.spec_document)
        except SpecError as exc:
            raise IngestError("invalid_spec", "The mapping spec is invalid.", exc.errors) from exc
    elif options.spec in ("", "auto"):
        best, ranking = detect_spec(source.headers, available_specs())
        if best is None:
            raise IngestError("unknown_format", UNKNOWN_FORMAT, {
                "headers": source.headers,
                "closest": [{"spec": plan.spec.name, "confidence": round(plan.score, 3),
                             "missing": plan.missing_required} for plan in ranking[:3]],
            })
        if len(ranking) > 1:
            best.runner_up = {"spec": ranking[1].spec.name, "confidence": round(ranking[1].score, 3)}
        return best
    else:
        spec = find_spec(options.spec)
    plan = plan_columns(spec, source.headers)
    if plan.missing_required:
        raise IngestError("headers_do_not_match",
                          HEADERS_DO_NOT_MATCH.format(name=spec.name, missing=", ".join(plan.missing_required)),
                          {"missing": plan.missing_required, "headers": source.headers})
    return plan


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _decimal_comma(source: SourceFile, plan: ColumnPlan) -> bool:
    if plan.spec.decimal_comma is not None:
        return plan.spec.decimal_comma
    if source.kind != "csv" or source.delimiter != ";":
        return False  # comma decimals only come with ';'-separated files
    money_headers = [plan.fields[f] for f in ("spend", "attributed_sales", "revenue") if f in plan.fields]
    indexes = [source.headers.index(h) for h in money_headers if h in source.headers]
    values = [row[i] for row in source.sample for i in indexes if i < len(row)]
    return transforms.looks_decimal_comma(values)


def _resolver(network: str, id_type: str) -> Callable[[list[str]], dict[str, str]]:
    # Loaded once per batch: the connection is busy with COPY while chunks are resolved.
    crosswalk = dict(RMISSKUCrosswalk.objects.filter(id_type=id_type, network__in=[network, ""])
                     .values_list("value", "sku_id"))

    def resolve(values: list[str]) -> dict[str, str]:
        return {value: crosswalk[value] for value in values if value in crosswalk}

    return resolve


def _known_gtins_loader() -> Callable[[list[str]], set[str]]:
    known = set(RMISSKUDimension.objects.values_list("gtin14", flat=True))

    def known_gtins(values: list[str]) -> set[str]:
        return {value for value in values if value in known}

    return known_gtins


def file_already_loaded(path: Path) -> bool:
    """Whether this exact file is already loaded in the current tenant (through any spec or account)."""
    return IngestBatch.objects.filter(file_sha256=_sha256(path), status=BatchStatus.LOADED).exists()


def ingest_file(
    *, path: Path, file_name: str, actor: str, options: IngestOptions,
    progress: Callable[[float, str], None] | None = None,
) -> IngestResult:
    """Ingest one export into the current tenant's RMIS tables. Raises IngestError; never half-writes."""
    started = time.perf_counter()
    size = path.stat().st_size
    limit = settings.RMN_INGEST_MAX_BYTES
    if size > limit:
        raise IngestError("file_too_large", FILE_TOO_LARGE.format(limit=limit // (1 << 20)),
                          {"size": size, "limit": limit})
    sha = _sha256(path)
    with open_upload_workdir() as workdir:
        try:
            source = open_source(path, workdir=Path(workdir))
        except UnreadableFile as exc:
            raise IngestError("unreadable_file", str(exc)) from exc
        plan = choose_plan(source, options)
        spec = plan.spec
        account = options.account.strip()
        detection = {"file": source.describe(), "headers": source.headers, **plan.describe(),
                     "auto": options.spec in ("", "auto") and options.spec_document is None,
                     "runner_up": plan.runner_up}
        previous = IngestBatch.objects.filter(file_sha256=sha, spec_name=spec.name, spec_version=spec.version,
                                              account=account, status=BatchStatus.LOADED).first()
        if previous is not None:
            return _record_duplicate(previous, file_name=file_name, size=size, actor=actor, detection=detection)
        loader = _Loader(source=source, plan=plan, options=options, account=account, progress=progress, size=size)
        try:
            with transaction.atomic():
                batch = IngestBatch.objects.create(
                    file_name=file_name[:300], file_sha256=sha, file_size=size, spec_name=spec.name,
                    spec_version=spec.version, network=spec.network, kind=spec.kind, account=account,
                    detection=detection, created_by=actor,
                )
                found = loader.load(batch)
                batch.status = BatchStatus.LOADED
                batch.seconds = time.perf_counter() - started
                batch.save()
                for anomaly in found:
                    IngestAnomaly.objects.create(batch=batch, **anomaly)
        except _Rejected as rejected:
            return _record_failure(loader, rejected, file_name=file_name, size=size, sha=sha, spec=spec,
                                   account=account, actor=actor, detection=detection)
        except IntegrityError as exc:
            # Another upload of the same file committed first: this one is its duplicate.
            previous = IngestBatch.objects.filter(file_sha256=sha, spec_name=spec.name, spec_version=spec.version,
                                                  account=account, status=BatchStatus.LOADED).first()
            if previous is None:
                raise IngestError("database_error", f"The batch could not be written: {exc}") from exc
            return _record_duplicate(previous, file_name=file_name, size=size, actor=actor, detection=detection)
        return IngestResult(batch=batch, anomalies=found)


class _Rejected(Exception):
    def __init__(self, code: str, message: str, details: dict) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _record_duplicate(previous: IngestBatch, *, file_name: str, size: int, actor: str, detection: dict) -> IngestResult:
    batch = IngestBatch.objects.create(
        file_name=file_name[:300], file_sha256=previous.file_sha256, file_size=size, spec_name=previous.spec_name,
        spec_version=previous.spec_version, network=previous.network, kind=previous.kind, account=previous.account,
        status=BatchStatus.DUPLICATE, detection=detection, duplicate_of=previous, created_by=actor,
        rows_read=previous.rows_read, totals=previous.totals, date_min=previous.date_min, date_max=previous.date_max,
    )
    return IngestResult(batch=batch, anomalies=[], unchanged=True)


def _record_failure(loader: _Loader, rejected: _Rejected, *, file_name: str, size: int, sha: str, spec: Spec,
                    account: str, actor: str, detection: dict) -> IngestResult:
    """The data transaction rolled back; keep a failed batch with its reasons and rejects so users see why."""
    with transaction.atomic():
        batch = IngestBatch.objects.create(
            file_name=file_name[:300], file_sha256=sha, file_size=size, spec_name=spec.name,
            spec_version=spec.version, network=spec.network, kind=spec.kind, account=account,
            status=BatchStatus.FAILED, detection=detection, created_by=actor, rows_read=loader.rows_read,
            rows_rejected=loader.rows_rejected, error=rejected.message,
            totals={"reject_reasons": rejected.details.get("reasons", {})},
        )
        loader.write_rejects(batch)
    raise IngestError(rejected.code, rejected.message, {**rejected.details, "batch": batch.pk})


class _Loader:
    """Streams the file through typed_frame and COPY, tracking totals, scope, duplicates and rejects."""

    def __init__(self, *, source: SourceFile, plan: ColumnPlan, options: IngestOptions, account: str,
                 progress: Callable[[float, str], None] | None, size: int) -> None:
        self.source, self.plan, self.spec = source, plan, plan.spec
        self.options, self.account, self.progress, self.size = options, account, progress, size
        self.rows_read = 0
        self.rows_loaded = 0
        self.rows_rejected = 0
        self.reason_counts: Counter = Counter()
        self.rejects: list[tuple[int, list[str], str]] = []
        self.seen_keys: list[np.ndarray] = []  # one sorted array of every natural-key hash loaded so far
        self.scope_frames: list[pl.DataFrame] = []
        self.daily_frames: list[pl.DataFrame] = []
        self.currencies: set[str] = set()
        self.accounts: set[str] = set()  # from the upload, or per row from the file's account column
        self.totals: dict[str, Decimal | int] = Counter()
        self.date_min: dt.date | None = None
        self.date_max: dt.date | None = None
        self.unmatched: Counter = Counter()
        self.unmapped_placements: Counter = Counter()
        self.variable_measure = 0
        self.skus_updated = 0  # catalog rows that updated an existing SKU: a catalog's "replaced" count
        self.duplicates = 0
        self.context = ChunkContext(
            plan=plan, account=account, currency=options.currency, attribution=options.attribution or {},
            decimal_comma=_decimal_comma(source, plan), today=timezone.now().date(),
            resolve_ids=_resolver(self.spec.network, self.spec.product_id_type), known_gtins=_known_gtins_loader(),
        )

    # -- the whole batch ---------------------------------------------------------------------------------
    def load(self, batch: IngestBatch) -> list[dict]:
        self.batch = batch
        target = {SpecKind.AD_EVENTS: ("campaigns_rmisevent", EVENT_COLUMNS),
                  SpecKind.SALES: ("campaigns_rmissalesfact", SALES_COLUMNS)}.get(self.spec.kind)
        if target is None:
            for chunk in self.source.batches():
                self._chunk(chunk)
        else:
            # One COPY for the whole file, fed from a queue by psycopg's writer thread: Postgres stores chunk N
            # on one core while polars types chunk N+1 on the other.
            table, columns = target
            with connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no COPY
                with raw.copy(_copy_statement(table, columns), writer=QueuedLibpqWriter(raw)) as copy:
                    for chunk in self.source.batches():
                        payload = self._chunk(chunk)
                        if payload:
                            copy.write(payload)
        if self.rows_read == 0:
            raise _Rejected("no_data_rows", NO_DATA_ROWS, {})
        share_limit = self.options.max_reject_share
        if share_limit is None:
            share_limit = self.spec.max_reject_share
        if share_limit is None:
            share_limit = settings.RMN_INGEST_MAX_REJECT_SHARE
        share = self.rows_rejected / self.rows_read
        if self.rows_rejected and share > share_limit:
            raise _Rejected("too_many_rejects", TOO_MANY_REJECTS.format(share=share, limit=share_limit),
                            {"rejected": self.rows_rejected, "read": self.rows_read, "share": round(share, 4),
                             "limit": share_limit, "reasons": dict(self.reason_counts.most_common(20))})
        batch.rows_read, batch.rows_loaded = self.rows_read, self.rows_loaded
        batch.rows_rejected = self.rows_rejected
        batch.date_min, batch.date_max = self.date_min, self.date_max
        found: list[dict] = []
        if self.spec.kind == SpecKind.AD_EVENTS:
            restated = self._replace_scope("rmisevent", "COALESCE(NULLIF(e.campaign_id, ''), e.campaign_name)")
            batch.totals = self._totals()
            self._write_campaign_days()
            daily = (pl.concat(self.daily_frames).drop("account", "currency", "rows").group_by("campaign", "date")
                     .sum() if self.daily_frames else pl.DataFrame(schema={"campaign": pl.Utf8, "date": pl.Date}))
            found += anomaly_rules.event_anomalies(batch=batch, network=self.spec.network,
                                                   accounts=sorted(self.accounts),
                                                   restated=restated, daily=daily, currencies=self.currencies)
        elif self.spec.kind == SpecKind.SALES:
            self._replace_scope("rmissalesfact", "e.retailer")
        else:
            batch.rows_replaced = self.skus_updated
        found += anomaly_rules.load_anomalies(
            duplicates=self.duplicates, unmatched=self.unmatched, unmapped_placements=self.unmapped_placements,
            variable_measure=self.variable_measure, rejected=self.rows_rejected, read=self.rows_read,
            reasons=self.reason_counts,
        )
        self.write_rejects(batch)
        batch.totals = self._totals()
        return found

    def _totals(self) -> dict[str, Any]:
        totals: dict[str, Any] = {}
        for name, value in self.totals.items():
            totals[name] = str(Decimal(value).quantize(Decimal("0.01"))) if isinstance(value, Decimal) else int(value)
        if self.unmatched:
            totals["unmatched_product_ids"] = sum(self.unmatched.values())
        return totals

    # -- one chunk ------------------------------------------------------------------------------------------
    def _chunk(self, chunk: pl.DataFrame) -> bytes | None:
        """Type and validate one chunk; returns the CSV payload for COPY (None when nothing is to be copied)."""
        frame = typed_frame(chunk, self.context)
        key_fields = EVENT_KEY if self.spec.kind == SpecKind.AD_EVENTS else SALES_KEY
        if self.spec.kind != SpecKind.CATALOG:
            frame = self._mark_duplicates(frame, key_fields)
        rejected = frame.filter(pl.col(REASONS).list.len() > 0)
        valid = frame.filter(pl.col(REASONS).list.len() == 0)
        self.rows_read += frame.height
        self._note_rejects(chunk, rejected)
        payload = None
        if valid.height:
            if self.spec.kind == SpecKind.AD_EVENTS:
                payload = self._event_rows(valid)
            elif self.spec.kind == SpecKind.SALES:
                payload = self._sales_rows(valid)
            else:
                self._load_catalog(valid)
            dates = valid.get_column("date") if "date" in valid.columns else None
            if dates is not None and dates.len():
                low, high = dates.min(), dates.max()
                self.date_min = low if self.date_min is None else min(self.date_min, low)
                self.date_max = high if self.date_max is None else max(self.date_max, high)
        if self.progress:
            estimate = max(1, self.size // max(1, self._bytes_per_row()))
            self.progress(min(0.95, self.rows_read / estimate), f"{self.rows_read:,} rows read")
        return payload

    def _bytes_per_row(self) -> int:
        sample = self.source.sample
        if not sample:
            return 100
        return max(20, sum(len(",".join(row)) + 1 for row in sample) // len(sample))

    def _mark_duplicates(self, frame: pl.DataFrame, key_fields: tuple[str, ...]) -> pl.DataFrame:
        keys = frame.select(natural_key_hash(frame, key_fields).alias("_key")).get_column("_key")
        repeated = keys.is_duplicated() & ~keys.is_first_distinct()
        ordered = np.sort(keys.to_numpy())
        fresh = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]  # sorted distinct keys of the chunk
        if self.seen_keys:
            # Keys from every earlier chunk, kept as one sorted array: one binary search per distinct key, and the
            # new keys inserted in place (np.union1d would re-sort the whole array every chunk).
            earlier = self.seen_keys[0]
            slots = np.searchsorted(earlier, fresh)
            seen = earlier[slots.clip(0, len(earlier) - 1)] == fresh
            if seen.any():
                repeated = repeated | keys.is_in(pl.Series(fresh[seen]).implode())
            self.seen_keys = [np.insert(earlier, slots[~seen], fresh[~seen])]
        else:
            self.seen_keys = [fresh]
        self.duplicates += int(repeated.sum())
        return frame.with_columns(
            pl.when(repeated).then(pl.concat_list([pl.col(REASONS), pl.lit(["duplicate_row"])]))
            .otherwise(pl.col(REASONS)).alias(REASONS)
        )

    def _note_rejects(self, chunk: pl.DataFrame, rejected: pl.DataFrame) -> None:
        if not rejected.height:
            return
        self.rows_rejected += rejected.height
        for reasons in rejected.get_column(REASONS).to_list():
            self.reason_counts.update(reasons)
        room = KEPT_REJECTS - len(self.rejects)
        if room <= 0:
            return
        kept = rejected.head(room)
        raws = raw_rows_json(chunk, kept.get_column(LINE_COLUMN))
        for (line, reasons), raw in zip(kept.select(LINE_COLUMN, REASONS).iter_rows(), raws, strict=True):
            self.rejects.append((line, reasons, raw))

    def write_rejects(self, batch: IngestBatch) -> None:
        IngestReject.objects.bulk_create(
            [IngestReject(batch=batch, line=line, reasons=reasons, raw=json.loads(raw))
             for line, reasons, raw in self.rejects],
            batch_size=5000,
        )

    def _add_totals(self, valid: pl.DataFrame, fields: tuple[str, ...]) -> None:
        sums = valid.select([pl.col(name).sum() for name in fields if name in valid.columns]).row(0, named=True)
        for name, value in sums.items():
            if value is None:
                continue
            self.totals[name] = self.totals.get(name, 0) + value

    def _event_rows(self, valid: pl.DataFrame) -> bytes:
        self._add_totals(valid, ("impressions", "clicks", "spend", "attributed_sales", "attributed_orders",
                                 "attributed_units"))
        windows = [name for name in valid.columns if name.startswith("attributed_sales@")]
        if windows:
            sales_by_window = pl.struct([pl.col(name).cast(pl.Utf8).alias(name.split("@")[1]) for name in windows]) \
                .struct.json_encode()
        else:
            sales_by_window = pl.lit(None, dtype=pl.Utf8)
        unmatched = valid.filter((pl.col("product_id") != "") & pl.col("gtin14").is_null()) \
            if "gtin14" in valid.columns else valid.filter(pl.col("product_id") != "")
        self.unmatched.update(dict(unmatched.get_column("product_id").value_counts().iter_rows()))
        raw_placements = valid.filter((pl.col("placement_raw") != "") & (pl.col("placement") == "other"))
        self.unmapped_placements.update(dict(raw_placements.get_column("placement_raw").value_counts().iter_rows()))
        rows = valid.select(
            _row_id(self.batch.pk), pl.lit(self.batch.pk).alias("batch_id"), pl.col(LINE_COLUMN).alias("line"), "date",
            pl.lit(self.spec.network).alias("network"), "account", "campaign_id", "campaign_name", "ad_group_id",
            "ad_group_name", "ad_id", "placement", "placement_raw", "environment",
            (pl.col("gtin14") if "gtin14" in valid.columns else pl.lit(None, dtype=pl.Utf8)).alias("gtin14"),
            pl.col("product_id").alias("product_id_raw"), "keyword", "search_term", "match_type", "impressions",
            "clicks", "spend", "currency", "attributed_sales", "attributed_orders", "attributed_units",
            "attribution_window_days", "attribution_scope", "attribution_model", "same_sku_sales",
            "other_sku_sales", "ntb_sales", sales_by_window.alias("sales_by_window"),
        )
        campaign_key = pl.when(pl.col("campaign_id") != "").then(pl.col("campaign_id")) \
            .otherwise(pl.col("campaign_name"))
        daily = valid.group_by("account", campaign_key.alias("campaign"), "date", "currency").agg(
            pl.col("spend").sum(), pl.col("attributed_sales").sum().alias("sales"), pl.col("impressions").sum(),
            pl.col("clicks").sum(), pl.len().alias("rows"))
        self.daily_frames.append(daily)
        self.scope_frames.append(daily.select("date", "account", pl.col("campaign").alias("campaign_key")).unique())
        self.currencies.update(valid.get_column("currency").unique().to_list())
        self.accounts.update(valid.get_column("account").unique().to_list())
        self.rows_loaded += rows.height
        return _csv(rows)

    def _sales_rows(self, valid: pl.DataFrame) -> bytes:
        self._add_totals(valid, ("units", "revenue"))
        rows = valid.select(
            _row_id(self.batch.pk), pl.lit(self.batch.pk).alias("batch_id"), pl.col(LINE_COLUMN).alias("line"), "date",
            (pl.col("gtin14") if "gtin14" in valid.columns else pl.lit(None, dtype=pl.Utf8)).alias("gtin14"),
            pl.col("product_id").alias("product_id_raw"), "retailer", "region", "units", "revenue", "on_hand",
            "currency",
        )
        self.unmatched.update(dict(valid.filter(pl.col("gtin14").is_null()).get_column("product_id")
                                   .value_counts().iter_rows()))
        self.scope_frames.append(valid.select("date", pl.lit("").alias("account"),
                                              pl.col("retailer").alias("campaign_key")).unique())
        self.rows_loaded += rows.height
        return _csv(rows)

    def _load_catalog(self, valid: pl.DataFrame) -> None:
        from campaigns.harmonize.catalog import catalog_upsert

        stats = catalog_upsert(valid, spec=self.spec)
        self.rows_loaded += stats["loaded"]
        self.totals["skus"] = self.totals.get("skus", 0) + stats["loaded"]
        self.totals["crosswalk_ids"] = self.totals.get("crosswalk_ids", 0) + stats["crosswalk"]
        self.variable_measure += stats["variable_measure"]
        self.skus_updated += stats["updated"]

    def _copy(self, table: str, columns: tuple[str, ...], rows: pl.DataFrame) -> None:
        with connection.cursor() as cursor:
            with cursor.cursor.copy(_copy_statement(table, columns)) as copy:
                copy.write(_csv(rows))

    def _replace_campaign_days(self, cursor) -> bool:
        """Drop earlier batches' daily totals for the scope this file covers; False when there were none, which
        means no facts need replacing either."""
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM campaigns_rmiscampaignday d JOIN ingest_scope s ON d.date = s.date "
            "AND d.account = s.account AND d.campaign_key = s.campaign_key WHERE d.network = %s AND d.batch_id <> %s)",
            [self.spec.network, self.batch.pk],
        )
        overlaps = cursor.fetchone()[0]
        if overlaps:
            cursor.execute(
                "DELETE FROM campaigns_rmiscampaignday d USING ingest_scope s WHERE d.date = s.date "
                "AND d.account = s.account AND d.campaign_key = s.campaign_key AND d.network = %s "
                "AND d.batch_id <> %s", [self.spec.network, self.batch.pk])
        return overlaps

    def _write_campaign_days(self) -> None:
        if not self.daily_frames:
            return
        days = pl.concat(self.daily_frames).group_by("account", "campaign", "date", "currency").sum()
        rows = days.select(
            pl.lit(self.batch.pk).alias("batch_id"), pl.lit(self.spec.network).alias("network"), "account",
            pl.col("campaign").alias("campaign_key"), "date", "currency", "spend",
            pl.col("sales").alias("attributed_sales"), "impressions", "clicks", pl.col("rows").cast(pl.Int64),
        )
        self._copy("campaigns_rmiscampaignday", tuple(rows.columns), rows)

    def _replace_scope(self, table: str, key_expression: str) -> dict:
        """Delete what earlier batches loaded for the (date, campaign) pairs this file covers: a restatement
        replaces, never adds. Returns the replaced totals for the restatement anomaly."""
        if not self.scope_frames:
            self.batch.rows_replaced = 0
            return {}
        scope = pl.concat(self.scope_frames).unique()
        # Facts are replaced per (date, account, campaign) for ad events, per (date, retailer) for sales.
        network_filter = "AND e.network = %s AND e.account = s.account" if table == "rmisevent" else ""
        params = [self.spec.network] if table == "rmisevent" else []
        returning = "e.spend AS spend, e.attributed_sales AS sales" if table == "rmisevent" \
            else "0 AS spend, e.revenue AS sales"
        with connection.cursor() as cursor:
            # Dropped explicitly too: a caller's outer transaction (tests, a batch of uploads) may span ingests.
            cursor.execute("DROP TABLE IF EXISTS ingest_scope")
            cursor.execute("CREATE TEMP TABLE ingest_scope (date date, account text, campaign_key text) ON COMMIT DROP")
            self._copy("ingest_scope", ("date", "account", "campaign_key"), scope)
            if table == "rmisevent" and not self._replace_campaign_days(cursor):
                # Nothing earlier covers these campaign-days (the daily totals say so): no facts to replace.
                self.batch.rows_replaced = 0
                return {}
            # Freshly COPYed facts have no statistics yet, so the planner would pick a nested loop over them.
            cursor.execute("SET LOCAL enable_nestloop = off")
            # One pass: delete the replaced rows and total what they held, for the restatement anomaly.
            cursor.execute(
                f"WITH gone AS (DELETE FROM campaigns_{table} e USING ingest_scope s "  # noqa: S608 - our identifiers
                f"WHERE e.date = s.date AND {key_expression} = s.campaign_key AND e.batch_id <> %s "
                f"{network_filter} RETURNING {returning}) "
                "SELECT COUNT(*), COALESCE(SUM(spend), 0), COALESCE(SUM(sales), 0) FROM gone",
                [self.batch.pk, *params],
            )
            count, old_spend, old_sales = cursor.fetchone()
            cursor.execute("SET LOCAL enable_nestloop = on")
            self.batch.rows_replaced = count
        return {"rows": count, "spend": old_spend, "sales": old_sales}


def _row_id(batch_id: int) -> pl.Expr:
    return (pl.lit(batch_id, dtype=pl.Int64) * (1 << 32) + pl.col(LINE_COLUMN)).alias("id")


def _copy_statement(table: str, columns: tuple[str, ...]) -> str:
    # `\N` marks NULL, so an empty field loads as an empty string (text columns are NOT NULL, default '').
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"


def _csv(rows: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    rows.write_csv(buffer, include_header=False, null_value="\\N")
    return buffer.getvalue()
