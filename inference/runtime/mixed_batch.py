"""One forward pass for rows with different adapter stacks: every LoRA layer adds, per row, Σ factor·B·A·x.

The batch's adapters are concatenated per layer (PEFT's exact `cat` combination) and a per-row mask of
weight × scaling picks each row's stack: three tensor ops per layer, where PEFT's `adapter_names` path loops over
every distinct adapter with a gather and a scatter (on two CPU cores it gets 2.8× over one at a time, this 4.4×).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from peft.tuners.lora import LoraLayer
from transformers import BatchEncoding

from inference.runtime.base_model import BaseModel

# One row's stack as the layers see it: (PEFT adapter name, weight × scaling).
RowStack = Sequence[tuple[str, float]]


def _add_rows(lora_a: torch.Tensor, lora_b: torch.Tensor, mask: torch.Tensor, module, args, output):
    x = args[0].to(lora_a.dtype)
    return output + F.linear(F.linear(x, lora_a) * mask, lora_b).to(output.dtype)


def _row_mask(ranks: tuple[tuple[str, int], ...], rows: Sequence[RowStack]) -> torch.Tensor:
    """(rows, 1, Σ ranks): each row's factor over the columns of each of its adapters, zero elsewhere."""
    starts, start = {}, 0
    for name, rank in ranks:
        starts[name] = (start, start + rank)
        start += rank
    mask = torch.zeros((len(rows), 1, start), dtype=torch.float32)
    for row, stack in enumerate(rows):
        for name, factor in stack:
            if name in starts:
                mask[row, 0, starts[name][0]:starts[name][1]] = factor
    return mask


@contextlib.contextmanager
def row_stacks(layers: Mapping[str, LoraLayer], rows: Sequence[RowStack]) -> Iterator[None]:
    """While open, row i of every batch through the (adapter-disabled) layers gets its own stack added."""
    handles = []
    masks: dict[tuple, torch.Tensor] = {}  # layers with the same adapters and ranks share one mask
    try:
        for layer in layers.values():
            names = sorted({name for row in rows for name, _ in row if name in layer.lora_A})
            if not names:
                continue
            lora_a = torch.cat([layer.lora_A[name].weight for name in names])
            lora_b = torch.cat([layer.lora_B[name].weight for name in names], dim=1)
            ranks = tuple((name, layer.lora_A[name].weight.shape[0]) for name in names)
            if ranks not in masks:
                masks[ranks] = _row_mask(ranks, rows).to(lora_a.device, lora_a.dtype)
            handles.append(layer.register_forward_hook(functools.partial(_add_rows, lora_a, lora_b, masks[ranks])))
        yield
    finally:
        for handle in handles:
            handle.remove()


def generate_rows(
    base_model: BaseModel, encoded: Sequence[BatchEncoding], max_new_tokens: Sequence[int]
) -> list[dict[str, Any]]:
    """Greedy decoding of left-padded prompts in one batch, each row cut where it alone would have stopped."""
    pad = base_model.pad_token_id
    lengths = [int(item["input_ids"].shape[1]) for item in encoded]
    width = max(lengths)
    input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (item, length) in enumerate(zip(encoded, lengths, strict=True)):
        # Left padding: every row's next token is read at the same, last position.
        input_ids[row, width - length:] = item["input_ids"][0]
        attention_mask[row, width - length:] = 1
    device = base_model.device
    with torch.inference_mode():
        started = time.perf_counter()
        output = base_model.model.generate(
            input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
            max_new_tokens=max(max_new_tokens), do_sample=False, pad_token_id=pad,
        )
        seconds = time.perf_counter() - started
    stops = _stop_token_ids(base_model)
    results = []
    for row, (length, limit) in enumerate(zip(lengths, max_new_tokens, strict=True)):
        completion = output[row, width:width + limit].tolist()
        # A row alone stops after its first end token; in a batch it keeps padding until the longest row ends.
        end = next((index + 1 for index, token in enumerate(completion) if token in stops), len(completion))
        completion = completion[:end]
        results.append({
            "text": base_model.tokenizer.decode(completion, skip_special_tokens=True).strip(),
            "prompt_tokens": length,
            "completion_tokens": len(completion),
            "seconds": seconds,
            "tokens_per_second": len(completion) / seconds if seconds > 0 else 0.0,
            "batch_size": len(encoded),
            "model": base_model.name,
        })
    return results


def _stop_token_ids(base_model: BaseModel) -> set[int]:
    configured = base_model.model.generation_config.eos_token_id
    stops = set(configured if isinstance(configured, list) else [] if configured is None else [configured])
    if base_model.tokenizer.eos_token_id is not None:
        stops.add(base_model.tokenizer.eos_token_id)
    return stops
