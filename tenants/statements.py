"""A lease's monthly statement: the fixed fee plus the agreed share of the incremental sales the brand's
experiments measured at the retailer that month, with every input shown. Only significant readouts count, at
their point estimate; a readout that cannot tell its lift from zero adds nothing (and is listed as such). The
readouts are the brand's own aggregates, read through the lease that prices them."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django_tenants.utils import schema_context

from tenants.leases import LeaseError
from tenants.models import Lease, LeaseQuery

CENT = Decimal("0.01")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except (TypeError, ValueError):
        raise LeaseError("month", "must be a month as YYYY-MM") from None
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def lease_statement(lease: Lease, month: str) -> dict:
    first, last = month_bounds(month)
    readouts = _readouts(lease, first, last)
    measured = sum((Decimal(str(r["incremental_sales"])) for r in readouts if r["counted"]), Decimal(0))
    share = (measured * lease.incremental_share).quantize(CENT, rounding=ROUND_HALF_UP)
    queries = LeaseQuery.objects.filter(lease=lease, created_at__date__gte=first, created_at__date__lte=last)
    return {
        "lease": lease.pk, "retailer": lease.retailer.slug, "brand": lease.brand.slug, "month": month,
        "fixed_fee": str(lease.fixed_fee), "incremental_share": str(lease.incremental_share),
        "measured_incremental_sales": str(measured.quantize(CENT, rounding=ROUND_HALF_UP)),
        "performance_fee": str(share), "total": str((lease.fixed_fee + share).quantize(CENT)),
        "readouts": readouts,
        "usage": {"queries": queries.count(), "epsilon_spent": float(sum(q.epsilon for q in queries))},
    }


def _readouts(lease: Lease, first: dt.date, last: dt.date) -> list[dict]:
    """The brand's experiments at the lease's retailer read out in the month, with what each adds."""
    from campaigns.measure.models import Experiment

    rows = []
    with schema_context(lease.brand.schema_name):
        for experiment in Experiment.objects.filter(retailer=lease.retailer.slug, readout__isnull=False):
            readout = experiment.readout or {}
            read_at = dt.date.fromisoformat(readout.get("read_at", "1900-01-01"))
            if not first <= read_at <= last:
                continue
            for cell in readout.get("cells", []):
                rows.append({"experiment": experiment.pk, "name": experiment.name, "kind": experiment.kind,
                             "read_at": read_at.isoformat(), "lift": cell["lift"], "interval": cell["interval"],
                             "incremental_sales": round(float(cell["incremental_sales"]), 2),
                             "counted": bool(cell["significant"]) and cell["incremental_sales"] > 0})
    return rows
