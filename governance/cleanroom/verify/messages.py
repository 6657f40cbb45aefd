"""The verifier's limits, its rule ids (RULES) and every message it refuses with, as module constants so callers
and tests can match them exactly."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DIALECT = "postgres"
USERS_COLUMN = "__users"
MAX_SQL_CHARS = 20_000
MAX_NESTING = 32  # brackets deep; real queries use a handful, the parser recurses on each
AGGREGATE_KINDS = ("count", "count_distinct", "sum", "avg")
COLUMN_KINDS = ("key", "dimension", "measure", "time")
DATE_TRUNC_UNITS = ("day", "week", "month")

# Rule id → what it refuses. `QueryRefused.rule` is always one of these; the clause says where.
RULES: Mapping[str, str] = MappingProxyType(
    {
        "parse_error": "text sqlglot cannot tokenize or parse, an empty query, or stray non-token text",
        "too_long": "a query over MAX_SQL_CHARS characters",
        "too_complex": "brackets nested deeper than MAX_NESTING, or AND/OR/NOT chains too deep to walk",
        "comment": "a -- or /* */ comment anywhere (comments can change meaning across dialects)",
        "multiple_statements": "anything after a ';' (one trailing ';' is fine)",
        "parameter": "bind parameters and placeholders ($1, ?, :name, %s, @x): queries carry their literals",
        "string_literal": "a string that is not a plain '...' of letters, digits, spaces and _ - . : / + @ & # , ( )",
        "identifier": "a name that is not [A-Za-z_][A-Za-z0-9_]* of at most 63 characters (quoting tricks, escapes)",
        "not_select": "anything but a SELECT: DDL, DML, COPY, SET, EXPLAIN, VALUES, ...",
        "cte": "WITH (common table expressions)",
        "set_operation": "UNION, INTERSECT, EXCEPT",
        "subquery": "a subquery anywhere: FROM, IN (SELECT ...), EXISTS, scalar",
        "lateral": "LATERAL",
        "window_function": "OVER (...) or a WINDOW clause",
        "clause_not_allowed": "INTO, FOR UPDATE/SHARE, OFFSET, FETCH, ORDER BY ... WITH FILL and other clauses",
        "select_distinct": "SELECT DISTINCT (ON): group by the dimensions instead",
        "select_star": "* or alias.* anywhere but COUNT(*)",
        "missing_from": "a query without FROM",
        "not_a_view": "FROM/JOIN of anything but a view name (VALUES, parenthesised joins)",
        "unknown_view": "a table that is not a clean-room view, including any schema-qualified name",
        "view_not_leased": "a clean-room view the lease does not grant",
        "table_syntax": "ONLY, TABLESAMPLE, a column alias list AS e(k, ...) and other table modifiers",
        "duplicate_alias": "two FROM/JOIN items with the same alias",
        "cross_join": "a comma join, CROSS JOIN or JOIN without ON",
        "join_kind": "LEFT/RIGHT/FULL and other non-inner joins: aggregates could cover users __users does not",
        "join_condition": "ON other than exactly <earlier view>.user_key = <joined view>.user_key; USING; NATURAL",
        "unknown_alias": "a qualifier that is not a FROM/JOIN alias, or a schema-qualified column",
        "unknown_column": "a column the views in the query do not have",
        "ambiguous_column": "an unqualified column that several joined views have",
        "user_key_in_output": "user_key in the SELECT list however quoted, bracketed or aliased; an output named so",
        "key_column": "user_key anywhere but COUNT(DISTINCT user_key) and the JOIN condition",
        "measure_column": "a measure (units, revenue) outside SUM/AVG",
        "time_column": "ts outside DATE_TRUNC and WHERE ranges",
        "date_trunc": "DATE_TRUNC with a unit not day, week or month, a time zone, or over a non-time column",
        "cast": "CAST and ::, except a typed whole-day date literal (DATE '2024-01-31') compared with ts",
        "function_not_allowed": "a function off the allow-list COUNT, SUM, AVG, DATE_TRUNC (MIN/MAX included)",
        "case_expression": "CASE",
        "operator_not_allowed": "arithmetic, ||, LIKE, regex, IS, bitwise and other operators",
        "expression_not_allowed": "constants in the output, aggregate FILTER, arrays, intervals, anything unlisted",
        "aggregate_argument": (
            "COUNT(col), COUNT(DISTINCT non-key), SUM/AVG over a non-measure, SUM(DISTINCT), nested aggregates, "
            "a clamp other than LEAST(GREATEST(measure, 0), positive number)"
        ),
        "reserved_name": "an output named __... (except the canonical __users column itself)",
        "duplicate_output": "two output columns with the same name",
        "ungrouped_column": "a non-aggregate output not in GROUP BY: a row-level select",
        "predicate_form": "a WHERE predicate that is not <column> <op> <literal(s)>: tautologies, NULL, booleans",
        "column_comparison": "a WHERE comparison between two columns",
        "aggregate_in_where": "an aggregate in WHERE",
        "time_predicate": "ts filters other than >=, < and BETWEEN (rewritten to whole days): =, <>, IN, >, <=",
        "time_granularity": "a ts bound finer than a whole day: exact-second windows make differencing pairs",
        "grouping_sets": "ROLLUP, CUBE, GROUPING SETS",
        "group_by_item": "GROUP BY other than a dimension, DATE_TRUNC(ts), output name or output position",
        "group_by_not_selected": "a GROUP BY dimension not in the output: every row must say which group it is",
        "having_form": "a HAVING predicate that is not <aggregate> <op> <number>",
        "order_by_not_output": "ORDER BY something that is not an output column",
        "limit": "LIMIT other than a non-negative integer literal",
    }
)

# Every message says exactly what was refused and why; `{sql}` is the offending fragment as sqlglot renders it.
NOT_A_STRING = "sql: must be a string; got {type}"
PARSE_ERROR = "the query could not be parsed: {detail}"
EMPTY_QUERY = "the query is empty"
TOO_LONG = "the query is {length} characters long; at most {limit} are accepted"
TOO_COMPLEX = f"the query is nested too deeply (at most {MAX_NESTING} levels of brackets; use IN lists for many values)"
COMMENT = "comments are not allowed (they can change a query's meaning across SQL dialects): found {text!r}"
STRAY_TEXT = "only whitespace may separate tokens: found {text!r}"
MULTIPLE_STATEMENTS = "only one statement is accepted: found {text!r} after ';'"
PARAMETER = "bind parameters and placeholders are not allowed (write the literal): found {text!r}"
STRING_LITERAL_KIND = "only plain '...' string literals are allowed (no E'', U&'', $$, B'' or X''): found {text!r}"
STRING_LITERAL_ESCAPE = "string literals cannot contain quotes or escapes: found {text!r}"
STRING_LITERAL_CHARS = (
    "string literals may hold letters, digits, spaces and _ - . : / + @ & # , ( ) only, up to 256 characters: "
    "found {text!r}"
)
STRING_LITERAL_ADJACENT = "adjacent string literals are concatenated by Postgres; write one literal: found {text!r}"
IDENTIFIER = "names must be letters, digits and underscores (at most 63, not starting with a digit): found {text!r}"
NOT_SELECT = "only SELECT queries are accepted; this is a {kind} statement and nothing was run"
CTE = "WITH (common table expressions) is not allowed: write one SELECT over the views"
SET_OPERATION = "{operator} is not allowed: each query is one SELECT, so its rows can be counted for k-anonymity"
SUBQUERY = "subqueries are not allowed: found {sql!r}"
LATERAL = "LATERAL is not allowed: found {sql!r}"
WINDOW_FUNCTION = "window functions (OVER) are not allowed: they compute over rows before aggregation: found {sql!r}"
CLAUSE_NOT_ALLOWED = "{clause} is not allowed in clean-room queries"
SELECT_DISTINCT = "SELECT DISTINCT is not allowed: GROUP BY the dimensions instead (COUNT(DISTINCT user_key) is fine)"
SELECT_STAR = "* is not allowed: select dimensions and aggregates by name (COUNT(*) is fine): found {sql!r}"
MISSING_FROM = "the query has no FROM: select from one of the views {views}"
NOT_A_VIEW = "only views can be queried, by name: found {sql!r}"
UNKNOWN_VIEW = "{name} is not a clean-room view; the views are {views}"
QUALIFIED_VIEW = "{name} is schema-qualified; views are referenced by bare name: {views}"
VIEW_NOT_LEASED = "{name} is not granted by this lease; it grants {views}"
TABLE_SYNTAX = "{name}: {what} is not allowed on a view"
DUPLICATE_ALIAS = "{alias} names two FROM/JOIN items; give each its own alias"
CROSS_JOIN = "{name} is joined without ON: cross and comma joins are not allowed; JOIN ... ON a.user_key = b.user_key"
JOIN_KIND = (
    "{kind} JOIN is not allowed: only inner joins, so every aggregate covers exactly the users counted in __users"
)
JOIN_CONDITION = "{name} must be joined ON <earlier view>.user_key = {name}.user_key and nothing else: found {sql!r}"
JOIN_USING = "{name}: JOIN ... {how} is not allowed; write ON <earlier view>.user_key = {name}.user_key"
UNKNOWN_ALIAS = "{qualifier} in {sql!r} is not a FROM/JOIN alias; the aliases are {aliases}"
QUALIFIED_COLUMN = "{sql!r}: columns are referenced as column or alias.column only"
UNKNOWN_COLUMN = "{sql!r} is not a column of {views}"
AMBIGUOUS_COLUMN = "{column} is a column of several joined views ({aliases}): qualify it with its alias"
USER_KEY_IN_OUTPUT = "user_key cannot be selected: only aggregates leave the clean room"
USER_KEY_ALIAS = "no output column may be named user_key: only aggregates leave the clean room"
KEY_COLUMN = "{sql!r}: user_key may only appear as COUNT(DISTINCT user_key) and in JOIN ... ON a.user_key = b.user_key"
MEASURE_COLUMN = "{sql!r} is a measure: it can only be aggregated with SUM or AVG"
TIME_COLUMN = "{sql!r} is a timestamp: group by DATE_TRUNC('day'|'week'|'month', ts) or filter it with a WHERE range"
DATE_TRUNC_UNIT = "DATE_TRUNC unit must be a literal 'day', 'week' or 'month': found {sql!r}"
DATE_TRUNC_ZONE = "DATE_TRUNC takes no time zone argument here: found {sql!r}"
DATE_TRUNC_COLUMN = "DATE_TRUNC applies to a timestamp column only: found {sql!r}"
CAST = "casts are not allowed (they can leak or reshape values): found {sql!r}"
FUNCTION_NOT_ALLOWED = "{name} is not on the function allow-list (COUNT, SUM, AVG, DATE_TRUNC): found {sql!r}"
CASE_EXPRESSION = "CASE expressions are not allowed: found {sql!r}"
OPERATOR_NOT_ALLOWED = "operators other than comparisons, IN, BETWEEN, AND, OR and NOT are not allowed: found {sql!r}"
EXPRESSION_NOT_ALLOWED = "{sql!r} is not allowed here: only dimensions, DATE_TRUNC and aggregates can be selected"
AGGREGATE_FILTER = "aggregate FILTER is not allowed (it would aggregate fewer users than __users counts): found {sql!r}"
COUNT_ARGUMENT = "COUNT takes * or DISTINCT user_key: found {sql!r}"
COUNT_DISTINCT_ARGUMENT = "COUNT(DISTINCT ...) counts users: only COUNT(DISTINCT user_key) is allowed: found {sql!r}"
SUM_DISTINCT = "{function}(DISTINCT ...) is not allowed: found {sql!r}"
NOT_A_MEASURE = "{function} takes a measure column ({measures}): found {sql!r}"
NESTED_AGGREGATE = "aggregates cannot be nested: found {sql!r}"
BAD_CLAMP = (
    "the only expression allowed inside SUM/AVG is LEAST(GREATEST(<measure>, 0), <positive number>): found {sql!r}"
)
RESERVED_NAME = "output names starting with __ are reserved: found {name!r}"
DUPLICATE_OUTPUT = "two output columns are named {name!r}: give one of them an alias"
UNGROUPED_COLUMN = "{sql!r} is neither aggregated nor in GROUP BY: row-level values cannot leave the clean room"
PREDICATE_FORM = (
    "WHERE predicates compare one allowed column with literals (=, <>, <, <=, >, >=, IN, BETWEEN): found {sql!r}"
)
LITERAL_VALUE = "compare with a string or number literal: found {sql!r}"
COLUMN_COMPARISON = "comparisons between columns are not allowed (only the JOIN key): found {sql!r}"
AGGREGATE_IN_WHERE = "aggregates are not allowed in WHERE (use HAVING): found {sql!r}"
TIME_PREDICATE = (
    "ts is filtered with whole-day ranges: ts >= '<day>', ts < '<day>' or ts BETWEEN '<day>' AND '<day>' "
    "(whole days, the last included); not =, <>, IN, > or <=: found {sql!r}"
)
TIME_GRANULARITY = "ts can only be compared with a whole-day date such as '2024-01-31': found {sql!r}"
GROUPING_SETS = "ROLLUP, CUBE and GROUPING SETS are not allowed: found {sql!r}"
GROUP_BY_ALL = "GROUP BY ALL is not allowed: name the dimensions"
GROUP_BY_ITEM = "GROUP BY takes dimensions, DATE_TRUNC(ts), output names or output positions: found {sql!r}"
GROUP_BY_POSITION = "GROUP BY {position} does not refer to a selected dimension"
GROUP_BY_NOT_SELECTED = "{sql!r} is grouped by but not selected: every output row must say which group it is"
HAVING_FORM = "HAVING predicates compare an aggregate with a number: found {sql!r}"
ORDER_BY_NOT_OUTPUT = "ORDER BY takes output columns (by name, position or the same expression): found {sql!r}"
LIMIT = "LIMIT takes a non-negative integer literal: found {sql!r}"

SPEC_UNKNOWN_KIND = "kind: must be one of {kinds}; got {value!r}"
SPEC_BOUND_KIND = "bound: only measures have a bound; this column is a {kind}"
SPEC_BOUND = "bound: must be a finite positive number; got {value!r}"
SPEC_COLUMN_NAME = "columns: {name!r} is not a lowercase SQL name"
SPEC_ONE_KEY = "columns: a view has exactly one key column; found {count}"
SPEC_VIEW_NAME = "views: {name!r} is not a lowercase SQL name"
