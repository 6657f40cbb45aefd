"""The adapter manager: LoRA adapters of the base model loaded on demand into one PEFT model, evicted LRU under a
memory budget (pinned ones stay), composed per request, and swapped in as merged weights once a stack is hot.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from peft import LoraConfig, PeftModelForCausalLM
from peft.tuners.lora import LoraLayer

from inference.runtime.adapter_loading import ParsedAdapter, attach_adapter, parse_adapter
from inference.runtime.adapter_source import AdapterFiles, AdapterSource, Verify
from inference.runtime.base_model import BaseModel
from inference.runtime.composition import (
    ADDITIVE_TAKES_NO_STEPS,
    SEQUENTIAL_TAKES_NO_STACK,
    UNKNOWN_COMPOSITION,
    Composition,
    Request,
    StackKey,
    StackLike,
    Step,
    normalize_stack,
    run_sequential,
    stack_ids,
)
from inference.runtime.merged_weights import MergedWeights
from inference.runtime.mixed_batch import generate_rows, row_stacks

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

BUDGET_EXCEEDED = (
    "the {budget}-byte adapter memory budget cannot fit adapter {adapter_id!r} ({needed} bytes): "
    "{held} bytes are pinned or in use"
)
ALREADY_MANAGED = "this base model already has an adapter manager; close it first"
MANAGER_CLOSED = "the adapter manager is closed"

_MAX_TRACKED_STACKS = 4096  # use counts kept for hot-stack detection, least recently used dropped first


class AdapterBudgetExceeded(RuntimeError):
    """Pinned and in-use adapters leave no room for the one asked for."""


@dataclass
class _Loaded:
    adapter_id: str
    name: str  # in PEFT; internal, since registry ids may hold characters a ModuleDict key cannot
    scaling: float
    nbytes: int
    pinned: bool = False


class AdapterManager:
    """Serves LoRA stacks on a shared `BaseModel`, which it wraps in PEFT until `close()`.

    `memory_budget_bytes` bounds the adapter weights held; `merged_budget_bytes` bounds the merged-weights cache
    (default: two stacks that touch every layer). A stack is merged on its `hot_after`-th use (None: never); from
    then on switching to it is a pointer swap per layer and it runs at base-model speed. Every method is
    thread-safe: model state changes and generation happen under the base model's lock.
    """

    def __init__(
        self,
        base_model: BaseModel,
        source: AdapterSource,
        memory_budget_bytes: int,
        *,
        verify: Verify | None = None,
        merged_budget_bytes: int | None = None,
        hot_after: int | None = 2,
        target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
    ) -> None:
        if base_model.before_base_generation is not None:
            raise RuntimeError(ALREADY_MANAGED)
        self._base = base_model
        self._source = source
        self._verify = verify
        self.memory_budget_bytes = memory_budget_bytes
        self.hot_after = hot_after
        self.target_modules = frozenset(target_modules)
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()  # by adapter id, least recently used first
        self._uses: OrderedDict[StackKey, int] = OrderedDict()
        self._scale_factors: dict[str, float] = {}
        self._active: tuple[str, ...] | None = ()  # PEFT names the layers run; () disabled; None unknown
        self._names = 0
        self._closed = False
        with base_model.lock:
            # A throwaway adapter makes PEFT wrap every target layer once; real adapters are attached to those.
            seed = LoraConfig(r=1, target_modules=sorted(self.target_modules), inference_mode=True)
            self._peft = PeftModelForCausalLM(base_model.model, seed, adapter_name="seed", low_cpu_mem_usage=True)
            self._layers: dict[str, LoraLayer] = {
                path: module for path, module in base_model.model.named_modules() if isinstance(module, LoraLayer)
            }
            self._forget("seed")
            self._merged = MergedWeights(self._layers, budget_bytes=merged_budget_bytes)
            self._active = None
            self._disable_layers()
            base_model.before_base_generation = self._to_base

    @contextlib.contextmanager
    def _holding_model(self) -> Iterator[None]:
        """The base model's lock, for every change of adapters or weights and every generation."""
        with self._base.lock:
            if self._closed:
                raise RuntimeError(MANAGER_CLOSED)
            yield

    @property
    def merged_budget_bytes(self) -> int:
        return self._merged.budget_bytes

    @merged_budget_bytes.setter
    def merged_budget_bytes(self, value: int) -> None:
        # Takes effect when the next stack is merged.
        self._merged.budget_bytes = value

    @property
    def peft_model(self) -> PeftModelForCausalLM:
        """The PEFT wrapper (for inspection; change it only under `base_model.lock`)."""
        return self._peft

    def adapter_name(self, adapter_id: str) -> str:
        """The loaded adapter's name inside the PEFT model; KeyError when it is not loaded."""
        return self._loaded[adapter_id].name

    # ---- loading and eviction -------------------------------------------------------------------------------

    def load(self, adapter_id: str) -> None:
        """Fetch, verify and attach one adapter (a no-op when it is loaded)."""
        parsed = self._prefetch([adapter_id])
        with self._holding_model():
            self._require(((adapter_id, 1.0),), parsed)

    def pin(self, adapter_id: str) -> None:
        """Load the adapter and keep it through evictions until `unpin` or `unload`."""
        parsed = self._prefetch([adapter_id])
        with self._holding_model():
            self._require(((adapter_id, 1.0),), parsed)
            self._loaded[adapter_id].pinned = True

    def unpin(self, adapter_id: str) -> None:
        with self._holding_model():
            if adapter_id in self._loaded:
                self._loaded[adapter_id].pinned = False

    def unload(self, adapter_id: str) -> bool:
        """Drop the adapter and every merged stack built from it; False when it was not loaded."""
        with self._holding_model():
            self._merged.drop_where(lambda key: adapter_id in stack_ids(key))
            for key in [key for key in self._uses if adapter_id in stack_ids(key)]:
                del self._uses[key]
            if adapter_id not in self._loaded:
                return False
            self._evict(adapter_id)
            if self._active is None:
                # PEFT made another adapter active in its place; until the next request, the model is the base.
                self._disable_layers()
            return True

    def stats(self) -> dict[str, Any]:
        with self._holding_model():
            return {
                "loaded": list(self._loaded),
                "pinned": sorted(adapter_id for adapter_id, loaded in self._loaded.items() if loaded.pinned),
                "adapter_bytes": self._used_bytes(),
                "memory_budget_bytes": self.memory_budget_bytes,
                "merged_stacks": [[list(pair) for pair in key] for key in self._merged.keys()],
                "merged_bytes": self._merged.used_bytes(),
                "merged_budget_bytes": self._merged.budget_bytes,
            }

    def close(self) -> None:
        """Give the base model back as it was: base weights, no LoRA layers, no hook."""
        with self._holding_model():
            self._merged.swap(None)
            self._peft.unload()
            self._base.before_base_generation = None
            self._loaded.clear()
            self._closed = True

    def _prefetch(self, adapter_ids: Iterable[str]) -> dict[str, ParsedAdapter]:
        # Fetching, verifying and parsing touch no model state, so they run outside the model lock; an adapter
        # loaded meanwhile by another thread is simply not attached twice.
        return {adapter_id: self._fetch(adapter_id) for adapter_id in adapter_ids if adapter_id not in self._loaded}

    def _fetch(self, adapter_id: str) -> ParsedAdapter:
        files = AdapterFiles(*self._source.files(adapter_id))
        if self._verify is not None:
            self._verify(adapter_id, files)
        return parse_adapter(
            adapter_id, files, layers=self._layers, target_modules=self.target_modules, device=self._base.device
        )

    def _require(
        self, key: StackKey, parsed: dict[str, ParsedAdapter], *, protect: set[str] | None = None
    ) -> list[_Loaded]:
        """The stack's loaded adapters, attaching what is missing; marks them most recently used."""
        protect = set(stack_ids(key)) if protect is None else protect
        held = []
        for adapter_id in stack_ids(key):
            if adapter_id not in self._loaded:
                # Evicted since the prefetch (or never prefetched): fetched under the lock, which is rare.
                self._attach(parsed.pop(adapter_id, None) or self._fetch(adapter_id), protect)
            self._loaded.move_to_end(adapter_id)
            held.append(self._loaded[adapter_id])
        return held

    def _attach(self, parsed: ParsedAdapter, protect: set[str]) -> None:
        while self._used_bytes() + parsed.nbytes > self.memory_budget_bytes:
            victim = next((i for i, held in self._loaded.items() if not held.pinned and i not in protect), None)
            if victim is None:
                raise AdapterBudgetExceeded(BUDGET_EXCEEDED.format(
                    budget=self.memory_budget_bytes, adapter_id=parsed.adapter_id, needed=parsed.nbytes,
                    held=self._used_bytes(),
                ))
            self._evict(victim)
        self._names += 1
        name = f"adapter{self._names}"
        self._peft.peft_config[name] = parsed.config
        attach_adapter(parsed, name, layers=self._layers)
        self._loaded[parsed.adapter_id] = _Loaded(parsed.adapter_id, name, parsed.scaling, parsed.nbytes)

    def _used_bytes(self) -> int:
        return sum(held.nbytes for held in self._loaded.values())

    def _evict(self, adapter_id: str) -> None:
        # Merged stacks stand on their own, so eviction under memory pressure keeps them; `unload` drops them.
        self._forget(self._loaded.pop(adapter_id).name)

    def _forget(self, name: str) -> None:
        for layer in self._layers.values():
            if name in layer.lora_A:
                layer.delete_adapter(name)
        del self._peft.peft_config[name]
        self._scale_factors.pop(name, None)
        tuner = self._peft.base_model
        # PEFT's tuner looks up the configs of its active adapters whenever it is asked to set adapters.
        tuner.active_adapter = [active for active in tuner.active_adapters if active != name]
        if self._active is None or name in self._active:
            self._active = None

    # ---- what the layers compute ----------------------------------------------------------------------------

    def _disable_layers(self) -> None:
        if self._active != ():
            for layer in self._layers.values():
                layer.enable_adapters(False)
            self._active = ()

    def _enable_layers(self, names: tuple[str, ...]) -> None:
        if self._active != names:
            self._peft.base_model.set_adapter(list(names), inference_mode=True)
            for layer in self._layers.values():
                if layer.disable_adapters:
                    layer.enable_adapters(True)
            self._active = names

    def _set_scale(self, held: _Loaded, factor: float) -> None:
        # An additive stack's weights are the adapters' scalings times the weight (PEFT's set_scale).
        if self._scale_factors.get(held.name, 1.0) != factor:
            for layer in self._layers.values():
                layer.set_scale(held.name, factor)
            self._scale_factors[held.name] = factor

    def _to_base(self) -> None:
        self._merged.swap(None)
        self._disable_layers()

    def _activate(self, key: StackKey, parsed: dict[str, ParsedAdapter]) -> bool:
        if not key:
            self._to_base()
            return False
        if key in self._merged:
            self._merged.swap(key)
            self._disable_layers()
            return True
        held = self._require(key, parsed)
        self._merged.swap(None)
        for loaded, (_, weight) in zip(held, key, strict=True):
            self._set_scale(loaded, weight)
        self._enable_layers(tuple(loaded.name for loaded in held))
        uses = self._uses.pop(key, 0) + 1
        self._uses[key] = uses
        while len(self._uses) > _MAX_TRACKED_STACKS:
            self._uses.popitem(last=False)
        parts = [(loaded.name, loaded.scaling * weight) for loaded, (_, weight) in zip(held, key, strict=True)]
        if self.hot_after is not None and uses >= self.hot_after and self._merged.build(key, parts):
            self._merged.swap(key)
            self._disable_layers()
            return True
        return False

    # ---- generation -----------------------------------------------------------------------------------------

    def activate(self, stack: StackLike) -> bool:
        """Put the stack's weights in place, counting a use; True when they are the merged weights.

        They stay until the next request or base-model generation takes the lock.
        """
        key = normalize_stack(stack)
        parsed = self._prefetch(stack_ids(key))
        with self._holding_model():
            return self._activate(key, parsed)

    def generate(
        self,
        *,
        prompt: str,
        max_new_tokens: int,
        stack: StackLike = (),
        composition: Composition = "additive",
        steps: Sequence[Step] = (),
        system: str | None = None,
    ) -> dict[str, Any]:
        """Greedy generation with one additive stack, or a sequential chain of steps each with its own stack."""
        if composition == "sequential":
            if stack:
                raise ValueError(SEQUENTIAL_TAKES_NO_STACK)
            return run_sequential(
                self._generate_one, prompt=prompt, steps=steps, max_new_tokens=max_new_tokens, system=system
            )
        if composition != "additive":
            raise ValueError(UNKNOWN_COMPOSITION.format(composition=composition))
        if steps:
            raise ValueError(ADDITIVE_TAKES_NO_STEPS)
        result = self._generate_one(prompt=prompt, stack=stack, max_new_tokens=max_new_tokens, system=system)
        return {**result, "composition": "additive"}

    def _generate_one(
        self, *, prompt: str, stack: StackLike, max_new_tokens: int, system: str | None
    ) -> dict[str, Any]:
        key = normalize_stack(stack)
        encoded = self._base.encode_checked(prompt=prompt, max_new_tokens=max_new_tokens, system=system)
        parsed = self._prefetch(stack_ids(key))
        with self._holding_model():
            merged = self._activate(key, parsed)
            result = self._base.generate_encoded(encoded, max_new_tokens=max_new_tokens)
        return {**result, "stack": [list(pair) for pair in key], "merged": merged}

    def check_request(self, request: Request) -> None:
        """Raise what serving the request would raise (bad stack, unknown adapter, prompt too long); loads it."""
        key = normalize_stack(request.stack)
        self._base.encode_checked(prompt=request.prompt, max_new_tokens=request.max_new_tokens, system=request.system)
        parsed = self._prefetch(stack_ids(key))
        with self._holding_model():
            self._require(key, parsed)

    def generate_batch(self, requests: Sequence[Request]) -> list[dict[str, Any]]:
        """Requests with different stacks in one batch; each row's tokens are those of its one-at-a-time run."""
        keys = [normalize_stack(request.stack) for request in requests]
        encoded = [
            self._base.encode_checked(prompt=r.prompt, max_new_tokens=r.max_new_tokens, system=r.system)
            for r in requests
        ]
        batch_ids = {adapter_id for key in keys for adapter_id in stack_ids(key)}
        parsed = self._prefetch(batch_ids)
        with self._holding_model():
            rows = []
            for key in keys:
                held = self._require(key, parsed, protect=batch_ids)  # no row may evict another row's adapter
                rows.append([(loaded.name, loaded.scaling * w) for loaded, (_, w) in zip(held, key, strict=True)])
            self._to_base()
            with row_stacks(self._layers, rows):
                results = generate_rows(self._base, encoded, [request.max_new_tokens for request in requests])
        return [
            {**result, "stack": [list(pair) for pair in key], "merged": False, "composition": "additive"}
            for result, key in zip(results, keys, strict=True)
        ]
