"""The clean-room query corpus: queries a brand may run, and attempts to get around the rules, each with the
(clause, rule) it must be refused with. Built by hand and by varying spellings, quoting, aliases and filters."""

# ruff: noqa: S608 - building SQL from strings is the point: these are the attacks the verifier must refuse
from __future__ import annotations

from itertools import product

# --- Allowed -------------------------------------------------------------------------------------------------------

HAND_ALLOWED = [
    "SELECT placement, COUNT(*) AS impressions FROM exposures GROUP BY placement",
    "select region, count(distinct user_key) as reach from exposures group by region",
    "SELECT COUNT(*) FROM exposures",
    "SELECT COUNT(DISTINCT user_key) FROM purchases",
    "SELECT SUM(revenue), SUM(units) FROM purchases",
    "SELECT AVG(revenue) AS basket FROM purchases WHERE region = 'US-W'",
    "SELECT segment, COUNT(DISTINCT user_key) AS shoppers FROM segments GROUP BY segment",
    "SELECT audience, COUNT(*) AS members FROM audience GROUP BY audience",
    "SELECT date_trunc('week', ts) AS week, COUNT(*) AS impressions FROM exposures GROUP BY 1",
    "SELECT DATE_TRUNC('day', ts) AS day, SUM(revenue) AS sales FROM purchases GROUP BY DATE_TRUNC('day', ts)",
    "SELECT date_trunc('month', ts), SUM(units) FROM purchases GROUP BY date_trunc('month', ts)",
    "SELECT date_trunc('Week', ts) AS week, region, COUNT(*) FROM exposures GROUP BY week, region ORDER BY week",
    "SELECT campaign_id, placement, COUNT(*) AS n FROM exposures GROUP BY campaign_id, placement ORDER BY n DESC",
    "SELECT e.placement, SUM(p.revenue) AS sales, COUNT(DISTINCT e.user_key) AS buyers "
    "FROM exposures e JOIN purchases p ON e.user_key = p.user_key GROUP BY e.placement",
    "SELECT e.campaign_id, COUNT(DISTINCT p.user_key) AS converters FROM exposures AS e "
    "INNER JOIN purchases AS p ON p.user_key = e.user_key WHERE p.gtin14 IN ('00012345678905', '00012345678912') "
    "GROUP BY e.campaign_id",
    "SELECT s.segment, AVG(p.units) FROM segments s JOIN purchases p ON (s.user_key = p.user_key) GROUP BY s.segment",
    "SELECT a.audience, e.placement, COUNT(*) FROM exposures e JOIN audience a ON e.user_key = a.user_key "
    "GROUP BY a.audience, e.placement",
    "SELECT a.audience, SUM(p.revenue) AS sales FROM audience a JOIN purchases p ON a.user_key = p.user_key "
    "WHERE a.audience = 'lapsed_buyers' GROUP BY a.audience",
    "SELECT e.region, COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = p.user_key "
    "JOIN segments s ON s.user_key = p.user_key WHERE s.segment <> 'staff' GROUP BY e.region",
    "SELECT COUNT(*) AS overlap FROM exposures x JOIN exposures y ON x.user_key = y.user_key "
    "WHERE x.campaign_id = 'c-1' AND y.campaign_id = 'c-2'",
    "SELECT region, COUNT(*) FROM exposures WHERE ts >= '2024-01-01' AND ts < '2024-02-01' GROUP BY region",
    "SELECT region, COUNT(*) FROM exposures WHERE ts BETWEEN '2024-01-01' AND '2024-01-31' GROUP BY region",
    "SELECT gtin14, SUM(units) FROM purchases WHERE DATE '2024-03-01' <= ts GROUP BY gtin14",
    "SELECT gtin14, SUM(units) FROM purchases WHERE ts < '2024-03-31 00:00:00' GROUP BY gtin14",
    "SELECT gtin14, SUM(units) FROM purchases WHERE '2024-03-31' > ts GROUP BY gtin14",
    "SELECT COUNT(*) AS new_year FROM purchases WHERE ts BETWEEN '2024-01-01' AND '2024-01-01'",
    "SELECT COUNT(*) FROM purchases WHERE NOT ts BETWEEN DATE '2024-01-01' AND DATE '2024-01-07'",
    "SELECT COUNT(*) FROM exposures WHERE date_trunc('day', ts) <= '2024-01-31'",
    "SELECT COUNT(*) FROM exposures WHERE date_trunc('week', ts) BETWEEN '2024-01-01' AND '2024-01-29'",
    "SELECT gtin14, SUM(units) FROM purchases WHERE ts >= '2024-03-01'::date GROUP BY gtin14",
    "SELECT COUNT(*) FROM purchases WHERE ts >= TIMESTAMP '2024-03-01 00:00' AND ts < TIMESTAMPTZ '2024-04-01'",
    "SELECT COUNT(*) FROM exposures WHERE date_trunc('week', ts) = '2024-01-01'",
    "SELECT COUNT(*) FROM exposures WHERE date_trunc('month', ts) IN ('2024-01-01', '2024-02-01')",
    "SELECT placement, COUNT(*) FROM exposures WHERE placement NOT IN ('search', 'banner') GROUP BY placement",
    "SELECT placement, COUNT(*) FROM exposures WHERE NOT (region = 'US-W' OR region = 'US-E') GROUP BY placement",
    "SELECT placement, COUNT(*) FROM exposures WHERE campaign_id = 'c-42' GROUP BY placement",
    "SELECT placement, COUNT(*) FROM exposures WHERE campaign_id BETWEEN 'c-10' AND 'c-20' GROUP BY placement",
    "SELECT placement, COUNT(*) FROM exposures WHERE 'search' = placement GROUP BY placement",
    "SELECT gtin14, SUM(revenue) FROM purchases GROUP BY gtin14 HAVING SUM(revenue) > -1 OR NOT COUNT(*) < 5",
    "SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*) > 100",
    "SELECT region, SUM(revenue) FROM purchases GROUP BY region HAVING SUM(revenue) >= 1000 AND COUNT(*) > 50",
    "SELECT region, SUM(revenue) FROM purchases GROUP BY region HAVING AVG(revenue) BETWEEN 5 AND 50",
    "SELECT region, COUNT(*) AS n FROM exposures GROUP BY region ORDER BY COUNT(*) DESC LIMIT 10",
    "SELECT region, COUNT(*) AS n FROM exposures GROUP BY region ORDER BY 2 DESC, 1 LIMIT 3",
    "SELECT region, COUNT(*) AS n FROM exposures GROUP BY region ORDER BY region ASC NULLS FIRST",
    "SELECT region AS area, COUNT(*) FROM exposures GROUP BY area ORDER BY area",
    "SELECT region, COUNT(*) FROM exposures GROUP BY region LIMIT 0",
    "SELECT SUM(LEAST(GREATEST(revenue, 0), 100)) AS capped FROM purchases",
    "SELECT AVG(LEAST(GREATEST(units, 0), 5)) FROM purchases",
    'SELECT "region", COUNT(*) AS "Impressions" FROM "exposures" GROUP BY "region"',
    "SELECT COUNT(*) FROM exposures;",
    "  select\n\tcount(*)\nfrom exposures\n  ;  ",
    "SELECT e.region, COUNT(*) FROM exposures e JOIN exposures e2 ON e2.user_key = e.user_key GROUP BY e.region",
    "SELECT region, COUNT(*) FROM exposures WHERE region IN ('North-East', 'Île-de-France') GROUP BY region",
    "SELECT COUNT(*) FROM exposures WHERE placement = 'home page (top)' AND region = 'us/west'",
    "SELECT COUNT(*) FROM exposures WHERE placement = 'a--b'",
]

# Programmatic variety: each view's dimensions × its aggregates × a filter.
DIMENSIONS = {
    "exposures": ["placement", "region", "campaign_id", "date_trunc('day', ts)", "date_trunc('week', ts)"],
    "purchases": ["gtin14", "region", "date_trunc('month', ts)"],
    "segments": ["segment"],
    "audience": ["audience"],
}
AGGREGATES = {
    "exposures": ["COUNT(*)", "COUNT(DISTINCT user_key)"],
    "purchases": ["COUNT(*)", "SUM(revenue)", "AVG(units)", "COUNT(DISTINCT user_key)"],
    "segments": ["COUNT(DISTINCT user_key)"],
    "audience": ["COUNT(*)"],
}
FILTERS = {
    "exposures": ["", " WHERE campaign_id IN ('c-1', 'c-2')", " WHERE ts BETWEEN '2024-01-01' AND '2024-03-31'"],
    "purchases": ["", " WHERE gtin14 = '00012345678905'", " WHERE ts >= '2024-01-01' AND ts < '2024-02-01'"],
    "segments": ["", " WHERE segment IN ('pet_owners', 'new_parents')"],
    "audience": ["", " WHERE audience <> 'holdout'"],
}


def _generated_allowed() -> list[str]:
    queries = []
    for view, dimensions in DIMENSIONS.items():
        for dimension, aggregate, where in product(dimensions, AGGREGATES[view], FILTERS[view]):
            queries.append(f"SELECT {dimension}, {aggregate} FROM {view}{where} GROUP BY {dimension}")
    joins = [
        ("e.placement", "SUM(p.revenue)"),
        ("e.region", "COUNT(DISTINCT e.user_key)"),
        ("p.gtin14", "AVG(p.units)"),
        ("date_trunc('week', p.ts)", "SUM(p.units)"),
    ]
    for dimension, aggregate in joins:
        queries.append(
            f"SELECT {dimension}, {aggregate} FROM exposures e JOIN purchases p ON e.user_key = p.user_key "
            f"WHERE e.ts >= '2024-01-01' GROUP BY {dimension} ORDER BY 2 DESC LIMIT 20"
        )
    return queries


ALLOWED = HAND_ALLOWED + _generated_allowed()

# --- Refused -------------------------------------------------------------------------------------------------------

E = "SELECT COUNT(*) FROM exposures"  # a base query the refusals below extend
JOIN = "FROM exposures e JOIN purchases p ON e.user_key = p.user_key"

HAND_REFUSED = [
    # parsing, text and tokens
    ("SELECT COUNT(* FROM exposures", "SQL", "parse_error"),
    ("SELEKT COUNT(*) FROM exposures", "SQL", "parse_error"),
    ("", "SQL", "parse_error"),
    ("   ;", "SQL", "parse_error"),
    ("SELECT COUNT(*) FROM exposures WHERE", "SQL", "parse_error"),
    ("SELECT COUNT(*) FROM exposures " + "AND region = 'x' " * 1300, "SQL", "too_long"),
    (E + " -- WHERE region = 'x'", "SQL", "comment"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region -- HAVING COUNT(*) > 100", "SQL", "comment"),
    ("SELECT COUNT(*) FROM exposures WHERE region = 'x' --' AND placement = 'y'", "SQL", "comment"),
    ("SELECT COUNT(*) /* sneaky */ FROM exposures", "SQL", "comment"),
    ("SELECT/**/COUNT(*)/**/FROM/**/exposures", "SQL", "comment"),
    ("SELECT /*+ SeqScan(exposures) */ COUNT(*) FROM exposures", "SQL", "comment"),
    ("SELECT COUNT(*) FROM exposures /* /* nested */ */", "SQL", "comment"),
    ("SELECT COUNT(*) FROM exposures\n-- trailing", "SQL", "comment"),
    ("SELECT COUNT(*) FROM exposures WHERE region = 'x' /*' OR 1=1 --*/", "SQL", "comment"),
    (E + "; DROP TABLE exposures", "SQL", "multiple_statements"),
    (E + "; SELECT user_key FROM exposures", "SQL", "multiple_statements"),
    (E + ";;", "SQL", "multiple_statements"),
    (E + "; select pg_sleep(10)", "SQL", "multiple_statements"),
    (E + " WHERE region = $1", "SQL", "parameter"),
    (E + " WHERE region = ?", "SQL", "parameter"),
    (E + " WHERE region = :region", "SQL", "parameter"),
    (E + " WHERE region = %s", "SQL", "parameter"),
    (E + " WHERE region = %(region)s", "SQL", "parameter"),
    (E + " WHERE region = @region", "SQL", "parameter"),
    (E + " WHERE region = E'x\\' OR 1=1'", "SQL", "string_literal"),
    (E + " WHERE region = e'\\x41'", "SQL", "string_literal"),
    (E + " WHERE region = U&'d\\0061t\\+000061'", "SQL", "string_literal"),
    (E + " WHERE region = $$x$$", "SQL", "string_literal"),
    (E + " WHERE region = $tag$x$tag$", "SQL", "string_literal"),
    (E + " WHERE region = 'it''s'", "SQL", "string_literal"),
    (E + " WHERE region = 'a\\'", "SQL", "string_literal"),
    (E + " WHERE region = 'US' 'W'", "SQL", "string_literal"),
    (E + " WHERE region = X'1F'", "SQL", "string_literal"),
    (E + " WHERE region = B'101'", "SQL", "string_literal"),
    (E + " WHERE region = N'x'", "SQL", "string_literal"),
    (E + " WHERE region LIKE 'U%'", "SQL", "string_literal"),
    (E + " WHERE region = 'x\ny'", "SQL", "string_literal"),
    (E + " WHERE region = 'x;y'", "SQL", "string_literal"),
    ('SELECT "user key" FROM exposures', "SQL", "identifier"),
    ('SELECT "user""key" FROM exposures', "SQL", "identifier"),
    ('SELECT U&"user\\005fkey" FROM exposures', "SQL", "identifier"),
    ('SELECT COUNT(*) AS "' + "x" * 64 + '" FROM exposures', "SQL", "identifier"),
    ('SELECT COUNT(*) AS "n;drop" FROM exposures', "SQL", "identifier"),
    # statements
    ("DELETE FROM exposures", "SQL", "not_select"),
    ("UPDATE purchases SET revenue = 0", "SQL", "not_select"),
    ("INSERT INTO audience VALUES ('k', 'a')", "SQL", "not_select"),
    ("DROP VIEW exposures", "SQL", "not_select"),
    ("CREATE TABLE leak AS SELECT user_key FROM exposures", "SQL", "not_select"),
    ("TRUNCATE purchases", "SQL", "not_select"),
    ("COPY exposures TO STDOUT", "SQL", "not_select"),
    ("COPY (SELECT user_key FROM exposures) TO '/tmp/x'", "SQL", "not_select"),
    ("SET search_path = public", "SQL", "not_select"),
    ("EXPLAIN SELECT COUNT(*) FROM exposures", "SQL", "not_select"),
    ("VALUES (1)", "SQL", "not_select"),
    ("GRANT SELECT ON exposures TO public", "SQL", "not_select"),
    ("ALTER VIEW exposures RENAME TO x", "SQL", "not_select"),
    ("(SELECT COUNT(*) FROM exposures)", "SQL", "subquery"),
    ("WITH x AS (SELECT user_key FROM exposures) SELECT COUNT(*) FROM x", "WITH", "cte"),
    ("WITH RECURSIVE x AS (SELECT 1) SELECT COUNT(*) FROM exposures", "WITH", "cte"),
    (E + " UNION ALL SELECT COUNT(*) FROM purchases", "UNION", "set_operation"),
    (E + " UNION SELECT COUNT(*) FROM purchases", "UNION", "set_operation"),
    (E + " INTERSECT SELECT COUNT(*) FROM purchases", "INTERSECT", "set_operation"),
    (E + " EXCEPT SELECT COUNT(*) FROM purchases", "EXCEPT", "set_operation"),
    # subqueries, LATERAL, windows
    (E + " WHERE region IN (SELECT region FROM purchases)", "WHERE", "subquery"),
    (E + " WHERE EXISTS (SELECT 1 FROM purchases)", "WHERE", "subquery"),
    ("SELECT (SELECT COUNT(*) FROM purchases) AS n FROM exposures", "SELECT", "subquery"),
    ("SELECT COUNT(*) FROM (SELECT user_key FROM exposures) AS x", "FROM", "subquery"),
    ("SELECT COUNT(*) FROM exposures e JOIN (SELECT user_key FROM purchases) p ON e.user_key = p.user_key", "JOIN",
     "subquery"),
    ("SELECT COUNT(*) FROM (exposures e JOIN purchases p ON e.user_key = p.user_key)", "FROM", "subquery"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*) > (SELECT 5)", "HAVING", "subquery"),
    ("SELECT COUNT(*) FROM exposures e, LATERAL (SELECT * FROM purchases p WHERE p.user_key = e.user_key) x",
     "JOIN", "lateral"),
    ("SELECT COUNT(*) FROM exposures e JOIN LATERAL (SELECT 1) x ON true", "JOIN", "lateral"),
    ("SELECT COUNT(*) OVER () FROM exposures", "SELECT", "window_function"),
    ("SELECT region, ROW_NUMBER() OVER (ORDER BY region) FROM exposures GROUP BY region", "SELECT", "window_function"),
    ("SELECT region, SUM(COUNT(*)) OVER (PARTITION BY region) FROM exposures GROUP BY region", "SELECT",
     "window_function"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region WINDOW w AS (PARTITION BY region)", "WINDOW",
     "window_function"),
    # clauses
    ("SELECT COUNT(*) INTO leak FROM exposures", "INTO", "clause_not_allowed"),
    (E + " FOR UPDATE", "FOR UPDATE", "clause_not_allowed"),
    (E + " FOR SHARE", "FOR UPDATE", "clause_not_allowed"),
    (E + " OFFSET 1", "OFFSET", "clause_not_allowed"),
    (E + " LIMIT 1 OFFSET 1", "OFFSET", "clause_not_allowed"),
    (E + " FETCH FIRST 1 ROWS ONLY", "FETCH", "clause_not_allowed"),
    ("SELECT DISTINCT region FROM exposures", "SELECT", "select_distinct"),
    ("SELECT DISTINCT ON (region) region, ts FROM exposures", "SELECT", "select_distinct"),
    ("SELECT DISTINCT COUNT(*) FROM exposures", "SELECT", "select_distinct"),
    ("SELECT * FROM exposures", "SELECT", "select_star"),
    ("SELECT e.* FROM exposures e", "SELECT", "select_star"),
    ("SELECT region, * FROM exposures", "SELECT", "select_star"),
    ("TABLE exposures", "SELECT", "select_star"),
    ("SELECT COUNT(e.*) FROM exposures e", "SELECT", "select_star"),
    # FROM and JOIN
    ("SELECT COUNT(*)", "FROM", "missing_from"),
    ("SELECT 1", "FROM", "missing_from"),
    ("SELECT COUNT(*) FROM (VALUES (1)) v", "FROM", "not_a_view"),
    ("SELECT COUNT(*) FROM a.b.c.d", "FROM", "not_a_view"),
    ("SELECT COUNT(*) FROM generate_series(1, 10)", "FROM", "function_not_allowed"),
    ("SELECT COUNT(*) FROM shoppers", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM pg_catalog.pg_user", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM pg_user", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM information_schema.tables", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM public.exposures", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM retailer_raw.exposures", "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM mydb.public.exposures", "FROM", "unknown_view"),
    ('SELECT COUNT(*) FROM "Exposures"', "FROM", "unknown_view"),
    ("SELECT COUNT(*) FROM exposures e JOIN shopper_ids s ON e.user_key = s.user_key", "JOIN", "unknown_view"),
    ("SELECT COUNT(*) FROM exposures TABLESAMPLE SYSTEM (1)", "FROM", "table_syntax"),
    ("SELECT COUNT(*) FROM ONLY exposures", "FROM", "table_syntax"),
    ("SELECT COUNT(k) FROM exposures AS e(k)", "FROM", "table_syntax"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases e ON e.user_key = e.user_key", "JOIN", "duplicate_alias"),
    ("SELECT COUNT(*) FROM exposures JOIN exposures ON exposures.user_key = exposures.user_key", "JOIN",
     "duplicate_alias"),
    ("SELECT COUNT(*) FROM exposures e, purchases p", "JOIN", "cross_join"),
    ("SELECT COUNT(*) FROM exposures e, purchases p WHERE e.user_key = p.user_key", "JOIN", "cross_join"),
    ("SELECT COUNT(*) FROM exposures e CROSS JOIN purchases p", "JOIN", "cross_join"),
    ("SELECT COUNT(*) FROM exposures e LEFT JOIN purchases p ON e.user_key = p.user_key", "JOIN", "join_kind"),
    ("SELECT COUNT(*) FROM exposures e RIGHT JOIN purchases p ON e.user_key = p.user_key", "JOIN", "join_kind"),
    ("SELECT COUNT(*) FROM exposures e FULL OUTER JOIN purchases p ON e.user_key = p.user_key", "JOIN", "join_kind"),
    ("SELECT COUNT(*) FROM exposures e LEFT OUTER JOIN purchases p ON e.user_key = p.user_key", "JOIN", "join_kind"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.region = p.region", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.ts = p.ts", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON true", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON 1 = 1", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = e.user_key", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key <> p.user_key", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = p.user_key AND p.revenue > 100", "JOIN",
     "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = p.user_key OR true", "JOIN",
     "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = p.gtin14", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON md5(e.user_key) = p.user_key", "JOIN",
     "function_not_allowed"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p USING (user_key)", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e NATURAL JOIN purchases p", "JOIN", "join_condition"),
    ("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.user_key = p.user_key "
     "JOIN segments s ON p.user_key = x.user_key", "JOIN", "unknown_alias"),
    # columns
    ("SELECT COUNT(*) FROM exposures WHERE x.region = 'a'", "WHERE", "unknown_alias"),
    ("SELECT COUNT(*) FROM exposures e WHERE exposures.region = 'a'", "WHERE", "unknown_alias"),
    ("SELECT COUNT(*) FROM exposures WHERE public.exposures.region = 'a'", "WHERE", "unknown_alias"),
    ("SELECT shopper_id, COUNT(*) FROM exposures GROUP BY shopper_id", "SELECT", "unknown_column"),
    ("SELECT COUNT(*) FROM exposures WHERE email = 'a@b.c'", "WHERE", "unknown_column"),
    ("SELECT SUM(revenue) FROM exposures", "SELECT", "unknown_column"),
    ('SELECT "Region", COUNT(*) FROM exposures GROUP BY 1', "SELECT", "unknown_column"),
    ('SELECT COUNT(*) FROM exposures WHERE "USER_KEY" = \'x\'', "WHERE", "unknown_column"),
    ("SELECT region, COUNT(*) " + JOIN + " GROUP BY region", "SELECT", "ambiguous_column"),
    ("SELECT COUNT(*) " + JOIN + " WHERE ts >= '2024-01-01'", "WHERE", "ambiguous_column"),
    ("SELECT COUNT(DISTINCT user_key) " + JOIN, "SELECT", "ambiguous_column"),
    # user_key
    ("SELECT region AS user_key, COUNT(*) FROM exposures GROUP BY region", "SELECT", "user_key_in_output"),
    ('SELECT COUNT(*) AS "user_key" FROM exposures', "SELECT", "user_key_in_output"),
    ("SELECT COUNT(*) FROM exposures WHERE user_key = 'a1b2c3'", "WHERE", "key_column"),
    ("SELECT COUNT(*) FROM exposures WHERE user_key IN ('a1', 'b2')", "WHERE", "key_column"),
    ("SELECT COUNT(*) FROM exposures WHERE user_key > 'm'", "WHERE", "key_column"),
    ("SELECT COUNT(*) FROM exposures WHERE user_key BETWEEN 'a' AND 'b'", "WHERE", "key_column"),
    ("SELECT COUNT(*) FROM exposures GROUP BY user_key", "GROUP BY", "key_column"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region, e.user_key", "GROUP BY", "unknown_alias"),
    ("SELECT region, COUNT(*) FROM exposures e GROUP BY region, e.user_key", "GROUP BY", "key_column"),
    ("SELECT COUNT(*) FROM exposures ORDER BY user_key", "ORDER BY", "key_column"),
    ("SELECT COUNT(user_key) FROM exposures", "SELECT", "key_column"),
    ("SELECT SUM(user_key) FROM exposures", "SELECT", "key_column"),
    ("SELECT AVG(p.user_key) FROM purchases p", "SELECT", "key_column"),
    ("SELECT date_trunc('day', user_key), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "key_column"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(user_key) > 1", "HAVING", "key_column"),
    # roles of columns
    ("SELECT revenue, COUNT(*) FROM purchases GROUP BY revenue", "SELECT", "measure_column"),
    ("SELECT COUNT(*) FROM purchases GROUP BY units", "GROUP BY", "measure_column"),
    ("SELECT COUNT(*) FROM purchases WHERE revenue > 1000", "WHERE", "measure_column"),
    ("SELECT COUNT(*) FROM purchases WHERE units = 7", "WHERE", "measure_column"),
    ("SELECT ts, COUNT(*) FROM exposures GROUP BY ts", "SELECT", "time_column"),
    ("SELECT COUNT(*) FROM exposures GROUP BY ts", "GROUP BY", "time_column"),
    ("SELECT date_trunc('second', ts), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT DATE_TRUNC('hour', ts), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT date_trunc('minute', ts), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT date_trunc('day', ts, 'UTC'), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT date_trunc('week', region), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT date_trunc('week'::text, ts), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "date_trunc"),
    ("SELECT COUNT(*) FROM exposures WHERE date_trunc('second', ts) = '2024-01-01'", "WHERE", "date_trunc"),
    # casts, functions, expressions
    ("SELECT CAST(region AS text), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "cast"),
    ("SELECT region::text, COUNT(*) FROM exposures GROUP BY 1", "SELECT", "cast"),
    ("SELECT SUM(revenue::int) FROM purchases", "SELECT", "cast"),
    ("SELECT SUM(CAST(revenue AS bigint)) FROM purchases", "SELECT", "cast"),
    ("SELECT COUNT(*) FROM exposures WHERE region = 'x'::text", "WHERE", "cast"),
    ("SELECT COUNT(*) FROM exposures WHERE ts >= CAST(region AS date)", "WHERE", "cast"),
    ("SELECT COUNT(*) FROM exposures WHERE ts >= '2024-01-01'::text", "WHERE", "cast"),
    ("SELECT COUNT(*) FROM exposures WHERE ts >= TIME '10:00'", "WHERE", "cast"),
    ("SELECT md5(user_key), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"),
    ("SELECT lower(region), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"),
    ("SELECT concat(region, placement), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"),
    ("SELECT coalesce(region, 'none'), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"),
    ("SELECT substr(user_key, 1, 2), COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"),
    ("SELECT MAX(revenue) FROM purchases", "SELECT", "function_not_allowed"),
    ("SELECT MIN(ts) FROM purchases", "SELECT", "function_not_allowed"),
    ("SELECT string_agg(user_key, ',') FROM exposures", "SELECT", "function_not_allowed"),
    ("SELECT array_agg(user_key) FROM exposures", "SELECT", "function_not_allowed"),
    ("SELECT stddev(revenue) FROM purchases", "SELECT", "function_not_allowed"),
    ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY revenue) FROM purchases", "SELECT",
     "function_not_allowed"),
    ("SELECT pg_sleep(10)", "SELECT", "function_not_allowed"),
    (E + " WHERE region = current_user", "WHERE", "function_not_allowed"),
    (E + " WHERE ts >= now()", "WHERE", "function_not_allowed"),
    (E + " WHERE ts >= current_date", "WHERE", "function_not_allowed"),
    (E + " WHERE length(region) = 4", "WHERE", "function_not_allowed"),
    (E + " WHERE region = ANY(ARRAY['a', 'b'])", "WHERE", "function_not_allowed"),
    (E + " WHERE region = 'x' AND pg_sleep(1) IS NOT NULL", "WHERE", "function_not_allowed"),
    (E + " WHERE to_char(ts, 'HH24') = '10'", "WHERE", "function_not_allowed"),
    ("SELECT COUNT(*) FROM exposures GROUP BY extract(hour FROM ts)", "GROUP BY", "function_not_allowed"),
    ("SELECT SUM(abs(revenue)) FROM purchases", "SELECT", "function_not_allowed"),
    ("SELECT SUM(LEAST(revenue, 10)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(GREATEST(revenue, 0)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(LEAST(GREATEST(revenue, -5), 10)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(LEAST(GREATEST(revenue, 0), 0)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(LEAST(GREATEST(revenue, 0), units)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT region, LEAST(COUNT(*), 5) FROM exposures GROUP BY region", "SELECT", "function_not_allowed"),
    ("SELECT CASE WHEN region = 'x' THEN 1 END, COUNT(*) FROM exposures GROUP BY 1", "SELECT", "case_expression"),
    ("SELECT SUM(CASE WHEN user_key = 'k' THEN revenue ELSE 0 END) FROM purchases", "SELECT", "case_expression"),
    (E + " WHERE CASE WHEN region = 'x' THEN true END", "WHERE", "case_expression"),
    ("SELECT SUM(revenue) / COUNT(*) FROM purchases", "SELECT", "operator_not_allowed"),
    ("SELECT SUM(revenue * 100) FROM purchases", "SELECT", "operator_not_allowed"),
    ("SELECT SUM(revenue + units) FROM purchases", "SELECT", "operator_not_allowed"),
    ("SELECT region || placement, COUNT(*) FROM exposures GROUP BY 1", "SELECT", "operator_not_allowed"),
    ("SELECT user_key || '', COUNT(*) FROM exposures GROUP BY 1", "SELECT", "operator_not_allowed"),
    (E + " WHERE region LIKE 'US'", "WHERE", "operator_not_allowed"),
    (E + " WHERE region ILIKE 'us'", "WHERE", "operator_not_allowed"),
    (E + " WHERE region ~ 'U'", "WHERE", "operator_not_allowed"),
    (E + " WHERE region IS NULL", "WHERE", "operator_not_allowed"),
    (E + " WHERE region IS DISTINCT FROM 'x'", "WHERE", "operator_not_allowed"),
    (E + " WHERE campaign_id + 1 = 5", "WHERE", "operator_not_allowed"),
    (E + " WHERE region = 'x' COLLATE \"C\"", "WHERE", "operator_not_allowed"),
    ("SELECT 1, COUNT(*) FROM exposures", "SELECT", "expression_not_allowed"),
    ("SELECT 'x' AS label, COUNT(*) FROM exposures", "SELECT", "expression_not_allowed"),
    ("SELECT COUNT(*) FILTER (WHERE region = 'x') FROM exposures", "SELECT", "expression_not_allowed"),
    (E + " WHERE campaign_id = INTERVAL '1 day'", "WHERE", "expression_not_allowed"),
    # aggregates
    ("SELECT COUNT(region) FROM exposures", "SELECT", "aggregate_argument"),
    ("SELECT COUNT(1) FROM exposures", "SELECT", "aggregate_argument"),
    ("SELECT COUNT(DISTINCT region) FROM exposures", "SELECT", "aggregate_argument"),
    ("SELECT COUNT(DISTINCT region, placement) FROM exposures", "SELECT", "aggregate_argument"),
    ("SELECT SUM(DISTINCT revenue) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(gtin14) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT AVG(ts) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT SUM(COUNT(*)) FROM purchases", "SELECT", "aggregate_argument"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING SUM(region) > 1", "HAVING",
     "aggregate_argument"),
    # outputs
    ("SELECT COUNT(*) AS __users FROM exposures", "SELECT", "reserved_name"),
    ("SELECT COUNT(*) AS __k FROM exposures", "SELECT", "reserved_name"),
    ("SELECT COUNT(DISTINCT user_key) AS __users, COUNT(*) FROM exposures", "SELECT", "reserved_name"),
    ("SELECT COUNT(*), COUNT(*) FROM exposures", "SELECT", "duplicate_output"),
    ("SELECT COUNT(*) AS n, SUM(units) AS n FROM purchases", "SELECT", "duplicate_output"),
    ("SELECT e.region, p.region, COUNT(*) " + JOIN + " GROUP BY e.region, p.region", "SELECT", "duplicate_output"),
    ("SELECT region FROM exposures", "SELECT", "ungrouped_column"),
    ("SELECT region, placement, COUNT(*) FROM exposures GROUP BY region", "SELECT", "ungrouped_column"),
    ("SELECT region, COUNT(*) FROM exposures", "SELECT", "ungrouped_column"),
    ("SELECT campaign_id, placement, region FROM exposures", "SELECT", "ungrouped_column"),
    ("SELECT date_trunc('day', ts), COUNT(*) FROM exposures GROUP BY date_trunc('week', ts)", "SELECT",
     "ungrouped_column"),
    # WHERE
    (E + " WHERE 1 = 1", "WHERE", "predicate_form"),
    (E + " WHERE true", "WHERE", "predicate_form"),
    (E + " WHERE region", "WHERE", "predicate_form"),
    (E + " WHERE region = NULL", "WHERE", "predicate_form"),
    (E + " WHERE region = true", "WHERE", "predicate_form"),
    (E + " WHERE (region, placement) IN (('a', 'b'))", "WHERE", "predicate_form"),
    (E + " WHERE 'a' = 'a' OR region = 'x'", "WHERE", "predicate_form"),
    (E + " WHERE region = placement", "WHERE", "column_comparison"),
    ("SELECT COUNT(*) " + JOIN + " WHERE e.region = p.region", "WHERE", "column_comparison"),
    ("SELECT COUNT(*) " + JOIN + " WHERE e.ts < p.ts", "WHERE", "column_comparison"),
    (E + " WHERE campaign_id BETWEEN region AND 'z'", "WHERE", "column_comparison"),
    (E + " WHERE COUNT(*) > 5", "WHERE", "aggregate_in_where"),
    (E + " WHERE ts = '2024-01-01'", "WHERE", "time_predicate"),
    (E + " WHERE ts <> '2024-01-01'", "WHERE", "time_predicate"),
    (E + " WHERE ts IN ('2024-01-01', '2024-01-02')", "WHERE", "time_predicate"),
    (E + " WHERE ts > '2024-01-01'", "WHERE", "time_predicate"),
    (E + " WHERE ts <= '2024-01-31'", "WHERE", "time_predicate"),
    (E + " WHERE '2024-01-01' < ts", "WHERE", "time_predicate"),
    (E + " WHERE '2024-01-31' >= ts", "WHERE", "time_predicate"),
    (E + " WHERE ts >= '2024-01-01' AND ts <= '2024-01-01'", "WHERE", "time_predicate"),
    (E + " WHERE ts >= '2024-01-01 10:00:00' AND ts < '2024-01-01 10:00:01'", "WHERE", "time_granularity"),
    (E + " WHERE ts BETWEEN '2024-01-01 00:00:00' AND '2024-01-01 00:00:01'", "WHERE", "time_granularity"),
    (E + " WHERE ts >= '2024-01-01T12:00'", "WHERE", "time_granularity"),
    (E + " WHERE ts < '2024-01-01 00:00:00+05'", "WHERE", "time_granularity"),
    (E + " WHERE ts < 'now'", "WHERE", "time_granularity"),
    (E + " WHERE ts < 'today'", "WHERE", "time_granularity"),
    (E + " WHERE ts < '2024-02-30'", "WHERE", "time_granularity"),
    (E + " WHERE ts < 1704067200", "WHERE", "time_granularity"),
    (E + " WHERE ts >= TIMESTAMP '2024-01-01 10:00:00'", "WHERE", "time_granularity"),
    (E + " WHERE date_trunc('day', ts) = '2024-01-01 10:00'", "WHERE", "time_granularity"),
    # GROUP BY, HAVING, ORDER BY, LIMIT
    ("SELECT region, COUNT(*) FROM exposures GROUP BY ROLLUP (region)", "GROUP BY", "grouping_sets"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY CUBE (region)", "GROUP BY", "grouping_sets"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY GROUPING SETS ((region), ())", "GROUP BY", "grouping_sets"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY ALL", "GROUP BY", "group_by_item"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY 2", "GROUP BY", "group_by_item"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY 3", "GROUP BY", "group_by_item"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region, COUNT(*)", "GROUP BY", "group_by_item"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY 'region'", "GROUP BY", "group_by_item"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region, placement", "GROUP BY", "group_by_not_selected"),
    ("SELECT COUNT(*) FROM exposures GROUP BY region", "GROUP BY", "group_by_not_selected"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING region = 'x'", "HAVING", "having_form"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*) > SUM(campaign_id)", "HAVING",
     "having_form"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*) > '5'", "HAVING", "having_form"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*)", "HAVING", "having_form"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING COUNT(*) IN (1, 2)", "HAVING", "having_form"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region HAVING MAX(campaign_id) > 1", "HAVING",
     "function_not_allowed"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY placement", "ORDER BY", "order_by_not_output"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY 3", "ORDER BY", "order_by_not_output"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY SUM(campaign_id)", "ORDER BY",
     "aggregate_argument"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY COUNT(DISTINCT user_key)", "ORDER BY",
     "order_by_not_output"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY __users", "ORDER BY", "unknown_column"),
    ("SELECT region, COUNT(*) FROM exposures GROUP BY region ORDER BY random()", "ORDER BY", "function_not_allowed"),
    (E + " LIMIT ALL", "LIMIT", "limit"),
    (E + " LIMIT 'x'", "LIMIT", "limit"),
    (E + " LIMIT 1.5", "LIMIT", "limit"),
    (E + " LIMIT -1", "LIMIT", "limit"),
]

# user_key however spelled, quoted, qualified, bracketed or aliased never reaches the output.
USER_KEY_SPELLINGS = ["user_key", "USER_KEY", "User_Key", '"user_key"', "e.user_key", 'e."user_key"', "(user_key)",
                      "((e.user_key))", 'E.User_key']
USER_KEY_ALIASES = ["", " AS k", " k", ' AS "count"', " AS region"]


def _generated_refused() -> list[tuple[str, str, str]]:
    cases = []
    for spelling, alias in product(USER_KEY_SPELLINGS, USER_KEY_ALIASES):
        cases.append((f"SELECT {spelling}{alias}, COUNT(*) FROM exposures e GROUP BY 1", "SELECT",
                      "user_key_in_output"))
    # A join hides nothing: either side's key is still the key.
    for side in ("e", "p"):
        cases.append((f"SELECT {side}.user_key {JOIN}", "SELECT", "user_key_in_output"))
        cases.append((f"SELECT COUNT(*) {JOIN} WHERE {side}.user_key = 'k'", "WHERE", "key_column"))
    for call in ("sha512(user_key::bytea)", "sha256(user_key::bytea)", "encode(user_key::bytea, 'hex')",
                 "upper(user_key)", "btrim(user_key)", "reverse(user_key)", "left(user_key, 2)", "to_hex(campaign_id)",
                 "hashtext(user_key)", "ascii(user_key)", "format('x', user_key)", "quote_literal(user_key)"):
        cases.append((f"SELECT {call}, COUNT(*) FROM exposures GROUP BY 1", "SELECT", "function_not_allowed"))
    for unit in ("millisecond", "hour", "quarter", "year", "microseconds", "days", "decade"):
        cases.append((f"SELECT date_trunc('{unit}', ts), COUNT(*) FROM exposures GROUP BY 1", "SELECT",
                      "date_trunc"))
    for keyword in ("select", "SELECT", "Select"):  # case changes do not change the verdict
        cases.append((f"{keyword} user_key from exposures", "SELECT", "user_key_in_output"))
        cases.append((f"{keyword} count(*) from exposures -- hi", "SQL", "comment"))
        cases.append((f"{keyword} * from exposures", "SELECT", "select_star"))
    return cases


REFUSED = HAND_REFUSED + _generated_refused() + [
    ("SELECT COUNT(*) FROM exposures WHERE " + "(" * 40 + "region = 'x'" + ")" * 40, "SQL", "too_complex"),
    ("SELECT COUNT(*) FROM exposures WHERE " + "NOT " * 3000 + "region = 'x'", "SQL", "too_complex"),
]

# A lease that grants the retailer's exposures and purchases only: segments and the brand's audience are refused.
LEASE = frozenset({"exposures", "purchases"})
REFUSED_UNDER_LEASE = [
    ("SELECT segment, COUNT(*) FROM segments GROUP BY segment", "FROM", "view_not_leased"),
    ("SELECT COUNT(*) FROM audience", "FROM", "view_not_leased"),
    ("SELECT COUNT(*) FROM exposures e JOIN audience a ON e.user_key = a.user_key", "JOIN", "view_not_leased"),
    ("SELECT COUNT(*) FROM purchases p JOIN segments s ON p.user_key = s.user_key WHERE s.segment = 'x'", "JOIN",
     "view_not_leased"),
    ("SELECT COUNT(*) FROM information_schema.columns", "FROM", "unknown_view"),
]
