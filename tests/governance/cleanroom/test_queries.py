"""Clean-room queries end to end: a brand queries a retailer's shopper-level data under a lease and gets only
aggregates back — rows under k suppressed, refusals that name the clause and rule and run nothing, DP noise
charged to the lease's budget (a repeat is free and identical), revoked leases refused, every query on record
for both sides."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from governance.cleanroom.demo import generate
from governance.cleanroom.services import CleanRoomError, clean_room_query
from tenants.leases import lease_grant
from tenants.models import LeaseQuery
from tests.conftest import api_client_for, audit_rows

BY_PLACEMENT = "SELECT placement, COUNT(*) AS exposures, COUNT(DISTINCT user_key) AS shoppers FROM exposures " \
               "GROUP BY placement ORDER BY placement"


@pytest.fixture
def clean_room(acme, megamart):
    """MegaMart's clean room with 4,000 generated shoppers, and its truth."""
    with schema_context("megamart"):
        return generate(users=4_000)


def lease(acme, megamart, **terms):
    with schema_context("megamart"):
        return lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", **terms})


def ask(acme, body, username="acme-analyst"):
    return api_client_for(acme, username=username).post("/api/v1/cleanroom/query", body, format="json")


def test_a_leased_brand_gets_aggregates_and_rows_under_k_are_suppressed(acme, megamart, clean_room):
    granted = lease(acme, megamart, k=50)

    by_placement = ask(acme, {"lease": granted.pk, "sql": BY_PLACEMENT})
    by_day = ask(acme, {"lease": granted.pk, "sql": "SELECT region, placement, DATE_TRUNC('day', ts) AS day, "
                                                    "COUNT(*) FROM exposures GROUP BY region, placement, day"})

    assert by_placement.status_code == 200, by_placement.content
    answer = by_placement.json()
    assert answer["columns"] == ["placement", "exposures", "shoppers", "__users"]
    assert [row[0] for row in answer["rows"]] == ["category", "homepage", "product_page", "search"]
    assert sum(row[1] for row in answer["rows"]) == clean_room["exposures"]
    assert all(row[3] >= 50 for row in answer["rows"]) and answer["suppressed"] == 0
    # a region × placement × day has a dozen shoppers or so here: those rows are suppressed, not released
    daily = by_day.json()
    assert daily["suppressed"] > 0 and all(row[-1] >= 50 for row in daily["rows"])
    assert "user_key" not in json.dumps(answer["columns"] + daily["columns"])


@pytest.mark.parametrize(("sql", "clause", "rule"), [
    ("SELECT user_key FROM exposures", "SELECT", "user_key_in_output"),
    ("SELECT * FROM purchases", "SELECT", "select_star"),
    ("SELECT region, COUNT(*) FROM purchases WHERE user_key IN (SELECT user_key FROM segments) GROUP BY region",
     "WHERE", "subquery"),
    ("SELECT COUNT(*) FROM exposures -- hi", "SQL", "comment"),
    ("SELECT COUNT(*) FROM pg_catalog.pg_authid", "FROM", "unknown_view"),
])
def test_a_refused_query_names_clause_and_rule_and_runs_nothing(acme, megamart, clean_room, sql, clause, rule):
    granted = lease(acme, megamart)

    response = ask(acme, {"lease": granted.pk, "sql": sql})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "query_refused"
    assert (error["details"]["clause"], error["details"]["rule"]) == (clause, rule)
    assert not LeaseQuery.objects.exists()
    # and the retailer sees the attempt in its own audit log
    [row] = audit_rows(megamart, action="cleanroom.query")
    assert row.outcome == "denied" and row.details["rule"] == rule and row.actor == "acme:user:acme-analyst"


def test_a_view_outside_the_lease_is_refused(acme, megamart, clean_room):
    granted = lease(acme, megamart, views=["exposures"])

    response = ask(acme, {"lease": granted.pk, "sql": "SELECT region, COUNT(*) FROM purchases GROUP BY region"})

    assert response.status_code == 400 and response.json()["error"]["details"]["rule"] == "view_not_leased"


def test_a_revoked_lease_is_refused_at_the_first_query(acme, megamart, clean_room):
    granted = lease(acme, megamart)
    api_client_for(megamart, username="megamart-admin").post(f"/api/v1/leases/{granted.pk}/revoke")

    response = ask(acme, {"lease": granted.pk, "sql": BY_PLACEMENT})

    assert response.status_code == 403 and response.json()["error"]["code"] == "lease_revoked"


def test_differential_privacy_adds_noise_charges_the_budget_and_repeats_for_free(acme, megamart, clean_room):
    granted = lease(acme, megamart, dp=True, epsilon_budget=1.0, epsilon_per_query=0.5, k=50)
    exact = {row[0]: row[1] for row in ask(acme, {"lease": lease(acme, megamart).pk, "sql": BY_PLACEMENT})
             .json()["rows"]}

    first = ask(acme, {"lease": granted.pk, "sql": BY_PLACEMENT}).json()
    again = ask(acme, {"lease": granted.pk, "sql": BY_PLACEMENT.replace("ORDER BY", "order by")}).json()
    second = ask(acme, {"lease": granted.pk, "sql": "SELECT region, COUNT(*) FROM exposures GROUP BY region"})
    refused = ask(acme, {"lease": granted.pk, "sql": "SELECT segment, COUNT(*) FROM segments GROUP BY segment"})

    # noisy, close to the truth at this ε, and the same answer again without spending more
    noisy = {row[0]: row[1] for row in first["rows"]}
    assert noisy != exact and all(abs(noisy[p] - exact[p]) < 0.2 * exact[p] for p in noisy)
    assert (first["epsilon"], first["epsilon_left"]) == (0.5, 0.5)
    assert again["rows"] == first["rows"] and again["repeated"] and again["epsilon"] == 0.0
    assert second.status_code == 200 and second.json()["epsilon_left"] == 0.0
    # the budget is spent: the next new query is refused and nothing runs
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "privacy_budget_exhausted"
    budget = api_client_for(acme, username="acme-viewer").get(f"/api/v1/cleanroom/budget?lease={granted.pk}")
    assert (budget.json()["epsilon_spent"], budget.json()["epsilon_left"]) == (1.0, 0.0)
    assert LeaseQuery.objects.filter(lease=granted).count() == 3


def test_having_is_refused_under_dp(acme, megamart, clean_room):
    granted = lease(acme, megamart, dp=True, epsilon_budget=1.0, epsilon_per_query=0.5)

    response = ask(acme, {"lease": granted.pk, "sql": "SELECT region, COUNT(*) FROM exposures GROUP BY region "
                                                      "HAVING COUNT(*) > 10"})

    assert response.status_code == 400 and response.json()["error"]["details"]["rule"] == "having_under_dp"


def test_the_retailer_sees_every_query_under_its_lease(acme, megamart, clean_room):
    granted = lease(acme, megamart)
    ask(acme, {"lease": granted.pk, "sql": BY_PLACEMENT})

    seen = api_client_for(megamart, username="megamart-viewer").get(f"/api/v1/leases/{granted.pk}/queries")
    other_brand_view = api_client_for(megamart, username="megamart-viewer").get("/api/v1/leases/999999/queries")

    [query] = seen.json()["results"]
    assert query["actor"] == "user:acme-analyst" and query["rows_returned"] == 4 and '"placement"' in query["sql"]
    assert other_brand_view.status_code == 404
    assert [r.details["rows_returned"] for r in audit_rows(megamart, action="cleanroom.query")] == [4]
    assert [r.details["rows_returned"] for r in audit_rows(acme, action="cleanroom.query")] == [4]


def test_viewers_cannot_query(acme, megamart, clean_room):
    assert ask(acme, {"lease": lease(acme, megamart).pk, "sql": BY_PLACEMENT}, username="acme-viewer") \
        .status_code == 403


def test_the_command_prints_the_answer_or_the_refusal(acme, megamart, clean_room):
    granted = lease(acme, megamart)
    out = io.StringIO()

    call_command("cleanroom_query", "--tenant", "acme", "--lease", str(granted.pk), BY_PLACEMENT, stdout=out)
    with pytest.raises(CommandError, match=r"query_refused: user_key cannot be selected.*rule=user_key_in_output"):
        call_command("cleanroom_query", "--tenant", "acme", "--lease", str(granted.pk), "SELECT user_key FROM segments")

    assert len(json.loads(out.getvalue())["rows"]) == 4


def test_an_agent_queries_only_under_a_lease_that_grants_it(acme, megamart, clean_room):
    granted = lease(acme, megamart, agents=["measurement"])

    with schema_context("acme"):
        answer = clean_room_query(brand=acme, actor="agent:measurement", lease_id=granted.pk, sql=BY_PLACEMENT,
                                  agent="measurement")
        with pytest.raises(CleanRoomError) as raised:
            clean_room_query(brand=acme, actor="agent:planner", lease_id=granted.pk, sql=BY_PLACEMENT, agent="planner")

    assert len(answer["rows"]) == 4
    assert raised.value.code == "agent_not_leased" and "it grants: measurement" in raised.value.message
    assert [r.details["agent"] for r in audit_rows(megamart, action="cleanroom.query")] == ["measurement"]
