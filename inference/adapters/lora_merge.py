"""Merge a weighted stack of LoRA adapters into one LoRA, exactly, by concatenating ranks (PEFT's `cat`): for servers
that take one LoRA per request. Pure numpy: no torch in the web or worker process.

With A = vstack(A_i) and B = hstack(w_i · s_i · B_i), B @ A = Σ w_i · s_i · B_i @ A_i, so the merged adapter has
r = Σ r_i and lora_alpha = r (scaling 1). A module that an adapter does not touch gets zero blocks for its ranks.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
from safetensors.numpy import save

LORA_WEIGHT = re.compile(r"^(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")
# safetensors.numpy has no bfloat16, so the (already verified) file is read here; BF16 is the top half of an F32.
NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}

NO_PARTS = "nothing to merge: the stack is empty"
NOT_LORA = "adapter {index}: peft_type is {value!r}; only LORA adapters merge"
BAD_SHAPE = ("adapter {index}: r and lora_alpha must be positive, target_modules a list of module names and "
             "base_model_name_or_path a name")
UNSUPPORTED = "adapter {index}: {feature} cannot be merged by concatenation; retrain without it"
BASES_DIFFER = "the adapters are for different base models: {bases}"
BAD_TENSOR = "adapter {index}: {name!r} is not a LoRA weight (<module>.lora_A.weight or .lora_B.weight)"
BAD_DTYPE = "adapter {index}: {name!r} is {dtype}; only F64, F32, F16 and BF16 merge"
UNPAIRED = "adapter {index}: module {module!r} lacks lora_A or lora_B"
RANK_MISMATCH = "adapter {index}: module {module!r} has rank {found}, but its config says r={rank}"
DIMS_DIFFER = "module {module!r}: adapters disagree on its shape ({shapes})"


def cat_merge(parts: list[tuple[dict, bytes, float]]) -> tuple[dict, bytes]:
    """One LoRA (adapter_config dict, adapter_model.safetensors bytes, float32) whose delta is the weighted sum of
    the parts' deltas. A single part keeps its config; only its B is scaled by the weight."""
    if not parts:
        raise ValueError(NO_PARTS)
    configs = [_checked(config, index) for index, (config, _, _) in enumerate(parts)]
    bases = sorted({config["base_model_name_or_path"] for config in configs})
    if len(bases) > 1:
        raise ValueError(BASES_DIFFER.format(bases=", ".join(bases)))
    loras = [_lora_pairs(data, index, rank=config["r"]) for index, (config, (_, data, _)) in
             enumerate(zip(configs, parts, strict=True))]
    scales = [float(weight) * _scaling(config) for config, (_, _, weight) in zip(configs, parts, strict=True)]
    if len(parts) == 1:
        weight = np.float32(parts[0][2])
        tensors = {}
        for module, (a, b) in loras[0].items():
            tensors[f"{module}.lora_A.weight"] = a
            tensors[f"{module}.lora_B.weight"] = b * weight
        return dict(configs[0]), save(tensors, metadata={"format": "pt"})

    ranks = [config["r"] for config in configs]
    tensors = {}
    for module in sorted(set().union(*loras)):
        present = [lora[module] for lora in loras if module in lora]
        shapes = {(a.shape[1], b.shape[0]) for a, b in present}
        if len(shapes) > 1:
            raise ValueError(DIMS_DIFFER.format(module=module, shapes=sorted(shapes)))
        [(fan_in, fan_out)] = shapes
        a_blocks, b_blocks = [], []
        for lora, rank, scale in zip(loras, ranks, scales, strict=True):
            a, b = lora.get(module, (np.zeros((rank, fan_in), np.float32), np.zeros((fan_out, rank), np.float32)))
            a_blocks.append(a)
            b_blocks.append(b * np.float32(scale))
        tensors[f"{module}.lora_A.weight"] = np.ascontiguousarray(np.vstack(a_blocks), dtype=np.float32)
        tensors[f"{module}.lora_B.weight"] = np.ascontiguousarray(np.hstack(b_blocks), dtype=np.float32)

    rank = sum(ranks)
    targets = list(dict.fromkeys(target for config in configs for target in config["target_modules"]))
    first = configs[0]
    merged = {
        "peft_type": "LORA", "task_type": first.get("task_type", "CAUSAL_LM"), "r": rank, "lora_alpha": rank,
        "target_modules": targets, "base_model_name_or_path": bases[0], "lora_dropout": 0.0, "bias": "none",
        "use_rslora": False, "use_dora": False, "fan_in_fan_out": bool(first.get("fan_in_fan_out", False)),
        "rank_pattern": {}, "alpha_pattern": {},
    }
    return merged, save(tensors, metadata={"format": "pt"})


def _checked(config: dict, index: int) -> dict:
    if config.get("peft_type") != "LORA":
        raise ValueError(NOT_LORA.format(index=index, value=config.get("peft_type")))
    rank, alpha, targets = config.get("r"), config.get("lora_alpha"), config.get("target_modules")
    if not (isinstance(rank, int) and rank > 0 and isinstance(alpha, int | float) and alpha > 0
            and isinstance(targets, list) and all(isinstance(t, str) for t in targets)
            and isinstance(config.get("base_model_name_or_path"), str)):
        raise ValueError(BAD_SHAPE.format(index=index))
    for feature, used in (("rank_pattern", config.get("rank_pattern")), ("alpha_pattern", config.get("alpha_pattern")),
                          ("use_dora", config.get("use_dora")),
                          (f"bias={config.get('bias')!r}", config.get("bias") not in (None, "none"))):
        if used:
            raise ValueError(UNSUPPORTED.format(index=index, feature=feature))
    return config


def _scaling(config: dict) -> float:
    rank, alpha = config["r"], float(config["lora_alpha"])
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _lora_pairs(data: bytes, index: int, *, rank: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """module -> (A [r, in], B [out, r]) as float32."""
    sides: dict[str, dict[str, np.ndarray]] = {}
    for name, tensor in _tensors(data, index).items():
        match = LORA_WEIGHT.match(name)
        if match is None or tensor.ndim != 2:
            raise ValueError(BAD_TENSOR.format(index=index, name=name))
        sides.setdefault(match["module"], {})[match["side"]] = tensor
    pairs = {}
    for module, found in sides.items():
        if set(found) != {"A", "B"}:
            raise ValueError(UNPAIRED.format(index=index, module=module))
        a, b = found["A"], found["B"]
        if a.shape[0] != rank or b.shape[1] != rank:
            raise ValueError(RANK_MISMATCH.format(index=index, module=module, found=(a.shape[0], b.shape[1]),
                                                  rank=rank))
        pairs[module] = (a, b)
    return pairs


def _tensors(data: bytes, index: int) -> dict[str, np.ndarray]:
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = body[begin:end]
        if entry["dtype"] == "BF16":
            values = (np.frombuffer(raw, "<u2").astype("<u4") << 16).view("<f4")
        elif entry["dtype"] in NUMPY_DTYPES:
            values = np.frombuffer(raw, NUMPY_DTYPES[entry["dtype"]])
        else:
            raise ValueError(BAD_DTYPE.format(index=index, name=name, dtype=entry["dtype"]))
        tensors[name] = values.astype(np.float32).reshape(entry["shape"])
    return tensors
