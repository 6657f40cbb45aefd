"""Cents: the spend bounds' exact feasibility (bottom-up over the nested node bounds), and rounding a float plan to
cents so that every spend constraint still holds exactly.

Without flighting the bounds are nested (root = budget ⊃ constrained nodes ⊃ cells), and rounding is
largest-remainder, top-down: the root's total is the float total rounded (and clipped to what its bounds allow);
each node's integer total is handed to its children, each getting its floor plus one cent in order of the largest
remainder, never past a child's own feasible range. Every node's total therefore stays inside its bounds, and the
sum never exceeds the budget. With flighting, cell × period spends sit under two nested families (the
hierarchy over totals, and the periods); the rounding problem's matrix is then totally unimodular, so the
integer program (HiGHS) that keeps every total between the floor and ceiling of its float value, inside its
bounds, solves as an LP with an integral optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campaigns.optimize.model import NO_CAP, Model


@dataclass
class Tree:
    """Tree nodes: 0 is the root (budget), 1..G the node groups; cells hang below their deepest group."""

    group_ids: list[int]        # tree node t (1..G) → index in model.groups
    parent: np.ndarray          # per tree node (root: −1)
    depth: np.ndarray
    cell_parent: np.ndarray     # per variable
    low: np.ndarray             # per tree node, cents (float, exact to 2^53)
    high: np.ndarray            # per tree node, cents (inf: none)


def tree_of(model: Model) -> Tree:
    node_groups = [i for i, g in enumerate(model.groups) if g.key == "node"]
    by_path = {model.groups[i].label: t + 1 for t, i in enumerate(node_groups)}
    size = len(node_groups) + 1
    parent = np.full(size, -1, dtype=np.int64)
    depth = np.zeros(size, dtype=np.int64)
    for t, i in enumerate(node_groups, start=1):
        path = model.groups[i].label
        parent[t] = next((by_path[path[:d]] for d in range(len(path) - 1, 0, -1) if path[:d] in by_path), 0)
        depth[t] = len(path)
    cell_parent = np.zeros(model.n_vars, dtype=np.int64)
    # Shallow first, so the deepest group containing a cell wins.
    for t, i in sorted(enumerate(node_groups, start=1), key=lambda item: depth[item[0]]):
        cell_parent[model.groups[i].members] = t
    low = np.zeros(size)
    high = np.full(size, np.inf)
    if model.budget is not None:
        high[0] = model.budget
        low[0] = model.budget if model.spend_all else 0
    for t, i in enumerate(node_groups, start=1):
        low[t] = model.groups[i].low
        high[t] = model.groups[i].high if model.groups[i].high < NO_CAP else np.inf
    return Tree(node_groups, parent, depth, cell_parent, low, high)


def _cell_range(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Each variable's own bounds in cents (without flighting, a cell's; with it, a cell-period's)."""
    if model.n_periods:
        return np.zeros(model.n_vars), np.full(model.n_vars, np.inf)
    return model.cell_lo.astype(float), np.where(model.cell_hi < NO_CAP, model.cell_hi, np.inf).astype(float)


def feasible_ranges(model: Model, tree: Tree):
    """Per tree node, the integer range its total can take given everything below it; and the nodes where it
    is empty, with what their children can take: [(tree node, children low, children high)]."""
    cell_lo, cell_hi = _cell_range(model)
    size = len(tree.parent)
    sum_lo = np.bincount(tree.cell_parent, cell_lo, minlength=size)
    sum_hi = np.bincount(tree.cell_parent, cell_hi, minlength=size)
    lo = np.zeros(size)
    hi = np.zeros(size)
    empty = []
    for t in np.argsort(-tree.depth, kind="stable"):
        lo[t] = max(tree.low[t], sum_lo[t])
        hi[t] = min(tree.high[t], sum_hi[t])
        if lo[t] > hi[t]:
            empty.append((int(t), float(sum_lo[t]), float(sum_hi[t])))
            lo[t] = hi[t]  # report each clash once, not again in every ancestor
        if t > 0:
            sum_lo[tree.parent[t]] += lo[t]
            sum_hi[tree.parent[t]] += hi[t]
    return lo, hi, empty


def round_plan(model: Model, x: np.ndarray) -> np.ndarray:
    """Cents per variable (int64) meeting every spend bound exactly."""
    if model.n_periods:
        return _round_flighted(model, x)
    tree = tree_of(model)
    node_lo, node_hi, empty = feasible_ranges(model, tree)
    if empty:
        raise ValueError("rounding an infeasible plan")
    cell_lo, cell_hi = _cell_range(model)
    y = _snap(np.clip(x, model.lo, model.hi) * 100.0)
    size = len(tree.parent)
    # Float totals per tree node, bottom-up.
    total = np.bincount(tree.cell_parent, y, minlength=size)
    for t in np.argsort(-tree.depth, kind="stable"):
        if t > 0:
            total[tree.parent[t]] += total[t]
    target = np.zeros(size)
    target[0] = np.clip(np.round(total[0]), node_lo[0], node_hi[0])
    # Children of every tree node are groups (by depth) and cells; hand each level's totals down.
    out = np.zeros(model.n_vars)
    for d in sorted(set(tree.depth.tolist())):
        parents = np.flatnonzero(tree.depth == d)
        child_groups = np.flatnonzero(np.isin(tree.parent, parents))
        child_cells = np.flatnonzero(np.isin(tree.cell_parent, parents))
        owner = np.concatenate([tree.parent[child_groups], tree.cell_parent[child_cells]])
        value = np.concatenate([total[child_groups], y[child_cells]])
        low = np.concatenate([node_lo[child_groups], cell_lo[child_cells]])
        high = np.concatenate([node_hi[child_groups], cell_hi[child_cells]])
        given = _distribute(owner, value, low, high, target, size)
        target[child_groups] = given[: len(child_groups)]
        out[child_cells] = given[len(child_groups):]
    return out.astype(np.int64)


def _snap(y: np.ndarray) -> np.ndarray:
    """Values within a millionth of a cent of a whole cent are that cent (solver noise, not money)."""
    near = np.round(y)
    return np.where(np.abs(y - near) < 1e-6, near, y)


def _distribute(owner, value, low, high, target, size) -> np.ndarray:
    """Integers per child, each in [low, high], summing to target[owner], by largest remainder."""
    base = np.clip(np.floor(value), low, high)
    remainder = value - base
    mine = np.zeros(size, dtype=bool)
    mine[owner] = True
    target = np.where(mine, target, 0.0)
    need = target - np.bincount(owner, base, minlength=size)
    for sign in (1, -1):
        order = np.lexsort((-sign * remainder, owner))
        room = (base < high) if sign > 0 else (base > low)
        sorted_owner = owner[order]
        eligible = room[order]
        # Rank among the eligible children of the same owner (0-based).
        cum = np.cumsum(eligible)
        block_start = np.searchsorted(sorted_owner, sorted_owner, side="left")
        rank = cum - 1 - np.where(block_start > 0, cum[np.maximum(block_start - 1, 0)], 0)
        wanted = sign * need[sorted_owner]
        step = eligible & (wanted > 0) & (rank < wanted)
        base[order[step]] += sign
        need = target - np.bincount(owner, base, minlength=size)
    # Anything left (children clamped to their ranges) goes one cent at a time.
    for parent in np.flatnonzero(np.abs(need) > 0.5):
        kids = np.flatnonzero(owner == parent)
        while need[parent] > 0.5:
            open_kids = kids[base[kids] < high[kids]]
            best = open_kids[np.argmax(remainder[open_kids])]
            step = min(need[parent], high[best] - base[best])
            base[best] += step
            need[parent] -= step
        while need[parent] < -0.5:
            open_kids = kids[base[kids] > low[kids]]
            best = open_kids[np.argmin(remainder[open_kids])]
            step = min(-need[parent], base[best] - low[best])
            base[best] -= step
            need[parent] += step
    return base


def _round_flighted(model: Model, x: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    y = _snap(np.clip(x, model.lo, model.hi) * 100.0)
    floor, ceil = np.floor(y), np.ceil(y)
    rows, cols, lows, highs = [], [], [], []
    groups = list(model.groups)
    all_vars = np.arange(model.n_vars)
    if model.budget is not None:
        from campaigns.optimize.model import Group

        groups.append(Group("root", (), all_vars, model.budget if model.spend_all else 0, model.budget))
    for r, group in enumerate(groups):
        total = float(np.sum(y[group.members]))
        rows.append(np.full(len(group.members), r))
        cols.append(group.members)
        hi = min(np.ceil(total - 1e-6), group.high if group.high < NO_CAP else np.inf)
        lo = max(np.floor(total + 1e-6), group.low)
        lows.append(min(lo, hi))
        highs.append(hi)
    matrix = sp.csr_matrix((np.ones(sum(len(c) for c in cols)), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(len(groups), model.n_vars))
    # Minimise the distance to the float plan: with y in [floor, ceil], |y − x| is linear.
    cost = 1.0 - 2.0 * (y - floor)
    result = milp(cost, integrality=np.ones(model.n_vars), bounds=Bounds(floor, ceil),
                  constraints=LinearConstraint(matrix, np.array(lows), np.array(highs)))
    if result.x is None:
        raise ValueError("no cent rounding keeps every flighting total inside its bounds")
    return np.round(result.x).astype(np.int64)
