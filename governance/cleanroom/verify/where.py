"""WHERE: predicates that compare one allowed column with literals, with timestamp filters rewritten to whole-day
ranges so no filter can carve out an instant for a differencing pair."""

from __future__ import annotations

import datetime
import re

from sqlglot import exp

from governance.cleanroom.verify.messages import (
    AGGREGATE_IN_WHERE,
    CAST,
    COLUMN_COMPARISON,
    KEY_COLUMN,
    LITERAL_VALUE,
    MEASURE_COLUMN,
    PREDICATE_FORM,
    TIME_GRANULARITY,
    TIME_PREDICATE,
)
from governance.cleanroom.verify.nodes import (
    _AGGREGATES,
    _COMPARISONS,
    _NUMBER,
    _fragment,
    _refuse,
    _refuse_node,
    _unparen,
)
from governance.cleanroom.verify.scope import _Scope

# Whole days only: a bound with hours, seconds or a zone could carve out an instant for a differencing pair.
_WHOLE_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_FLIPPED = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}  # `day < ts` reads `ts > day`
_TYPED_DATE_LITERALS = (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ)


class _Where(_Scope):
    """The WHERE clause, rebuilt predicate by predicate."""

    def _where(self, where: exp.Where | None) -> exp.Expression | None:
        return None if where is None else self._predicate(where.this)

    def _predicate(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Paren):
            return exp.Paren(this=self._predicate(node.this))
        if isinstance(node, exp.And | exp.Or):
            return type(node)(this=self._predicate(node.this), expression=self._predicate(node.expression))
        if isinstance(node, exp.Not):
            return exp.Not(this=self._predicate(node.this))
        if isinstance(node, _COMPARISONS):
            return self._comparison(node)
        if isinstance(node, exp.In):
            return self._in(node)
        if isinstance(node, exp.Between):
            return self._between(node)
        if isinstance(node, _AGGREGATES):
            _refuse("WHERE", "aggregate_in_where", AGGREGATE_IN_WHERE.format(sql=_fragment(node)))
        if isinstance(node, exp.Column | exp.TimestampTrunc | exp.Literal | exp.Boolean | exp.Null):
            _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=_fragment(node)))
        _refuse_node(node, "WHERE")

    def _operand(self, node: exp.Expression) -> tuple[exp.Expression, str]:
        """The column side of a predicate: ("dimension" | "time" | "grain", canonical expression)."""
        node = _unparen(node)
        if isinstance(node, exp.TimestampTrunc):
            return self._date_trunc(node, "WHERE")[0], "grain"
        ref = self._resolve(node, "WHERE")
        if ref.kind == "key":
            _refuse("WHERE", "key_column", KEY_COLUMN.format(sql=_fragment(node)))
        if ref.kind == "measure":
            _refuse("WHERE", "measure_column", MEASURE_COLUMN.format(sql=_fragment(node)))
        return ref.node(), "time" if ref.kind == "time" else "dimension"

    @staticmethod
    def _is_operand(node: exp.Expression) -> bool:
        return isinstance(_unparen(node), exp.Column | exp.TimestampTrunc)

    def _comparison(self, node: exp.Expression) -> exp.Expression:
        left, right = node.this, node.expression
        sql = _fragment(node)
        if self._is_operand(left) and self._is_operand(right):
            _refuse("WHERE", "column_comparison", COLUMN_COMPARISON.format(sql=sql))
        if not self._is_operand(left) and not self._is_operand(right):
            for side in (left, right):
                inner = _unparen(side)
                if isinstance(inner, _AGGREGATES):
                    _refuse("WHERE", "aggregate_in_where", AGGREGATE_IN_WHERE.format(sql=sql))
                if not isinstance(inner, exp.Literal | exp.Neg | exp.Null | exp.Boolean):
                    _refuse_node(inner, "WHERE")
            _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
        operand_first = self._is_operand(left)
        operand, literal = (left, right) if operand_first else (right, left)
        column, kind = self._operand(operand)
        if kind == "time":
            # Read as `ts <op> day`; only `>=` and `<` keep every ts filter a union of whole days.
            operator = type(node) if operand_first else _FLIPPED.get(type(node), type(node))
            if operator not in (exp.GTE, exp.LT):
                _refuse("WHERE", "time_predicate", TIME_PREDICATE.format(sql=sql))
            return operator(this=column, expression=_day_literal(*self._time_literal(literal, sql)))
        if kind == "grain":
            value = _day_literal(*self._time_literal(literal, sql))
        else:
            value = self._value_literal(literal)
        this, expression = (column, value) if operand_first else (value, column)
        return type(node)(this=this, expression=expression)

    def _in(self, node: exp.In) -> exp.Expression:
        sql = _fragment(node)
        for key, value in node.args.items():
            if value and key not in ("this", "expressions"):
                if isinstance(value, exp.Expression):
                    _refuse_node(value, "WHERE")
                _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
        if not self._is_operand(node.this):
            inner = _unparen(node.this)
            if isinstance(inner, exp.Tuple | exp.Literal | exp.Null | exp.Boolean):
                _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
            _refuse_node(inner, "WHERE")
        column, kind = self._operand(node.this)
        if kind == "time":
            _refuse("WHERE", "time_predicate", TIME_PREDICATE.format(sql=sql))
        if not node.expressions:
            _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
        if kind == "grain":
            values = [_day_literal(*self._time_literal(value, sql)) for value in node.expressions]
        else:
            values = [self._value_literal(value) for value in node.expressions]
        return exp.In(this=column, expressions=values)

    def _between(self, node: exp.Between) -> exp.Expression:
        sql = _fragment(node)
        if node.args.get("symmetric"):
            _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
        if not self._is_operand(node.this):
            inner = _unparen(node.this)
            if isinstance(inner, exp.Literal | exp.Null | exp.Boolean | exp.Neg):
                _refuse("WHERE", "predicate_form", PREDICATE_FORM.format(sql=sql))
            _refuse_node(inner, "WHERE")
        for bound in (node.args["low"], node.args["high"]):
            if self._is_operand(bound):
                _refuse("WHERE", "column_comparison", COLUMN_COMPARISON.format(sql=sql))
        column, kind = self._operand(node.this)
        if kind == "dimension":
            low, high = self._value_literal(node.args["low"]), self._value_literal(node.args["high"])
            return exp.Between(this=column, low=low, high=high)
        low_day, low_type = self._time_literal(node.args["low"], sql)
        high_day, high_type = self._time_literal(node.args["high"], sql)
        if kind == "grain":
            low, high = _day_literal(low_day, low_type), _day_literal(high_day, high_type)
            return exp.Between(this=column, low=low, high=high)
        # ts BETWEEN covers whole days, the last one included: an inclusive bound at midnight would add one instant,
        # which a differencing pair could isolate.
        after = high_day + datetime.timedelta(days=1)
        return exp.Paren(
            this=exp.And(
                this=exp.GTE(this=column, expression=_day_literal(low_day, low_type)),
                expression=exp.LT(this=column.copy(), expression=_day_literal(after, high_type)),
            )
        )

    @staticmethod
    def _value_literal(node: exp.Expression) -> exp.Expression:
        """A string or number literal compared with a dimension."""
        inner = _unparen(node)
        if isinstance(inner, exp.Literal):
            if inner.is_string:
                return exp.Literal.string(inner.this)
            if _NUMBER.fullmatch(inner.this):
                return exp.Literal.number(inner.this)
        if isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal) and not inner.this.is_string:
            if _NUMBER.fullmatch(inner.this.this):
                return exp.Neg(this=exp.Literal.number(inner.this.this))
        if isinstance(inner, exp.Null | exp.Boolean | exp.Literal | exp.Neg):
            _refuse("WHERE", "predicate_form", LITERAL_VALUE.format(sql=_fragment(node)))
        _refuse_node(inner, "WHERE")

    @staticmethod
    def _time_literal(node: exp.Expression, sql: str) -> tuple[datetime.date, exp.DataType.Type | None]:
        """A whole-day date literal, bare ('2024-01-31') or typed (DATE '2024-01-31'), compared with ts."""
        inner = _unparen(node)
        cast_to = None
        if isinstance(inner, exp.Cast):
            target = inner.args.get("to")
            extra = any(value for key, value in inner.args.items() if key not in ("this", "to", "_type"))
            literal = _unparen(inner.this)
            if (
                extra
                or not isinstance(target, exp.DataType)
                or target.this not in _TYPED_DATE_LITERALS
                or target.expressions
                or not isinstance(literal, exp.Literal)
                or not literal.is_string
            ):
                _refuse("WHERE", "cast", CAST.format(sql=_fragment(inner)))
            cast_to, inner = target.this, literal
        if not isinstance(inner, exp.Literal | exp.Neg | exp.Null | exp.Boolean):
            _refuse_node(inner, "WHERE")
        match = _WHOLE_DAY.fullmatch(inner.this) if isinstance(inner, exp.Literal) and inner.is_string else None
        if match is None:
            _refuse("WHERE", "time_granularity", TIME_GRANULARITY.format(sql=sql))
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            _refuse("WHERE", "time_granularity", TIME_GRANULARITY.format(sql=sql))
        return day, cast_to


def _day_literal(day: datetime.date, cast_to: exp.DataType.Type | None) -> exp.Expression:
    """A whole day as the canonical SQL writes it: '2024-01-31', typed if the query typed it."""
    literal = exp.Literal.string(day.isoformat())
    return literal if cast_to is None else exp.Cast(this=literal, to=exp.DataType(this=cast_to))
