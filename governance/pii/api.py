"""POST /api/v1/governance/redact: the tenant's text with personal data masked, removed or hashed, and where it was.
The raw values never leave: findings carry type and offsets only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.pii.keys import tenant_pii_key
from governance.pii.redact import MAX_CHARS, TOO_LARGE, UNKNOWN_MODE, Mode, PiiInputError, check_text, redact
from rmn_saas.errors import ApiError
from tenants.permissions import AnyRole

TEXT_REQUIRED = "text is required and must be a string"
BODY_NOT_OBJECT = "the body must be a JSON object"
# JSON may spell each character as a six-character \u escape; a bigger body is refused before it is parsed.
MAX_BODY_BYTES = MAX_CHARS * 6 + 4096


class RedactApi(APIView):
    """Any role may redact: it computes and stores nothing (the audit row has the route, never the text)."""

    permission_classes = [AnyRole]

    @extend_schema(
        request={"application/json": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "maxLength": MAX_CHARS},
            "mode": {"type": "string", "enum": [m.value for m in Mode], "default": "mask"}}}},
        responses={200: dict},
        summary="Mask, remove or hash emails, phones, SSNs, card numbers, IPs and street addresses in text",
    )
    def post(self, request):
        if _content_length(request) > MAX_BODY_BYTES:
            raise ApiError(status_code=413, code="too_large", message=TOO_LARGE, details={"max_chars": MAX_CHARS})
        body = request.data
        if not isinstance(body, dict):
            raise ApiError(status_code=400, code="invalid", message=BODY_NOT_OBJECT)
        text, mode = body.get("text"), body.get("mode", Mode.MASK)
        if not isinstance(text, str):
            raise _invalid("text", TEXT_REQUIRED)
        if mode not in Mode.__members__.values():
            raise _invalid("mode", UNKNOWN_MODE)
        try:
            check_text(text)
        except PiiInputError as exc:
            raise ApiError(status_code=exc.status, code=exc.code, message=exc.message,
                           details={"field": "text", "max_chars": MAX_CHARS}) from exc
        key = tenant_pii_key(request.tenant.schema_name) if mode == Mode.HASH else None
        result = redact(text, mode=mode, key=key)
        return Response({"redacted": result.redacted, "findings": result.findings_json()})


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body for a malformed length; the parser then finds it empty


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(status_code=400, code="invalid", message=message, details={"field": field})
