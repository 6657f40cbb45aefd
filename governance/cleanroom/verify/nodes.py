"""Helpers every clause check shares: refusing with a rule, rendering a fragment for a message, reading names
the way Postgres does, and naming the rule for a node that has no place where it stands."""

from __future__ import annotations

import re
from typing import NoReturn

from sqlglot import exp

from governance.cleanroom.verify.messages import (
    AGGREGATE_FILTER,
    CASE_EXPRESSION,
    CAST,
    DIALECT,
    EXPRESSION_NOT_ALLOWED,
    FUNCTION_NOT_ALLOWED,
    IDENTIFIER,
    OPERATOR_NOT_ALLOWED,
    PARAMETER,
    SELECT_STAR,
    SUBQUERY,
    WINDOW_FUNCTION,
)
from governance.cleanroom.verify.specs import QueryRefused

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"\d+")
_CLAUSES = {
    "with_": "WITH", "expressions": "SELECT", "from_": "FROM", "joins": "JOIN", "where": "WHERE", "group": "GROUP BY",
    "having": "HAVING", "order": "ORDER BY", "limit": "LIMIT", "distinct": "SELECT", "into": "INTO",
    "locks": "FOR UPDATE", "offset": "OFFSET", "windows": "WINDOW", "qualify": "QUALIFY", "laterals": "LATERAL",
    "sample": "TABLESAMPLE", "hint": "HINT", "pivots": "PIVOT", "prewhere": "PREWHERE", "connect": "CONNECT BY",
    "distribute": "DISTRIBUTE BY", "sort": "SORT BY", "cluster": "CLUSTER BY", "kind": "SELECT AS",
    "match": "MATCH_RECOGNIZE", "for_": "FOR", "exclude": "EXCLUDE", "operation_modifiers": "SELECT modifiers",
    "settings": "SETTINGS", "format": "FORMAT", "options": "OPTIONS",
}
_AGGREGATES = exp.Count | exp.Sum | exp.Avg
_COMPARISONS = exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE


def _refuse(clause: str, rule: str, message: str) -> NoReturn:
    raise QueryRefused(clause, rule, message)


def _fragment(node: exp.Expression) -> str:
    text = node.sql(dialect=DIALECT)
    return text if len(text) <= 120 else text[:117] + "..."


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _name(identifier: exp.Expression, clause: str) -> str:
    """A name as Postgres sees it: unquoted names fold to lower case, quoted ones keep theirs."""
    if not isinstance(identifier, exp.Identifier):
        _refuse(clause, "identifier", IDENTIFIER.format(text=_fragment(identifier)))
    text = identifier.this if identifier.quoted else identifier.this.lower()
    if not _IDENTIFIER.fullmatch(text):
        _refuse(clause, "identifier", IDENTIFIER.format(text=identifier.this))
    return text


def _number(value: float) -> exp.Literal:
    return exp.Literal.number(str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value))


def _is_function_call(node: exp.Expression) -> bool:
    """A function as the query wrote it: sqlglot also models AND, OR, ~ and COLLATE as functions."""
    return isinstance(node, exp.Func) and not isinstance(node, exp.Connector | exp.Predicate | exp.Collate)


def _refuse_node(node: exp.Expression, clause: str) -> NoReturn:
    """Refuse a node that has no place where it stands, with the rule that names what it is."""
    sql = _fragment(node)
    if isinstance(node, exp.Subquery | exp.Select | exp.Exists | exp.SetOperation):
        _refuse(clause, "subquery", SUBQUERY.format(sql=sql))
    if isinstance(node, exp.Window):
        _refuse(clause, "window_function", WINDOW_FUNCTION.format(sql=sql))
    if isinstance(node, exp.Placeholder | exp.Parameter):
        _refuse(clause, "parameter", PARAMETER.format(text=sql))
    if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
        _refuse(clause, "select_star", SELECT_STAR.format(sql=sql))
    if isinstance(node, exp.Cast):
        _refuse(clause, "cast", CAST.format(sql=sql))
    if isinstance(node, exp.Case):
        _refuse(clause, "case_expression", CASE_EXPRESSION.format(sql=sql))
    if isinstance(node, exp.Filter):
        _refuse(clause, "expression_not_allowed", AGGREGATE_FILTER.format(sql=sql))
    if _is_function_call(node) and not isinstance(node, _AGGREGATES):
        # The name as Postgres would see it (sqlglot's class names are its own: EXPLODING_GENERATE_SERIES).
        written = re.match(r"[A-Za-z_][A-Za-z0-9_]*", sql)
        name = written.group() if written else node.sql_name()
        _refuse(clause, "function_not_allowed", FUNCTION_NOT_ALLOWED.format(name=name.upper(), sql=sql))
    if isinstance(node, exp.Binary | exp.Unary) and not isinstance(node, exp.Paren):
        _refuse(clause, "operator_not_allowed", OPERATOR_NOT_ALLOWED.format(sql=sql))
    _refuse(clause, "expression_not_allowed", EXPRESSION_NOT_ALLOWED.format(sql=sql))
