"""The registry as the gpu worker's adapter source: ids are registry primary keys, and every fetch goes through
`load_verified` (signature, decryption, both hashes), so a tampered artifact never reaches the model and is
recorded in its owner's audit log.

Access is not decided here: the generation task asks `access.adapter_usable` for the requesting tenant before it
names an adapter to the manager. Plain Python, no torch.
"""

from __future__ import annotations

import json

from inference.adapters.artifacts import ArtifactTampered, load_verified
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.runtime.adapter_source import (
    ADAPTER_NOT_FOUND,
    ADAPTER_UNVERIFIED,
    AdapterFiles,
    AdapterNotFound,
    AdapterUnverified,
)


def adapter_key(adapter: Adapter) -> str:
    """The id the adapter manager knows an adapter by."""
    return str(adapter.pk)


class RegistrySource:
    """`AdapterSource` over the registry; `actor` is who the tamper audit names."""

    def __init__(self, *, actor: str = "system:gpu-worker") -> None:
        self.actor = actor

    def files(self, adapter_id: str) -> AdapterFiles:
        adapter = None
        if adapter_id.isdigit():
            adapter = Adapter.objects.select_related("owner").filter(pk=int(adapter_id)).first()
        if adapter is None:
            raise AdapterNotFound(ADAPTER_NOT_FOUND.format(adapter_id=adapter_id))
        try:
            files = load_verified(adapter, actor=self.actor)
        except ArtifactTampered as exc:
            raise AdapterUnverified(ADAPTER_UNVERIFIED.format(adapter_id=adapter_id, reason=exc.reason)) from exc
        return AdapterFiles(json.loads(files[CONFIG_FILE]), files[MODEL_FILE])
