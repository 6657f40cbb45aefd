"""Merging a weighted stack of LoRAs into one by concatenating ranks: for every module the merged delta
(alpha/r)·B@A is exactly Σ w_i·(alpha_i/r_i)·B_i@A_i; configs that concatenation cannot honour are refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from safetensors.numpy import load, save

from inference.adapters import lora_merge as M

BASE = "smollm2-135m-instruct"
# (in, out) per module kind: rectangular on purpose, so a transposed block cannot pass.
SHAPES = {"q_proj": (16, 16), "k_proj": (16, 8), "v_proj": (16, 8), "up_proj": (16, 32)}


def _lora(*, rank: int, alpha: float, modules: tuple[str, ...], seed: int, layers: int = 2, base: str = BASE,
          dtype=np.float32, **config) -> tuple[dict, bytes]:
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in range(layers):
        for module in modules:
            fan_in, fan_out = SHAPES[module]
            prefix = f"base_model.model.model.layers.{layer}.{'mlp' if module == 'up_proj' else 'self_attn'}.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.standard_normal((rank, fan_in)).astype(dtype)
            tensors[f"{prefix}.lora_B.weight"] = rng.standard_normal((fan_out, rank)).astype(dtype)
    return ({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0,
             "target_modules": list(modules), "base_model_name_or_path": base, "bias": "none", **config},
            save(tensors, metadata={"format": "pt"}))


def _deltas(config: dict, data: bytes) -> dict[str, np.ndarray]:
    """module -> scaling·B@A, as PEFT computes it from the config."""
    tensors = load(data)
    scaling = config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
    return {name.removesuffix(".lora_A.weight"): scaling * (tensors[name.replace("lora_A", "lora_B")].astype(np.float64)
                                                            @ tensors[name].astype(np.float64))
            for name in tensors if name.endswith(".lora_A.weight")}


def _expected(parts: list[tuple[dict, bytes, float]]) -> dict[str, np.ndarray]:
    total: dict[str, np.ndarray] = {}
    for config, data, weight in parts:
        for module, delta in _deltas(config, data).items():
            total[module] = total.get(module, 0) + weight * delta
    return total


def _assert_merges_exactly(parts, config: dict, data: bytes) -> None:
    merged, expected = _deltas(config, data), _expected(parts)
    assert sorted(merged) == sorted(expected)
    for module, delta in expected.items():
        assert np.allclose(merged[module], delta, atol=1e-5), module


def test_a_stack_of_different_ranks_alphas_and_modules_merges_exactly():
    # given three adapters that differ in rank, alpha and the modules they touch
    parts = [(*_lora(rank=2, alpha=4, modules=("q_proj", "v_proj"), seed=1), 1.0),
             (*_lora(rank=4, alpha=16, modules=("q_proj", "k_proj", "up_proj"), seed=2), 0.5),
             (*_lora(rank=8, alpha=8, modules=("v_proj",), seed=3, layers=1), 0.7)]

    # when they are merged
    config, data = M.cat_merge(parts)

    # then the merged adapter has the summed rank, scaling 1 and every module, and its delta is the weighted sum
    assert (config["r"], config["lora_alpha"], config["use_rslora"]) == (14, 14, False)
    assert config["target_modules"] == ["q_proj", "v_proj", "k_proj", "up_proj"]
    assert config["base_model_name_or_path"] == BASE
    tensors = load(data)
    assert {tensor.dtype for tensor in tensors.values()} == {np.dtype(np.float32)}
    assert tensors["base_model.model.model.layers.1.mlp.up_proj.lora_A.weight"].shape == (14, 16)
    assert tensors["base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"].shape == (32, 14)
    # the rank-2 adapter does not touch up_proj: its block is zero
    assert not tensors["base_model.model.model.layers.1.mlp.up_proj.lora_A.weight"][:2].any()
    _assert_merges_exactly(parts, config, data)


def test_rslora_scaling_is_honoured():
    # given an rsLoRA adapter (scaling alpha/sqrt(r)) stacked with a plain one
    parts = [(*_lora(rank=4, alpha=8, modules=("q_proj",), seed=4, use_rslora=True), 1.0),
             (*_lora(rank=2, alpha=2, modules=("q_proj", "v_proj"), seed=5), 0.25)]

    config, data = M.cat_merge(parts)

    # then the merged (plain, scaling 1) adapter carries the rsLoRA scaling in B
    assert (config["r"], config["lora_alpha"], config["use_rslora"]) == (6, 6, False)
    _assert_merges_exactly(parts, config, data)


def test_a_single_adapter_keeps_its_config_and_only_b_is_weighted():
    config, data = _lora(rank=4, alpha=16, modules=("q_proj", "v_proj"), seed=6, use_rslora=True)

    merged_config, merged = M.cat_merge([(config, data, 0.6)])

    assert merged_config == config
    original, tensors = load(data), load(merged)
    assert sorted(tensors) == sorted(original)
    name = "base_model.model.model.layers.0.self_attn.q_proj"
    assert np.array_equal(tensors[f"{name}.lora_A.weight"], original[f"{name}.lora_A.weight"])
    assert np.allclose(tensors[f"{name}.lora_B.weight"], 0.6 * original[f"{name}.lora_B.weight"])
    _assert_merges_exactly([(config, data, 0.6)], merged_config, merged)


def test_bfloat16_weights_are_read_and_merged_as_float32():
    # given an adapter whose weights are bfloat16 (safetensors.numpy cannot read those)
    config, data = _lora(rank=2, alpha=4, modules=("q_proj",), seed=7)
    as_bf16 = {name: (tensor.view(np.uint32) >> 16).astype(np.uint16) for name, tensor in load(data).items()}
    header = {name: {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [0, 0]} for name, t in as_bf16.items()}
    body, offset = b"", 0
    for name, tensor in as_bf16.items():
        header[name]["data_offsets"] = [offset, offset + tensor.nbytes]
        body, offset = body + tensor.tobytes(), offset + tensor.nbytes
    raw = json.dumps(header).encode()
    bf16 = len(raw).to_bytes(8, "little") + raw + body
    truncated = save({name: (t.astype(np.uint32) << 16).view(np.float32) for name, t in as_bf16.items()})

    config_out, merged = M.cat_merge([(config, bf16, 1.0), (*_lora(rank=2, alpha=2, modules=("q_proj",), seed=8), 1.0)])

    # then it merges like the float32 values bfloat16 holds
    _assert_merges_exactly([(config, truncated, 1.0), (*_lora(rank=2, alpha=2, modules=("q_proj",), seed=8), 1.0)],
                           config_out, merged)


@pytest.mark.parametrize(("override", "feature"), [
    ({"rank_pattern": {"q_proj": 8}}, "rank_pattern"),
    ({"alpha_pattern": {"q_proj": 32}}, "alpha_pattern"),
    ({"use_dora": True}, "use_dora"),
    ({"bias": "lora_only"}, "bias='lora_only'"),
])
def test_configs_that_concatenation_cannot_honour_are_refused(override, feature):
    plain = (*_lora(rank=2, alpha=4, modules=("q_proj",), seed=1), 1.0)
    odd = (*_lora(rank=2, alpha=4, modules=("q_proj",), seed=2, **override), 1.0)

    with pytest.raises(ValueError) as caught:
        M.cat_merge([plain, odd])

    assert str(caught.value) == M.UNSUPPORTED.format(index=1, feature=feature)


def test_empty_patterns_and_a_null_bias_are_accepted():
    parts = [(*_lora(rank=2, alpha=4, modules=("q_proj",), seed=1, rank_pattern={}, alpha_pattern={}, bias=None,
                     use_dora=False), 1.0),
             (*_lora(rank=2, alpha=4, modules=("q_proj",), seed=2), 1.0)]

    _assert_merges_exactly(parts, *M.cat_merge(parts))


def test_adapters_for_different_base_models_are_refused():
    parts = [(*_lora(rank=2, alpha=4, modules=("q_proj",), seed=1), 1.0),
             (*_lora(rank=2, alpha=4, modules=("q_proj",), seed=2, base="meta-llama/Llama-3.1-8B"), 1.0)]

    with pytest.raises(ValueError) as caught:
        M.cat_merge(parts)

    assert str(caught.value) == M.BASES_DIFFER.format(bases=f"meta-llama/Llama-3.1-8B, {BASE}")


def test_an_empty_stack_and_a_rank_that_disagrees_with_the_config_are_refused():
    with pytest.raises(ValueError, match=M.NO_PARTS):
        M.cat_merge([])

    config, data = _lora(rank=2, alpha=4, modules=("q_proj",), seed=1)
    with pytest.raises(ValueError) as caught:
        M.cat_merge([({**config, "r": 4}, data, 1.0)])
    assert str(caught.value) == M.RANK_MISMATCH.format(
        index=0, module="base_model.model.model.layers.0.self_attn.q_proj", found=(2, 2), rank=4)
