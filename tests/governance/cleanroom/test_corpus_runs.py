"""Every query the verifier allows runs in a real clean room — exact (k-suppressed) and under DP — and never
returns a row backed by fewer than k shoppers; the brand's uploaded audience is seen by its own lease only."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from governance.cleanroom.demo import generate, user_key
from governance.cleanroom.execute import run
from governance.cleanroom.services import CleanRoomError, audience_upload, clean_room_query
from governance.cleanroom.verify import USERS_COLUMN, verify
from tenants.leases import lease_grant
from tests.conftest import ARTIFACTS
from tests.governance.cleanroom.queries import ALLOWED

K = 20
MINE, OTHER = 10**9 + 1, 10**9 + 2  # lease ids no real lease in the test database has


@pytest.fixture
def clean_room(megamart):
    with schema_context("megamart"):
        generate(users=2_000)
        # an uploaded audience under one lease, and another lease's upload its queries must never see
        with connection.cursor() as cursor:
            keys = [user_key(b"megamart-demo", i) for i in range(0, 2_000, 3)]
            cursor.executemany("INSERT INTO cleanroom_audience (lease_id, audience, user_key) VALUES (%s, %s, %s)",
                               [(MINE, "lapsed_buyers", key) for key in keys] + [(OTHER, "lapsed_buyers", key)
                                                                             for key in keys[:40]])


def test_every_allowed_corpus_query_runs_exact_and_under_dp(clean_room):
    ran, dp_ran, released, suppressed = 0, 0, 0, 0
    with schema_context("megamart"):
        for sql in ALLOWED:
            verified = verify(sql)
            exact = run(verified, schema="megamart", k=K, lease_id=MINE)
            assert exact.columns == list(verified.columns)
            assert all(row[-1] >= K for row in exact.rows), sql
            ran += 1
            released += len(exact.rows)
            suppressed += exact.suppressed
            if verified.having is None:
                private = run(verified, schema="megamart", k=K, epsilon=1.0, lease_id=MINE)
                assert private.columns == list(verified.columns)
                dp_ran += 1
    assert ran == len(ALLOWED) >= 80
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "cleanroom_runs.json").write_text(json.dumps(
        {"allowed": ran, "ran_exact": ran, "ran_dp": dp_ran, "rows_released": released,
         "rows_suppressed": suppressed}, indent=2))


def test_the_audience_view_is_the_leases_own_upload(clean_room):
    verified = verify("SELECT audience, COUNT(*) AS members FROM audience GROUP BY audience")
    with schema_context("megamart"):
        mine = run(verified, schema="megamart", k=K, lease_id=MINE)
        theirs = run(verified, schema="megamart", k=K, lease_id=OTHER)
    assert mine.rows == [["lapsed_buyers", 667, 667]]
    assert theirs.rows == [["lapsed_buyers", 40, 40]]


def test_a_brand_uploads_an_audience_and_joins_it(acme, megamart, clean_room):
    with schema_context("megamart"):
        lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})
    keys = [user_key(b"megamart-demo", i) for i in range(0, 2_000, 2)]

    with schema_context("acme"):
        stored = audience_upload(brand=acme, actor="user:acme-analyst", lease_id=lease.pk, audience="vips",
                                 user_keys=keys + keys[:10])
        answer = clean_room_query(brand=acme, actor="user:acme-analyst", lease_id=lease.pk,
                                  sql="SELECT a.audience, COUNT(DISTINCT e.user_key) AS reached FROM audience a "
                                      "JOIN exposures e ON a.user_key = e.user_key GROUP BY a.audience")
        with pytest.raises(CleanRoomError) as raised:
            audience_upload(brand=acme, actor="user:acme-analyst", lease_id=lease.pk, audience="vips",
                            user_keys=["not hex!"])

    assert stored["user_keys"] == 1_000
    [[name, reached, users]] = answer["rows"]
    assert name == "vips" and 0 < reached == users <= 1_000
    assert answer["columns"][-1] == USERS_COLUMN
    assert raised.value.details["field"] == "user_keys"
