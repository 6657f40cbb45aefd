"""Real LoRA-shaped artifacts for the adapter tests (safetensors written with its numpy API, no torch), and adapters
stored through the real upload service."""

from __future__ import annotations

import json

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from safetensors.numpy import save

from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import adapter_approve, adapter_upload

MODULES = ("q_proj", "v_proj")
HIDDEN = 16


def lora_tensors(*, rank: int = 4, modules=MODULES, layers: int = 2, dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    tensors = {}
    for layer in range(layers):
        for module in modules:
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.standard_normal((rank, HIDDEN)).astype(dtype)
            tensors[f"{prefix}.lora_B.weight"] = rng.standard_normal((HIDDEN, rank)).astype(dtype)
    return tensors


def lora_model(**kwargs) -> bytes:
    return save(lora_tensors(**kwargs), metadata={"format": "pt"})


def lora_config(*, rank: int = 4, alpha: float = 8, base_model: str | None = None, modules=MODULES,
                **overrides) -> bytes:
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0,
              "target_modules": list(modules), "base_model_name_or_path": base_model or settings.RMN_BASE_MODEL,
              "bias": "none", **overrides}
    return json.dumps({key: value for key, value in config.items() if value is not None}).encode()


def lora_files(*, model: bytes | None = None, config: bytes | None = None, rank: int = 4,
               base_model: str | None = None, extra: dict[str, bytes] | None = None) -> list[SimpleUploadedFile]:
    files = {MODEL_FILE: lora_model(rank=rank) if model is None else model,
             CONFIG_FILE: lora_config(rank=rank, base_model=base_model) if config is None else config, **(extra or {})}
    return [SimpleUploadedFile(name, data) for name, data in files.items()]


# SmolLM2-135M's attention shapes: hidden 576, 3 key/value heads of 64; 30 decoder layers.
SMOLLM2_SHAPES = {"q_proj": (576, 576), "v_proj": (192, 576)}
SMOLLM2_LAYERS = 30


def smollm2_lora_files(*, seed: int, rank: int = 8, alpha: float = 16, b_std: float = 0.05) -> list:
    """A LoRA for the embedded base model (q and v projections of every layer) whose random lora_B really changes
    what the model says; different seeds give different adapters."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in range(SMOLLM2_LAYERS):
        for module, (out_features, in_features) in SMOLLM2_SHAPES.items():
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            bound = 1 / np.sqrt(in_features)
            tensors[f"{prefix}.lora_A.weight"] = rng.uniform(-bound, bound, (rank, in_features)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = rng.normal(0, b_std, (out_features, rank)).astype(np.float32)
    return [SimpleUploadedFile(MODEL_FILE, save(tensors, metadata={"format": "pt"})),
            SimpleUploadedFile(CONFIG_FILE, lora_config(rank=rank, alpha=alpha, modules=tuple(SMOLLM2_SHAPES)))]


def adapter_made(owner, *, name: str, kind: str | None = None, task: str = "", approve: bool = True,
                 published: bool = False, base_model: str | None = None, rank: int = 4,
                 actor: str = "user:test", files: list | None = None) -> Adapter:
    """An adapter stored by the real upload service (and approved by the real service unless asked not to)."""
    kind = kind or {"platform": "task"}.get(owner.kind, owner.kind)
    adapter = adapter_upload(owner=owner, actor=actor, name=name, kind=kind, task=task, published=published,
                             files=files or lora_files(rank=rank, base_model=base_model))
    return adapter_approve(adapter=adapter, actor=actor) if approve else adapter
