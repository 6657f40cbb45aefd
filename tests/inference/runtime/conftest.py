"""The real SmolLM2 base model (converted once into the project's model cache) and real LoRA adapters for it.

Adapters are random r=16 LoRAs saved with PEFT's save_pretrained, lora_B non-zero so each one changes the output.
One base model serves the whole session; every test's manager gives it back unwrapped when the test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from inference.runtime import (
    AdapterManager,
    AdapterSource,
    BaseModel,
    DirectorySource,
    ensure_cached,
    load_base_model,
)
from inference.runtime.synthetic_adapters import write_random_adapters

ADAPTER_IDS = ("task", "brand", "retailer", "extra")
PROMPT = "Name a fruit."
GIB = 1 << 30


@pytest.fixture(scope="session")
def base_model() -> BaseModel:
    from django.conf import settings

    ensure_cached(source=None, cache_dir=settings.RMN_MODEL_CACHE_DIR)
    return load_base_model(source=None, cache_dir=settings.RMN_MODEL_CACHE_DIR)


@pytest.fixture(scope="session")
def base_logits(base_model: BaseModel) -> torch.Tensor:
    """The plain model's logits for PROMPT, taken before any manager wrapped it."""
    return logits_of(base_model)


@pytest.fixture(scope="session")
def adapter_dir(base_model: BaseModel, base_logits: torch.Tensor, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adapters")
    write_random_adapters(base_model, root, ADAPTER_IDS, seed=7, b_std=0.05)
    return root


@pytest.fixture
def manager(base_model: BaseModel, adapter_dir: Path) -> Iterator[AdapterManager]:
    with managed(base_model, DirectorySource(adapter_dir), hot_after=None) as manager:
        yield manager


@contextlib.contextmanager
def managed(base_model: BaseModel, source: AdapterSource, **options) -> Iterator[AdapterManager]:
    """A manager on the session's base model, closed (the model given back unwrapped) however the test ends."""
    manager = AdapterManager(base_model, source, options.pop("memory_budget_bytes", GIB), **options)
    try:
        yield manager
    finally:
        manager.close()


def logits_of(base_model: BaseModel, text: str = PROMPT) -> torch.Tensor:
    """Logits of one forward pass with whatever weights and adapters are in place now."""
    encoded = base_model.tokenizer(text, return_tensors="pt").to(base_model.device)
    with base_model.lock, torch.no_grad():
        return base_model.model(**encoded).logits.float().cpu()
