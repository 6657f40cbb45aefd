"""Running a verified clean-room query in the retailer's schema and releasing only what may leave: rows backed by
at least k distinct shoppers, and under differential privacy, noisy aggregates whose noise covers any one
shopper's whole contribution.

Queries run inside a savepoint that is always rolled back, with a statement timeout, UTC, the retailer's schema
as the only search path, and (where the database has it) the read-only role `rmn_cleanroom_reader`, which may read
the three views and nothing else.

Under DP the verified query is rewritten to bound each shopper's contribution before aggregating: rows are
summed per shopper and group, each shopper keeps at most MAX_GROUPS groups (chosen by a hash, so the same query
keeps the same ones) and at most MAX_ROWS rows' worth in each. One shopper then moves a COUNT by at most
MAX_GROUPS·MAX_ROWS in total, a COUNT(DISTINCT user_key) by MAX_GROUPS and a SUM by MAX_GROUPS·MAX_ROWS·bound,
which are the sensitivities the Laplace noise is scaled to. The distinct-shopper count that k is checked against
is released noisily too, so suppression itself leaks nothing exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sqlglot
from django.db import connection, transaction
from sqlglot import exp

from governance.cleanroom.privacy import laplace
from governance.cleanroom.verify import USERS_COLUMN, VerifiedQuery

READER_ROLE = "rmn_cleanroom_reader"
STATEMENT_TIMEOUT_MS = 10_000
MAX_GROUPS = 4  # groups (output rows) one shopper may count in, under DP
MAX_ROWS = 5  # rows one shopper may contribute to a group, under DP

HAVING_UNDER_DP = ("HAVING filters on exact values, which differential privacy cannot release; drop it and filter "
                   "the released rows instead")


@dataclass(frozen=True)
class Released:
    columns: list[str]
    rows: list[list]
    suppressed: int
    epsilon: float = 0.0
    sensitivities: dict[str, float] = field(default_factory=dict)
    noise_sd: dict[str, float] = field(default_factory=dict)  # per released column, under DP (Laplace: √2·Δ/ε)


def run(verified: VerifiedQuery, *, schema: str, k: int, epsilon: float | None = None,
        lease_id: int | None = None) -> Released:
    """Run `verified` in `schema`; with `epsilon`, release it under ε-differential privacy. A query on the brand's
    uploaded `audience` sees only the rows uploaded under `lease_id`."""
    if epsilon is None:
        rows = _fetch(_scoped(verified.sql, lease_id), schema)
        users = verified.columns.index(USERS_COLUMN)
        kept = [row for row in rows if row[users] >= k]
        return Released(list(verified.columns), [_plain(row) for row in kept], len(rows) - len(kept))
    return _private(verified, schema=schema, k=k, epsilon=epsilon, lease_id=lease_id)


def _scoped(sql: str, lease_id: int | None) -> str:
    """`audience` is not a view: it is the uploads of one lease, put in as a subquery filtered on that lease."""
    if '"audience"' not in sql:
        return sql
    if lease_id is None:
        raise ValueError("the audience view needs the lease whose upload it is")
    tree = sqlglot.parse_one(sql, read="postgres")
    for table in list(tree.find_all(exp.Table)):
        if table.name == "audience":
            uploads = (exp.select("user_key", "audience").from_("cleanroom_audience")
                       .where(exp.EQ(this=exp.column("lease_id"), expression=exp.Literal.number(int(lease_id)))))
            table.replace(exp.Subquery(this=uploads, alias=exp.TableAlias(
                this=exp.to_identifier(table.alias_or_name, quoted=True))))
    return tree.sql(dialect="postgres")


def _fetch(sql: str, schema: str) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        cursor.execute(f'SET LOCAL search_path TO "{schema}"')  # a tenant's schema name, never user text
        cursor.execute("SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                       [READER_ROLE])
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
        cursor.execute(sql)
        rows = cursor.fetchall()
        transaction.set_rollback(True)  # nothing a query does survives it, settings included
    return rows


def _plain(row: tuple) -> list:
    return [float(v) if hasattr(v, "is_finite") else (v.isoformat() if hasattr(v, "isoformat") else v)
            for v in row]


# --- differential privacy ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Release:
    """One noisy value per output row: its source column in the bounded query and its sensitivity."""

    column: str
    sensitivity: float


def _private(verified: VerifiedQuery, *, schema: str, k: int, epsilon: float, lease_id: int | None) -> Released:
    if verified.having:
        raise ValueError(HAVING_UNDER_DP)
    sql, releases, outputs = _bounded(verified)
    rows = _fetch(_scoped(sql, lease_id), schema)
    dims = len(verified.dimensions)
    each = epsilon / len(releases)  # sequential composition over the released aggregates
    noisy: dict[str, np.ndarray] = {}
    for index, release in enumerate(releases):
        values = [float(row[dims + index] or 0) for row in rows]  # SUM over nothing is NULL
        noisy[release.column] = laplace(values, sensitivity=release.sensitivity, epsilon=each) if rows else \
            np.zeros(0)
    out_rows = []
    users = noisy[USERS_COLUMN]
    names = [d.name for d in verified.dimensions]
    bounds = {a.name: a.bound for a in verified.aggregates}
    for i, row in enumerate(rows):
        if users[i] < k:
            continue
        record = dict(zip(names, _plain(row[:dims]), strict=True))
        for name, (kind, parts) in outputs.items():
            record[name] = _value(kind, noisy, parts, i, bounds.get(name))
        record[USERS_COLUMN] = max(0, round(float(users[i])))
        out_rows.append([record[column] for column in verified.columns])
    out_rows = _order(out_rows, verified)
    sd = {r.column: math.sqrt(2.0) * r.sensitivity / each for r in releases}
    noise_sd = {name: sd[parts[0]] for name, (kind, parts) in outputs.items() if kind != "avg"}
    noise_sd[USERS_COLUMN] = sd[USERS_COLUMN]
    return Released(list(verified.columns), out_rows, len(rows) - sum(1 for u in users if u >= k), epsilon,
                    {r.column: r.sensitivity for r in releases}, noise_sd)


def _value(kind: str, noisy: dict[str, np.ndarray], parts: tuple[str, ...], i: int, bound: float | None) -> float:
    if kind == "avg":  # post-processing: a mean of clamped values lies within the clamp
        total, count = noisy[parts[0]][i], noisy[parts[1]][i]
        return round(min(max(float(total / count), 0.0), bound), 4) if count >= 1 else None
    value = float(noisy[parts[0]][i])
    return max(0, round(value)) if kind in ("count", "count_distinct") else round(max(0.0, value), 2)


def _order(rows: list[list], verified: VerifiedQuery) -> list[list]:
    for name, descending in reversed(verified.order_by):
        position = verified.columns.index(name)
        rows.sort(key=lambda row, p=position: (row[p] is None, row[p]), reverse=descending)
    return rows[: verified.limit] if verified.limit is not None else rows


def _bounded(verified: VerifiedQuery) -> tuple[str, list[_Release], dict[str, tuple[str, tuple[str, ...]]]]:
    """The verified query rewritten to bound each shopper's contribution (see the module docstring): the SQL,
    what it releases (in its column order, after the dimensions) and how each output is rebuilt from them."""
    query = sqlglot.parse_one(verified.sql, read="postgres")
    items = {item.alias: item.this for item in query.expressions}
    source = query.args["from_"].this.alias_or_name
    key = exp.column("user_key", table=source, quoted=True)
    dims = [d.name for d in verified.dimensions]
    inner = [exp.alias_(key, "__uk", quoted=True)] + [exp.alias_(items[d].copy(), d, quoted=True) for d in dims]
    per_user = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True)]
    releases: list[_Release] = []
    outer: list[exp.Expression] = []
    outputs: dict[str, tuple[str, tuple[str, ...]]] = {}

    def release(name: str, expression: exp.Expression, sensitivity: float) -> str:
        releases.append(_Release(name, sensitivity))
        outer.append(exp.alias_(expression, name, quoted=True))
        return name

    capped_rows = exp.func("LEAST", exp.column("__rows", quoted=True), exp.Literal.number(MAX_ROWS))
    for aggregate in verified.aggregates:
        name = aggregate.name
        if aggregate.kind == "count_distinct":
            outputs[name] = ("count_distinct", (release(name, exp.Count(this=exp.Star()), MAX_GROUPS),))
        elif aggregate.kind == "count":
            outputs[name] = ("count", (release(name, exp.Sum(this=capped_rows.copy()), MAX_GROUPS * MAX_ROWS),))
        else:  # sum, avg: the clamped per-row values summed per shopper, capped at MAX_ROWS rows' worth
            bound = float(aggregate.bound)
            inner.append(exp.alias_(items[name].this.copy(), f"__in_{name}", quoted=True))
            per_user.append(exp.alias_(exp.Sum(this=exp.column(f"__in_{name}", quoted=True)), f"__sum_{name}",
                                       quoted=True))
            capped = exp.func("LEAST", exp.column(f"__sum_{name}", quoted=True),
                              exp.Literal.number(MAX_ROWS * bound))
            total = release(f"__sum_{name}", exp.Sum(this=capped), MAX_GROUPS * MAX_ROWS * bound)
            if aggregate.kind == "sum":
                outputs[name] = ("sum", (total,))
            else:
                count = release(f"__count_{name}", exp.Sum(this=capped_rows.copy()), MAX_GROUPS * MAX_ROWS)
                outputs[name] = ("avg", (total, count))
    release(USERS_COLUMN, exp.Count(this=exp.Star()), MAX_GROUPS)

    rows = exp.select(*inner).from_(query.args["from_"].copy())
    for join in query.args.get("joins") or []:
        rows = rows.join(join.copy())
    if query.args.get("where"):
        rows = rows.where(query.args["where"].this.copy())
    dim_columns = [exp.column(d, quoted=True) for d in dims]
    shoppers = exp.select(exp.column("__uk", quoted=True), *dim_columns, *per_user).from_("__rows_in").group_by(
        exp.column("__uk", quoted=True), *[c.copy() for c in dim_columns])
    # Which groups a shopper keeps: a hash of the shopper and the group, so repeats keep the same ones.
    tiebreak = exp.func("MD5", exp.func("CONCAT", exp.column("__uk", quoted=True),
                                        *[exp.cast(c.copy(), "text") for c in dim_columns]))
    numbered = exp.select(exp.Star(), exp.alias_(
        exp.Window(this=exp.RowNumber(), partition_by=[exp.column("__uk", quoted=True)],
                   order=exp.Order(expressions=[exp.Ordered(this=tiebreak)])), "__rank", quoted=True)
    ).from_("__per_shopper")
    final = (exp.select(*[c.copy() for c in dim_columns], *outer).from_("__ranked")
             .where(exp.LTE(this=exp.column("__rank", quoted=True), expression=exp.Literal.number(MAX_GROUPS))))
    if dim_columns:
        final = final.group_by(*[c.copy() for c in dim_columns])
    final = final.with_("__rows_in", rows).with_("__per_shopper", shoppers).with_("__ranked", numbered)
    return final.sql(dialect="postgres"), releases, outputs
