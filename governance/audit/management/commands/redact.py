"""`manage.py redact [--mode mask|remove|hash] [--tenant SLUG]`: text on stdin, `{"redacted", "findings"}` on stdout.

It lives in governance.audit because governance itself is not an installed app; the work is governance/pii's.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from governance.pii.redact import MAX_CHARS, Mode, PiiInputError, decode_text, redact

HASH_NEEDS_TENANT = "--mode hash needs --tenant: the key is the tenant's"
UNKNOWN_TENANT = "no tenant with slug {slug!r}"


class Command(BaseCommand):
    help = (f"Redact personal data in the text on stdin (UTF-8, at most {MAX_CHARS:,} characters) and print JSON "
            "with the redacted text and the findings' types and offsets; exit 1 for oversized or binary input.")
    # Mask and remove need no database; --tenant looks the tenant up itself.
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.MASK.value)
        parser.add_argument("--tenant", metavar="SLUG", help="the tenant whose key hashes (needed for --mode hash)")

    def handle(self, *args, mode: str, tenant: str | None, **options) -> None:
        if mode == Mode.HASH and not tenant:
            raise CommandError(HASH_NEEDS_TENANT)
        key = _tenant_key(tenant) if tenant and mode == Mode.HASH else None
        stdin = options.get("stdin") or sys.stdin.buffer
        # One byte over the bound is enough to know the input is too large; the rest is never read.
        data = stdin.read(MAX_CHARS * 4 + 1)
        try:
            text = decode_text(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
        except PiiInputError as exc:
            raise CommandError(exc.message) from exc
        result = redact(text, mode=mode, key=key)
        self.stdout.write(json.dumps({"redacted": result.redacted, "findings": result.findings_json()},
                                     ensure_ascii=False))


def _tenant_key(slug: str) -> bytes:
    from governance.pii.keys import tenant_pii_key
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(UNKNOWN_TENANT.format(slug=slug))
    return tenant_pii_key(tenant.schema_name)
