"""Random LoRA adapters for the base model, saved the way a trained one is: for tests and benchmarks.

lora_B is random rather than PEFT's zeros, so every adapter really changes the model's output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model

from inference.runtime.adapter_cache import ALREADY_MANAGED, DEFAULT_TARGET_MODULES
from inference.runtime.base_model import BaseModel


def write_random_adapters(
    base_model: BaseModel,
    root: Path,
    adapter_ids: Sequence[str],
    *,
    seed: int = 0,
    rank: int = 16,
    alpha: int = 32,
    b_std: float = 0.02,
    target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
) -> list[Path]:
    """Save one adapter folder per id under root (adapter_config.json + adapter_model.safetensors)."""
    if base_model.before_base_generation is not None:
        raise RuntimeError(ALREADY_MANAGED)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(target_modules), lora_dropout=0.0)
    generator = torch.Generator().manual_seed(seed)
    with base_model.lock:
        peft_model = get_peft_model(base_model.model, config, adapter_name=adapter_ids[0])
        try:
            for adapter_id in adapter_ids[1:]:
                peft_model.add_adapter(adapter_id, config)
            with torch.no_grad():
                for name, parameter in peft_model.named_parameters():
                    # Drawn on the CPU from one seeded generator, so the same seed gives the same adapters anywhere.
                    values = torch.empty(parameter.shape)
                    if ".lora_A." in name:
                        bound = 1 / math.sqrt(parameter.shape[1])  # nn.Linear's own init range
                        parameter.copy_(values.uniform_(-bound, bound, generator=generator))
                    elif ".lora_B." in name:
                        parameter.copy_(values.normal_(0.0, b_std, generator=generator))
            peft_model.save_pretrained(root, selected_adapters=list(adapter_ids))
        finally:
            peft_model.unload()
    return [Path(root) / adapter_id for adapter_id in adapter_ids]
