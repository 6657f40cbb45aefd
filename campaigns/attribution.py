"""Attribution windows: expressing sales reported at one window and scope (7-day click, 14-day click + view...)
at a standard one, with ratios estimated from the tenant's own multi-window data or, without such data, defaults.

Networks report sales at their own windows: Amazon Sponsored Products 7 or 14 days, Walmart 14 (with 3 and 30
in its API files), Criteo 30 days click + view. Adding them up as they come compares apples with pears, so every
metrics query names the window its sales are expressed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from campaigns.models import AttributionScope, RMISEvent

DEFAULT_WINDOW = "14d_click"
WINDOW_PATTERN = re.compile(r"^(\d{1,3})d_(click|click_view)$")
INVALID_WINDOW = "A window is <days>d_click or <days>d_click_view, with 1 to 365 days (e.g. 14d_click)."

ESTIMATED = "estimated from your data"
DEFAULT = "default ratio"
# Rows carrying both windows that an estimate needs before it replaces the default.
ESTIMATE_MIN_ROWS = 5

# Default window ratios, for tenants whose files carry one window only. Read: sales at 14 days ≈ sales at the
# window × factor (a 7-day figure grows by about 10% by day 14; a 30-day one is about 8% above its day-14 value).
# ratio(a → b) = factor(a) / factor(b); windows between two entries are interpolated on log(days), and windows
# beyond 30 days use the 30-day factor.
DEFAULT_TO_14D = {
    1: Decimal("1.35"),
    3: Decimal("1.20"),
    7: Decimal("1.10"),
    14: Decimal("1"),
    30: Decimal("0.92"),
}
# Click + view attribution also credits shoppers who only saw the ad: about 15% of its sales on average.
CLICK_VIEW_TO_CLICK = Decimal("0.85")

RATIO_PLACES = Decimal("0.000001")


@dataclass(frozen=True, order=True)
class Window:
    days: int
    scope: str

    @property
    def label(self) -> str:
        return f"{self.days}d_{self.scope}"

    @classmethod
    def parse(cls, text: str) -> Window:
        match = WINDOW_PATTERN.match((text or "").strip())
        if not match or not 1 <= int(match.group(1)) <= 365:
            raise ValueError(INVALID_WINDOW)
        return cls(days=int(match.group(1)), scope=match.group(2))


@dataclass(frozen=True)
class Conversion:
    """How sales at `source` become sales at `target`: multiply by `factor`. `conversion` is None when the
    source already is the target, else ESTIMATED or DEFAULT (DEFAULT when any part of it is a default)."""

    source: Window
    target: Window
    factor: Decimal
    conversion: str | None
    rows: int = 0  # the rows an estimated window ratio rests on

    @property
    def level(self) -> int:
        return {None: 0, ESTIMATED: 1, DEFAULT: 2}[self.conversion]

    def to_dict(self) -> dict:
        return {"from": self.source.label, "to": self.target.label,
                "ratio": str(self.factor.quantize(Decimal("0.0001"))), "conversion": self.conversion, "rows": self.rows}


def default_factor_to_14d(days: int) -> Decimal:
    if days in DEFAULT_TO_14D:
        return DEFAULT_TO_14D[days]
    known = sorted(DEFAULT_TO_14D)
    if days > known[-1]:
        return DEFAULT_TO_14D[known[-1]]
    low = max(d for d in known if d < days)
    high = min(d for d in known if d > days)
    share = (math.log(days) - math.log(low)) / (math.log(high) - math.log(low))
    value = float(DEFAULT_TO_14D[low]) + (float(DEFAULT_TO_14D[high]) - float(DEFAULT_TO_14D[low])) * share
    return Decimal(str(round(value, 6)))


def default_window_ratio(from_days: int, to_days: int) -> Decimal:
    if from_days == to_days:
        return Decimal(1)
    return (default_factor_to_14d(from_days) / default_factor_to_14d(to_days)).quantize(RATIO_PLACES)


def scope_factor(from_scope: str, to_scope: str) -> Decimal:
    if from_scope == to_scope:
        return Decimal(1)
    if from_scope == AttributionScope.CLICK_VIEW:
        return CLICK_VIEW_TO_CLICK
    return (Decimal(1) / CLICK_VIEW_TO_CLICK).quantize(RATIO_PLACES)


def _has(days: int) -> tuple[str, list]:
    # A row has sales at `days` when that is its primary window or a window it kept in sales_by_window.
    return "(e.attribution_window_days = %s OR (e.sales_by_window ->> %s) IS NOT NULL)", [days, str(days)]


def _sales_at(days: int) -> tuple[str, list]:
    return ("(CASE WHEN e.attribution_window_days = %s THEN e.attributed_sales "
            "ELSE (e.sales_by_window ->> %s)::numeric END)", [days, str(days)])


def window_ratios(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[Decimal, str, int]]:
    """(from days, to days) → (ratio, ESTIMATED | DEFAULT, rows) for the current tenant.

    ratio(from → to) = Σ sales at `to` / Σ sales at `from`, over the tenant's rows that carry both windows (Walmart
    API files carry 3, 14 and 30 days), in one aggregate query over all of the tenant's multi-window rows; with
    fewer than ESTIMATE_MIN_ROWS such rows (or no sales in them) the default ratio stands in.
    """
    wanted = sorted({(int(a), int(b)) for a, b in pairs if int(a) != int(b)})
    if not wanted:
        return {}
    selects: list[str] = []
    params: list = []
    for a, b in wanted:
        has_a, has_a_params = _has(a)
        has_b, has_b_params = _has(b)
        both = f"({has_a} AND {has_b})"
        both_params = has_a_params + has_b_params
        at_a, at_a_params = _sales_at(a)
        at_b, at_b_params = _sales_at(b)
        selects += [f"COUNT(*) FILTER (WHERE {both})", f"SUM({at_b}) FILTER (WHERE {both})",
                    f"SUM({at_a}) FILTER (WHERE {both})"]
        params += both_params + at_b_params + both_params + at_a_params + both_params
    # Only rows with sales_by_window can hold two windows: the primary one is a single window.
    sql = (f"SELECT {', '.join(selects)} FROM {RMISEvent._meta.db_table} e "  # noqa: S608 - our identifiers
           "WHERE e.sales_by_window IS NOT NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
    ratios: dict[tuple[int, int], tuple[Decimal, str, int]] = {}
    for index, (a, b) in enumerate(wanted):
        rows, sum_to, sum_from = values[3 * index:3 * index + 3]
        if rows >= ESTIMATE_MIN_ROWS and sum_from and sum_from > 0 and sum_to is not None:
            ratios[(a, b)] = ((Decimal(sum_to) / Decimal(sum_from)).quantize(RATIO_PLACES), ESTIMATED, rows)
        else:
            ratios[(a, b)] = (default_window_ratio(a, b), DEFAULT, 0)
    return ratios


def conversions(*, sources: Iterable[Window], target: Window) -> dict[Window, Conversion]:
    """The conversion of each source window (and scope) to `target`, window ratios estimated where possible.

    Sources that need no window change (a row whose sales_by_window holds the target's days is read there, not
    converted) are given with `days == target.days`."""
    sources = sorted(set(sources))
    ratios = window_ratios(pairs=[(source.days, target.days) for source in sources])
    result: dict[Window, Conversion] = {}
    for source in sources:
        factor, label, rows = Decimal(1), None, 0
        if source.days != target.days:
            factor, label, rows = ratios[(source.days, target.days)]
        if source.scope != target.scope:
            factor = (factor * scope_factor(source.scope, target.scope)).quantize(RATIO_PLACES)
            label = DEFAULT  # nothing in one file tells click from click + view: the scope factor is a default
        result[source] = Conversion(source=source, target=target, factor=factor, conversion=label, rows=rows)
    return result
