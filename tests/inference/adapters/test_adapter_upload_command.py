"""`manage.py adapter_upload`: how platform staff add task adapters (the platform domain serves no tenant API)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from inference.adapters import artifacts as A
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import UPLOAD_REFUSED
from tests.conftest import audit_rows
from tests.inference.adapters.builders import lora_config, lora_model


def _write(folder, files: dict[str, bytes]) -> list[str]:
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [str(folder / name) for name in files]


def test_platform_staff_upload_and_approve_a_task_adapter(platform, tmp_path):
    paths = _write(tmp_path, {MODEL_FILE: lora_model(), CONFIG_FILE: lora_config()})
    out = io.StringIO()

    call_command("adapter_upload", *paths, "--owner", "public", "--kind", "task", "--task", "ad_copy", "--name",
                 "ad-copy", "--metrics", '{"rougeL": 0.4}', "--approve", stdout=out)

    adapter = Adapter.objects.get()
    assert (adapter.owner, adapter.kind, adapter.task, adapter.status, adapter.metrics, adapter.created_by) == (
        platform, "task", "ad_copy", "approved", {"rougeL": 0.4}, "command:adapter_upload")
    assert out.getvalue().startswith(f"adapter {adapter.pk}: ad-copy v1 of public (task, approved)")
    assert A.load_verified(adapter)[MODEL_FILE] == lora_model()
    assert [row.action for row in audit_rows(platform, action__startswith="adapter.")] == [
        "adapter.upload", "adapter.approve"]


def test_a_refused_upload_fails_the_command_with_the_reason(platform, tmp_path):
    paths = _write(tmp_path, {MODEL_FILE: lora_model(), CONFIG_FILE: lora_config(), "adapter_model.bin": b"\x80\x02"})

    with pytest.raises(CommandError) as caught:
        call_command("adapter_upload", *paths, "--owner", "public", "--kind", "task", "--task", "ad_copy",
                     "--name", "ad-copy")

    assert str(caught.value) == UPLOAD_REFUSED.format(reason=A.PICKLE_NAME.format(file="adapter_model.bin"))
    assert not Adapter.objects.exists()


def test_an_unknown_owner_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="no tenant 'nobody'"):
        call_command("adapter_upload", str(tmp_path / "x"), "--owner", "nobody", "--kind", "task", "--name", "x")
