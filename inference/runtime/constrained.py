"""Decoding constrained to a JSON schema (llguidance): at every step only the tokens that keep the output a valid
prefix of a document matching the schema may be chosen, and once the document is complete only end-of-text. A
tool call decoded this way is always valid JSON of the tool's arguments; whether it means the right thing is what
the model (and its adapters) must get right.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerBase

INVALID_SCHEMA = "the JSON schema does not compile: {error}"

_tokenizers: dict[int, llguidance.LLTokenizer] = {}
_tokenizers_lock = threading.Lock()


def ll_tokenizer(tokenizer: PreTrainedTokenizerBase) -> llguidance.LLTokenizer:
    """The llguidance view of a Hugging Face fast tokenizer, built once per tokenizer (it takes about a second)."""
    with _tokenizers_lock:
        key = id(tokenizer)
        if key not in _tokenizers:
            _tokenizers[key] = llguidance.hf.from_tokenizer(tokenizer)
        return _tokenizers[key]


def json_grammar(schema: dict[str, Any]) -> str:
    # Compact JSON (no free whitespace): fewer tokens, and the form the adapters are trained to write.
    return llguidance.LLMatcher.grammar_from_json_schema(
        json.dumps(schema), defaults={"whitespace_flexible": False})


class JsonSchemaLogits(LogitsProcessor):
    """Masks the logits of one sequence (batch of 1) to the tokens the schema allows next."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, schema: dict[str, Any], *, prompt_tokens: int) -> None:
        self._matcher = llguidance.LLMatcher(ll_tokenizer(tokenizer), json_grammar(schema))
        if self._matcher.is_error():
            raise ValueError(INVALID_SCHEMA.format(error=self._matcher.get_error()))
        self._prompt_tokens = prompt_tokens
        self._consumed = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[0, self._prompt_tokens:].tolist()
        for token in generated[self._consumed:]:
            self._matcher.consume_token(token)
        self._consumed = len(generated)
        if self._matcher.is_error():
            raise RuntimeError(self._matcher.get_error())
        bits = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.unpackbits(bits, bitorder="little")[: scores.shape[-1]].astype(bool)
        if allowed.shape[0] < scores.shape[-1]:  # logits wider than the tokenizer: padding rows, never allowed
            allowed = np.pad(allowed, (0, scores.shape[-1] - allowed.shape[0]))
        return scores.masked_fill(~torch.from_numpy(allowed).to(scores.device), float("-inf"))


def generate_json(model, tokenizer: PreTrainedTokenizerBase, *, messages: list[dict], schema: dict[str, Any],
                  max_new_tokens: int = 160) -> dict[str, Any]:
    """Greedy decoding of a reply constrained to `schema`: {"text", "value" (parsed, or None), "tokens"}."""
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True).to(model.device)
    prompt_tokens = int(encoded["input_ids"].shape[1])
    processor = JsonSchemaLogits(tokenizer, schema, prompt_tokens=prompt_tokens)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        output = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                                logits_processor=LogitsProcessorList([processor]))
    completion = output[0, prompt_tokens:]
    text = tokenizer.decode(completion, skip_special_tokens=True).strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = None  # cut off by max_new_tokens before the document closed
    return {"text": text, "value": value, "tokens": int(completion.shape[0])}
