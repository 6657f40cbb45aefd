"""POST /api/v1/generate runs the real base model in the real gpu worker and reports through the job."""

import pytest

from tests.conftest import api_client_for, audit_rows, wait_for_job


@pytest.mark.worker
def test_generate_returns_text_from_the_base_model(live_db, celery_workers, acme):
    # given an analyst of the brand
    client = api_client_for(acme, username="acme-analyst")

    # when they ask for a completion
    response = client.post(
        "/api/v1/generate", {"prompt": "Name one fruit that is yellow.", "max_new_tokens": 12}, format="json"
    )

    # then the API answers 202 with a job, and the gpu worker fills it with the model's answer
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]
    assert response["Location"] == f"/api/v1/jobs/{job_id}"
    job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    result = job["result"]
    assert result["model"] == "smollm2-135m-instruct"
    assert result["text"].strip()
    assert 0 < result["completion_tokens"] <= 12
    assert result["prompt_tokens"] > 0
    assert result["seconds"] > 0
    # and the job's start and finish are on the record, tied to the request that asked for it
    actions = [row.action for row in audit_rows(acme, object_id=job_id)]
    assert actions == ["job.create", "job.start", "job.succeeded"]
    request_ids = {row.request_id for row in audit_rows(acme, object_id=job_id)}
    assert request_ids == {response["X-Request-ID"]}


@pytest.mark.worker
def test_generate_rejects_bad_input_without_queuing(live_db, acme):
    client = api_client_for(acme, username="acme-analyst")
    for body, field in (({"prompt": "   ", "max_new_tokens": 5}, "prompt"),
                        ({"prompt": "hi", "max_new_tokens": 0}, "max_new_tokens"),
                        ({"prompt": "hi", "max_new_tokens": "many"}, "max_new_tokens")):
        # when
        response = client.post("/api/v1/generate", body, format="json")

        # then a 400 names the field, and no job exists for it
        assert response.status_code == 400, body
        assert field in response.json()["error"]["details"]
