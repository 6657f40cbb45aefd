"""API for who-am-I, JWT login and refresh, and tenant API keys."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from governance.audit.services import audit_record
from tenants.authentication import TENANT_CLAIM, WRONG_TENANT_TOKEN
from tenants.models import Role
from tenants.permissions import IsTenantAdmin
from tenants.selectors import api_key_list
from tenants.services import api_key_create, api_key_revoke

BAD_CREDENTIALS = "Wrong username or password."


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        user = serializers.DictField()
        tenant = serializers.DictField()
        role = serializers.CharField()

    @extend_schema(responses=OutputSerializer, summary="The caller: user (or API key), tenant and role")
    def get(self, request):
        principal, tenant = request.user, request.tenant
        user = {"username": principal.username}
        if hasattr(principal, "api_key_id"):
            user["api_key"] = principal.api_key_id
        else:
            user["email"] = principal.email
        return Response({
            "user": user,
            "tenant": {"name": tenant.name, "slug": tenant.slug, "kind": tenant.kind},
            "role": principal.role,
        })


class _CredentialsInBodyApi(APIView):
    """Login and refresh take their credentials in the body, not in a header.

    A view without authenticators would turn every refusal into a 403; saying how to authenticate keeps it a 401.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class TokenObtainApi(_CredentialsInBodyApi):
    """Username + password of a user of this tenant → JWT access and refresh tokens bound to this tenant."""

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256)

    class OutputSerializer(serializers.Serializer):
        access = serializers.CharField()
        refresh = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Log in for a JWT")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # authenticate() records failures through the user_login_failed signal.
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            request._request.rmn_auth_failure = "bad_credentials"
            raise AuthenticationFailed(BAD_CREDENTIALS)
        refresh = RefreshToken.for_user(user)
        refresh[TENANT_CLAIM] = connection.schema_name
        audit_record(actor=f"user:{user.username}", action="login", object_type="user", object_id=str(user.pk),
                     ip=request.META.get("REMOTE_ADDR"), details={"method": "jwt"})
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class TokenRefreshApi(_CredentialsInBodyApi):
    """A refresh token issued on this tenant's domain → a new access token for the same tenant."""

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=TokenObtainApi.OutputSerializer, summary="Refresh a JWT")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(data.validated_data["refresh"])
        except TokenError as exc:
            request._request.rmn_auth_failure = "invalid_jwt"
            raise AuthenticationFailed("Invalid or expired token.") from exc
        if refresh.get(TENANT_CLAIM) != connection.schema_name:
            request._request.rmn_auth_failure = "jwt_of_other_tenant"
            raise AuthenticationFailed(WRONG_TENANT_TOKEN)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class ApiKeyOutputSerializer(serializers.Serializer):
    key_id = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyListCreateApi(APIView):
    permission_classes = [IsTenantAdmin]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)

    @extend_schema(responses=ApiKeyOutputSerializer(many=True), summary="This tenant's API keys (admins)")
    def get(self, request):
        return Response(ApiKeyOutputSerializer(api_key_list(tenant=request.tenant), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ApiKeyOutputSerializer},
                   summary="Create an API key; the full key is in this response only")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, full = api_key_create(tenant=request.tenant, actor=request.user.actor, **data.validated_data)
        return Response({**ApiKeyOutputSerializer(key).data, "key": full}, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(request=None, responses=ApiKeyOutputSerializer, summary="Revoke an API key")
    def post(self, request, key_id: str):
        key = api_key_revoke(tenant=request.tenant, key_id=key_id, actor=request.user.actor)
        return Response(ApiKeyOutputSerializer(key).data)
