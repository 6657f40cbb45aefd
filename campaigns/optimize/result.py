"""What an allocation returns: the plan per leaf, roll-ups per node, totals, the constraints that bind with their
shadow prices in words, the exact after-rounding checks, and credible intervals. Money is Decimal throughout."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from campaigns.optimize.fast import Duals


@dataclass(frozen=True)
class CellPlan:
    id: str
    path: tuple[str, ...]
    spend: Decimal
    current_spend: Decimal
    change: Decimal
    incremental_sales: Decimal      # on the true curve
    incremental_margin: Decimal     # margin_rate · incremental sales − spend
    conversions: float | None       # incremental sales / price
    at: str = ""                    # the bound it sits on: "max", "min", "fixed", "out of stock", or ""
    period_spend: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class NodePlan:
    path: tuple[str, ...]
    level: str
    spend: Decimal
    current_spend: Decimal
    change: Decimal
    incremental_sales: Decimal
    incremental_margin: Decimal


@dataclass(frozen=True)
class Totals:
    budget: Decimal | None
    allocatable: Decimal | None     # the budget less the experiment reserve
    reserve: Decimal
    spend: Decimal
    current_spend: Decimal
    incremental_revenue: Decimal
    incremental_margin: Decimal
    conversions: float | None
    roas_incremental: float | None
    roas_attributed: float | None
    cpa: Decimal | None
    current_incremental_revenue: Decimal
    current_incremental_margin: Decimal
    objective: float                # on the true curves
    model_objective: float          # on the curves the engine optimized (envelope / PQ model)


@dataclass(frozen=True)
class Binding:
    constraint: str                 # budget | min_roas | max_cpa | node_max | node_min | period_budget
    subject: str
    shadow_price: float             # objective per $ of relaxation (per unit of the floor for ROAS / CPA)
    cost: Decimal | float | None    # what the constraint costs the objective (money, or conversions)
    method: str                     # "re-solve" (solved again without it) or "dual" (shadow price only)
    message: str


@dataclass(frozen=True)
class Check:
    constraint: str
    holds: bool
    detail: str


@dataclass(frozen=True)
class Interval:
    low: Decimal | float
    high: Decimal | float


@dataclass
class Allocation:
    engine: str
    objective: str
    cells: tuple[CellPlan, ...]
    nodes: tuple[NodePlan, ...]
    totals: Totals
    binding: tuple[Binding, ...] = ()
    checks: tuple[Check, ...] = ()
    intervals: dict[str, Interval] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    duals: Duals = field(default_factory=Duals)
    solve_seconds: float = 0.0
    periods: tuple[str, ...] = ()
    thompson_draws: dict[str, int] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)  # min_spend_for_target: metric, target, min_spend, ...

    @property
    def constraints_hold(self) -> bool:
        return all(check.holds for check in self.checks)

    def cell(self, cell_id: str) -> CellPlan:
        return next(c for c in self.cells if c.id == cell_id)

    def node(self, *path: str) -> NodePlan:
        return next(n for n in self.nodes if n.path == tuple(path))

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "engine": self.engine, "objective": self.objective, "periods": list(self.periods),
            "totals": self.totals.__dict__, "cells": [c.__dict__ for c in self.cells],
            "nodes": [n.__dict__ for n in self.nodes], "binding": [b.__dict__ for b in self.binding],
            "checks": [c.__dict__ for c in self.checks],
            "intervals": {k: {"low": v.low, "high": v.high} for k, v in self.intervals.items()},
            "notes": list(self.notes), "solve_seconds": self.solve_seconds,
            "thompson_draws": self.thompson_draws, "target": self.target,
        })


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
