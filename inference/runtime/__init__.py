"""Model runtime for the GPU worker: the only package that imports torch/transformers/peft.

Everything else talks to the model through the plain-data surface re-exported here.
"""

from inference.runtime.base_model import (
    DEFAULT_BASE_MODEL,
    BaseModel,
    PromptTooLong,
    ResolvedSource,
    ensure_cached,
    get_base_model,
    load_base_model,
    resolve_base_model,
)

__all__ = [
    "DEFAULT_BASE_MODEL",
    "BaseModel",
    "PromptTooLong",
    "ResolvedSource",
    "ensure_cached",
    "get_base_model",
    "load_base_model",
    "resolve_base_model",
]
