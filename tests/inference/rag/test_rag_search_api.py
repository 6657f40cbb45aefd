"""POST /api/v1/rag/search: the web process asks the real gpu worker, which embeds the question and searches under
the caller's scope; bad input is refused before anything is sent, and a worker that does not answer is a 503."""

from __future__ import annotations

import pytest

from inference.rag import services
from inference.rag.selectors import MAX_K
from inference.rag.tasks import rag_search
from tests.conftest import api_client_for, audit_rows

QUESTION = "Can I say my cereal boosts immunity?"


@pytest.mark.worker
def test_a_brand_gets_cited_passages_from_the_gpu_worker(live_db, celery_workers, acme, megamart, platform, embed):
    # given MegaMart's and the platform's knowledge indexed (committed, so the worker sees it)
    from inference.rag.services import knowledge_index

    for owner in (megamart, platform):
        knowledge_index(owner=owner, embed=embed)
    client = api_client_for(acme, username="acme-viewer")

    # when a viewer of the brand asks about MegaMart
    response = client.post("/api/v1/rag/search", {"query": QUESTION, "retailer": "megamart", "k": 3}, format="json")

    # then the worker answers with MegaMart's health-claims rule first, cited by rule id and version
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 3
    assert {key: results[0][key] for key in ("retailer", "source_kind", "source_id", "version", "citation")} == {
        "retailer": "megamart", "source_kind": "policy", "source_id": "health-boosts-immunity", "version": 1,
        "citation": "MegaMart ad policy v1, rule health-boosts-immunity"}
    assert {result["retailer"] for result in results} == {"megamart"}
    assert [(row.action, row.outcome) for row in audit_rows(acme, request_id=response["X-Request-ID"])] == [
        ("api.post", "success")]

    # and without a retailer, shared knowledge can answer too
    response = client.post("/api/v1/rag/search", {"query": "What attribution window do Instacart reports use?"},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["source_id"].startswith("instacart")
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize(("body", "field"), [
    ({"query": "   "}, "query"),
    ({"query": "x" * (services.MAX_QUERY_CHARS + 1)}, "query"),
    ({"query": QUESTION, "k": 0}, "k"),
    ({"query": QUESTION, "k": MAX_K + 1}, "k"),
    ({"query": QUESTION, "k": "many"}, "k"),
    ({"query": QUESTION, "retailer": "not a slug"}, "retailer"),
])
def test_bad_input_is_refused_before_the_worker_is_asked(acme, monkeypatch, body, field):
    sent = []
    monkeypatch.setattr(rag_search, "apply_async", lambda *args, **kwargs: sent.append(kwargs))

    response = api_client_for(acme, username="acme-analyst").post("/api/v1/rag/search", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert sent == []


def test_a_retailer_that_does_not_exist_is_a_404(acme):
    response = api_client_for(acme, username="acme-analyst").post(
        "/api/v1/rag/search", {"query": QUESTION, "retailer": "acme"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_retailer"


def test_a_worker_that_does_not_answer_in_time_is_a_503(acme, monkeypatch):
    # given a search sent where no worker listens, and a short wait
    send = rag_search.apply_async
    monkeypatch.setattr(rag_search, "apply_async", lambda *args, **kwargs: send(*args, queue="rag-test-nobody",
                                                                                  **kwargs))
    monkeypatch.setattr(services, "SEARCH_TIMEOUT_S", 0.5)

    response = api_client_for(acme, username="acme-analyst").post("/api/v1/rag/search", {"query": QUESTION},
                                                                  format="json")

    assert response.status_code == 503
    assert response.json() == {"error": {"code": "search_unavailable", "message": services.SEARCH_UNAVAILABLE,
                                         "details": {}}}
