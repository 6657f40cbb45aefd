"""Geo test design: from regional pre-period sales, candidate treatment/control splits (one or several test cells),
each scored by the `geo` power calculation and its pre-period fit, ranked. Pure functions: no Django, no database.

The power, MDE and treated share of every candidate are exactly what `geo.geo_power` / `geo.geo_mde` give for that
split (a cell of a multi-cell design is measured against the shared control with the other cells left out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from campaigns.measure.geo import PRE_ZERO_VARIANCE, _check_pre, _did_factor, _test_blocks
from campaigns.measure.power import (
    _check_lift,
    _check_positive,
    _check_power_target,
    _check_probability,
    _shift_for_power,
    _t_power,
)

# A candidate's score is mde × (1 + (imbalance / IMBALANCE_SCALE)² + FIT_WEIGHT·synthetic_rmse): see `geo_designs`.
IMBALANCE_SCALE = 0.1
FIT_WEIGHT = 0.5

REGIONS_MISMATCH = "regions: names {names} regions but pre has {rows} rows (one per region, in the same order)"
REGIONS_DUPLICATE = "regions: {name!r} is listed twice"
UNKNOWN_REGION = "{name}: {region!r} is not one of the regions"
INCLUDE_EXCLUDE_OVERLAP = "include: {regions} also excluded; a region cannot be both treated and left out"
NOT_COUNT = "{name}: must be a whole number, at least {minimum}; got {value!r}"
TOO_FEW_REGIONS = (
    "n_treated: {cells} cell(s) of {n_treated} treated regions and at least one control need {needed} regions; "
    "{available} available ({regions} given, {excluded} excluded)"
)
INCLUDE_TOO_MANY = (
    "include: names {included} regions but the design treats only {slots} ({cells} cell(s) × {n_treated})"
)
REGION_NO_SALES = "pre: region {region!r} has no pre-period sales (total {total:.6g}); fix the data or exclude it"
REGION_CONSTANT = (
    "pre: region {region!r} has the same sales every day (zero variance), which looks like filled-in data; "
    "fix the data or exclude it"
)


@dataclass(frozen=True)
class GeoCandidate:
    """One geo test design and how it scores. Metrics over cells are the worst cell's (multi-cell designs)."""

    cells: tuple[tuple[str, ...], ...]  # treated regions per test cell, in `regions` order; cells by first region
    control: tuple[str, ...]  # the shared control, in the order of `regions`
    mde: float  # relative lift detected with `power` over `test_days` (as geo.geo_mde); the largest over cells
    power_at_lift: float | None  # power to see `lift` (as geo.geo_power), the smallest over cells; None without lift
    correlation: float  # of treated vs control sums per pre block; the smallest over cells (0 if either is flat)
    synthetic_rmse: float  # out-of-sample error of a synthetic control relative to the treated mean; largest
    treated_share: float  # all cells' share of the pre-period sales of the regions in the test
    imbalance: float  # |cell share − target share|, the largest over cells
    expected_cost: float | None  # spend to lift every cell by `mde` at the given iroas; None without iroas
    score: float  # the ranking key, lower is better: mde × (1 + (imbalance / 0.1)² + 0.5·synthetic_rmse)


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(NOT_COUNT.format(name=name, minimum=minimum, value=value))
    return int(value)


def _indices(name: str, wanted: Sequence[str], position: dict[str, int]) -> list[int]:
    if isinstance(wanted, str):  # one name, not its letters
        wanted = [wanted]
    indices = []
    for region in wanted:
        if region not in position:
            raise ValueError(UNKNOWN_REGION.format(name=name, region=region))
        if position[region] not in indices:
            indices.append(position[region])
    return indices


def _check_regions(pre: np.ndarray, regions: Sequence[str]) -> dict[str, int]:
    names = list(regions)
    if len(names) != pre.shape[0]:
        raise ValueError(REGIONS_MISMATCH.format(names=len(names), rows=pre.shape[0]))
    position: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in position:
            raise ValueError(REGIONS_DUPLICATE.format(name=name))
        position[name] = index
    return position


def _block_sales(pre: np.ndarray, block_days: int) -> np.ndarray:
    """Regions × blocks, dropping the oldest partial block as geo does."""
    blocks = pre.shape[1] // block_days
    kept = pre[:, pre.shape[1] - blocks * block_days :]
    return kept.reshape(pre.shape[0], blocks, block_days).sum(axis=2)


def _check_region_data(pre: np.ndarray, available: np.ndarray, names: list[str], block_days: int) -> None:
    # Caught per region so the message can say which one; geo would only see a group without sales or variance.
    kept = pre[:, pre.shape[1] - (pre.shape[1] // block_days) * block_days :]
    for index in available:
        total = kept[index].sum()
        if total <= 0:
            raise ValueError(REGION_NO_SALES.format(region=names[index], total=total))
        if np.all(kept[index] == kept[index, 0]):
            raise ValueError(REGION_CONSTANT.format(region=names[index]))


# --- Candidates ----------------------------------------------------------------------------------------------------


def _strata(free: int, picks: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and sizes of `picks` contiguous, near-equal strata over `free` size-sorted regions."""
    sizes = np.full(picks, free // picks)
    sizes[: free % picks] += 1
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes


def _assign(
    ranked: np.ndarray, picks: np.ndarray, include: np.ndarray, cells: int, cell_order: np.ndarray, regions: int
) -> np.ndarray:
    """Labels (candidates × regions; 0 control, 1..cells the test cell) from picked positions in the size ranking.

    The treated regions of a candidate, largest first, are dealt to the cells in groups of `cells` in `cell_order`
    (candidates × groups × cells), so every cell gets one region from each size tier.
    """
    rank_of = np.empty(regions, dtype=int)
    rank_of[ranked] = np.arange(regions)
    chosen = np.concatenate([picks, np.broadcast_to(rank_of[include], (picks.shape[0], include.size))], axis=1)
    chosen = np.sort(chosen, axis=1)  # ranks, so largest region first
    labels = np.zeros((picks.shape[0], regions), dtype=int)
    rows = np.arange(picks.shape[0])[:, None]
    labels[rows, ranked[chosen]] = cell_order.reshape(picks.shape[0], -1) + 1
    return labels


def _canonical(labels: np.ndarray, cells: int) -> np.ndarray:
    """Cells relabelled in the order of their first region, then duplicate candidates dropped (rows sorted)."""
    if cells > 1:
        members = labels[:, None, :] == np.arange(1, cells + 1)[None, :, None]
        first = members.argmax(axis=2)  # every cell has a region, so argmax is its first
        relabel = np.zeros((labels.shape[0], cells + 1), dtype=int)
        relabel[np.arange(labels.shape[0])[:, None], np.argsort(first, axis=1) + 1] = np.arange(1, cells + 1)
        labels = np.take_along_axis(relabel, labels, axis=1)
    return np.unique(labels, axis=0)


def _candidate_labels(
    size: np.ndarray, include: np.ndarray, *, n_treated: int, cells: int, candidates: int, seed: int
) -> np.ndarray:
    """Stratified random splits plus two matched ones, deduplicated: candidates × regions labels (see `_assign`)."""
    ranked = np.argsort(-size, kind="stable")  # positions in the size ranking, largest first
    free_ranks = np.flatnonzero(~np.isin(ranked, include))
    picks = cells * n_treated - include.size
    groups = n_treated
    rng = np.random.default_rng(seed)

    starts, sizes = _strata(free_ranks.size, picks) if picks else (np.zeros(0, int), np.zeros(0, int))
    drawn = starts + np.floor(rng.random((candidates, picks)) * sizes).astype(int)
    random_order = rng.permuted(np.broadcast_to(np.arange(cells), (candidates, groups, cells)), axis=2)

    # Matched: one region per stratum, alternately its largest and smallest (neighbours paired, one to treatment,
    # alternating), or its middle one; dealt to cells snaking so no cell always gets the larger of a tier.
    alternating = np.where(np.arange(picks) % 2 == 0, starts, starts + sizes - 1)
    middle = starts + (sizes - 1) // 2
    snake = np.array([np.arange(cells)[:: 1 if group % 2 == 0 else -1] for group in range(groups)])
    matched_order = np.broadcast_to(snake, (2, groups, cells))

    labels = np.concatenate(
        [
            _assign(ranked, free_ranks[drawn], include, cells, random_order, size.size),
            _assign(ranked, free_ranks[np.stack([alternating, middle])], include, cells, matched_order, size.size),
        ]
    )
    return _canonical(labels, cells)


# --- Evaluation ----------------------------------------------------------------------------------------------------


def _synthetic_rmse(treated: np.ndarray, control: np.ndarray, fit_blocks: int) -> float:
    """Relative hold-out RMSE of treated ≈ control regions · w, w ≥ 0, fitted on the first `fit_blocks` blocks."""
    scale = control[:fit_blocks].max()  # nnls is scale-free; this keeps its tolerances meaningful
    weights, _ = optimize.nnls(control[:fit_blocks] / scale, treated[:fit_blocks] / scale)
    held = treated[fit_blocks:]
    error = held - control[fit_blocks:] @ weights
    return float(np.sqrt(np.mean(error**2)) / held.mean())


def _power_at(shift: float, df: int, alpha: float) -> float:
    """geo_power's power; where scipy's nctdtr gives NaN for the far lower tail (shifts of ~10 and up, at 11 df),
    that tail is below 1e-20 and is dropped."""
    power = _t_power(shift, df, alpha)
    if math.isnan(power):
        power = float(1.0 - special.nctdtr(df, abs(shift), stats.t.isf(alpha / 2, df)))
    return power


@dataclass(frozen=True)
class _Evaluated:
    mde: np.ndarray  # candidates × cells
    se: np.ndarray
    correlation: np.ndarray
    synthetic_rmse: np.ndarray
    cell_share: np.ndarray
    treated_share: np.ndarray  # candidates
    treated_per_block: np.ndarray  # candidates × cells


def _evaluate(
    blocks: np.ndarray, labels: np.ndarray, cells: int, *, blocks_test: int, power: float, alpha: float
) -> _Evaluated:
    """Every candidate's cells against its control, as geo's `_pre_period` does for one split, all at once."""
    n_blocks = blocks.shape[1]
    members = (labels[:, None, :] == np.arange(1, cells + 1)[None, :, None]).astype(float)  # cand × cells × regions
    control_mask = (labels == 0).astype(float)
    treated = members @ blocks  # candidates × cells × blocks
    control = (control_mask @ blocks)[:, None, :]  # candidates × 1 × blocks
    treated_total, control_total = treated.sum(axis=2), control.sum(axis=2)
    beta = treated_total / control_total
    sigma = (treated - beta[..., None] * control).std(axis=2, ddof=1)
    treated_per_block = treated_total / n_blocks
    if np.any(sigma <= 1e-12 * np.abs(treated_per_block)):
        raise ValueError(PRE_ZERO_VARIANCE)
    se = sigma * _did_factor(blocks_test, n_blocks) / treated_per_block
    mde = _shift_for_power(float(n_blocks - 1), alpha, power) * se

    t_dev = treated - treated.mean(axis=2, keepdims=True)
    c_dev = control - control.mean(axis=2, keepdims=True)
    spread = np.sqrt((t_dev**2).sum(axis=2) * (c_dev**2).sum(axis=2))
    covariance = (t_dev * c_dev).sum(axis=2)
    correlation = np.divide(covariance, spread, out=np.zeros_like(covariance), where=spread > 0)

    fit_blocks = n_blocks - max(1, round(n_blocks / 3))
    rmse = np.empty_like(mde)
    for candidate, row in enumerate(labels):
        control_blocks = blocks[row == 0].T  # blocks × control regions
        for cell in range(cells):
            rmse[candidate, cell] = _synthetic_rmse(treated[candidate, cell], control_blocks, fit_blocks)

    total = blocks.sum()
    cell_share = treated_total / total
    return _Evaluated(mde, se, correlation, rmse, cell_share, cell_share.sum(axis=1), treated_per_block)


# --- Design --------------------------------------------------------------------------------------------------------


def geo_designs(
    pre: np.ndarray,
    regions: Sequence[str],
    *,
    n_treated: int,
    test_days: int,
    cells: int = 1,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    lift: float | None = None,
    iroas: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    block_days: int = 7,
    candidates: int = 200,
    top: int = 5,
    seed: int = 0,
    target_share: float | None = None,
) -> list[GeoCandidate]:
    """The `top` geo test designs found for `pre` (regions × days of daily pre-period sales, rows in `regions` order),
    best first (fewer when there are fewer distinct splits).

    The test uses every region not in `exclude` (excluded regions are neither treated nor control, and are not
    counted in shares). Each of the `cells` test cells gets `n_treated` regions, disjoint; the rest are the shared
    control, which must keep at least one region. Regions in `include` are treated, in whichever cell the search
    puts them (the search balances the cells by size). Candidates, deduplicated:

    - `candidates` stratified random splits (seeded by `seed`): the regions not included are sorted by pre-period
      sales and cut into as many contiguous strata as there are treated slots left, one region is drawn from each,
      and the treated regions, largest first, are dealt to the cells in random order one size tier at a time;
    - two matched splits: the same strata, taking alternately the largest and the smallest region of each stratum
      (with strata of two, neighbours paired and one of each pair treated, alternating), or the middle one.

    Each cell is measured against the control as `geo.geo_mde` / `geo.geo_power` would (other cells left out), and
    a candidate reports its worst cell. `target_share` is each cell's target share of pre-period sales (default
    n_treated / regions in the test). A synthetic control for each cell (non-negative weights on the control
    regions' block sales, `scipy.optimize.nnls`) is fitted on the first 2/3 of the pre blocks; its RMSE on the last
    1/3 (at least one block), over the treated mean on those blocks, is `synthetic_rmse`: out-of-sample fit, which
    the in-sample DiD variance behind the MDE does not see. Candidates are ranked by

        score = mde × (1 + (imbalance / 0.1)² + 0.5·synthetic_rmse)

    so the MDE comes first and a share near target costs little (2 points off: +4 %, 5 points: +25 %), but one 10
    points off doubles the score: the MDE alone can favour treating only small, similar regions (or only the
    biggest), which makes a test unlike the market it is meant to predict. A 10 % out-of-sample error costs as much
    as a 5 % larger MDE.

    `expected_cost` is the spend that lifts every cell by `mde`: mde × the treated regions' expected sales over the
    test (pre sales per block × test blocks, as geo_power's `expected_incremental_sales`) / `iroas`.
    """
    pre = _check_pre(pre, block_days)
    position = _check_regions(pre, regions)
    names = list(regions)
    included = _indices("include", include, position)
    excluded = _indices("exclude", exclude, position)
    both = [names[index] for index in included if index in excluded]
    if both:
        raise ValueError(INCLUDE_EXCLUDE_OVERLAP.format(regions=", ".join(map(repr, both))))
    n_treated = _check_count("n_treated", n_treated, 1)
    cells = _check_count("cells", cells, 1)
    available = np.array([index for index in range(len(names)) if index not in excluded], dtype=int)
    slots = cells * n_treated
    if available.size < slots + 1:
        raise ValueError(
            TOO_FEW_REGIONS.format(
                cells=cells,
                n_treated=n_treated,
                needed=slots + 1,
                available=available.size,
                regions=len(names),
                excluded=len(excluded),
            )
        )
    if len(included) > slots:
        raise ValueError(INCLUDE_TOO_MANY.format(included=len(included), slots=slots, cells=cells, n_treated=n_treated))
    blocks_test = _test_blocks(test_days, block_days)
    _check_power_target(power, alpha)
    if lift is not None:
        _check_lift(lift)
    if iroas is not None:
        _check_positive("iroas", iroas)
    if target_share is not None:
        _check_probability("target_share", target_share)
    candidates = _check_count("candidates", candidates, 1)
    top = _check_count("top", top, 1)
    _check_region_data(pre, available, names, block_days)

    blocks = _block_sales(pre[available], block_days)
    local_include = np.searchsorted(available, np.array(included, dtype=int))
    labels = _candidate_labels(
        blocks.sum(axis=1), local_include, n_treated=n_treated, cells=cells, candidates=candidates, seed=seed
    )
    result = _evaluate(blocks, labels, cells, blocks_test=blocks_test, power=power, alpha=alpha)

    target = n_treated / available.size if target_share is None else target_share
    imbalance = np.abs(result.cell_share - target).max(axis=1)
    mde = result.mde.max(axis=1)
    rmse = result.synthetic_rmse.max(axis=1)
    score = mde * (1.0 + (imbalance / IMBALANCE_SCALE) ** 2 + FIT_WEIGHT * rmse)
    best = np.argsort(score, kind="stable")[:top]

    designs = []
    for candidate in best:
        row = labels[candidate]
        power_at_lift = None
        if lift is not None:
            df = blocks.shape[1] - 1
            power_at_lift = min(_power_at(lift / se, df, alpha) for se in result.se[candidate])
        expected_cost = None
        if iroas is not None:
            expected_cost = float(mde[candidate] * result.treated_per_block[candidate].sum() * blocks_test / iroas)
        designs.append(
            GeoCandidate(
                cells=tuple(tuple(names[index] for index in available[row == cell]) for cell in range(1, cells + 1)),
                control=tuple(names[index] for index in available[row == 0]),
                mde=float(mde[candidate]),
                power_at_lift=power_at_lift,
                correlation=float(result.correlation[candidate].min()),
                synthetic_rmse=float(rmse[candidate]),
                treated_share=float(result.treated_share[candidate]),
                imbalance=float(imbalance[candidate]),
                expected_cost=expected_cost,
                score=float(score[candidate]),
            )
        )
    return designs


__all__ = ["GeoCandidate", "geo_designs"]
