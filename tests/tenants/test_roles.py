"""Roles in the API and on pages: viewers read, analysts also write, admins also manage keys and read the audit log.

Also the session pages every role uses: log in, log out, change password.
"""

import pytest
from django_tenants.utils import schema_context

from rmn_saas.page_access import ADMIN_ONLY_PAGE
from tenants.accounts.models import User
from tenants.api import BAD_CREDENTIALS
from tenants.models import ApiKey
from tenants.permissions import ADMIN_ONLY, VIEWER_CANNOT_WRITE
from tests.conftest import PASSWORD, api_client_for, api_key_for, audit_rows, job_in, job_reloaded, page_client_for


def _refused(message: str) -> dict:
    return {"error": {"code": "permission_denied", "message": message, "details": {}}}


def test_viewer_cannot_generate(acme):
    # when acme's viewer asks for text
    response = api_client_for(acme, username="acme-viewer").post(
        "/api/v1/generate", {"prompt": "hello"}, format="json"
    )

    # then it is refused, and the refusal is audited as denied
    assert response.status_code == 403
    assert response.json() == _refused(VIEWER_CANNOT_WRITE)
    # (that one row is all this request wrote: no job.create)
    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert (row.actor, row.action, row.outcome) == ("user:acme-viewer", "api.post", "denied")


def test_viewer_cannot_cancel_a_job_but_can_read_it(acme):
    # given a queued job
    job = job_in(acme)
    viewer = api_client_for(acme, username="acme-viewer")

    # when the viewer tries to cancel it
    response = viewer.post(f"/api/v1/jobs/{job.id}/cancel")

    # then it is refused and the job is untouched
    assert response.status_code == 403
    assert response.json() == _refused(VIEWER_CANNOT_WRITE)
    assert job_reloaded(acme, job).status == "queued"
    # while reading is allowed
    assert viewer.get(f"/api/v1/jobs/{job.id}").json()["status"] == "queued"
    assert str(job.id) in [item["id"] for item in viewer.get("/api/v1/jobs").json()]


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_admins_manage_api_keys(acme, username, method):
    # when a non-admin lists or creates keys
    response = getattr(api_client_for(acme, username=username), method)(
        "/api/v1/api-keys", {"name": "mine", "role": "admin"}, format="json"
    )

    # then it is refused and nothing is created
    assert response.status_code == 403
    assert response.json() == _refused(ADMIN_ONLY)
    assert not ApiKey.objects.filter(tenant=acme, name="mine").exists()


def test_analyst_cannot_revoke_a_key(acme):
    # given a key
    _, key_id = api_key_for(acme, role="viewer")

    # when the analyst revokes it
    response = api_client_for(acme, username="acme-analyst").post(f"/api/v1/api-keys/{key_id}/revoke")

    # then
    assert response.status_code == 403
    assert response.json() == _refused(ADMIN_ONLY)
    assert ApiKey.objects.get(key_id=key_id).revoked_at is None


def test_analyst_key_cannot_manage_keys(acme):
    # given an analyst API key: keys carry their role into the admin checks too
    full_key, _ = api_key_for(acme, role="analyst")
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")

    response = client.post("/api/v1/api-keys", {"name": "escalate", "role": "admin"}, format="json")

    assert response.status_code == 403
    assert response.json() == _refused(ADMIN_ONLY)


def test_admin_manages_api_keys(acme):
    admin = api_client_for(acme, username="acme-admin")

    created = admin.post("/api/v1/api-keys", {"name": "reports", "role": "analyst"}, format="json")
    listed = admin.get("/api/v1/api-keys")

    assert created.status_code == 201
    assert listed.status_code == 200
    assert [(item["name"], item["role"]) for item in listed.json() if item["key_id"] == created.json()["key_id"]] == [
        ("reports", "analyst")
    ]


def test_admin_key_manages_api_keys(acme):
    full_key, _ = api_key_for(acme, role="admin", name="automation")
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")

    response = client.post("/api/v1/api-keys", {"name": "child", "role": "viewer"}, format="json")

    assert response.status_code == 201
    assert response.json()["created_by"] == f"api_key:{full_key.split('_', 2)[1]}"


# Pages


@pytest.mark.parametrize("path", ["/settings/api-keys/", "/audit/"])
@pytest.mark.parametrize("username", ["acme-viewer", "acme-analyst"])
def test_admin_pages_refuse_other_roles(acme, path, username):
    response = page_client_for(acme, username=username).get(path)

    assert response.status_code == 403
    assert ADMIN_ONLY_PAGE.encode() in response.content


@pytest.mark.parametrize("path", ["/settings/api-keys/", "/audit/"])
def test_admin_pages_open_for_admins(acme, path):
    response = page_client_for(acme, username="acme-admin").get(path)

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/", "/jobs/", "/generate/"])
def test_every_role_opens_the_reading_pages(acme, path):
    # given a job, so the job rows render too
    job_in(acme, status="succeeded", progress=1.0, result={"text": "hello", "completion_tokens": 1, "seconds": 0.1})

    for username in ("acme-viewer", "acme-analyst", "acme-admin"):
        response = page_client_for(acme, username=username).get(path)

        assert response.status_code == 200, username


@pytest.mark.parametrize(("path", "element"), [
    ("/settings/api-keys/", b'<div id="key-panel">'),
    ("/audit/", b'<div id="audit-table">'),
    ("/generate/", b'id="generate-panel"'),
])
def test_htmx_requests_get_only_the_partial(acme, path, element):
    client = page_client_for(acme, username="acme-admin")

    full = client.get(path)
    partial = client.get(path, HTTP_HX_REQUEST="true")

    assert full.status_code == partial.status_code == 200
    assert element in full.content
    assert element in partial.content
    assert b"<html" in full.content
    assert b"<html" not in partial.content


def test_job_progress_partial_renders_one_row(acme):
    job = job_in(acme)

    response = page_client_for(acme, username="acme-viewer").get(f"/jobs/{job.id}/progress")

    assert response.status_code == 200
    assert response.content.strip().startswith(f'<tr id="job-{job.id}"'.encode())


@pytest.mark.parametrize("path", ["/", "/jobs/", "/generate/", "/settings/api-keys/", "/audit/"])
def test_pages_send_anonymous_visitors_to_login(acme, path):
    response = page_client_for(acme).get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_viewer_cannot_generate_from_the_page(acme):
    response = page_client_for(acme, username="acme-viewer").post(
        "/generate/", {"prompt": "hello", "max_new_tokens": 8}
    )

    assert response.status_code == 403
    assert VIEWER_CANNOT_WRITE.encode() in response.content
    assert audit_rows(acme, request_id=response["X-Request-ID"]) == []


def test_admin_creates_a_key_on_the_page_and_sees_it_once(acme):
    client = page_client_for(acme, username="acme-admin")

    created = client.post("/settings/api-keys/", {"name": "from-page", "role": "viewer"})
    again = client.get("/settings/api-keys/")

    key = ApiKey.objects.get(tenant=acme, name="from-page")
    assert created.status_code == 200
    assert b"it is not shown again" in created.content
    assert f"rmn_{key.key_id}_".encode() in created.content
    assert key.key_id.encode() in again.content
    assert f"rmn_{key.key_id}_".encode() not in again.content


def test_viewer_cannot_revoke_a_key_on_the_page(acme):
    _, key_id = api_key_for(acme, role="viewer")

    response = page_client_for(acme, username="acme-viewer").post(f"/settings/api-keys/{key_id}/revoke")

    assert response.status_code == 403
    assert ApiKey.objects.get(key_id=key_id).revoked_at is None


# Session pages


def test_login_page_logs_in_with_real_credentials(acme):
    # given the login page
    client = page_client_for(acme)
    assert client.get("/accounts/login/").status_code == 200

    # when acme's analyst logs in
    response = client.post("/accounts/login/", {"username": "acme-analyst", "password": PASSWORD})

    # then they land on the dashboard, logged in, and the login is audited
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    logins = audit_rows(acme, request_id=response["X-Request-ID"], action="login")
    assert [(row.actor, row.outcome, row.details) for row in logins] == [
        ("user:acme-analyst", "success", {"method": "session"})
    ]


def test_failed_page_login_is_refused_and_audited(acme):
    # when someone tries a wrong password on the page
    client = page_client_for(acme)
    response = client.post("/accounts/login/", {"username": "acme-admin", "password": "guess-guess-guess"})

    # then the form says so, nobody is logged in, and one failed login is audited
    assert response.status_code == 200
    assert BAD_CREDENTIALS.encode() in response.content
    assert client.get("/").status_code == 302
    logins = audit_rows(acme, request_id=response["X-Request-ID"], action="login")
    assert [(row.actor, row.outcome, row.details) for row in logins] == [
        ("user:acme-admin", "failure", {"reason": "bad_credentials"})
    ]


def test_another_tenants_user_cannot_log_in_here(acme):
    # megamart's admin exists only in megamart's schema
    response = page_client_for(acme).post("/accounts/login/", {"username": "megamart-admin", "password": PASSWORD})

    assert response.status_code == 200
    assert BAD_CREDENTIALS.encode() in response.content
    [row] = audit_rows(acme, request_id=response["X-Request-ID"], action="login")
    assert (row.actor, row.outcome) == ("user:megamart-admin", "failure")


def test_logout_ends_the_session(acme):
    # given a logged-in viewer
    client = page_client_for(acme, username="acme-viewer")
    assert client.get("/").status_code == 200

    # when they log out
    response = client.post("/accounts/logout/")

    # then they are sent to the login page, the dashboard is closed to them, and the logout is audited
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302
    logouts = audit_rows(acme, request_id=response["X-Request-ID"], action="logout")
    assert [row.actor for row in logouts] == ["user:acme-viewer"]


def test_logout_needs_post(acme):
    client = page_client_for(acme, username="acme-viewer")

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert client.get("/").status_code == 200


def test_password_change_page(acme):
    # given a logged-in viewer
    client = page_client_for(acme, username="acme-viewer")
    assert client.get("/accounts/password/").status_code == 200
    new_password = "a-much-longer-Passphrase-42"

    # when they change their password
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password,
    })

    # then the new one is stored and they stay logged in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/done/"
    with schema_context(acme.schema_name):
        user = User.objects.get(username="acme-viewer")
    assert user.check_password(new_password)
    assert not user.check_password(PASSWORD)
    assert client.get("/").status_code == 200


def test_password_change_needs_the_old_password(acme):
    client = page_client_for(acme, username="acme-viewer")
    new_password = "a-much-longer-Passphrase-42"

    response = client.post("/accounts/password/", {
        "old_password": "not-my-password", "new_password1": new_password, "new_password2": new_password,
    })

    assert response.status_code == 200
    with schema_context(acme.schema_name):
        assert User.objects.get(username="acme-viewer").check_password(PASSWORD)


def test_password_change_page_needs_login(acme):
    response = page_client_for(acme).get("/accounts/password/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/password/"
