"""The verifier's public types: the view schema it checks against (ColumnSpec, ViewSpec, DEFAULT_VIEWS), what a
verified query carries (VerifiedQuery, Dimension, Aggregate) and the refusal it raises (QueryRefused)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from governance.cleanroom.verify.messages import (
    COLUMN_KINDS,
    SPEC_BOUND,
    SPEC_BOUND_KIND,
    SPEC_COLUMN_NAME,
    SPEC_ONE_KEY,
    SPEC_UNKNOWN_KIND,
    USERS_COLUMN,
)

ColumnKind = Literal["key", "dimension", "measure", "time"]
AggregateKind = Literal["count", "count_distinct", "sum", "avg"]

_LOWER_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class QueryRefused(Exception):
    """A query the clean room will not run: `clause` (SELECT, WHERE, ...), `rule` (a rule id) and why."""

    def __init__(self, clause: str, rule: str, message: str) -> None:
        super().__init__(f"{clause}: {message} [{rule}]")
        self.clause = clause
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class ColumnSpec:
    """A view column's role; `bound` clamps a measure per row inside SUM/AVG so their sensitivity is finite."""

    kind: ColumnKind
    bound: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(SPEC_UNKNOWN_KIND.format(kinds=", ".join(COLUMN_KINDS), value=self.kind))
        if self.bound is not None:
            if self.kind != "measure":
                raise ValueError(SPEC_BOUND_KIND.format(kind=self.kind))
            if isinstance(self.bound, bool) or not isinstance(self.bound, int | float):
                raise ValueError(SPEC_BOUND.format(value=self.bound))
            if not math.isfinite(self.bound) or self.bound <= 0:
                raise ValueError(SPEC_BOUND.format(value=self.bound))


@dataclass(frozen=True)
class ViewSpec:
    """The columns a clean-room view exposes, by role; exactly one is the user key."""

    columns: Mapping[str, ColumnSpec]

    def __post_init__(self) -> None:
        columns = MappingProxyType(dict(self.columns))
        for name in columns:
            if not isinstance(name, str) or not _LOWER_IDENTIFIER.fullmatch(name):
                raise ValueError(SPEC_COLUMN_NAME.format(name=name))
        keys = [name for name, column in columns.items() if column.kind == "key"]
        if len(keys) != 1:
            raise ValueError(SPEC_ONE_KEY.format(count=len(keys)))
        object.__setattr__(self, "columns", columns)

    @property
    def key(self) -> str:
        return next(name for name, column in self.columns.items() if column.kind == "key")


@dataclass(frozen=True)
class Dimension:
    """A GROUP BY dimension and the output column that carries it; `grain` is set for DATE_TRUNC(ts)."""

    name: str
    view: str
    column: str
    grain: str | None = None


@dataclass(frozen=True)
class Aggregate:
    """An output aggregate: COUNT(*) has no column; `bound` is the per-row clamp applied in the SQL, if any."""

    name: str
    kind: AggregateKind
    view: str | None = None
    column: str | None = None
    bound: float | None = None


@dataclass(frozen=True)
class VerifiedQuery:
    """A query that passed every rule, as the canonical Postgres SQL to run and what the layers above need.

    `columns` lists the output in order, `users_column` last. `having`, `order_by` and `limit` are evaluated by
    Postgres on exact values; they are exposed so a DP layer can re-apply them after noising instead.
    """

    sql: str
    fingerprint: str
    columns: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    aggregates: tuple[Aggregate, ...]
    views: tuple[str, ...]
    having: str | None = None
    order_by: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    users_column: str = USERS_COLUMN


def _spec(**columns: ColumnSpec) -> ViewSpec:
    return ViewSpec(columns=columns)


_KEY = ColumnSpec("key")
_DIMENSION = ColumnSpec("dimension")
_TIME = ColumnSpec("time")

# Per-row caps generous for one purchase line; a tenant with bigger baskets passes its own views.
DEFAULT_VIEWS: Mapping[str, ViewSpec] = MappingProxyType(
    {
        "exposures": _spec(user_key=_KEY, campaign_id=_DIMENSION, placement=_DIMENSION, region=_DIMENSION, ts=_TIME),
        "purchases": _spec(
            user_key=_KEY,
            gtin14=_DIMENSION,
            region=_DIMENSION,
            ts=_TIME,
            units=ColumnSpec("measure", bound=20.0),
            revenue=ColumnSpec("measure", bound=500.0),
        ),
        "segments": _spec(user_key=_KEY, segment=_DIMENSION),
        "audience": _spec(user_key=_KEY, audience=_DIMENSION),
    }
)
