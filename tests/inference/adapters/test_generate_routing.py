"""POST /api/v1/generate routes the request before it queues anything: the job carries the stack the tenant may
use and the router's explanation; bad adapters, weights, compositions and over-long prompts are refused at once.
The worker checks access again when the job runs (a lease can end while it waits)."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context
from tokenizers import Tokenizer, models, pre_tokenizers

from inference import serving
from inference.adapters.services import adapter_retire
from tenants.jobs.models import Job
from tenants.jobs.runner import JobFailure
from tenants.leases import lease_grant, lease_revoke
from tests.conftest import api_client_for
from tests.inference.adapters.builders import adapter_made
from tests.inference.adapters.test_router import LLAMA


@pytest.fixture
def adapters(acme, megamart, platform):
    return {
        "megamart": adapter_made(megamart, name="megamart-voice"),
        "acme": adapter_made(acme, name="acme-voice"),
        "copy": adapter_made(platform, name="ad-copy", task="ad_copy"),
        "llama": adapter_made(platform, name="llama-copy", task="ad_copy_llama", base_model=LLAMA),
    }


def _generate(client, **body):
    return client.post("/api/v1/generate", {"prompt": "Write a headline for oat cereal.", "max_new_tokens": 8,
                                            **body}, format="json")


def _job(acme, response) -> Job:
    with schema_context(acme.schema_name):
        return Job.objects.get(pk=response.json()["job"])


def test_the_router_picks_the_stack_and_the_job_carries_it(acme, megamart, adapters):
    # given a lease from MegaMart, so acme may use MegaMart's adapter
    lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", "days": 30})
    client = api_client_for(acme, username="acme-analyst")

    # when acme asks for ad copy in MegaMart's context
    response = _generate(client, task="ad_copy", retailer="megamart")

    # then the answer names the stack [retailer, brand, task] and why, and the queued job carries exactly that
    assert response.status_code == 202, response.content
    route = response.json()["route"]
    assert [ref["id"] for ref in route["stack"]] == [adapters[k].pk for k in ("megamart", "acme", "copy")]
    assert route["explanation"][1] == "brand: acme-voice v1 of Acme Foods — own adapter"
    job = _job(acme, response)
    assert [(entry["id"], entry["kind"], entry["label"], entry["weight"]) for entry in job.params["stack"]] == [
        (adapters["megamart"].pk, "retailer", "megamart-voice v1", 1.0),
        (adapters["acme"].pk, "brand", "acme-voice v1", 1.0),
        (adapters["copy"].pk, "task", "ad-copy v1", 1.0)]
    assert job.params["route"]["explanation"] == route["explanation"]
    assert (job.params["composition"], job.params["retailer"], job.params["task"]) == ("additive", "megamart",
                                                                                      "ad_copy")


def test_an_empty_adapter_list_asks_for_the_base_model_alone(acme, adapters):
    response = _generate(api_client_for(acme, username="acme-analyst"), task="ad_copy", adapters=[])

    assert response.status_code == 202, response.content
    assert response.json()["route"]["stack"] == []
    assert _job(acme, response).params["stack"] == []
    assert response.json()["route"]["explanation"][-1].startswith("no adapters: the base model")


def test_explicit_adapters_carry_their_weights(acme, adapters):
    body = {"adapters": [{"id": adapters["copy"].pk, "weight": 0.5}, adapters["acme"].pk]}

    response = _generate(api_client_for(acme, username="acme-analyst"), task="ad_copy", **body)

    assert response.status_code == 202, response.content
    stack = _job(acme, response).params["stack"]
    assert [(entry["kind"], entry["weight"]) for entry in stack] == [("brand", 1.0), ("task", 0.5)]


def test_an_adapter_the_tenant_may_not_use_is_the_same_404_as_a_missing_one(acme, adapters):
    client = api_client_for(acme, username="acme-analyst")

    # MegaMart's adapter without a lease, and an id that does not exist
    unusable = _generate(client, adapters=[adapters["megamart"].pk])
    missing = _generate(client, adapters=[adapters["llama"].pk + 1000])

    assert unusable.status_code == missing.status_code == 404
    assert unusable.json() == missing.json()
    with schema_context(acme.schema_name):
        assert not Job.objects.filter(kind="generate").exists()


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"adapters": [{"id": 1, "weight": 0}]}, 400, "adapters"),
    ({"adapters": [{"id": 1, "weight": "heavy"}]}, 400, "adapters"),
    ({"adapters": ["acme-voice"]}, 400, "adapters"),
    ({"adapters": [1, 2, 3, 4]}, 400, "adapters"),
    ({"composition": "parallel"}, 400, "composition"),
])
def test_malformed_requests_are_refused_before_routing(acme, adapters, body, status, field):
    response = _generate(api_client_for(acme, username="acme-analyst"), **body)

    assert response.status_code == status, response.content
    assert field in response.json()["error"]["details"]


def test_an_adapter_for_another_base_model_is_a_400_naming_it(acme, adapters):
    response = _generate(api_client_for(acme, username="acme-analyst"), adapters=[adapters["llama"].pk])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "incompatible_adapter"
    assert response.json()["error"]["details"]["base_model"] == LLAMA


def test_weights_do_not_apply_to_a_sequential_chain(acme, adapters):
    body = {"adapters": [{"id": adapters["acme"].pk, "weight": 0.5}], "composition": "sequential"}

    response = _generate(api_client_for(acme, username="acme-analyst"), **body)

    assert response.status_code == 400
    assert "sequential" in response.json()["error"]["message"]


def test_a_prompt_over_the_context_window_is_a_400_with_the_limit(acme, settings, tmp_path):
    # given a served model whose tokenizer splits on whitespace and whose window is 64 tokens
    vocab = {"[UNK]": 0, **{f"w{i}": i + 1 for i in range(200)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 64}))
    settings.RMN_BASE_MODEL = str(tmp_path)
    client = api_client_for(acme, username="acme-analyst")

    # when a 60-word prompt asks for 8 new tokens, and a 50-word one for 8
    too_long = client.post("/api/v1/generate", {"prompt": " ".join(["w1"] * 60), "max_new_tokens": 8,
                                                "adapters": []}, format="json")
    fits = client.post("/api/v1/generate", {"prompt": " ".join(["w1"] * 50), "max_new_tokens": 8,
                                            "adapters": []}, format="json")

    # then the first is refused with the limit and nothing is queued for it; the second is queued
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "prompt_too_long"
    assert too_long.json()["error"]["details"] == {"prompt_tokens": 60, "max_new_tokens": 8, "context_window": 64}
    assert fits.status_code == 202


def test_the_worker_refuses_an_adapter_whose_lease_ended_after_routing(acme, megamart, adapters):
    # given a job routed to MegaMart's adapter under a lease
    lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", "days": 30})
    response = _generate(api_client_for(acme, username="acme-analyst"), task="ad_copy", retailer="megamart")
    job = _job(acme, response)
    # when the lease is revoked before the worker runs it
    lease_revoke(retailer=megamart, lease=lease, actor="user:megamart-admin")

    # then the worker's check refuses the stack, naming the adapter and the reason
    with schema_context(acme.schema_name), pytest.raises(JobFailure) as failure:
        serving.usable_stack(job.params)
    assert failure.value.code == "adapter_unavailable"
    assert "megamart-voice v1" in failure.value.message
    assert "revoked" in failure.value.message


def test_the_worker_refuses_a_retired_adapter(acme, adapters):
    response = _generate(api_client_for(acme, username="acme-analyst"), task="ad_copy")
    job = _job(acme, response)
    adapter_retire(adapter=adapters["acme"], actor="user:acme-admin")

    with schema_context(acme.schema_name), pytest.raises(JobFailure, match="acme-voice v1 can no longer be used"):
        serving.usable_stack(job.params)
