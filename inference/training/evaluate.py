"""The evaluation harness: the base model and a candidate adapter scored on the same held-out cases in the same
run, with decoding constrained to the tool's JSON schema in both arms, so the comparison measures understanding,
not JSON syntax.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from inference.runtime.constrained import generate_json
from inference.training.datasets import ToolCallCase

MAX_FAILURES_KEPT = 25


def score_tool_calls(model, tokenizer, cases: list[ToolCallCase], *, schema: dict, canonical: Callable[[Any], Any],
                     max_new_tokens: int = 96, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Exact match (the canonical form of the decoded arguments equals the expected one), JSON validity, failures."""
    exact = valid = 0
    failures = []
    started = time.perf_counter()
    for index, case in enumerate(cases):
        answer = generate_json(model, tokenizer, messages=case.messages, schema=schema, max_new_tokens=max_new_tokens)
        got = canonical(answer["value"]) if answer["value"] is not None else None
        valid += got is not None
        if got is not None and got == canonical(case.expected):
            exact += 1
        elif len(failures) < MAX_FAILURES_KEPT:
            failures.append({"text": case.text, "answer": answer["text"], "expected": case.expected})
        if progress is not None:
            progress(index + 1, len(cases))
    n = len(cases)
    return {"n": n, "exact_match": exact / n if n else 0.0, "valid": valid / n if n else 0.0,
            "seconds": time.perf_counter() - started, "failures": failures}


def compare_with_base(*, base_dir: Path, adapter_dir: Path, cases: list[ToolCallCase], schema: dict,
                      canonical: Callable[[Any], Any], progress: Callable[[str, int, int], None] | None = None,
                      max_new_tokens: int = 96) -> dict[str, Any]:
    """Score the base model, then the same model with the adapter merged in, on the same cases."""
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True, dtype=dtype)
    model.to("cuda" if torch.cuda.is_available() else "cpu").eval()

    def arm_progress(arm: str):
        return None if progress is None else (lambda done, total: progress(arm, done, total))

    base = score_tool_calls(model, tokenizer, cases, schema=schema, canonical=canonical,
                            max_new_tokens=max_new_tokens, progress=arm_progress("base"))
    # Merged, the adapter runs at base-model speed; the scores are those of the unmerged adapter up to rounding.
    tuned = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload().eval()
    adapter = score_tool_calls(tuned, tokenizer, cases, schema=schema, canonical=canonical,
                               max_new_tokens=max_new_tokens, progress=arm_progress("adapter"))
    return {"base": base, "adapter": adapter, "gain": adapter["exact_match"] - base["exact_match"]}
