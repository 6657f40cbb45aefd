"""How adapters are combined for one request: additive stacks (adapters active together, with weights) and
sequential chains (draft, rewrite, check: each step's output is the next step's input); plus a batcher that
runs concurrent requests with different stacks in one forward pass.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from inference.runtime.adapter_cache import AdapterManager

# A stack as callers write it: adapter ids (weight 1) or (adapter id, weight) pairs.
StackLike = Sequence[str | tuple[str, float]]
# The canonical form: (adapter id, weight) sorted by id, so equal stacks share caches whatever their order.
StackKey = tuple[tuple[str, float], ...]
Composition = Literal["additive", "sequential"]

BAD_STACK_ENTRY = "a stack entry must be an adapter id or (adapter id, weight), got {entry!r}"
DUPLICATE_ADAPTER = "adapter {adapter_id!r} appears twice in the stack"
BAD_WEIGHT = "the weight of adapter {adapter_id!r} must be a finite number, got {weight!r}"
UNKNOWN_COMPOSITION = "composition must be 'additive' or 'sequential', got {composition!r}"
SEQUENTIAL_NEEDS_STEPS = "sequential composition needs at least one step"
SEQUENTIAL_TAKES_NO_STACK = "sequential composition takes its stacks from the steps, not from stack"
ADDITIVE_TAKES_NO_STEPS = "additive composition runs one stack; steps are for sequential composition"
BATCHER_CLOSED = "the request batcher is closed"


class InvalidStack(ValueError):
    """The stack is malformed (not an unknown adapter: that is AdapterNotFound from the source)."""


def normalize_stack(stack: StackLike) -> StackKey:
    if isinstance(stack, str):
        stack = [stack]
    entries: dict[str, float] = {}
    for entry in stack:
        if isinstance(entry, str):
            adapter_id, weight = entry, 1.0
        elif isinstance(entry, tuple | list) and len(entry) == 2 and isinstance(entry[0], str):
            adapter_id, weight = entry
        else:
            raise InvalidStack(BAD_STACK_ENTRY.format(entry=entry))
        if not adapter_id:
            raise InvalidStack(BAD_STACK_ENTRY.format(entry=entry))
        if adapter_id in entries:
            raise InvalidStack(DUPLICATE_ADAPTER.format(adapter_id=adapter_id))
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise InvalidStack(BAD_WEIGHT.format(adapter_id=adapter_id, weight=weight))
        entries[adapter_id] = float(weight)
    return tuple(sorted(entries.items()))


def stack_ids(key: StackKey) -> list[str]:
    return [adapter_id for adapter_id, _ in key]


@dataclass(frozen=True)
class Step:
    """One link of a sequential chain: its instruction is the system prompt, its input the previous output."""

    instruction: str
    stack: StackLike = ()
    max_new_tokens: int | None = None


@dataclass(frozen=True)
class Request:
    prompt: str
    max_new_tokens: int
    stack: StackLike = ()
    system: str | None = None


# generate_one(prompt=, stack=, max_new_tokens=, system=) -> result dict of one additive generation.
GenerateOne = Callable[..., dict[str, Any]]


def run_sequential(
    generate_one: GenerateOne,
    *,
    prompt: str,
    steps: Sequence[Step],
    max_new_tokens: int,
    system: str | None = None,
) -> dict[str, Any]:
    """Run the steps in order; the result carries every step's input and output for the audit trail."""
    if not steps:
        raise ValueError(SEQUENTIAL_NEEDS_STEPS)
    keys = [normalize_stack(step.stack) for step in steps]  # every stack checked before the first step runs
    records = []
    text = prompt
    for step, key in zip(steps, keys, strict=True):
        step_system = step.instruction if system is None else f"{system}\n\n{step.instruction}"
        result = generate_one(
            prompt=text, stack=key, max_new_tokens=step.max_new_tokens or max_new_tokens, system=step_system
        )
        records.append({"instruction": step.instruction, "input": text, **result})
        text = result["text"]
    completion_tokens = sum(record["completion_tokens"] for record in records)
    seconds = sum(record["seconds"] for record in records)
    return {
        "text": text,
        "composition": "sequential",
        "steps": records,
        "prompt_tokens": sum(record["prompt_tokens"] for record in records),
        "completion_tokens": completion_tokens,
        "seconds": seconds,
        "tokens_per_second": completion_tokens / seconds if seconds > 0 else 0.0,
        "model": records[-1]["model"],
    }


class RequestBatcher:
    """Collects requests arriving from many threads within `window_s` and runs them as one mixed-stack batch.

    A request whose stack cannot be served fails alone; the rest of its batch still runs.
    """

    def __init__(self, manager: AdapterManager, *, max_batch: int = 8, window_s: float = 0.01) -> None:
        self._manager = manager
        self._max_batch = max_batch
        self._window_s = window_s
        self._queue: queue.Queue[tuple[Request, Future] | None] = queue.Queue()
        self._closed = False
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="adapter-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> dict[str, Any]:
        """Blocks until the request's batch has run; raises what its own preparation raised."""
        future: Future = Future()
        with self._closing:
            if self._closed:
                raise RuntimeError(BATCHER_CLOSED)
            self._queue.put((request, future))
        return future.result()

    def close(self) -> None:
        """Serve what was submitted, then stop the batching thread."""
        with self._closing:
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch, deadline = [first], time.monotonic() + self._window_s
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._serve(batch)

    def _serve(self, batch: list[tuple[Request, Future]]) -> None:
        ready = []
        for request, future in batch:
            try:
                self._manager.check_request(request)
            except Exception as exc:  # handed to the caller waiting on this request
                future.set_exception(exc)
            else:
                ready.append((request, future))
        if not ready:
            return
        try:
            if len(ready) == 1:
                # Alone, a request runs the one-stack path, where a hot stack's merged weights serve it.
                request = ready[0][0]
                results = [self._manager.generate(prompt=request.prompt, max_new_tokens=request.max_new_tokens,
                                                  stack=request.stack, system=request.system)]
            else:
                results = self._manager.generate_batch([request for request, _ in ready])
        except Exception as exc:  # handed to every caller of the batch
            for _, future in ready:
                future.set_exception(exc)
        else:
            for (_, future), result in zip(ready, results, strict=True):
                future.set_result(result)
