"""Model runtime for the GPU worker: the only package that imports torch/transformers/peft.

Everything else talks to the model through the plain-data surface re-exported here. Exports load on first use,
so `inference.runtime.adapter_source` (plain Python) can be imported without pulling torch in.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "inference.runtime.base_model": (
        "DEFAULT_BASE_MODEL", "BaseModel", "PromptTooLong", "ResolvedSource", "ensure_cached", "get_base_model",
        "load_base_model", "resolve_base_model",
    ),
    "inference.runtime.adapter_source": (
        "AdapterFiles", "AdapterNotFound", "AdapterSource", "AdapterUnverified", "DirectorySource",
        "adapter_digest", "sha256_verifier",
    ),
    "inference.runtime.adapter_loading": ("AdapterUnsupported",),
    "inference.runtime.adapter_cache": ("AdapterBudgetExceeded", "AdapterManager"),
    "inference.runtime.composition": ("InvalidStack", "Request", "RequestBatcher", "Step", "normalize_stack"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
