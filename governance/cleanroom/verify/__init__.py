"""Query verifier of the retailer's clean room: a brand's SQL is parsed with sqlglot, checked against a restricted
aggregate-only dialect and re-rendered as canonical Postgres, or refused with the clause and rule it broke.

Nothing here executes SQL. The executor runs `VerifiedQuery.sql`, never the text it was given: that SQL is rebuilt
node by node from what passed the checks, so anything the checks did not look at cannot reach the database. It
carries `COUNT(DISTINCT <key>) AS __users` on every row so the executor can suppress groups below k users, clamps
SUM/AVG arguments to the view's bounds so the DP layer has a finite sensitivity, and has a stable fingerprint so
the DP ledger can re-serve an identical query without spending budget again.

Rules are listed in RULES; a refused query reports the first rule it breaks, clause by clause. Left to the layers
above: suppressing rows whose `__users` is below k, noise, per-user contribution bounds across join fan-out, and
re-applying HAVING / ORDER BY / LIMIT to noised values (Postgres evaluates them on exact ones).

The package: messages (limits, RULES, every message), specs (the public types), lexical (token checks and the parse),
nodes (shared helpers), then one module per clause group (scope: FROM/JOIN and columns, outputs: SELECT and
aggregates, where, grouping: GROUP BY to LIMIT) under statement, which rebuilds the canonical SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from governance.cleanroom.verify.lexical import _check_text, _parse
from governance.cleanroom.verify.messages import (
    AGGREGATE_FILTER,
    AGGREGATE_IN_WHERE,
    AGGREGATE_KINDS,
    AMBIGUOUS_COLUMN,
    BAD_CLAMP,
    CASE_EXPRESSION,
    CAST,
    CLAUSE_NOT_ALLOWED,
    COLUMN_COMPARISON,
    COLUMN_KINDS,
    COMMENT,
    COUNT_ARGUMENT,
    COUNT_DISTINCT_ARGUMENT,
    CROSS_JOIN,
    CTE,
    DATE_TRUNC_COLUMN,
    DATE_TRUNC_UNIT,
    DATE_TRUNC_UNITS,
    DATE_TRUNC_ZONE,
    DIALECT,
    DUPLICATE_ALIAS,
    DUPLICATE_OUTPUT,
    EMPTY_QUERY,
    EXPRESSION_NOT_ALLOWED,
    FUNCTION_NOT_ALLOWED,
    GROUP_BY_ALL,
    GROUP_BY_ITEM,
    GROUP_BY_NOT_SELECTED,
    GROUP_BY_POSITION,
    GROUPING_SETS,
    HAVING_FORM,
    IDENTIFIER,
    JOIN_CONDITION,
    JOIN_KIND,
    JOIN_USING,
    KEY_COLUMN,
    LATERAL,
    LIMIT,
    LITERAL_VALUE,
    MAX_NESTING,
    MAX_SQL_CHARS,
    MEASURE_COLUMN,
    MISSING_FROM,
    MULTIPLE_STATEMENTS,
    NESTED_AGGREGATE,
    NOT_A_MEASURE,
    NOT_A_STRING,
    NOT_A_VIEW,
    NOT_SELECT,
    OPERATOR_NOT_ALLOWED,
    ORDER_BY_NOT_OUTPUT,
    PARAMETER,
    PARSE_ERROR,
    PREDICATE_FORM,
    QUALIFIED_COLUMN,
    QUALIFIED_VIEW,
    RESERVED_NAME,
    RULES,
    SELECT_DISTINCT,
    SELECT_STAR,
    SET_OPERATION,
    SPEC_BOUND,
    SPEC_BOUND_KIND,
    SPEC_COLUMN_NAME,
    SPEC_ONE_KEY,
    SPEC_UNKNOWN_KIND,
    SPEC_VIEW_NAME,
    STRAY_TEXT,
    STRING_LITERAL_ADJACENT,
    STRING_LITERAL_CHARS,
    STRING_LITERAL_ESCAPE,
    STRING_LITERAL_KIND,
    SUBQUERY,
    SUM_DISTINCT,
    TABLE_SYNTAX,
    TIME_COLUMN,
    TIME_GRANULARITY,
    TIME_PREDICATE,
    TOO_COMPLEX,
    TOO_LONG,
    UNGROUPED_COLUMN,
    UNKNOWN_ALIAS,
    UNKNOWN_COLUMN,
    UNKNOWN_VIEW,
    USER_KEY_ALIAS,
    USER_KEY_IN_OUTPUT,
    USERS_COLUMN,
    VIEW_NOT_LEASED,
    WINDOW_FUNCTION,
)
from governance.cleanroom.verify.nodes import _refuse
from governance.cleanroom.verify.specs import (
    _LOWER_IDENTIFIER,
    DEFAULT_VIEWS,
    Aggregate,
    AggregateKind,
    ColumnKind,
    ColumnSpec,
    Dimension,
    QueryRefused,
    VerifiedQuery,
    ViewSpec,
)
from governance.cleanroom.verify.statement import _Verifier

__all__ = [
    "AGGREGATE_FILTER", "AGGREGATE_IN_WHERE", "AGGREGATE_KINDS", "AMBIGUOUS_COLUMN", "Aggregate", "AggregateKind",
    "BAD_CLAMP", "CASE_EXPRESSION", "CAST", "CLAUSE_NOT_ALLOWED", "COLUMN_COMPARISON", "COLUMN_KINDS", "COMMENT",
    "COUNT_ARGUMENT", "COUNT_DISTINCT_ARGUMENT", "CROSS_JOIN", "CTE", "ColumnKind", "ColumnSpec",
    "DATE_TRUNC_COLUMN", "DATE_TRUNC_UNIT", "DATE_TRUNC_UNITS", "DATE_TRUNC_ZONE", "DEFAULT_VIEWS", "DIALECT",
    "DUPLICATE_ALIAS", "DUPLICATE_OUTPUT", "Dimension", "EMPTY_QUERY", "EXPRESSION_NOT_ALLOWED",
    "FUNCTION_NOT_ALLOWED", "GROUPING_SETS", "GROUP_BY_ALL", "GROUP_BY_ITEM", "GROUP_BY_NOT_SELECTED",
    "GROUP_BY_POSITION", "HAVING_FORM", "IDENTIFIER", "JOIN_CONDITION", "JOIN_KIND", "JOIN_USING", "KEY_COLUMN",
    "LATERAL", "LIMIT", "LITERAL_VALUE", "MAX_NESTING", "MAX_SQL_CHARS", "MEASURE_COLUMN", "MISSING_FROM",
    "MULTIPLE_STATEMENTS", "NESTED_AGGREGATE", "NOT_A_MEASURE", "NOT_A_STRING", "NOT_A_VIEW", "NOT_SELECT",
    "OPERATOR_NOT_ALLOWED", "ORDER_BY_NOT_OUTPUT", "PARAMETER", "PARSE_ERROR", "PREDICATE_FORM", "QUALIFIED_COLUMN",
    "QUALIFIED_VIEW", "QueryRefused", "RESERVED_NAME", "RULES", "SELECT_DISTINCT", "SELECT_STAR", "SET_OPERATION",
    "SPEC_BOUND", "SPEC_BOUND_KIND", "SPEC_COLUMN_NAME", "SPEC_ONE_KEY", "SPEC_UNKNOWN_KIND", "SPEC_VIEW_NAME",
    "STRAY_TEXT", "STRING_LITERAL_ADJACENT", "STRING_LITERAL_CHARS", "STRING_LITERAL_ESCAPE", "STRING_LITERAL_KIND",
    "SUBQUERY", "SUM_DISTINCT", "TABLE_SYNTAX", "TIME_COLUMN", "TIME_GRANULARITY", "TIME_PREDICATE", "TOO_COMPLEX",
    "TOO_LONG", "UNGROUPED_COLUMN", "UNKNOWN_ALIAS", "UNKNOWN_COLUMN", "UNKNOWN_VIEW", "USERS_COLUMN",
    "USER_KEY_ALIAS", "USER_KEY_IN_OUTPUT", "VIEW_NOT_LEASED", "VerifiedQuery", "ViewSpec", "WINDOW_FUNCTION",
    "verify",
]


def verify(
    sql: str, *, views: Mapping[str, ViewSpec] | None = None, allowed_views: AbstractSet[str] | None = None
) -> VerifiedQuery:
    """Verify `sql` and return the canonical query to run, or raise `QueryRefused` having run nothing.

    `views` defaults to DEFAULT_VIEWS; `allowed_views` (the lease) defaults to all of them.
    """
    if not isinstance(sql, str):
        raise TypeError(NOT_A_STRING.format(type=type(sql).__name__))
    views = DEFAULT_VIEWS if views is None else views
    for name in views:
        if not isinstance(name, str) or not _LOWER_IDENTIFIER.fullmatch(name):
            raise ValueError(SPEC_VIEW_NAME.format(name=name))
    leased = set(views) if allowed_views is None else set(allowed_views) & set(views)
    _check_text(sql)
    try:
        return _Verifier(views, leased).verify(_parse(sql))
    except RecursionError:  # a backstop: MAX_NESTING keeps brackets shallow, long AND/OR chains can still be deep
        _refuse("SQL", "too_complex", TOO_COMPLEX)
