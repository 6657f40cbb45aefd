"""`manage.py redact`: stdin in, JSON out; oversized, binary and undecodable input exits 1 with a message."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.audit.management.commands.redact import HASH_NEEDS_TENANT, UNKNOWN_TENANT
from governance.pii.keys import tenant_pii_key
from governance.pii.redact import BINARY, MAX_CHARS, NOT_TEXT, TOO_LARGE, pii_hash

ROOT = Path(__file__).resolve().parents[3]
TEXT = "Guest 203.0.113.45 asked for a callback on 415.555.2671 about order 112-3456789-1234567."


def run(data: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "redact", *args], input=data, cwd=ROOT,
                          env=dict(os.environ), capture_output=True, timeout=120)


def test_stdin_is_redacted_to_json():
    done = run(TEXT.encode())

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "redacted": "Guest [IP] asked for a callback on [PHONE] about order 112-3456789-1234567.",
        "findings": [{"type": "ip", "start": 6, "end": 18}, {"type": "phone", "start": 43, "end": 55}],
    }


@pytest.mark.parametrize(("data", "message"), [
    (b"%PDF-1.7\x00\x00\x01", BINARY), (b"caf\xe9 au lait", NOT_TEXT), (b"a" * (MAX_CHARS * 4 + 10), TOO_LARGE),
    (b"a" * (MAX_CHARS + 1), TOO_LARGE),
])
def test_bad_input_exits_1_with_a_message_and_no_output(data, message):
    done = run(data)

    assert done.returncode == 1
    assert done.stdout == b""
    assert message in done.stderr.decode()


def test_hash_mode_needs_a_tenant():
    with pytest.raises(CommandError, match=HASH_NEEDS_TENANT):
        call_command("redact", "--mode", "hash", stdin=io.BytesIO(b"x"), stdout=io.StringIO())


def test_hash_mode_uses_the_tenants_key(acme):
    out = io.StringIO()

    call_command("redact", "--mode", "hash", "--tenant", "acme", stdin=io.BytesIO(b"jane@acme.com"), stdout=out)

    token = pii_hash("email", "jane@acme.com", key=tenant_pii_key(acme.schema_name))
    assert json.loads(out.getvalue())["redacted"] == f"[EMAIL:{token}]"
    with pytest.raises(CommandError, match=UNKNOWN_TENANT.format(slug="nobody")):
        call_command("redact", "--mode", "hash", "--tenant", "nobody", stdin=io.BytesIO(b"x"), stdout=io.StringIO())
