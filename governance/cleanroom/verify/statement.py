"""The statement as a whole: one plain SELECT, constructs refused wherever they hide, each clause checked in turn
and the canonical SQL rebuilt from what passed, with __users and a fingerprint."""

from __future__ import annotations

import hashlib

from sqlglot import exp

from governance.cleanroom.verify.grouping import _Grouping
from governance.cleanroom.verify.messages import (
    CLAUSE_NOT_ALLOWED,
    CTE,
    DIALECT,
    LATERAL,
    NOT_SELECT,
    SELECT_DISTINCT,
    SELECT_STAR,
    SET_OPERATION,
    SUBQUERY,
    USERS_COLUMN,
    WINDOW_FUNCTION,
)
from governance.cleanroom.verify.nodes import (
    _AGGREGATES,
    _CLAUSES,
    _fragment,
    _is_function_call,
    _refuse,
    _refuse_node,
    _unparen,
)
from governance.cleanroom.verify.outputs import _Item
from governance.cleanroom.verify.scope import _Ref
from governance.cleanroom.verify.specs import VerifiedQuery
from governance.cleanroom.verify.where import _Where

_CLAUSE_ORDER = ("with_", "expressions", "from_", "joins", "where", "group", "having", "order", "limit")
_HANDLED_ARGS = frozenset(_CLAUSE_ORDER) | {"distinct"}
# LEAST/GREATEST only ever pass as the SUM/AVG clamp; the structural checks refuse them anywhere else.
_LISTED_FUNCTIONS = _AGGREGATES | exp.TimestampTrunc | exp.Least | exp.Greatest


class _Verifier(_Where, _Grouping):
    """One query's check, clause by clause, ending in the canonical VerifiedQuery.

    The clause checks are mixins over _Scope so each clause group reads on its own while all of them resolve
    columns against the same FROM/JOIN sources; one _Verifier is built per query.
    """

    # --- Statement ---

    def verify(self, root: exp.Expression) -> VerifiedQuery:
        if root.args.get("with_"):
            _refuse("WITH", "cte", CTE)
        if isinstance(root, exp.SetOperation):
            operator = root.key.upper()
            _refuse(operator, "set_operation", SET_OPERATION.format(operator=operator))
        if isinstance(root, exp.Subquery):
            _refuse("SQL", "subquery", SUBQUERY.format(sql=_fragment(root)))
        if not isinstance(root, exp.Select):
            kind = root.name.upper() if isinstance(root, exp.Command) else root.key.upper()
            _refuse("SQL", "not_select", NOT_SELECT.format(kind=kind))
        self._check_forbidden_nodes(root)
        for key, value in root.args.items():
            if value and key not in _HANDLED_ARGS:
                clause = _CLAUSES.get(key, key.upper())
                if key == "laterals":
                    _refuse(clause, "lateral", LATERAL.format(sql=_fragment(value[0])))
                _refuse(clause, "clause_not_allowed", CLAUSE_NOT_ALLOWED.format(clause=clause))
        if root.args.get("distinct"):
            _refuse("SELECT", "select_distinct", SELECT_DISTINCT)
        for item in root.expressions:
            inner = _unparen(item.this if isinstance(item, exp.Alias) else item)
            if isinstance(inner, exp.Star) or (isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)):
                _refuse("SELECT", "select_star", SELECT_STAR.format(sql=_fragment(item)))
        tables = self._from(root)
        items = self._select(root.expressions)
        where = self._where(root.args.get("where"))
        group = self._group(root.args.get("group"), root.expressions, items)
        self._check_grouping(items, group)
        having = self._having(root.args.get("having"))
        order = self._order(root.args.get("order"), root.expressions, items)
        limit = self._limit(root.args.get("limit"))
        return self._canonical(tables, items, where, group, having, order, limit)

    def _check_forbidden_nodes(self, root: exp.Select) -> None:
        """Constructs refused wherever they appear, outermost first, clause by clause."""
        keys = [key for key in _CLAUSE_ORDER if key in root.args] + [
            key for key in root.args if key not in _CLAUSE_ORDER
        ]
        for key in keys:
            value = root.args[key]
            clause = _CLAUSES.get(key, key.upper())
            for top in value if isinstance(value, list) else [value]:
                if not isinstance(top, exp.Expression):
                    continue
                for node in top.dfs():
                    if isinstance(node, exp.Lateral):
                        _refuse(clause, "lateral", LATERAL.format(sql=_fragment(node)))
                    if isinstance(node, exp.Subquery | exp.Select | exp.Exists | exp.SetOperation):
                        _refuse(clause, "subquery", SUBQUERY.format(sql=_fragment(node)))
                    if isinstance(node, exp.Window):
                        _refuse(clause, "window_function", WINDOW_FUNCTION.format(sql=_fragment(node)))
                    # Off-list functions are refused wherever they hide, before any structural rule looks.
                    if isinstance(node, exp.Case) or (
                        _is_function_call(node) and not isinstance(node, _LISTED_FUNCTIONS | exp.Cast)
                    ):
                        _refuse_node(node, clause)

    # --- Canonical SQL ---

    def _canonical(
        self,
        tables: list[exp.Expression],
        items: list[_Item],
        where: exp.Expression | None,
        group: list[exp.Expression],
        having: exp.Expression | None,
        order: list[tuple[_Item, bool, bool | None]],
        limit: int | None,
    ) -> VerifiedQuery:
        first = self.sources[0]
        users = exp.Count(this=exp.Distinct(expressions=[_Ref(first, first.spec.key, "key").node()]))
        select = exp.Select(
            expressions=[_alias(item.node, item.name) for item in items] + [_alias(users, USERS_COLUMN)]
        )
        select.set("from_", exp.From(this=tables[0]))
        if len(tables) > 1:
            select.set("joins", tables[1:])
        if where is not None:
            select.set("where", exp.Where(this=where))
        if group:
            select.set("group", exp.Group(expressions=group))
        if having is not None:
            select.set("having", exp.Having(this=having))
        if order:
            select.set(
                "order",
                exp.Order(
                    expressions=[
                        exp.Ordered(
                            this=exp.Column(this=exp.Identifier(this=item.name, quoted=True)),
                            desc=desc or None,
                            nulls_first=nulls_first,
                        )
                        for item, desc, nulls_first in order
                    ]
                ),
            )
        if limit is not None:
            select.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
        sql = select.sql(dialect=DIALECT, identify=True)
        return VerifiedQuery(
            sql=sql,
            fingerprint=hashlib.sha256(sql.encode()).hexdigest(),
            columns=tuple(item.name for item in items) + (USERS_COLUMN,),
            dimensions=tuple(item.dimension for item in items if item.dimension is not None),
            aggregates=tuple(item.aggregate for item in items if item.aggregate is not None),
            views=tuple(dict.fromkeys(source.view for source in self.sources)),
            having=None if having is None else having.sql(dialect=DIALECT, identify=True),
            order_by=tuple((item.name, desc) for item, desc, _ in order),
            limit=limit,
        )


def _alias(node: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=node, alias=exp.Identifier(this=name, quoted=True))
