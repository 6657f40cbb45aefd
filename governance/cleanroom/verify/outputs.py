"""The SELECT list: each output column verified as a dimension or an aggregate (COUNT(*), COUNT(DISTINCT user_key),
SUM/AVG over a clamped measure) and rebuilt canonically; the aggregate checks also serve HAVING and ORDER BY."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypeVar

from sqlglot import exp

from governance.cleanroom.verify.messages import (
    BAD_CLAMP,
    COUNT_ARGUMENT,
    COUNT_DISTINCT_ARGUMENT,
    DIALECT,
    DUPLICATE_OUTPUT,
    KEY_COLUMN,
    NESTED_AGGREGATE,
    NOT_A_MEASURE,
    RESERVED_NAME,
    SUM_DISTINCT,
    USER_KEY_ALIAS,
    USERS_COLUMN,
)
from governance.cleanroom.verify.nodes import (
    _AGGREGATES,
    _NUMBER,
    _fragment,
    _name,
    _number,
    _refuse,
    _refuse_node,
    _unparen,
)
from governance.cleanroom.verify.scope import _Scope
from governance.cleanroom.verify.specs import Aggregate, AggregateKind, Dimension, QueryRefused

_Named = TypeVar("_Named", Dimension, Aggregate)


@dataclass(frozen=True)
class _Item:
    """One verified output column: its canonical expression and what it is."""

    name: str
    node: exp.Expression
    original: str  # as the query wrote it, for messages
    dimension: Dimension | None = None
    aggregate: Aggregate | None = None

    @property
    def key(self) -> str:
        return self.node.sql(dialect=DIALECT)


def _renamed(spec: _Named, name: str) -> _Named:
    return dataclasses.replace(spec, name=name)


class _Outputs(_Scope):
    """SELECT items and the aggregates they (and HAVING, ORDER BY) may use."""

    # --- Aggregates ---

    def _aggregate(self, node: exp.Expression, clause: str) -> tuple[exp.Expression, Aggregate]:
        sql = _fragment(node)
        if isinstance(node, exp.Count):
            if node.expressions:
                _refuse(clause, "aggregate_argument", COUNT_ARGUMENT.format(sql=sql))
            argument = node.this
            if isinstance(argument, exp.Star):
                return exp.Count(this=exp.Star()), Aggregate(name="count", kind="count")
            if isinstance(argument, exp.Distinct):
                return self._count_distinct(argument, clause, sql)
            argument = _unparen(argument)
            if isinstance(argument, exp.Column):
                if self._resolve(argument, clause).kind == "key":
                    _refuse(clause, "key_column", KEY_COLUMN.format(sql=sql))
                _refuse(clause, "aggregate_argument", COUNT_ARGUMENT.format(sql=sql))
            if isinstance(argument, exp.Literal | exp.Null | exp.Boolean | exp.Neg | _AGGREGATES):
                _refuse(clause, "aggregate_argument", COUNT_ARGUMENT.format(sql=sql))
            _refuse_node(argument, clause)
        function = "SUM" if isinstance(node, exp.Sum) else "AVG"
        not_a_measure = NOT_A_MEASURE.format(function=function, measures=self._measures(), sql=sql)
        for key, value in node.args.items():
            if value and key != "this":
                _refuse(clause, "aggregate_argument", not_a_measure)
        argument = node.this
        if isinstance(argument, exp.Distinct):
            _refuse(clause, "aggregate_argument", SUM_DISTINCT.format(function=function, sql=sql))
        argument = _unparen(argument)
        user_bound = None
        if isinstance(argument, exp.Least | exp.Greatest):
            argument, user_bound = self._clamp(argument, clause)
        if isinstance(argument, _AGGREGATES):
            _refuse(clause, "aggregate_argument", NESTED_AGGREGATE.format(sql=sql))
        if not isinstance(argument, exp.Column):
            _refuse_node(argument, clause)
        ref = self._resolve(argument, clause)
        if ref.kind == "key":
            _refuse(clause, "key_column", KEY_COLUMN.format(sql=sql))
        if ref.kind != "measure":
            _refuse(clause, "aggregate_argument", not_a_measure)
        bounds = [bound for bound in (ref.source.spec.columns[ref.column].bound, user_bound) if bound is not None]
        bound = min(bounds) if bounds else None
        value: exp.Expression = ref.node()
        if bound is not None:
            # Clamped per row so one shopper moves SUM by at most `bound`: the DP layer's sensitivity.
            value = exp.Least(this=exp.Greatest(this=value, expressions=[_number(0)]), expressions=[_number(bound)])
        kind: AggregateKind = "sum" if function == "SUM" else "avg"
        canonical = exp.Sum(this=value) if kind == "sum" else exp.Avg(this=value)
        aggregate = Aggregate(
            name=f"{kind}_{ref.column}", kind=kind, view=ref.source.view, column=ref.column, bound=bound
        )
        return canonical, aggregate

    def _count_distinct(self, distinct: exp.Distinct, clause: str, sql: str) -> tuple[exp.Expression, Aggregate]:
        if len(distinct.expressions) != 1 or distinct.args.get("on") is not None:
            _refuse(clause, "aggregate_argument", COUNT_DISTINCT_ARGUMENT.format(sql=sql))
        argument = _unparen(distinct.expressions[0])
        if not isinstance(argument, exp.Column):
            _refuse_node(argument, clause)
        ref = self._resolve(argument, clause)
        if ref.kind != "key":
            _refuse(clause, "aggregate_argument", COUNT_DISTINCT_ARGUMENT.format(sql=sql))
        canonical = exp.Count(this=exp.Distinct(expressions=[ref.node()]))
        aggregate = Aggregate(name="distinct_users", kind="count_distinct", view=ref.source.view, column=ref.column)
        return canonical, aggregate

    def _clamp(self, node: exp.Expression, clause: str) -> tuple[exp.Expression, float]:
        """LEAST(GREATEST(col, 0), bound), the form the canonical SQL clamps with, so it re-verifies unchanged."""
        refused = BAD_CLAMP.format(sql=_fragment(node))
        if not isinstance(node, exp.Least) or len(node.expressions) != 1:
            _refuse(clause, "aggregate_argument", refused)
        inner = _unparen(node.this)
        if not isinstance(inner, exp.Greatest) or len(inner.expressions) != 1:
            _refuse(clause, "aggregate_argument", refused)
        floor, ceiling = inner.expressions[0], node.expressions[0]
        for literal in (floor, ceiling):
            if not isinstance(literal, exp.Literal) or literal.is_string or not _NUMBER.fullmatch(literal.this):
                _refuse(clause, "aggregate_argument", refused)
        bound = float(ceiling.this)
        if float(floor.this) != 0 or not math.isfinite(bound) or bound <= 0:
            _refuse(clause, "aggregate_argument", refused)
        return _unparen(inner.this), bound

    def _measures(self) -> str:
        names = dict.fromkeys(
            name for source in self.sources for name, column in source.spec.columns.items() if column.kind == "measure"
        )
        return ", ".join(names) or "none in these views"

    # --- SELECT ---

    def _select(self, expressions: list[exp.Expression]) -> list[_Item]:
        items: list[_Item] = []
        for index, expression in enumerate(expressions):
            alias = None
            node = expression
            if isinstance(node, exp.Alias):
                alias = _name(node.args["alias"], "SELECT")
                node = node.this
            node = _unparen(node)
            if alias == USERS_COLUMN and index == len(expressions) - 1 and self._is_users_count(node):
                continue  # our own k-anonymity column, met again when canonical SQL is verified: re-added below
            if isinstance(node, _AGGREGATES):
                canonical, aggregate = self._aggregate(node, "SELECT")
                name = alias or aggregate.name
                items.append(_Item(name, canonical, _fragment(node), aggregate=_renamed(aggregate, name)))
            elif isinstance(node, exp.Column | exp.TimestampTrunc):
                canonical, dimension = self._dimension(node, "SELECT", output=True)
                name = alias or dimension.name
                items.append(_Item(name, canonical, _fragment(node), dimension=_renamed(dimension, name)))
            else:
                _refuse_node(node, "SELECT")
            if alias == "user_key" or items[-1].name == "user_key":
                _refuse("SELECT", "user_key_in_output", USER_KEY_ALIAS)
            if items[-1].name.startswith("__"):
                _refuse("SELECT", "reserved_name", RESERVED_NAME.format(name=items[-1].name))
            if any(item.name == items[-1].name for item in items[:-1]):
                _refuse("SELECT", "duplicate_output", DUPLICATE_OUTPUT.format(name=items[-1].name))
        return items

    def _is_users_count(self, node: exp.Expression) -> bool:
        if not isinstance(node, exp.Count) or not isinstance(node.this, exp.Distinct) or node.expressions:
            return False
        arguments = node.this.expressions
        if len(arguments) != 1 or not isinstance(arguments[0], exp.Column) or not arguments[0].args.get("table"):
            return False
        try:
            ref = self._resolve(arguments[0], "SELECT")
        except QueryRefused:
            return False
        return ref.kind == "key" and ref.source is self.sources[0]
