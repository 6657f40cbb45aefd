"""Where the adapter manager gets an adapter's files, and how it checks them before they reach the model.

Plain Python (no torch): the registry implements `AdapterSource` with decryption and its signature check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"

ADAPTER_NOT_FOUND = "adapter {adapter_id!r} is not available"
ADAPTER_UNVERIFIED = "adapter {adapter_id!r} failed verification: {reason}"


class AdapterNotFound(LookupError):
    """The source has no adapter with this id (or will not say that it has)."""


class AdapterUnverified(ValueError):
    """The adapter's files are not the ones that were published."""


class AdapterFiles(NamedTuple):
    config: dict
    weights: bytes


class AdapterSource(Protocol):
    def files(self, adapter_id: str) -> AdapterFiles | tuple[dict, bytes]:
        """(adapter_config.json parsed, adapter_model.safetensors bytes); AdapterNotFound when there is none."""
        ...


# verify(adapter_id, files) raises AdapterUnverified (or any error) to refuse the adapter.
Verify = Callable[[str, AdapterFiles], None]


class DirectorySource:
    """Adapters saved by PEFT's `save_pretrained`, one folder per adapter id under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, adapter_id: str) -> Path:
        folder = self.root / adapter_id
        # Ids come from requests: one must not name a folder outside root.
        if not adapter_id or folder.resolve().parent != self.root.resolve():
            raise AdapterNotFound(ADAPTER_NOT_FOUND.format(adapter_id=adapter_id))
        return folder

    def files(self, adapter_id: str) -> AdapterFiles:
        folder = self.path(adapter_id)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text())
            weights = (folder / WEIGHTS_FILE).read_bytes()
        except FileNotFoundError:
            raise AdapterNotFound(ADAPTER_NOT_FOUND.format(adapter_id=adapter_id)) from None
        return AdapterFiles(config, weights)


def adapter_digest(files: AdapterFiles) -> str:
    """sha256 over the canonical config JSON and the weights file."""
    digest = hashlib.sha256(json.dumps(files.config, sort_keys=True, separators=(",", ":")).encode())
    digest.update(b"\0")
    digest.update(files.weights)
    return digest.hexdigest()


def sha256_verifier(expected: Mapping[str, str]) -> Verify:
    """A `verify` callback accepting an adapter only when its `adapter_digest` is the one recorded for its id."""

    def verify(adapter_id: str, files: AdapterFiles) -> None:
        want = expected.get(adapter_id)
        if want is None:
            raise AdapterUnverified(ADAPTER_UNVERIFIED.format(adapter_id=adapter_id, reason="no digest on record"))
        if adapter_digest(files) != want:
            raise AdapterUnverified(ADAPTER_UNVERIFIED.format(adapter_id=adapter_id, reason="sha256 mismatch"))

    return verify
