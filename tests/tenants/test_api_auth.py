"""API authentication: password → JWT, JWT refresh, API keys (shown once, stored hashed, revocable), error shape."""

import json

from django.forms.models import model_to_dict
from django_tenants.utils import schema_context
from rest_framework.exceptions import NotAuthenticated
from rest_framework_simplejwt.tokens import AccessToken

from tenants.api import BAD_CREDENTIALS
from tenants.authentication import INVALID_API_KEY
from tenants.jobs.models import Job
from tenants.models import ApiKey, api_key_hash
from tenants.permissions import VIEWER_CANNOT_WRITE
from tenants.services import API_KEY_ALREADY_REVOKED
from tests.conftest import PASSWORD, api_client_for, api_key_for, audit_rows, jwt_for


def test_bad_credentials_are_401_in_the_error_shape_and_audited_once(acme):
    # given an anonymous client on acme's domain
    client = api_client_for(acme)

    # when it asks for a token with a wrong password
    response = client.post("/api/v1/auth/token", {"username": "acme-admin", "password": "wrong"}, format="json")

    # then it is refused with the one error shape
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": BAD_CREDENTIALS, "details": {}}
    }
    # and exactly one failed login is in acme's audit log for this request
    logins = audit_rows(acme, request_id=response["X-Request-ID"], action="login")
    assert [(row.actor, row.outcome, row.details) for row in logins] == [
        ("user:acme-admin", "failure", {"reason": "bad_credentials"})
    ]


def test_unknown_user_is_the_same_401_as_a_wrong_password(acme):
    response = api_client_for(acme).post(
        "/api/v1/auth/token", {"username": "nobody-here", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["error"]["message"] == BAD_CREDENTIALS


def test_malformed_json_body_is_400_in_the_error_shape(acme):
    # given a body that is not JSON although it says it is
    raw = b"{not json"
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        parse_problem = str(exc)

    # when
    response = api_client_for(acme).post("/api/v1/auth/token", raw, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "parse_error", "message": f"JSON parse error - {parse_problem}", "details": {}}
    }


def test_missing_fields_are_400_with_field_details(acme):
    response = api_client_for(acme).post("/api/v1/auth/token", {"username": "acme-admin"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": "The request is invalid.",
                  "details": {"password": ["This field is required."]}}
    }


def test_no_credentials_is_401(acme):
    # when an anonymous client asks who it is
    response = api_client_for(acme).get("/api/v1/me")

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": str(NotAuthenticated.default_detail), "details": {}}
    }


def test_jwt_login_then_me(acme):
    # given a JWT for acme's analyst
    access = jwt_for(acme, "acme-analyst")

    # when it calls /me
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = client.get("/api/v1/me")

    # then it is that user, in that tenant, with that role
    assert response.status_code == 200
    assert response.json() == {
        "user": {"username": "acme-analyst", "email": "acme-analyst@example.com"},
        "tenant": {"name": "Acme Foods", "slug": "acme", "kind": "brand"},
        "role": "analyst",
    }
    assert AccessToken(access)["tenant"] == "acme"


def test_jwt_login_is_audited_as_a_successful_login(acme):
    response = api_client_for(acme).post(
        "/api/v1/auth/token", {"username": "acme-viewer", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    logins = audit_rows(acme, request_id=response["X-Request-ID"], action="login")
    assert [(row.actor, row.outcome, row.details) for row in logins] == [
        ("user:acme-viewer", "success", {"method": "jwt"})
    ]


def test_jwt_refresh_gives_a_new_access_token_for_the_same_tenant(acme):
    # given a refresh token of acme's viewer
    tokens = api_client_for(acme).post(
        "/api/v1/auth/token", {"username": "acme-viewer", "password": PASSWORD}, format="json"
    ).json()

    # when it is refreshed on acme's domain
    response = api_client_for(acme).post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    # then the new access token still names acme and works there
    assert response.status_code == 200
    access = response.json()["access"]
    assert AccessToken(access)["tenant"] == "acme"
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert (me.json()["user"]["username"], me.json()["tenant"]["slug"]) == ("acme-viewer", "acme")


def test_garbage_refresh_token_is_401(acme):
    response = api_client_for(acme).post("/api/v1/auth/token/refresh", {"refresh": "not-a-token"}, format="json")

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": "Invalid or expired token.", "details": {}}
    }


def test_api_key_is_shown_once_stored_hashed_acts_with_its_role_and_dies_when_revoked(acme):
    admin = api_client_for(acme, username="acme-admin")

    # when an admin creates a viewer key
    created = admin.post("/api/v1/api-keys", {"name": "dashboards", "role": "viewer"}, format="json")

    # then the full key is in that response
    assert created.status_code == 201
    body = created.json()
    full_key, key_id = body["key"], body["key_id"]
    assert full_key.startswith(f"rmn_{key_id}_")
    assert (body["name"], body["role"], body["created_by"], body["revoked_at"]) == (
        "dashboards", "viewer", "user:acme-admin", None
    )
    # and never again
    listed = admin.get("/api/v1/api-keys").json()
    [item] = [item for item in listed if item["key_id"] == key_id]
    assert "key" not in item
    assert full_key not in json.dumps(listed)
    # and the database holds only its hash
    row = ApiKey.objects.get(key_id=key_id)
    assert row.key_hash == api_key_hash(full_key)
    assert row.key_hash != full_key
    secret = full_key.split("_", 2)[2]
    assert not [field for field, value in model_to_dict(row).items() if secret in str(value)]
    assert not [entry for entry in audit_rows(acme) if secret in json.dumps(entry.details)]

    # when the key calls the API
    by_key = api_client_for(acme)
    by_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    me = by_key.get("/api/v1/me")
    write = by_key.post("/api/v1/generate", {"prompt": "hello"}, format="json")

    # then it reads as the key, with the key's role, and may not write
    assert me.status_code == 200
    assert me.json() == {
        "user": {"username": "api-key:dashboards", "api_key": key_id},
        "tenant": {"name": "Acme Foods", "slug": "acme", "kind": "brand"},
        "role": "viewer",
    }
    assert write.status_code == 403
    assert write.json() == {
        "error": {"code": "permission_denied", "message": VIEWER_CANNOT_WRITE, "details": {}}
    }
    assert ApiKey.objects.get(key_id=key_id).last_used_at is not None

    # when the admin revokes it
    revoked = admin.post(f"/api/v1/api-keys/{key_id}/revoke")

    # then the key no longer authenticates
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = by_key.get("/api/v1/me")
    assert after.status_code == 401
    assert after.json() == {
        "error": {"code": "authentication_failed", "message": INVALID_API_KEY, "details": {}}
    }
    [refused] = audit_rows(acme, request_id=after["X-Request-ID"])
    assert (refused.outcome, refused.details["auth_failure"]) == ("denied", "revoked_api_key")

    # and creation and revocation are audited once each, by the admin
    for response, action in ((created, "api_key.create"), (revoked, "api_key.revoke")):
        rows = audit_rows(acme, request_id=response["X-Request-ID"], action=action)
        assert [(row.actor, row.object_type, row.object_id, row.outcome) for row in rows] == [
            ("user:acme-admin", "api_key", key_id, "success")
        ]


def test_analyst_key_may_write(acme):
    # given an analyst key
    full_key = api_client_for(acme, username="acme-admin").post(
        "/api/v1/api-keys", {"name": "pipeline", "role": "analyst"}, format="json"
    ).json()["key"]
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")

    # when it asks for text; the task is only sent once the transaction commits, which it never does here
    response = client.post("/api/v1/generate", {"prompt": "hello", "max_new_tokens": 8}, format="json")

    # then the job is queued in acme, created by the key
    assert response.status_code == 202
    with schema_context(acme.schema_name):
        job = Job.objects.get(pk=response.json()["job"])
    assert (job.status, job.created_by) == ("queued", f"api_key:{full_key.split('_', 2)[1]}")


def test_wrong_secret_for_a_real_key_id_is_401(acme):
    # given a real key with its secret swapped
    full_key = api_client_for(acme, username="acme-admin").post(
        "/api/v1/api-keys", {"name": "tampered", "role": "admin"}, format="json"
    ).json()["key"]
    prefix, key_id, _ = full_key.split("_", 2)
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}_{key_id}_{'x' * 43}")

    # when
    response = client.get("/api/v1/me")

    # then
    assert response.status_code == 401
    assert response.json()["error"]["message"] == INVALID_API_KEY
    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert row.details["auth_failure"] == "unknown_api_key"


def test_revoking_twice_is_409(acme):
    admin = api_client_for(acme, username="acme-admin")
    key_id = admin.post("/api/v1/api-keys", {"name": "once", "role": "viewer"}, format="json").json()["key_id"]
    assert admin.post(f"/api/v1/api-keys/{key_id}/revoke").status_code == 200

    response = admin.post(f"/api/v1/api-keys/{key_id}/revoke")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "already_revoked", "message": API_KEY_ALREADY_REVOKED, "details": {}}
    }
    assert len(audit_rows(acme, action="api_key.revoke", object_id=key_id)) == 1


def test_key_whose_secret_contains_underscores_authenticates(acme, monkeypatch):
    # given a key whose random secret happens to contain "_" (urlsafe base64 does, about every other key)
    import tenants.models

    monkeypatch.setattr(tenants.models.secrets, "token_urlsafe", lambda nbytes: "under_score_-secret_" + "a" * 24)
    full_key, key_id = api_key_for(acme, role="viewer", name="underscored")
    assert full_key.count("_") > 2

    # when it calls the API
    client = api_client_for(acme)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    response = client.get("/api/v1/me")

    # then it is that key
    assert response.status_code == 200
    assert response.json()["user"] == {"username": "api-key:underscored", "api_key": key_id}
