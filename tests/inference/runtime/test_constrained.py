"""Decoding constrained to a JSON schema: whatever the model would say, what comes out parses and matches the
schema — enums, required keys, number bounds and string patterns included."""

from __future__ import annotations

import json

import pytest

from inference.runtime.constrained import JsonSchemaLogits, generate_json

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"enum": ["yes", "no"]}, "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
                   "code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "required": ["answer", "confidence", "code"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def model():
    from django.conf import settings

    from inference.runtime import load_base_model

    return load_base_model(source=None, cache_dir=settings.RMN_MODEL_CACHE_DIR)


@pytest.mark.parametrize("question", ["Is the sky green? Reply in prose, at length.", "Write a poem about cereal."])
def test_the_answer_always_matches_the_schema(model, question):
    answer = generate_json(model.model, model.tokenizer, messages=[{"role": "user", "content": question}],
                           schema=SCHEMA, max_new_tokens=40)

    value = json.loads(answer["text"])
    assert answer["value"] == value
    assert list(value) == ["answer", "confidence", "code"]
    assert value["answer"] in ("yes", "no")
    assert isinstance(value["confidence"], int) and 0 <= value["confidence"] <= 100
    assert len(value["code"]) == 3 and value["code"].isalpha() and value["code"].isupper()


def test_without_the_constraint_the_model_does_not_write_this_json(model):
    # the control: the same prompt decoded freely is prose, which is why the constraint is needed
    result = model.generate(prompt="Is the sky green? Reply in prose, at length.", max_new_tokens=40)
    with pytest.raises(ValueError):
        json.loads(result["text"])


def test_a_schema_that_does_not_compile_is_refused(model):
    with pytest.raises(ValueError, match="does not compile"):
        JsonSchemaLogits(model.tokenizer, {"type": "object", "properties": {"x": {"type": "nonsense"}}},
                         prompt_tokens=0)
