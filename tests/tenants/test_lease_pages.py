"""Lease pages: a retailer grants (errors on their fields), lists and revokes leases; a brand sees what is left of
their budgets; one lease shows its terms, usage and monthly statement to both sides, and the brand's query box runs
real clean-room queries (answers, refusals) in place."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django.utils.html import escape
from django_tenants.utils import schema_context

from governance.cleanroom.demo import generate
from rmn_saas.page_access import ADMIN_ONLY_PAGE
from tenants.lease_views import QUERY_BRAND_ONLY
from tenants.leases import lease_grant
from tenants.models import Lease, LeaseQuery, Tenant
from tenants.permissions import VIEWER_CANNOT_WRITE
from tests.campaigns.measure.test_kind_pages import part
from tests.campaigns.plans.test_plan_pages import text
from tests.conftest import page_client_for
from tests.governance.cleanroom.test_queries import BY_PLACEMENT
from tests.tenants.test_lease_statements import read_out

HTMX = {"HTTP_HX_REQUEST": "true"}
GRANT = {"brand": "acme", "views": ["exposures", "purchases"], "agents": ["measurement"], "k": "60", "dp": "on",
         "epsilon_budget": "2", "epsilon_per_query": "0.25", "days": "30", "fixed_fee": "2500.00",
         "incremental_share": "0.05"}


def lease(megamart, **terms) -> Lease:
    with schema_context("megamart"):
        return lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", **terms})


def queried(granted: Lease, sql: str, **fields) -> LeaseQuery:
    return LeaseQuery.objects.create(**{"lease": granted, "actor": "user:acme-analyst", "sql": sql,
                                        "fingerprint": sql, "rows_returned": 4, **fields})


def table_rows(body: str, table_id: str) -> list[list[str]]:
    """The cells of each body row of a table: their text, tags and runs of white space made one space."""
    tbody = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', body, flags=re.S).group(1)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", tbody, flags=re.S)]
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in row] for row in rows]


def ask(acme, granted: Lease, sql: str, username: str = "acme-analyst"):
    return page_client_for(acme, username=username).post(f"/leases/{granted.pk}/query", {"sql": sql}, **HTMX)


@pytest.fixture
def clean_room(acme, megamart):
    with schema_context("megamart"):
        return generate(users=3_000)


# -- the list and granting --------------------------------------------------------------------------------------


def test_a_retailer_admin_grants_a_lease_from_the_form(acme, megamart):
    # given megamart's admin on the leases page, with acme among the brands to choose from
    client = page_client_for(megamart, username="megamart-admin")
    form = client.get("/leases/")
    assert '<option value="acme">Acme Foods (acme)</option>' in text(form)
    assert '<a href="/leases/" aria-current="page">Leases</a>' in text(form)

    # when the admin grants acme a lease
    response = client.post("/leases/grant", GRANT)

    # then it is stored with exactly those terms, and the browser goes to it
    granted = Lease.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leases/{granted.pk}/"
    assert (granted.retailer, granted.brand, granted.views, granted.agents) == (
        megamart, acme, ["exposures", "purchases"], ["measurement"])
    assert (granted.k, granted.dp, granted.epsilon_budget, granted.epsilon_per_query) == (60, True, 2.0, 0.25)
    assert (str(granted.fixed_fee), str(granted.incremental_share)) == ("2500.00", "0.0500")
    assert granted.created_by == "user:megamart-admin"
    assert (granted.expires_at - timezone.now()).days == 29
    # and the list shows it
    [row] = table_rows(text(client.get("/leases/")), "leases-table")
    assert row == [f"#{granted.pk}", "Acme Foods", "exposures, purchases agents: measurement", "60",
                   "ε 2 left of 2 0 spent, 0.25 a query", f"{granted.expires_at:%Y-%m-%d}", "active",
                   "2,500.00 a month + 5%", "0", "Revoke"]


def test_an_htmx_grant_redirects_the_browser(acme, megamart):
    response = page_client_for(megamart, username="megamart-admin").post("/leases/grant", GRANT, **HTMX)

    assert response["HX-Redirect"] == f"/leases/{Lease.objects.get().pk}/"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"k": "5"}, "k", "must be a whole number of at least 10"),
    ({"incremental_share": "1.5"}, "incremental_share", "must be a share between 0 and 1"),
    ({"fixed_fee": "lots"}, "fixed_fee", "must be an amount"),
    ({"epsilon_budget": "0.5", "epsilon_per_query": "1"}, "epsilon_per_query", "must be at most the budget (0.5)"),
])
def test_a_bad_grant_comes_back_with_the_fields_message_and_stores_nothing(acme, megamart, fields, field, message):
    response = page_client_for(megamart, username="megamart-admin").post("/leases/grant", {**GRANT, **fields},
                                                                        **HTMX)

    body = text(response)
    assert response.status_code == 200
    assert body.startswith('<section class="card" id="grant-form">')  # the form alone, swapped in place
    assert f'<p class="error" id="error-{field}">{message}</p>' in body
    assert not Lease.objects.exists()


def test_a_retailer_analyst_sees_the_form_disabled_and_cannot_grant(acme, megamart):
    client = page_client_for(megamart, username="megamart-analyst")

    body = text(client.get("/leases/"))
    response = client.post("/leases/grant", GRANT)

    assert '<fieldset id="grant-fields" disabled>' in body and 'id="grant-read-only"' in body
    assert response.status_code == 403 and escape(ADMIN_ONLY_PAGE) in text(response)
    assert not Lease.objects.exists()


def test_a_brand_admin_cannot_grant(acme, megamart):
    response = page_client_for(acme, username="acme-admin").post("/leases/grant", {**GRANT, "brand": "acme"})

    assert response.status_code == 403 and "only a retailer can grant leases" in text(response)
    assert not Lease.objects.exists()


def test_a_retailer_admin_revokes_a_lease(acme, megamart):
    # given an active lease
    granted = lease(megamart)
    client = page_client_for(megamart, username="megamart-admin")
    assert 'hx-confirm="Revoke lease' in part(text(client.get("/leases/")), f"revoke-{granted.pk}")

    # when the admin revokes it, then tries again
    revoked = client.post(f"/leases/{granted.pk}/revoke", **HTMX)
    again = client.post(f"/leases/{granted.pk}/revoke", **HTMX)

    # then it is revoked, the list comes back with it so and without its button, and the second try says why
    granted.refresh_from_db()
    assert granted.revoked_at is not None
    body = text(revoked)
    assert body.startswith('<section class="card" id="lease-list">')
    assert f"Lease #{granted.pk} to Acme Foods is revoked" in body
    assert table_rows(body, "leases-table")[0][6].startswith("revoked") and f'id="revoke-{granted.pk}"' not in body
    assert f'<p class="error" id="error-revoke">was already revoked on {granted.revoked_at:%Y-%m-%d %H:%M}</p>' \
        in text(again)


@pytest.mark.parametrize("username", ["acme-admin", "megamart-analyst"])
def test_only_the_retailers_admin_can_revoke(acme, megamart, username):
    granted = lease(megamart)
    tenant = acme if username.startswith("acme") else megamart

    response = page_client_for(tenant, username=username).post(f"/leases/{granted.pk}/revoke")

    assert response.status_code == 403
    granted.refresh_from_db()
    assert granted.revoked_at is None


def test_the_brand_sees_its_leases_with_the_remaining_budget(acme, megamart):
    # given a DP lease with a quarter of its budget spent
    granted = lease(megamart, dp=True, epsilon_budget=1.0, epsilon_per_query=0.25, days=30)
    queried(granted, "SELECT COUNT(*) FROM exposures", epsilon=0.25)

    # when acme's viewer opens the leases page
    body = text(page_client_for(acme, username="acme-viewer").get("/leases/"))

    # then it lists the lease with what is left and when it expires, links to it, and offers no grant or revoke
    [row] = table_rows(body, "leases-table")
    assert row[1] == "MegaMart" and row[4] == "ε 0.75 left of 1 0.25 spent, 0.25 a query"
    assert (row[5], row[6], row[8]) == (f"{granted.expires_at:%Y-%m-%d}", "active", "1")
    assert f'<a href="/leases/{granted.pk}/">#{granted.pk}</a>' in body
    assert "Leases you hold" in body and 'id="grant-form"' not in body and "Revoke" not in body


def test_the_platform_domain_serves_no_lease_pages(platform):
    # tenant pages are not routed on the platform's domain at all (rmn_saas/urls_public.py)
    response = page_client_for(platform, username="platform-admin").get("/leases/")

    assert response.status_code == 404


# -- one lease --------------------------------------------------------------------------------------------------


def test_the_lease_page_shows_terms_usage_and_the_statement_to_both_sides(acme, megamart):
    # given a lease at 2,500 a month + 5%, two queries run under it and a significant readout this month
    granted = lease(megamart, dp=True, epsilon_budget=1.0, epsilon_per_query=0.25, fixed_fee="2500.00",
                    incremental_share="0.05")
    queried(granted, "SELECT COUNT(*) FROM exposures", epsilon=0.25, rows_suppressed=2)
    queried(granted, "SELECT COUNT(*) FROM exposures", actor="user:acme-admin", repeated=True)
    with schema_context("acme"):
        read_out("megamart search", "megamart", timezone.localdate().isoformat(), (10_000.0, True), (5_000.0, False))

    pages = [text(page_client_for(tenant, username=username).get(f"/leases/{granted.pk}/"))
             for tenant, username in ((megamart, "megamart-viewer"), (acme, "acme-viewer"))]

    for body in pages:
        # the terms
        assert "ε 0.75 left" in part(body, "terms-budget") and "2,500.00" in part(body, "terms-fee")
        # usage, newest first
        assert [row[1:] for row in table_rows(body, "usage-table")] == [
            ["user:acme-admin", "SELECT COUNT(*) FROM exposures", "4", "0", "0", "yes, free"],
            ["user:acme-analyst", "SELECT COUNT(*) FROM exposures", "4", "2", "0.250", "no"]]
        # the statement for this month: the fee, 5% of the one counted readout, and what was run
        assert f'value="{timezone.localdate():%Y-%m}"' in part(body, "statement-month")
        assert [row[-1] for row in table_rows(body, "statement-table")] == ["2,500.00", "10,000.00", "500.00",
                                                                            "3,000.00"]
        assert [(row[0].split(" ", 1)[1], row[3], row[5], row[6]) for row in table_rows(body, "statement-readouts")] \
            == [("megamart search", "+10.0%", "10,000.00", "counted"),
                ("megamart search", "+10.0%", "5,000.00", "not counted")]
        assert "Usage in" in body and "2 queries, ε 0.25 spent." in part(body, "statement-usage")
    # only the brand has the query box
    assert 'id="clean-room-query"' not in pages[0] and 'id="clean-room-query"' in pages[1]


def test_another_month_and_a_bad_month_render_the_statement_alone(acme, megamart):
    granted = lease(megamart, fixed_fee="100.00")
    client = page_client_for(megamart, username="megamart-viewer")

    other = text(client.get(f"/leases/{granted.pk}/?part=statement&month=2026-11", **HTMX))
    bad = text(client.get(f"/leases/{granted.pk}/?part=statement&month=2026-13", **HTMX))

    assert other.startswith('<section class="card" id="lease-statement">') and 'value="2026-11"' in other
    assert "No experiment at MegaMart was read out in 2026-11." in other
    assert '<p class="error" id="error-month">must be a month as YYYY-MM</p>' in bad


def test_usage_is_paginated_fifty_at_a_time(acme, megamart):
    granted = lease(megamart)
    LeaseQuery.objects.bulk_create([LeaseQuery(lease=granted, actor="user:acme-analyst", fingerprint=str(i),
                                               sql=f"SELECT COUNT(*) FROM exposures WHERE region = 'R{i}'")  # noqa: S608
                                    for i in range(51)])
    client = page_client_for(acme, username="acme-viewer")

    first = text(client.get(f"/leases/{granted.pk}/"))
    second = text(client.get(f"/leases/{granted.pk}/?part=usage&page=2", **HTMX))

    assert len(table_rows(first, "usage-table")) == 50 and "R50" in table_rows(first, "usage-table")[0][2]
    assert "Page 1 of 2" in part(first, "usage-pager")
    assert second.startswith('<section class="card" id="lease-usage">')
    assert [row[2] for row in table_rows(second, "usage-table")] == ["SELECT COUNT(*) FROM exposures WHERE region = "
                                                                     "&#x27;R0&#x27;"]


def test_another_tenant_gets_404_for_the_lease_page(acme, megamart):
    # given a lease another retailer granted acme, and one megamart granted that retailer (as if it were a brand)
    other = Tenant(schema_name="othermart", slug="othermart", name="OtherMart", kind="retailer")
    other.auto_create_schema = False
    other.save()
    expires_at = timezone.now() + dt.timedelta(days=1)
    to_acme = Lease.objects.create(retailer=other, brand=acme, expires_at=expires_at, created_by="user:other")
    to_other = Lease.objects.create(retailer=megamart, brand=other, expires_at=expires_at, created_by="user:mm")
    megamart_admin = page_client_for(megamart, username="megamart-admin")
    acme_admin = page_client_for(acme, username="acme-admin")

    # then megamart can neither open, revoke nor query under the first, nor acme open the second
    assert megamart_admin.get(f"/leases/{to_acme.pk}/").status_code == 404
    assert megamart_admin.post(f"/leases/{to_acme.pk}/revoke").status_code == 404
    assert megamart_admin.post(f"/leases/{to_acme.pk}/query", {"sql": BY_PLACEMENT}).status_code == 404
    assert acme_admin.get(f"/leases/{to_other.pk}/").status_code == 404
    assert acme_admin.post(f"/leases/{to_other.pk}/query", {"sql": BY_PLACEMENT}).status_code == 404
    # while acme opens its own
    assert acme_admin.get(f"/leases/{to_acme.pk}/").status_code == 200


# -- the query box ----------------------------------------------------------------------------------------------


def test_the_brands_query_box_runs_a_real_query(acme, megamart, clean_room):
    granted = lease(megamart, k=50)

    response = ask(acme, granted, BY_PLACEMENT)

    # then the answer table comes back in place, and the query is on the lease's record
    body = text(response)
    assert response.status_code == 200 and body.startswith('<section class="card" id="clean-room-query">')
    assert re.findall(r"<th>([^<]*)</th>", part(body, "answer-table")) == [
        "placement", "exposures", "shoppers", "shoppers (for k)"]
    rows = table_rows(body, "answer-table")
    assert [row[0] for row in rows] == ["category", "homepage", "product_page", "search"]
    assert sum(int(row[1]) for row in rows) == clean_room["exposures"] and all(int(row[3]) >= 50 for row in rows)
    assert "4 rows released, 0 suppressed (backed by fewer than 50 shoppers)." in re.sub(
        r"\s+", " ", part(body, "answer-summary"))
    [entry] = LeaseQuery.objects.filter(lease=granted)
    assert (entry.actor, entry.rows_returned) == ("user:acme-analyst", 4)
    assert BY_PLACEMENT in body  # the textarea keeps what was asked


def test_a_dp_query_shows_the_epsilon_spent_and_left_and_the_noise(acme, megamart, clean_room):
    granted = lease(megamart, k=50, dp=True, epsilon_budget=1.0, epsilon_per_query=0.5)

    first = text(ask(acme, granted, BY_PLACEMENT))
    again = text(ask(acme, granted, BY_PLACEMENT))

    assert "; ε 0.5 spent, 0.5 left." in re.sub(r"\s+", " ", part(first, "answer-summary"))
    noise = re.findall(r"<td>([^<]*)</td>", part(first, "answer-noise"))
    assert noise[0] == "" and all(sd.startswith("noise sd ") for sd in noise[1:])
    assert "; ε 0 spent (a repeated query: its first answer again, free), 0.5 left." in re.sub(
        r"\s+", " ", part(again, "answer-summary"))


def test_a_refused_query_shows_clause_and_rule_and_runs_nothing(acme, megamart, clean_room):
    granted = lease(megamart)

    body = text(ask(acme, granted, "SELECT user_key FROM exposures"))

    assert '<strong id="refusal-clause">SELECT</strong>' in body
    assert '<code id="refusal-rule">user_key_in_output</code>' in body
    assert 'id="refusal-message"' in body and 'id="query-answer"' not in body
    assert not LeaseQuery.objects.exists()


def test_a_revoked_lease_refuses_the_query_with_the_reason(acme, megamart, clean_room):
    granted = lease(megamart)
    Lease.objects.filter(pk=granted.pk).update(revoked_at=timezone.now())

    body = text(ask(acme, granted, BY_PLACEMENT))

    assert f"lease {granted.pk} was revoked by MegaMart on {timezone.now():%Y-%m-%d}" in part(body, "refusal-message")
    assert '<fieldset id="query-fields" disabled>' in body and 'id="refusal-clause"' not in body


def test_a_viewer_cannot_run_queries(acme, megamart):
    granted = lease(megamart)
    client = page_client_for(acme, username="acme-viewer")

    body = text(client.get(f"/leases/{granted.pk}/"))
    response = client.post(f"/leases/{granted.pk}/query", {"sql": BY_PLACEMENT}, **HTMX)

    assert '<fieldset id="query-fields" disabled>' in body and 'id="query-read-only"' in body
    assert response.status_code == 403 and escape(VIEWER_CANNOT_WRITE) in text(response)
    assert not LeaseQuery.objects.exists()


def test_the_retailer_cannot_query_under_its_own_grant(acme, megamart):
    granted = lease(megamart)

    response = page_client_for(megamart, username="megamart-admin").post(f"/leases/{granted.pk}/query",
                                                                         {"sql": BY_PLACEMENT})

    assert response.status_code == 403 and escape(QUERY_BRAND_ONLY) in text(response)
