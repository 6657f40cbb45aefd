"""The playground page: the router's choice with its reasons, and the base model and the stack queued side by side."""

from __future__ import annotations

from django_tenants.utils import schema_context

from tenants.jobs.models import Job
from tests.conftest import page_client_for
from tests.inference.adapters.builders import adapter_made


def _ask(client, **fields):
    return client.post("/generate/", {"prompt": "Write a headline for oat cereal.", "task": "ad_copy",
                                      "retailer": "", "composition": "additive", "max_new_tokens": 16, **fields})


def test_the_page_shows_the_routers_choice_and_queues_base_and_stack(acme, platform):
    # given acme's voice and the platform's ad-copy adapter
    voice = adapter_made(acme, name="acme-voice")
    adapter_made(platform, name="ad-copy", task="ad_copy")
    client = page_client_for(acme, username="acme-analyst")

    # when an analyst asks on the page
    response = _ask(client)

    # then the router's stack and reasons are shown, and two jobs are queued: base alone and the stack
    assert response.status_code == 200
    html = response.content.decode()
    assert "Router's choice" in html
    assert "brand: acme-voice v1" in html and "task: ad-copy v1" in html
    assert "brand: acme-voice v1 of Acme Foods — own adapter" in html
    assert "retailer: none — the request names no retailer" in html
    with schema_context(acme.schema_name):
        jobs = list(Job.objects.filter(kind="generate").order_by("created_at"))
    assert [[entry["label"] for entry in job.params["stack"]] for job in jobs] == [
        ["acme-voice v1", "ad-copy v1"], []]
    assert all(f'id="job-{job.id}"' in html for job in jobs)
    assert jobs[0].params["stack"][0]["id"] == voice.pk


def test_without_adapters_only_the_base_model_answers(acme):
    client = page_client_for(acme, username="acme-analyst")

    response = _ask(client, task="summarize", composition="sequential")

    assert response.status_code == 200
    assert b"No adapter applies to this request" in response.content
    with schema_context(acme.schema_name):
        jobs = list(Job.objects.filter(kind="generate"))
    assert len(jobs) == 1
    assert (jobs[0].params["stack"], jobs[0].params["composition"]) == ([], "sequential")


def test_an_unknown_retailer_is_shown_on_the_form(acme):
    client = page_client_for(acme, username="acme-analyst")

    response = _ask(client, retailer="nomart")

    # the choice list only offers real retailers, so the form itself refuses it and nothing is queued
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    with schema_context(acme.schema_name):
        assert not Job.objects.filter(kind="generate").exists()
