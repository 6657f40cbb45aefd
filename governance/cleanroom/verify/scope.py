"""FROM and JOIN: which views a query reads, under which aliases, joined only on the user key; and resolving a
column to the view it belongs to and its role, which every other clause check starts from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from governance.cleanroom.verify.messages import (
    AMBIGUOUS_COLUMN,
    CROSS_JOIN,
    DATE_TRUNC_COLUMN,
    DATE_TRUNC_UNIT,
    DATE_TRUNC_UNITS,
    DATE_TRUNC_ZONE,
    DUPLICATE_ALIAS,
    JOIN_CONDITION,
    JOIN_KIND,
    JOIN_USING,
    KEY_COLUMN,
    MEASURE_COLUMN,
    MISSING_FROM,
    NOT_A_VIEW,
    QUALIFIED_COLUMN,
    QUALIFIED_VIEW,
    SELECT_STAR,
    TABLE_SYNTAX,
    TIME_COLUMN,
    UNKNOWN_ALIAS,
    UNKNOWN_COLUMN,
    UNKNOWN_VIEW,
    USER_KEY_IN_OUTPUT,
    VIEW_NOT_LEASED,
)
from governance.cleanroom.verify.nodes import _CLAUSES, _fragment, _name, _refuse, _refuse_node, _unparen
from governance.cleanroom.verify.specs import ColumnKind, Dimension, ViewSpec


@dataclass(frozen=True)
class _Source:
    alias: str  # as the query names it
    view: str
    spec: ViewSpec
    canonical: str  # as the canonical SQL names it


@dataclass(frozen=True)
class _Ref:
    source: _Source
    column: str
    kind: ColumnKind

    def node(self) -> exp.Column:
        return exp.Column(
            this=exp.Identifier(this=self.column, quoted=True),
            table=exp.Identifier(this=self.source.canonical, quoted=True),
        )


class _Scope:
    """The views a query reads, as FROM and JOIN name them; the clause checks build on it."""

    def __init__(self, views: Mapping[str, ViewSpec], leased: set[str]) -> None:
        self.views = views
        self.leased = leased
        self.sources: list[_Source] = []

    # --- FROM and JOIN ---

    def _from(self, root: exp.Select) -> list[exp.Expression]:
        from_ = root.args.get("from_")
        if from_ is None:
            _refuse("FROM", "missing_from", MISSING_FROM.format(views=", ".join(sorted(self.leased))))
        first = self._table(from_.this, "FROM")
        tables: list[exp.Expression] = [self._table_node(first)]
        for join in root.args.get("joins") or []:
            source = self._table(join.this, "JOIN")
            tables.append(self._join(join, source))
        return tables

    def _table(self, table: exp.Expression, clause: str) -> _Source:
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            _refuse(clause, "not_a_view", NOT_A_VIEW.format(sql=_fragment(table)))
        name = _name(table.this, clause)
        known = ", ".join(sorted(self.views))
        if table.args.get("db") or table.args.get("catalog"):
            _refuse(clause, "unknown_view", QUALIFIED_VIEW.format(name=_fragment(table), views=known))
        if name not in self.views:
            _refuse(clause, "unknown_view", UNKNOWN_VIEW.format(name=name, views=known))
        if name not in self.leased:
            _refuse(clause, "view_not_leased", VIEW_NOT_LEASED.format(name=name, views=", ".join(sorted(self.leased))))
        for key, value in table.args.items():
            if value and key not in ("this", "alias"):
                _refuse(clause, "table_syntax", TABLE_SYNTAX.format(name=name, what=_CLAUSES.get(key, key.upper())))
        alias = name
        table_alias = table.args.get("alias")
        if table_alias is not None:
            if table_alias.args.get("columns"):
                _refuse(clause, "table_syntax", TABLE_SYNTAX.format(name=name, what="a column alias list"))
            alias = _name(table_alias.this, clause)
        if any(source.alias == alias for source in self.sources):
            _refuse(clause, "duplicate_alias", DUPLICATE_ALIAS.format(alias=alias))
        # Aliases are renamed to the view's name so alias-only differences fingerprint the same.
        used = sum(source.view == name for source in self.sources)
        canonical = name if not used else f"{name}_{used + 1}"
        while any(source.canonical == canonical for source in self.sources) or (used and canonical in self.views):
            used += 1
            canonical = f"{name}_{used + 1}"
        source = _Source(alias=alias, view=name, spec=self.views[name], canonical=canonical)
        self.sources.append(source)
        return source

    @staticmethod
    def _table_node(source: _Source) -> exp.Table:
        return exp.Table(
            this=exp.Identifier(this=source.view, quoted=True),
            alias=exp.TableAlias(this=exp.Identifier(this=source.canonical, quoted=True)),
        )

    def _join(self, join: exp.Join, source: _Source) -> exp.Join:
        name = source.alias
        if join.args.get("method"):
            _refuse("JOIN", "join_condition", JOIN_USING.format(name=name, how=f"{join.args['method']} JOIN"))
        if (join.args.get("kind") or "").upper() == "CROSS":
            _refuse("JOIN", "cross_join", CROSS_JOIN.format(name=name))
        side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
        if side or kind not in ("", "INNER"):
            _refuse("JOIN", "join_kind", JOIN_KIND.format(kind=" ".join(part for part in (side, kind) if part)))
        if join.args.get("using"):
            _refuse("JOIN", "join_condition", JOIN_USING.format(name=name, how="USING (...)"))
        for key, value in join.args.items():
            if value and key not in ("this", "on", "kind"):
                _refuse("JOIN", "join_kind", JOIN_KIND.format(kind=_CLAUSES.get(key, key.upper())))
        on = join.args.get("on")
        if on is None:
            _refuse("JOIN", "cross_join", CROSS_JOIN.format(name=name))
        condition = _unparen(on)
        refused = JOIN_CONDITION.format(name=name, sql=_fragment(on))
        if not isinstance(condition, exp.EQ):
            _refuse("JOIN", "join_condition", refused)
        sides = [_unparen(condition.this), _unparen(condition.expression)]
        if not all(isinstance(side, exp.Column) for side in sides):
            _refuse("JOIN", "join_condition", refused)
        left, right = (self._resolve(side, "JOIN") for side in sides)
        if left.kind != "key" or right.kind != "key":
            _refuse("JOIN", "join_condition", refused)
        if right.source is source and left.source is not source:
            earlier = left
        elif left.source is source and right.source is not source:
            earlier = right
        else:
            _refuse("JOIN", "join_condition", refused)
        this = _Ref(source, source.spec.key, "key")
        return exp.Join(this=self._table_node(source), on=exp.EQ(this=earlier.node(), expression=this.node()))

    # --- Columns ---

    def _resolve(self, column: exp.Column, clause: str) -> _Ref:
        sql = _fragment(column)
        if column.args.get("db") or column.args.get("catalog"):
            _refuse(clause, "unknown_alias", QUALIFIED_COLUMN.format(sql=sql))
        if isinstance(column.this, exp.Star):
            _refuse(clause, "select_star", SELECT_STAR.format(sql=sql))
        name = _name(column.this, clause)
        qualifier = column.args.get("table")
        if qualifier is not None:
            alias = _name(qualifier, clause)
            source = next((source for source in self.sources if source.alias == alias), None)
            if source is None:
                aliases = ", ".join(source.alias for source in self.sources)
                _refuse(clause, "unknown_alias", UNKNOWN_ALIAS.format(qualifier=alias, sql=sql, aliases=aliases))
            if name not in source.spec.columns:
                _refuse(clause, "unknown_column", UNKNOWN_COLUMN.format(sql=sql, views=source.view))
            return _Ref(source, name, source.spec.columns[name].kind)
        candidates = [source for source in self.sources if name in source.spec.columns]
        if not candidates:
            views = ", ".join(dict.fromkeys(source.view for source in self.sources))
            _refuse(clause, "unknown_column", UNKNOWN_COLUMN.format(sql=sql, views=views))
        if len(candidates) > 1:
            aliases = ", ".join(source.alias for source in candidates)
            _refuse(clause, "ambiguous_column", AMBIGUOUS_COLUMN.format(column=name, aliases=aliases))
        return _Ref(candidates[0], name, candidates[0].spec.columns[name].kind)

    def _is_input_column(self, name: str) -> bool:
        return any(name in source.spec.columns for source in self.sources)

    def _dimension(
        self, node: exp.Expression, clause: str, *, output: bool = False
    ) -> tuple[exp.Expression, Dimension]:
        """A grouping expression: a dimension column or DATE_TRUNC over a time column (named for the output)."""
        node = _unparen(node)
        if isinstance(node, exp.TimestampTrunc):
            return self._date_trunc(node, clause)
        if not isinstance(node, exp.Column):
            _refuse_node(node, clause)
        ref = self._resolve(node, clause)
        if ref.kind == "key":
            if output:
                _refuse(clause, "user_key_in_output", USER_KEY_IN_OUTPUT)
            _refuse(clause, "key_column", KEY_COLUMN.format(sql=_fragment(node)))
        if ref.kind == "measure":
            _refuse(clause, "measure_column", MEASURE_COLUMN.format(sql=_fragment(node)))
        if ref.kind == "time":
            _refuse(clause, "time_column", TIME_COLUMN.format(sql=_fragment(node)))
        return ref.node(), Dimension(name=ref.column, view=ref.source.view, column=ref.column)

    def _date_trunc(self, node: exp.TimestampTrunc, clause: str) -> tuple[exp.Expression, Dimension]:
        sql = _fragment(node)
        unit = node.args.get("unit")
        if not isinstance(unit, exp.Var) or unit.name.lower() not in DATE_TRUNC_UNITS:
            _refuse(clause, "date_trunc", DATE_TRUNC_UNIT.format(sql=sql))
        if node.args.get("zone") is not None:
            _refuse(clause, "date_trunc", DATE_TRUNC_ZONE.format(sql=sql))
        for key, value in node.args.items():
            if value and key not in ("this", "unit", "input_type_preserved"):
                _refuse(clause, "date_trunc", DATE_TRUNC_UNIT.format(sql=sql))
        column = _unparen(node.this)
        if not isinstance(column, exp.Column):
            _refuse_node(column, clause)
        ref = self._resolve(column, clause)
        if ref.kind == "key":
            _refuse(clause, "key_column", KEY_COLUMN.format(sql=sql))
        if ref.kind != "time":
            _refuse(clause, "date_trunc", DATE_TRUNC_COLUMN.format(sql=sql))
        grain = unit.name.lower()
        canonical = exp.TimestampTrunc(this=ref.node(), unit=exp.Var(this=grain.upper()))
        return canonical, Dimension(name=grain, view=ref.source.view, column=ref.column, grain=grain)
