"""GROUP BY, HAVING, ORDER BY and LIMIT: grouping by selected dimensions only, HAVING as aggregate-against-number,
ordering by output columns and a literal LIMIT, each rebuilt for the canonical SQL."""

from __future__ import annotations

from sqlglot import exp

from governance.cleanroom.verify.messages import (
    CLAUSE_NOT_ALLOWED,
    DIALECT,
    GROUP_BY_ALL,
    GROUP_BY_ITEM,
    GROUP_BY_NOT_SELECTED,
    GROUP_BY_POSITION,
    GROUPING_SETS,
    HAVING_FORM,
    LIMIT,
    ORDER_BY_NOT_OUTPUT,
    UNGROUPED_COLUMN,
)
from governance.cleanroom.verify.nodes import (
    _AGGREGATES,
    _COMPARISONS,
    _INTEGER,
    _NUMBER,
    _fragment,
    _name,
    _refuse,
    _refuse_node,
    _unparen,
)
from governance.cleanroom.verify.outputs import _Item, _Outputs

# Well-formed SQL that simply is not "<aggregate> <op> <number>": refused as having_form rather than by what it is.
_HAVING_MISFITS = (
    exp.Column | exp.Literal | exp.Neg | exp.Null | exp.Boolean | exp.TimestampTrunc | exp.Tuple | exp.In | exp.Between
)


class _Grouping(_Outputs):
    """The clauses after WHERE, which refer back to the verified SELECT items."""

    def _group(
        self, group: exp.Group | None, expressions: list[exp.Expression], items: list[_Item]
    ) -> list[exp.Expression]:
        if group is None:
            return []
        for key in ("rollup", "cube", "grouping_sets"):
            if group.args.get(key):
                _refuse("GROUP BY", "grouping_sets", GROUPING_SETS.format(sql=_fragment(group)))
        if group.args.get("all"):
            _refuse("GROUP BY", "group_by_item", GROUP_BY_ALL)
        for key, value in group.args.items():
            if value and key != "expressions":
                _refuse("GROUP BY", "clause_not_allowed", CLAUSE_NOT_ALLOWED.format(clause=f"GROUP BY {key.upper()}"))
        keys: dict[str, exp.Expression] = {}
        for expression in group.expressions:
            node = self._group_item(_unparen(expression), expressions, items)
            keys.setdefault(node.sql(dialect=DIALECT), node)
        return list(keys.values())

    def _group_item(
        self, node: exp.Expression, expressions: list[exp.Expression], items: list[_Item]
    ) -> exp.Expression:
        sql = _fragment(node)
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this) if _INTEGER.fullmatch(node.this) else 0
            if not 1 <= position <= len(expressions):
                _refuse("GROUP BY", "group_by_item", GROUP_BY_POSITION.format(position=node.this))
            item = self._item_at(position, items)
            if item is None or item.dimension is None:
                _refuse("GROUP BY", "group_by_item", GROUP_BY_POSITION.format(position=node.this))
            return item.node
        # Postgres resolves a bare GROUP BY name to an input column first, then to an output name.
        if isinstance(node, exp.Column) and node.args.get("table") is None and isinstance(node.this, exp.Identifier):
            name = _name(node.this, "GROUP BY")
            item = next((item for item in items if item.name == name and item.dimension is not None), None)
            if item is not None and not self._is_input_column(name):
                return item.node
        if isinstance(node, exp.Rollup | exp.Cube | exp.GroupingSets):
            _refuse("GROUP BY", "grouping_sets", GROUPING_SETS.format(sql=sql))
        if isinstance(node, _AGGREGATES | exp.Literal | exp.Tuple | exp.Null | exp.Boolean):
            _refuse("GROUP BY", "group_by_item", GROUP_BY_ITEM.format(sql=sql))
        return self._dimension(node, "GROUP BY")[0]

    @staticmethod
    def _item_at(position: int, items: list[_Item]) -> _Item | None:
        """The verified item for a 1-based position in the query's SELECT list (None: our own __users)."""
        return items[position - 1] if position <= len(items) else None

    @staticmethod
    def _check_grouping(items: list[_Item], group: list[exp.Expression]) -> None:
        grouped = {node.sql(dialect=DIALECT) for node in group}
        for item in items:
            if item.dimension is not None and item.key not in grouped:
                _refuse("SELECT", "ungrouped_column", UNGROUPED_COLUMN.format(sql=item.original))
        selected = {item.key for item in items if item.dimension is not None}
        for node in group:
            if node.sql(dialect=DIALECT) not in selected:
                _refuse("GROUP BY", "group_by_not_selected", GROUP_BY_NOT_SELECTED.format(sql=_fragment(node)))

    def _having(self, having: exp.Having | None) -> exp.Expression | None:
        return None if having is None else self._having_predicate(having.this)

    def _having_predicate(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Paren):
            return exp.Paren(this=self._having_predicate(node.this))
        if isinstance(node, exp.And | exp.Or):
            left, right = self._having_predicate(node.this), self._having_predicate(node.expression)
            return type(node)(this=left, expression=right)
        if isinstance(node, exp.Not):
            return exp.Not(this=self._having_predicate(node.this))
        sql = _fragment(node)
        if isinstance(node, _COMPARISONS):
            left, right = _unparen(node.this), _unparen(node.expression)
            aggregate_first = isinstance(left, _AGGREGATES)
            aggregate, number = (left, right) if aggregate_first else (right, left)
            if not isinstance(aggregate, _AGGREGATES):
                self._refuse_having_side(left)
                self._refuse_having_side(right)
                _refuse("HAVING", "having_form", HAVING_FORM.format(sql=sql))
            canonical = self._aggregate(aggregate, "HAVING")[0]
            value = self._having_number(number, sql)
            this, expression = (canonical, value) if aggregate_first else (value, canonical)
            return type(node)(this=this, expression=expression)
        if isinstance(node, exp.Between) and not node.args.get("symmetric"):
            aggregate = _unparen(node.this)
            if not isinstance(aggregate, _AGGREGATES):
                self._refuse_having_side(aggregate)
                _refuse("HAVING", "having_form", HAVING_FORM.format(sql=sql))
            canonical = self._aggregate(aggregate, "HAVING")[0]
            low, high = (self._having_number(node.args[end], sql) for end in ("low", "high"))
            return exp.Between(this=canonical, low=low, high=high)
        self._refuse_having_side(node)
        _refuse("HAVING", "having_form", HAVING_FORM.format(sql=sql))

    @staticmethod
    def _refuse_having_side(node: exp.Expression) -> None:
        """Name the construct when a HAVING side is a function, cast, operator...; plain misfits are having_form."""
        if not isinstance(node, _HAVING_MISFITS | _AGGREGATES | _COMPARISONS):
            _refuse_node(node, "HAVING")

    @staticmethod
    def _having_number(node: exp.Expression, sql: str) -> exp.Expression:
        inner = _unparen(node)
        negative = isinstance(inner, exp.Neg)
        literal = inner.this if negative else inner
        if not isinstance(literal, exp.Literal) or literal.is_string or not _NUMBER.fullmatch(literal.this):
            if not isinstance(literal, _HAVING_MISFITS | _AGGREGATES):
                _refuse_node(literal, "HAVING")
            _refuse("HAVING", "having_form", HAVING_FORM.format(sql=sql))
        number = exp.Literal.number(literal.this)
        return exp.Neg(this=number) if negative else number

    def _order(
        self, order: exp.Order | None, expressions: list[exp.Expression], items: list[_Item]
    ) -> list[tuple[_Item, bool, bool | None]]:
        if order is None:
            return []
        ordered: list[tuple[_Item, bool, bool | None]] = []
        for element in order.expressions:
            if not isinstance(element, exp.Ordered):
                _refuse_node(element, "ORDER BY")
            for key, value in element.args.items():
                if value and key not in ("this", "desc", "nulls_first"):
                    clause = f"ORDER BY {key.upper()}"
                    _refuse("ORDER BY", "clause_not_allowed", CLAUSE_NOT_ALLOWED.format(clause=clause))
            item = self._order_item(_unparen(element.this), expressions, items)
            ordered.append((item, bool(element.args.get("desc")), element.args.get("nulls_first")))
        return ordered

    def _order_item(self, node: exp.Expression, expressions: list[exp.Expression], items: list[_Item]) -> _Item:
        sql = _fragment(node)
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this) if _INTEGER.fullmatch(node.this) else 0
            item = self._item_at(position, items) if 1 <= position <= len(expressions) else None
            if item is None:
                _refuse("ORDER BY", "order_by_not_output", ORDER_BY_NOT_OUTPUT.format(sql=sql))
            return item
        # Postgres resolves a bare ORDER BY name to an output column first.
        if isinstance(node, exp.Column) and node.args.get("table") is None and isinstance(node.this, exp.Identifier):
            name = _name(node.this, "ORDER BY")
            item = next((item for item in items if item.name == name), None)
            if item is not None:
                return item
        if isinstance(node, _AGGREGATES):
            canonical = self._aggregate(node, "ORDER BY")[0]
        elif isinstance(node, exp.Column | exp.TimestampTrunc):
            canonical = self._dimension(node, "ORDER BY")[0]
        else:
            _refuse_node(node, "ORDER BY")
        key = canonical.sql(dialect=DIALECT)
        item = next((item for item in items if item.key == key), None)
        if item is None:
            _refuse("ORDER BY", "order_by_not_output", ORDER_BY_NOT_OUTPUT.format(sql=sql))
        return item

    @staticmethod
    def _limit(limit: exp.Expression | None) -> int | None:
        if limit is None:
            return None
        if not isinstance(limit, exp.Limit):
            _refuse(limit.key.upper(), "clause_not_allowed", CLAUSE_NOT_ALLOWED.format(clause=limit.key.upper()))
        value = limit.args.get("expression")
        extra = any(item for key, item in limit.args.items() if key != "expression")
        if extra or not isinstance(value, exp.Literal) or value.is_string or not _INTEGER.fullmatch(value.this):
            _refuse("LIMIT", "limit", LIMIT.format(sql=_fragment(limit)))
        return int(value.this)
