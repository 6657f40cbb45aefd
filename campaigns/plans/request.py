"""A plan request as data, validated before anything is queued: bad input is a 400 that names the field.

    {
      "name": "Q1 always-on",                      # optional
      "budget": "250000",                          # over the flight, required
      "objective": "margin" | "revenue" | "conversions",
      "constraints": {"min_roas": 3, "roas_basis": "incremental" | "attributed", "max_cpa": "20",
                      "reserve_share": 0.1, "stockout_threshold": 0.5, "spend_all": false,
                      "node_bounds": [{"network": "walmart", "max": "80000"},
                                      {"network": "amazon", "placement": "top_of_search", "min": "5000"},
                                      {"path": ["onsite", "instacart"], "max": "20000"}],
                      "fixed_nodes": [{"network": "megamart"}]},
      "scope": {"networks": ["amazon", "walmart"], "history_from": "2026-05-01", "history_to": "2026-10-31",
                "flight_start": "2026-12-01", "flight_end": "2026-12-28"},   # or "days": 28
      "incrementality": {"walmart|carousel": 0.7, "top_of_search": 0.35},
      "default_margin_rate": 0.3,                  # for SKUs without price and unit cost
      "explore": false                             # Thompson sampling: plan on one posterior draw per cell
    }
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from campaigns.models import Placement
from campaigns.optimize.problem import ROAS_BASES, Objective
from campaigns.plans.incrementality import validate_overrides

DEFAULT_FLIGHT_DAYS = 28
DEFAULT_HISTORY_DAYS = 180
MAX_FLIGHT_DAYS = 366
DEFAULT_MARGIN_RATE = 0.3
CONSTRAINT_KEYS = {"min_roas", "roas_basis", "max_cpa", "reserve_share", "stockout_threshold", "spend_all",
                   "node_bounds", "fixed_nodes"}


class PlanRequestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class NodeRef:
    """A hierarchy node named by path, or by network (and placement) for convenience."""

    path: tuple[str, ...] = ()
    network: str = ""
    placement: str = ""

    def describe(self) -> str:
        return "/".join(self.path) if self.path else "/".join(p for p in (self.network, self.placement) if p)


@dataclass(frozen=True)
class PlanRequest:
    name: str
    budget: Decimal
    objective: str
    min_roas: float | None = None
    roas_basis: str = "incremental"
    max_cpa: Decimal | None = None
    reserve_share: float = 0.0
    stockout_threshold: float = 0.5
    spend_all: bool = False
    node_bounds: tuple[tuple[NodeRef, Decimal | None, Decimal | None], ...] = ()
    fixed_nodes: tuple[NodeRef, ...] = ()
    networks: tuple[str, ...] = ()
    history_from: dt.date | None = None
    history_to: dt.date | None = None
    flight_start: dt.date | None = None
    flight_end: dt.date | None = None
    flight_days: int = DEFAULT_FLIGHT_DAYS
    incrementality: dict[str, float] = field(default_factory=dict)
    default_margin_rate: float = DEFAULT_MARGIN_RATE
    explore: bool = False
    seed: int | None = None


def plan_request_from_dict(data: Any) -> PlanRequest:
    if not isinstance(data, dict):
        raise PlanRequestError("request", "must be a JSON object")
    budget = _money(data.get("budget"), "budget", required=True)
    objective = data.get("objective", "margin")
    if objective not in {o.value for o in Objective}:
        raise PlanRequestError("objective", f"unknown objective {objective!r}; use margin, revenue or conversions")
    constraints = data.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise PlanRequestError("constraints", "must be an object")
    unknown = sorted(set(constraints) - CONSTRAINT_KEYS)
    if unknown:
        # A plan never silently drops a constraint: one we do not know is an error, not ignored.
        raise PlanRequestError(f"constraints.{unknown[0]}", f"unknown constraint; known: {sorted(CONSTRAINT_KEYS)}")
    scope = data.get("scope") or {}
    if not isinstance(scope, dict):
        raise PlanRequestError("scope", "must be an object")
    networks = scope.get("networks") or []
    if not isinstance(networks, list) or not all(isinstance(n, str) and n for n in networks):
        raise PlanRequestError("scope.networks", "must be a list of network names")
    history_from = _date(scope.get("history_from"), "scope.history_from")
    history_to = _date(scope.get("history_to"), "scope.history_to")
    if history_from and history_to and history_from > history_to:
        raise PlanRequestError("scope.history_from", "is after scope.history_to")
    flight_start = _date(scope.get("flight_start"), "scope.flight_start")
    flight_end = _date(scope.get("flight_end"), "scope.flight_end")
    days = scope.get("days", DEFAULT_FLIGHT_DAYS)
    if flight_end and not flight_start:
        raise PlanRequestError("scope.flight_end", "needs scope.flight_start (or give scope.days alone)")
    if flight_start and flight_end:
        if flight_end < flight_start:
            raise PlanRequestError("scope.flight_end", "is before scope.flight_start")
        days = (flight_end - flight_start).days + 1
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_FLIGHT_DAYS:
        raise PlanRequestError("scope.days", f"must be a whole number of days from 1 to {MAX_FLIGHT_DAYS}")
    try:
        factors = validate_overrides(data.get("incrementality"))
    except ValueError as exc:
        raise PlanRequestError("incrementality", str(exc)) from exc
    margin = _number(data.get("default_margin_rate", DEFAULT_MARGIN_RATE), "default_margin_rate", low=0, high=1)
    basis = constraints.get("roas_basis", "incremental")
    if basis not in ROAS_BASES:
        raise PlanRequestError("constraints.roas_basis", "use incremental or attributed")
    min_roas = constraints.get("min_roas")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise PlanRequestError("seed", "must be a whole number")
    return PlanRequest(
        name=str(data.get("name") or "")[:200],
        budget=budget,
        objective=objective,
        min_roas=None if min_roas is None else _number(min_roas, "constraints.min_roas", low=0),
        roas_basis=basis,
        max_cpa=_money(constraints.get("max_cpa"), "constraints.max_cpa"),
        reserve_share=_number(constraints.get("reserve_share", 0), "constraints.reserve_share", low=0, high=0.99),
        stockout_threshold=_number(constraints.get("stockout_threshold", 0.5), "constraints.stockout_threshold",
                                   low=0, high=1),
        spend_all=_bool(constraints.get("spend_all", False), "constraints.spend_all"),
        node_bounds=tuple(_node_bound(raw, f"constraints.node_bounds[{i}]")
                          for i, raw in enumerate(_items(constraints.get("node_bounds"), "constraints.node_bounds"))),
        fixed_nodes=tuple(_node_ref(raw, f"constraints.fixed_nodes[{i}]")
                          for i, raw in enumerate(_items(constraints.get("fixed_nodes"), "constraints.fixed_nodes"))),
        networks=tuple(networks),
        history_from=history_from,
        history_to=history_to,
        flight_start=flight_start,
        flight_end=flight_end,
        flight_days=days,
        incrementality=factors,
        default_margin_rate=margin,
        explore=_bool(data.get("explore", False), "explore"),
        seed=seed,
    )


def _items(value: Any, name: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise PlanRequestError(name, "must be a list")
    return value


def _node_ref(raw: Any, name: str) -> NodeRef:
    if isinstance(raw, list):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        raise PlanRequestError(name, "must be an object with a path, or a network (and placement)")
    path = raw.get("path")
    if path is not None:
        if not isinstance(path, list) or not path or not all(isinstance(p, str) and p for p in path):
            raise PlanRequestError(f"{name}.path", "must be a non-empty list of node names")
        return NodeRef(path=tuple(path))
    network, placement = raw.get("network"), raw.get("placement", "")
    if not isinstance(network, str) or not network:
        raise PlanRequestError(name, "needs a path, or a network (and optionally a placement)")
    if placement and placement not in Placement.values:
        raise PlanRequestError(f"{name}.placement", f"unknown placement {placement!r}")
    return NodeRef(network=network, placement=placement or "")


def _node_bound(raw: Any, name: str) -> tuple[NodeRef, Decimal | None, Decimal | None]:
    node = _node_ref(raw, name)
    low, high = _money(raw.get("min"), f"{name}.min"), _money(raw.get("max"), f"{name}.max")
    if low is None and high is None:
        raise PlanRequestError(name, "needs a min or a max")
    if low is not None and high is not None and low > high:
        raise PlanRequestError(name, f"min {low} is above max {high}")
    return node, low, high


def _money(value: Any, name: str, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise PlanRequestError(name, "is required")
        return None
    if isinstance(value, bool):
        raise PlanRequestError(name, "must be a non-negative amount of money")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PlanRequestError(name, "must be a non-negative amount of money") from None
    if not amount.is_finite() or amount < 0:
        raise PlanRequestError(name, "must be a non-negative amount of money")
    return amount.quantize(Decimal("0.01"))


def _number(value: Any, name: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool):
        raise PlanRequestError(name, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanRequestError(name, "must be a number") from None
    if number != number or (low is not None and number < low) or (high is not None and number > high):
        raise PlanRequestError(name, f"must be between {low} and {high}" if high is not None
                               else f"must be at least {low}")
    return number


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PlanRequestError(name, "must be true or false")
    return value


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PlanRequestError(name, "must be a date as YYYY-MM-DD") from None
