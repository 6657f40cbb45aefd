"""Problems for the optimizer tests: small hand-made ones and seeded random ones down a 3-level hierarchy."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from campaigns.optimize import Cell, Constraints, Curve, NodeBound, Objective, Problem


def cell(cell_id: str, path: tuple[str, ...], curve: Curve, **fields) -> Cell:
    fields.setdefault("margin_rate", 0.4)
    fields.setdefault("price", Decimal("5.00"))
    return Cell(id=cell_id, path=path, curve=curve, **fields)


def random_problem(seed: int, n: int = 30, *, forms=("exp", "hill1", "hill"), min_roas: float | None = None,
                   max_cpa: Decimal | None = None, objective: str = "margin", budget: int = 150_000,
                   spend_all: bool = False, floors: bool = False, reserve: float = 0.0,
                   stockouts: bool = True) -> Problem:
    rng = np.random.default_rng(seed)
    cells = []
    for i in range(n):
        form = forms[int(rng.integers(len(forms)))]
        vmax, h = float(rng.uniform(2e3, 5e4)), float(rng.uniform(1e3, 2e4))
        if form == "exp":
            curve = Curve("exp", vmax, h)
        elif form == "hill1":
            curve = Curve("hill", vmax, h, 1.0)
        else:
            curve = Curve("hill", vmax, h, float(rng.choice([0.6, 1.5, 2.5])))
        path = (f"ch{rng.integers(3)}", f"net{rng.integers(3)}", f"pl{rng.integers(2)}", f"sku{i}")
        cells.append(cell(
            f"c{i}", path, curve, margin_rate=float(rng.uniform(0.2, 0.6)),
            incrementality=float(rng.uniform(0.3, 1.0)),
            max_spend=Decimal(int(rng.uniform(5e3, 5e4))) if rng.random() < 0.5 else None,
            min_spend=Decimal(int(rng.uniform(0, 300))) if floors else Decimal("0.00"),
            stockout_prob=float(rng.random() * 0.6) if stockouts and not floors else 0.0,
            current_spend=Decimal(int(rng.uniform(0, 5e3)))))
    channels = sorted({c.path[:1] for c in cells})
    networks = sorted({c.path[:2] for c in cells})
    bounds = [NodeBound(p, max=Decimal(int(rng.uniform(2e4, 8e4)))) for p in networks]
    bounds += [NodeBound(p, min=Decimal(1500) if floors else None, max=Decimal(int(rng.uniform(3e4, 9e4))))
               for p in channels]
    return Problem(cells=tuple(cells), objective=Objective(objective), constraints=Constraints(
        budget=Decimal(budget), spend_all=spend_all, min_roas=min_roas, max_cpa=max_cpa,
        reserve_share=reserve, node_bounds=tuple(bounds)))


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1.0)


def exp_split(cells: list[tuple[float, float, float]], budget: float) -> list[float]:
    """By hand: exp curves (vmax, h, margin) under a binding budget share one marginal value λ:
    m·vmax/h·exp(−s/h) = λ, so s = h·ln(m·vmax/(h·λ)); λ from Σ s = budget (all cells spending)."""
    log_lambda = (sum(h * math.log(m * v / h) for v, h, m in cells) - budget) / sum(h for _, h, _ in cells)
    return [h * (math.log(m * v / h) - log_lambda) for v, h, m in cells]
