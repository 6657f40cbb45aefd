"""Turning an adapter's files into LoRA weights on the layers PEFT already wrapped, without PEFT's module-tree walks.

Only plain LoRA on the served linear layers is accepted; anything else is refused before it touches the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from peft import LoraConfig
from peft.tuners.lora import LoraLayer
from safetensors.torch import load as load_safetensors
from torch import nn

from inference.runtime.adapter_source import AdapterFiles

UNSUPPORTED_ADAPTER = "adapter {adapter_id!r} cannot be served: {reason}"

_PEFT_PREFIX = "base_model.model."
_LORA_SUFFIXES = (".lora_A.weight", ".lora_B.weight")
# Config keys that must be empty or false: each needs a code path that a plain LoRA on linear layers does not have.
_UNSUPPORTED_OPTIONS = (
    "use_dora", "lora_bias", "modules_to_save", "rank_pattern", "alpha_pattern", "layer_replication",
    "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "use_qalora",
)


class AdapterUnsupported(ValueError):
    """The adapter is not a plain LoRA on the layers this manager serves."""


@dataclass
class ParsedAdapter:
    adapter_id: str
    config: LoraConfig
    scaling: float  # lora_alpha / r (or / sqrt(r) with rsLoRA): the same on every layer without alpha_pattern
    pairs: dict[str, tuple[torch.Tensor, torch.Tensor]]  # layer path -> (lora_A, lora_B)
    nbytes: int


def tensor_bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def parse_adapter(
    adapter_id: str,
    files: AdapterFiles,
    *,
    layers: Mapping[str, LoraLayer],
    target_modules: frozenset[str],
    device: torch.device,
) -> ParsedAdapter:
    def refuse(reason: str) -> AdapterUnsupported:
        return AdapterUnsupported(UNSUPPORTED_ADAPTER.format(adapter_id=adapter_id, reason=reason))

    raw = dict(files.config)
    if raw.get("peft_type") != "LORA":
        raise refuse(f"peft_type is {raw.get('peft_type')!r}, not 'LORA'")
    if options := [option for option in _UNSUPPORTED_OPTIONS if raw.get(option)]:
        raise refuse(f"unsupported options {options}")
    targets = raw.get("target_modules")
    if not isinstance(targets, list) or not set(targets) <= target_modules:
        raise refuse(f"target_modules {targets!r} are not a list within {sorted(target_modules)}")
    config = LoraConfig.from_peft_type(**{**raw, "inference_mode": True})
    halves: dict[str, list[torch.Tensor | None]] = {}
    for key, tensor in load_safetensors(files.weights).items():
        suffix = next((suffix for suffix in _LORA_SUFFIXES if key.endswith(suffix)), None)
        if not key.startswith(_PEFT_PREFIX) or suffix is None:
            raise refuse(f"unexpected tensor {key}")
        halves.setdefault(key[len(_PEFT_PREFIX):-len(suffix)], [None, None])[_LORA_SUFFIXES.index(suffix)] = tensor
    pairs = {}
    for path, (lora_a, lora_b) in halves.items():
        layer = layers.get(path)
        if layer is None or lora_a is None or lora_b is None:
            raise refuse(f"layer {path} is not a served target or lacks lora_A or lora_B")
        if lora_a.shape != (config.r, layer.in_features) or lora_b.shape != (layer.out_features, config.r):
            raise refuse(f"layer {path} has shapes {tuple(lora_a.shape)}, {tuple(lora_b.shape)} for r={config.r}")
        # Adapter weights stay float32 even on a bfloat16 base, as PEFT keeps them.
        pairs[path] = (lora_a.to(device, torch.float32), lora_b.to(device, torch.float32))
    if not pairs:
        raise refuse("it holds no LoRA weights")
    scaling = config.lora_alpha / (math.sqrt(config.r) if config.use_rslora else config.r)
    nbytes = sum(tensor_bytes(lora_a) + tensor_bytes(lora_b) for lora_a, lora_b in pairs.values())
    return ParsedAdapter(adapter_id, config, scaling, pairs, nbytes)


def attach_adapter(parsed: ParsedAdapter, name: str, *, layers: Mapping[str, LoraLayer]) -> None:
    """Set the adapter's modules on its layers the way LoraLayer.update_layer does, minus the initialisation.

    PEFT's own load_adapter walks the whole module tree several times (about half a second for this model, and
    growing with every adapter held); the target layers are already known here.
    """
    with torch.no_grad():
        for path, (lora_a, lora_b) in parsed.pairs.items():
            layer = layers[path]
            layer.r[name] = parsed.config.r
            layer.lora_alpha[name] = parsed.config.lora_alpha
            layer.scaling[name] = parsed.scaling
            layer.use_rslora[name] = parsed.config.use_rslora
            layer.use_dora[name] = False
            layer.lora_bias[name] = False
            layer.lora_dropout[name] = nn.Identity()
            layer.lora_A[name] = _frozen_linear(lora_a)
            layer.lora_B[name] = _frozen_linear(lora_b)


def _frozen_linear(weight: torch.Tensor) -> nn.Linear:
    # Built on the meta device so no throwaway initialisation runs; the loaded weight replaces it.
    module = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device="meta")
    module.weight = nn.Parameter(weight, requires_grad=False)
    return module
