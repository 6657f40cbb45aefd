"""Generation through adapter stacks, end to end: registry adapters for the real base model, routed by the web
process, verified and run by the real gpu worker (threads, mixed-stack batching), with the stack and the router's
explanation in the job's result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from inference.adapters.artifacts import artifact_dir
from inference.adapters.models import MODEL_FILE, Adapter
from tests.conftest import WORKER_ADAPTER_DIR, api_client_for, audit_rows, wait_for_job
from tests.inference.adapters.builders import adapter_made, smollm2_lora_files

PROMPT = "Write a one-line headline for a new oat cereal."


@pytest.fixture
def worker_adapters(live_db, celery_workers, settings, acme, platform):
    """acme's voice and a platform task adapter, stored where the gpu worker reads adapters; deleted afterwards so
    later tests see the registry as they expect."""
    settings.RMN_ADAPTER_DIR = WORKER_ADAPTER_DIR
    made = {
        "voice": adapter_made(acme, name="wk-voice", files=smollm2_lora_files(seed=1)),
        "task": adapter_made(platform, name="wk-copy", task="wk_copy", files=smollm2_lora_files(seed=2)),
    }
    yield made
    Adapter.objects.filter(owner__in=[acme, platform], name__startswith="wk-").delete()


def _run(client, **body) -> dict:
    response = client.post("/api/v1/generate", {"prompt": PROMPT, "max_new_tokens": 12, **body}, format="json")
    assert response.status_code == 202, response.content
    job = wait_for_job(client, response.json()["job"], timeout=300)
    return {**job, "route": response.json()["route"]}


@pytest.mark.worker
def test_the_routed_stack_changes_the_answer_and_the_result_explains_it(worker_adapters, acme):
    client = api_client_for(acme, username="acme-analyst")

    # when acme asks with the base model alone and through the routed stack
    base = _run(client, task="wk_copy", adapters=[])
    stacked = _run(client, task="wk_copy")

    # then both succeed; the stacked answer names acme's voice and the task adapter, with the router's reasons
    assert base["status"] == stacked["status"] == "succeeded", (base, stacked)
    assert base["result"]["stack"] == []
    assert [(entry["kind"], entry["label"], entry["weight"]) for entry in stacked["result"]["stack"]] == [
        ("brand", "wk-voice v1", 1.0), ("task", "wk-copy v1", 1.0)]
    assert stacked["result"]["explanation"] == stacked["route"]["explanation"]
    assert "brand: wk-voice v1 of Acme Foods — own adapter" in stacked["result"]["explanation"]
    assert stacked["result"]["composition"] == "additive"
    # and the adapters really act on the model: the answers differ
    assert stacked["result"]["text"] != base["result"]["text"]
    assert stacked["result"]["model"] == base["result"]["model"] == "smollm2-135m-instruct"


@pytest.mark.worker
def test_a_sequential_chain_drafts_with_the_task_adapter_then_rewrites_in_the_brand_voice(worker_adapters, acme):
    client = api_client_for(acme, username="acme-analyst")

    job = _run(client, task="wk_copy", composition="sequential")

    assert job["status"] == "succeeded", job
    steps = job["result"]["steps"]
    assert [step["stack"] for step in steps] == [[[str(worker_adapters["task"].pk), 1.0]],
                                                 [[str(worker_adapters["voice"].pk), 1.0]]]
    assert steps[0]["instruction"] == "Answer the request."
    assert steps[1]["instruction"].startswith("Rewrite the text you are given in the brand's voice")
    # each step's input is the previous step's output, and the answer is the last step's
    assert steps[0]["input"] == PROMPT
    assert steps[1]["input"] == steps[0]["text"]
    assert job["result"]["text"] == steps[1]["text"]
    assert job["result"]["completion_tokens"] == sum(step["completion_tokens"] for step in steps)


@pytest.mark.worker
def test_concurrent_requests_with_different_stacks_each_get_their_own(worker_adapters, acme):
    voice, task = worker_adapters["voice"].pk, worker_adapters["task"].pk
    stacks = [[voice], [task], [voice, task], [{"id": voice, "weight": 0.5}, task]]

    def ask(stack) -> dict:
        try:
            return _run(api_client_for(acme, username="acme-analyst"), task="wk_copy", adapters=stack)
        finally:
            connections.close_all()  # this thread's own connection, which would keep the test database open

    # when four requests with four stacks arrive at once (the worker takes them on four threads)
    with ThreadPoolExecutor(len(stacks)) as pool:
        jobs = list(pool.map(ask, stacks))

    # then every one succeeds with its own stack and weights
    assert [job["status"] for job in jobs] == ["succeeded"] * 4, jobs
    assert [[(entry["id"], entry["weight"]) for entry in job["result"]["stack"]] for job in jobs] == [
        [(voice, 1.0)], [(task, 1.0)], [(voice, 1.0), (task, 1.0)], [(voice, 0.5), (task, 1.0)]]
    # and says what the same request says when it runs alone: batching changes nothing in the answer
    alone = [_run(api_client_for(acme, username="acme-analyst"), task="wk_copy", adapters=stack) for stack in stacks]
    assert [job["result"]["text"] for job in jobs] == [job["result"]["text"] for job in alone]
    assert jobs[0]["result"]["text"] != jobs[1]["result"]["text"]


@pytest.mark.worker
def test_a_tampered_artifact_fails_the_job_and_is_audited(worker_adapters, acme):
    # given an approved adapter whose stored weights are then replaced by another adapter's
    tampered = adapter_made(acme, name="wk-tampered", files=smollm2_lora_files(seed=3))
    other = artifact_dir(worker_adapters["voice"].pk) / f"{MODEL_FILE}.enc"
    (artifact_dir(tampered.pk) / f"{MODEL_FILE}.enc").write_bytes(other.read_bytes())
    client = api_client_for(acme, username="acme-analyst")

    # when acme generates with it
    job = _run(client, task="wk_copy", adapters=[tampered.pk])

    # then the worker refuses it before it reaches the model, and the owner's audit log records why
    assert job["status"] == "failed"
    assert job["error"]["code"] == "adapter_tampered"
    assert "does not decrypt" in job["error"]["message"]
    with schema_context(acme.schema_name):
        rows = audit_rows(acme, action="adapter.tampered", object_id=str(tampered.pk))
    assert rows and rows[-1].details["reason"].startswith(f"{MODEL_FILE} does not decrypt")
