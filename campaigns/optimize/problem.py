"""An allocation problem as data: leaf cells down the hierarchy (channel → network → placement → audience → SKU),
each with a response curve, and the constraints; `problem_from_dict` reads the JSON the API sends.

JSON schema (money is a decimal string or a number; shares and rates are numbers):

    {
      "objective": "margin" | "revenue" | "conversions",          # default "margin"
      "levels": ["channel", "network", "placement", "audience", "sku"],   # optional names of the path levels
      "nodes": [{"id": "walmart", "parent": "onsite"}, ...],       # optional: the hierarchy as a tree of ids
      "cells": [{
        "id": "c-001",
        "path": ["onsite", "walmart", "sp", "in-market", "sku-1"],   # root first; or "parent": "<node id>",
                                                                    # which makes the path <ancestors>/<parent>/<id>
        "curve": {"form": "exp" | "hill", "vmax": 120000, "h": 20000, "k": 1.0},   # k: Hill only, default 1
        "margin_rate": 0.3,              # margin per $ of incremental sales, in [0, 1]
        "price": "4.99",                 # per conversion; needed for "conversions" and max_cpa
        "incrementality": 0.6,           # incremental / attributed sales, in (0, 1]; default 1
        "current_spend": "1000.00", "min_spend": "0", "max_spend": "50000",   # max: null = none
        "fixed": false,                  # hold at current_spend
        "stockout_prob": 0.02, "inventory_cap": "20000",   # cap: the spend the sellable inventory supports
        "samples": [{"vmax": 118000, "h": 21000, "k": 1.0}, ...]   # posterior draws; form as the curve's
      }, ...],
      "constraints": {
        "budget": "2500000",             # total; null = none (then margin only, or ROAS/CPA/max spends bound it)
        "spend_all": false,              # true: spend = budget (after the reserve)
        "min_roas": 3.0, "roas_basis": "incremental" | "attributed",
        "max_cpa": "25.00",
        "reserve_share": 0.1,            # held out for experiments: allocatable = (1 - share) * budget
        "stockout_threshold": 0.5,       # cells with stockout_prob above it get max spend 0
        "node_bounds": [{"path": ["onsite", "walmart"], "min": "0", "max": "200000"}, ...],  # or "node": "<id>"
        "fixed_nodes": [["offsite"], ...],   # or node ids: every cell below keeps its current spend
        "periods": [{"id": "2026-W01", "budget": "120000", "weight": 1.0}, ...]   # flighting, see below
      }
    }

Semantics. ROAS: "incremental" is Σ incremental sales ≥ min_roas · Σ spend; "attributed" is
Σ (incremental sales / incrementality) ≥ min_roas · Σ spend. CPA: Σ spend ≤ max_cpa · Σ conversions, with
conversions = incremental sales / price. Money is rounded to cents on the way in, always toward the safe side
(minimums up, maximums and budgets down). Flighting: with periods, every cell is planned per period; its curve
applies within each period scaled by the period's weight (seasonality); each period's spend is at most its
budget; the total budget, the reserve, and every cell and node bound apply to the whole horizon's total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from campaigns.optimize.curves import FORMS, Curve
from campaigns.optimize.errors import ProblemError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROAS_BASES = ("incremental", "attributed")
DEFAULT_STOCKOUT_THRESHOLD = 0.5

NOT_A_NUMBER = "must be a number"
NOT_MONEY = "must be a non-negative amount of money"
NEGATIVE = "must not be negative"
MIN_ABOVE_MAX = "min {low} is above max {high}"
UNKNOWN_OBJECTIVE = "unknown objective {value!r}; use one of margin, revenue, conversions"
UNKNOWN_FORM = "unknown curve form {value!r}; use exp or hill"
UNKNOWN_BASIS = "unknown ROAS basis {value!r}; use incremental or attributed"
UNKNOWN_NODE = "unknown node {value!r}"
UNKNOWN_PARENT = "unknown parent node {value!r}"
CYCLE = "the hierarchy has a cycle through {value!r}"
DUPLICATE = "duplicate {what} {value!r}"
NO_CELLS = "the problem has no cells"
NO_PATH = "a cell needs a path or a parent node"
LEAF_IS_NODE = "cell path {value} is also an inner node of another cell's path"
PATH_LENGTH = "path {value} has {got} levels; the problem names {want}"
SHARE = "must be between {low} and {high}"
SHARE_OPEN = "must be above {low} and at most {high}"
RESERVE = "must be at least 0 and below 1"
POSITIVE = "must be above 0"
PRICE_NEEDED = "a price is needed for {why}"
UNBOUNDED = "an objective of {objective} needs a budget, a ROAS floor, a CPA cap or a max spend on every cell"
SPEND_ALL_NEEDS_BUDGET = "spend_all needs a budget"
PERIODS_NEED_BUDGET = "every period needs a budget"


class Objective(StrEnum):
    MARGIN = "margin"            # Σ margin_rate · incremental sales − Σ spend
    REVENUE = "revenue"          # Σ incremental sales
    CONVERSIONS = "conversions"  # Σ incremental sales / price


@dataclass(frozen=True)
class Cell:
    id: str
    path: tuple[str, ...]
    curve: Curve
    margin_rate: float = 0.0
    price: Decimal | None = None
    incrementality: float = 1.0
    current_spend: Decimal = ZERO
    min_spend: Decimal = ZERO
    max_spend: Decimal | None = None
    fixed: bool = False
    stockout_prob: float = 0.0
    inventory_cap: Decimal | None = None
    samples: tuple[Curve, ...] = ()


@dataclass(frozen=True)
class NodeBound:
    """Spend floor and/or cap on every cell below a path prefix (a channel, a network, ...)."""

    path: tuple[str, ...]
    min: Decimal | None = None
    max: Decimal | None = None


@dataclass(frozen=True)
class Period:
    id: str
    budget: Decimal
    weight: float = 1.0


@dataclass(frozen=True)
class Constraints:
    budget: Decimal | None = None
    spend_all: bool = False
    min_roas: float | None = None
    roas_basis: str = "incremental"
    max_cpa: Decimal | None = None
    reserve_share: float = 0.0
    stockout_threshold: float = DEFAULT_STOCKOUT_THRESHOLD
    node_bounds: tuple[NodeBound, ...] = ()
    fixed_nodes: tuple[tuple[str, ...], ...] = ()
    periods: tuple[Period, ...] = ()


@dataclass(frozen=True)
class Problem:
    cells: tuple[Cell, ...]
    constraints: Constraints = Constraints()
    objective: Objective = Objective.MARGIN
    levels: tuple[str, ...] = ()


# --- numbers and money ------------------------------------------------------------------------------------------

def finite_number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProblemError(field, NOT_A_NUMBER) from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ProblemError(field, NOT_A_NUMBER)
    return number


def share_between(value: Any, field: str, low: float, high: float, *, open_low: bool = False) -> float:
    number = finite_number(value, field)
    if number > high or number < low or (open_low and number == low):
        raise ProblemError(field, (SHARE_OPEN if open_low else SHARE).format(low=low, high=high))
    return number


def money(value: Any, field: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """A non-negative amount as Decimal cents; rounding picks the safe side for the field."""
    if isinstance(value, bool) or value is None:
        raise ProblemError(field, NOT_MONEY)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "").lstrip("$"))
    except (InvalidOperation, ValueError):
        raise ProblemError(field, NOT_MONEY) from None
    if not amount.is_finite() or amount < 0:
        raise ProblemError(field, NOT_MONEY)
    return amount.quantize(CENT, rounding=rounding)


# --- JSON -------------------------------------------------------------------------------------------------------

def problem_from_dict(data: Any) -> Problem:
    """Parse and validate the API's JSON (see the module docstring); ProblemError names the first bad field."""
    if not isinstance(data, dict):
        raise ProblemError("problem", "must be a JSON object")
    objective_raw = data.get("objective", "margin")
    if objective_raw not in {o.value for o in Objective}:
        raise ProblemError("objective", UNKNOWN_OBJECTIVE.format(value=objective_raw))
    levels = tuple(str(level) for level in _list(data.get("levels", []), "levels"))
    parents = _node_paths(_list(data.get("nodes", []), "nodes"))
    cells = tuple(_cell(raw, f"cells[{i}]", parents) for i, raw in enumerate(_list(data.get("cells"), "cells")))
    constraints = _constraints(_dict(data.get("constraints", {}), "constraints"), parents)
    problem = Problem(cells=cells, constraints=constraints, objective=Objective(objective_raw), levels=levels)
    from campaigns.optimize.validate import validate  # validate imports this module's dataclasses

    validate(problem)
    return problem


def _list(value: Any, field: str) -> list:
    if not isinstance(value, list):
        raise ProblemError(field, "must be a list")
    return value


def _dict(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        raise ProblemError(field, "must be an object")
    return value


def _node_paths(nodes: list) -> dict[str, tuple[str, ...]]:
    """Node id → its path from the root, checking parents exist and the tree has no cycle."""
    parent_of: dict[str, str | None] = {}
    for i, raw in enumerate(nodes):
        raw = _dict(raw, f"nodes[{i}]")
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not node_id:
            raise ProblemError(f"nodes[{i}].id", "must be a non-empty string")
        if node_id in parent_of:
            raise ProblemError(f"nodes[{i}].id", DUPLICATE.format(what="node id", value=node_id))
        parent = raw.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise ProblemError(f"nodes[{i}].parent", "must be a node id or null")
        parent_of[node_id] = parent
    for i, raw in enumerate(nodes):
        if raw.get("parent") is not None and raw["parent"] not in parent_of:
            raise ProblemError(f"nodes[{i}].parent", UNKNOWN_PARENT.format(value=raw["parent"]))
    paths: dict[str, tuple[str, ...]] = {}
    for i, node_id in enumerate(parent_of):
        chain, seen, current = [], set(), node_id
        while current is not None:
            if current in seen:
                raise ProblemError(f"nodes[{i}].parent", CYCLE.format(value=current))
            seen.add(current)
            chain.append(current)
            current = parent_of[current]
        paths[node_id] = tuple(reversed(chain))
    return paths


def _path(raw: Any, field: str, parents: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if isinstance(raw, str):
        if raw not in parents:
            raise ProblemError(field, UNKNOWN_NODE.format(value=raw))
        return parents[raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) and p for p in raw):
        raise ProblemError(field, "must be a non-empty list of names or a node id")
    return tuple(raw)


def _optional_money(raw: dict, key: str, field: str, rounding: str) -> Decimal | None:
    return None if raw.get(key) is None else money(raw[key], f"{field}.{key}", rounding=rounding)


def _curve_from(raw: Any, field: str, form: str | None = None) -> Curve:
    raw = _dict(raw, field)
    form = raw.get("form", form)
    if form not in FORMS:
        raise ProblemError(f"{field}.form", UNKNOWN_FORM.format(value=form))
    return Curve(form=form, vmax=finite_number(raw.get("vmax"), f"{field}.vmax"),
                 h=finite_number(raw.get("h"), f"{field}.h"), k=finite_number(raw.get("k", 1.0), f"{field}.k"))


def _cell(raw: Any, field: str, parents: dict[str, tuple[str, ...]]) -> Cell:
    raw = _dict(raw, field)
    cell_id = raw.get("id")
    if not isinstance(cell_id, str) or not cell_id:
        raise ProblemError(f"{field}.id", "must be a non-empty string")
    if "path" in raw:
        path = _path(raw["path"], f"{field}.path", parents)
    elif "parent" in raw:
        if raw["parent"] not in parents:
            raise ProblemError(f"{field}.parent", UNKNOWN_PARENT.format(value=raw["parent"]))
        path = (*parents[raw["parent"]], cell_id)
    else:
        raise ProblemError(f"{field}.path", NO_PATH)
    curve = _curve_from(raw.get("curve"), f"{field}.curve")
    samples = tuple(_curve_from(s, f"{field}.samples[{j}]", curve.form)
                    for j, s in enumerate(_list(raw.get("samples", []), f"{field}.samples")))
    fixed = raw.get("fixed", False)
    if not isinstance(fixed, bool):
        raise ProblemError(f"{field}.fixed", "must be true or false")
    return Cell(
        id=cell_id, path=path, curve=curve,
        margin_rate=finite_number(raw.get("margin_rate", 0.0), f"{field}.margin_rate"),
        price=_optional_money(raw, "price", field, ROUND_HALF_UP),
        incrementality=finite_number(raw.get("incrementality", 1.0), f"{field}.incrementality"),
        current_spend=money(raw.get("current_spend", 0), f"{field}.current_spend"),
        min_spend=money(raw.get("min_spend", 0), f"{field}.min_spend", rounding=ROUND_CEILING),
        max_spend=_optional_money(raw, "max_spend", field, ROUND_FLOOR),
        fixed=fixed,
        stockout_prob=finite_number(raw.get("stockout_prob", 0.0), f"{field}.stockout_prob"),
        inventory_cap=_optional_money(raw, "inventory_cap", field, ROUND_FLOOR),
        samples=samples,
    )


def _constraints(raw: dict, parents: dict[str, tuple[str, ...]]) -> Constraints:
    f = "constraints"
    bounds = []
    for i, item in enumerate(_list(raw.get("node_bounds", []), f"{f}.node_bounds")):
        item = _dict(item, f"{f}.node_bounds[{i}]")
        path = _path(item.get("path", item.get("node")), f"{f}.node_bounds[{i}].path", parents)
        bounds.append(NodeBound(path=path,
                                min=_optional_money(item, "min", f"{f}.node_bounds[{i}]", ROUND_CEILING),
                                max=_optional_money(item, "max", f"{f}.node_bounds[{i}]", ROUND_FLOOR)))
    periods = []
    for i, item in enumerate(_list(raw.get("periods", []), f"{f}.periods")):
        item = _dict(item, f"{f}.periods[{i}]")
        if item.get("budget") is None:
            raise ProblemError(f"{f}.periods[{i}].budget", PERIODS_NEED_BUDGET)
        periods.append(Period(id=str(item.get("id", i)),
                              budget=money(item["budget"], f"{f}.periods[{i}].budget", rounding=ROUND_FLOOR),
                              weight=finite_number(item.get("weight", 1.0), f"{f}.periods[{i}].weight")))
    spend_all = raw.get("spend_all", False)
    if not isinstance(spend_all, bool):
        raise ProblemError(f"{f}.spend_all", "must be true or false")
    return Constraints(
        budget=_optional_money(raw, "budget", f, ROUND_FLOOR),
        spend_all=spend_all,
        min_roas=None if raw.get("min_roas") is None else finite_number(raw["min_roas"], f"{f}.min_roas"),
        roas_basis=raw.get("roas_basis", "incremental"),
        max_cpa=_optional_money(raw, "max_cpa", f, ROUND_FLOOR),
        reserve_share=finite_number(raw.get("reserve_share", 0.0), f"{f}.reserve_share"),
        stockout_threshold=finite_number(raw.get("stockout_threshold", DEFAULT_STOCKOUT_THRESHOLD),
                                   f"{f}.stockout_threshold"),
        node_bounds=tuple(bounds),
        fixed_nodes=tuple(_path(p, f"{f}.fixed_nodes[{i}]", parents)
                          for i, p in enumerate(_list(raw.get("fixed_nodes", []), f"{f}.fixed_nodes"))),
        periods=tuple(periods),
    )


def node_paths(cells: Iterable[Cell]) -> list[tuple[str, ...]]:
    """Every inner node (path prefix) of the hierarchy, shallow first."""
    seen = {cell.path[:d] for cell in cells for d in range(1, len(cell.path))}
    return sorted(seen, key=lambda p: (len(p), p))
