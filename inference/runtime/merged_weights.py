"""Merged base weights for hot stacks (W + Σ weight·scaling·B·A per layer), kept LRU under a byte budget.

Switching to a cached stack points each layer at its merged tensor: no arithmetic, so it takes about a millisecond,
and the stack then runs at base-model speed. Pointing back at the untouched base tensors restores the base exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence

import torch
from peft.tuners.lora import LoraLayer

from inference.runtime.adapter_loading import tensor_bytes


class MergedWeights:
    def __init__(self, layers: Mapping[str, LoraLayer], *, budget_bytes: int | None) -> None:
        self._layers = layers
        self._base = {path: layer.get_base_layer().weight.data for path, layer in layers.items()}
        # Default: room for two stacks that touch every layer.
        self.budget_bytes = 2 * sum(map(tensor_bytes, self._base.values())) if budget_bytes is None else budget_bytes
        self._cache: OrderedDict[Hashable, tuple[dict[str, torch.Tensor], int]] = OrderedDict()
        self._swapped: set[str] = set()
        self.current: Hashable | None = None  # the stack whose weights are in place; None: the base weights

    def __contains__(self, key: Hashable) -> bool:
        return key in self._cache

    def keys(self) -> list[Hashable]:
        return list(self._cache)

    def used_bytes(self) -> int:
        return sum(nbytes for _, nbytes in self._cache.values())

    def build(self, key: Hashable, parts: Sequence[tuple[str, float]]) -> bool:
        """Merge the (PEFT adapter name, weight × scaling) parts; False when the stack alone exceeds the budget."""
        paths = [path for path, layer in self._layers.items() if any(name in layer.lora_A for name, _ in parts)]
        nbytes = sum(tensor_bytes(self._base[path]) for path in paths)
        if nbytes > self.budget_bytes:
            return False
        while self.used_bytes() + nbytes > self.budget_bytes:
            self._drop(next(iter(self._cache)))
        tensors = {}
        with torch.no_grad():
            for path in paths:
                layer, base = self._layers[path], self._base[path]
                merged = base.to(torch.float32, copy=True)  # summed in float32 even when the base is bfloat16
                for name, factor in parts:
                    if name in layer.lora_A:
                        merged.addmm_(layer.lora_B[name].weight, layer.lora_A[name].weight, alpha=factor)
                tensors[path] = merged.to(base.dtype)
        self._cache[key] = (tensors, nbytes)
        return True

    def swap(self, key: Hashable | None) -> None:
        """Put the stack's merged weights (None: the base weights) in place."""
        if self.current == key:
            return
        target = {} if key is None else self._cache[key][0]
        if key is not None:
            self._cache.move_to_end(key)
        for path in self._swapped - target.keys():
            self._layers[path].get_base_layer().weight.data = self._base[path]
        for path, tensor in target.items():
            self._layers[path].get_base_layer().weight.data = tensor
        self._swapped = set(target)
        self.current = key

    def drop_where(self, predicate: Callable[[Hashable], bool]) -> None:
        for key in [key for key in self._cache if predicate(key)]:
            self._drop(key)

    def _drop(self, key: Hashable) -> None:
        if self.current == key:
            self.swap(None)
        del self._cache[key]
