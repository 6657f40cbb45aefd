"""The retailer adapter's schema-mapping data: headers from the built-in specs written as exports drift, each answered
with the field and transform the spec itself gives it; a held-out set from variation templates training never uses."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from campaigns.harmonize.specs import builtin_specs, normalize_header
from campaigns.harmonize.training_data import (
    HELD_OUT_TEMPLATES,
    IGNORE,
    MAPPING_SCHEMA,
    PATTERN_HEADERS,
    TRAIN_TEMPLATES,
    answer_json,
    canonical_mapping,
    known_columns,
    mapping_set,
    sample_values,
    spec_answer,
)
from campaigns.harmonize.transforms import apply
from inference.training.datasets import build_dataset

SPECS = {spec.name: spec for spec in builtin_specs()}
# Templates that only change case, spacing or add a BOM: the real harmonizer reads the variant itself.
SPELLING_ONLY = ("t-exact", "t-lower", "t-upper", "t-padded")


@pytest.fixture(scope="module")
def train():
    return mapping_set(held_out=False, n=800, seed=3)


@pytest.fixture(scope="module")
def held_out(train):
    return mapping_set(held_out=True, n=400, seed=4, avoid={m.text for m in train})


def test_the_headers_cover_every_field_and_pattern_of_the_built_in_specs():
    # given every header the built-in specs name
    columns = known_columns()

    # then every RMIS field a spec maps appears, ignored columns too
    assert {c.field for c in columns} == {rule.field for spec in builtin_specs() for rule in spec.columns} | {IGNORE}
    # and every header pattern (Amazon's "7 Day Total Sales " and the like) has a real header that it matches
    for spec in builtin_specs():
        for rule in spec.columns:
            if rule.header_regex is not None:
                assert any(rule.match(normalize_header(h)) for h in PATTERN_HEADERS), (spec.name, rule.field)


def test_every_training_answer_is_what_the_real_spec_says(train):
    for m in train:
        # the spec the column comes from gives the header this field and transform
        field, transform, _ = spec_answer(SPECS[m.column.spec], m.column.header)
        assert m.answer == {"field": field, "transform": transform}
        # and no other spec of the same network and kind says otherwise
        for spec in builtin_specs():
            if (spec.network, spec.kind) == (m.column.network, m.column.kind) and spec_answer(spec, m.column.header):
                assert spec_answer(spec, m.column.header)[:2] == (field, transform), (spec.name, m.column.header)
        # where only case or spacing drifted, the real spec reads the variant itself the same way
        if m.template in SPELLING_ONLY:
            assert spec_answer(SPECS[m.column.spec], m.header)[:2] == (field, transform), m.header
        assert f"Column: {json.dumps(m.header, ensure_ascii=False)}" in m.text
        assert f"Network: {m.column.network}" in m.text


def test_headers_drift_the_way_exports_do(train):
    headers = [m.header for m in train]

    for drifted in ("\ufeff", "(USD)", "(#)", "_", "Impr.", "14 Day "):
        assert any(drifted in header for header in headers), drifted
    assert any(header.isupper() for header in headers) and any(header.islower() for header in headers)
    # the same column is written many ways: far more spellings than columns
    columns = {(m.column.network, m.column.kind, m.column.header) for m in train}
    assert len(set(headers)) > 1.5 * len(columns)


def test_sample_values_are_what_the_spec_reads(train):
    # given every mapped column, with values drawn for it
    rng = random.Random(0)
    for column in known_columns():
        if column.field == IGNORE:
            continue
        values = [value for _ in range(10) for value in sample_values(rng, column)]

        # when the spec's own transform reads them
        _, bad = apply(column.transform, pl.col("v"), options=column.options, decimal_comma=False)
        rejected = pl.DataFrame({"v": values}).select(bad.alias("bad"))["bad"]

        # then none is rejected as unreadable
        assert not rejected.any(), (column.header, column.transform, values)


def test_train_and_held_out_templates_never_meet(train, held_out):
    assert not set(TRAIN_TEMPLATES) & set(HELD_OUT_TEMPLATES)
    # each family writes its own spellings only; a window prefix or suffix fits few columns, so it may not come up
    assert set(TRAIN_TEMPLATES) - {"t-window-prefix"} <= {m.template for m in train} <= set(TRAIN_TEMPLATES)
    assert set(HELD_OUT_TEMPLATES) - {"h-window-suffix"} <= {m.template for m in held_out} <= set(HELD_OUT_TEMPLATES)
    assert not {m.text for m in train} & {m.text for m in held_out}


def test_held_out_headers_are_new_spellings_of_real_fields(held_out):
    fields = MAPPING_SCHEMA["properties"]["field"]["enum"]
    for m in held_out:
        field, transform, _ = spec_answer(SPECS[m.column.spec], m.column.header)
        assert m.answer == {"field": field, "transform": transform} and field in fields
        # more than case or spacing changed: a training template would have written it otherwise
        assert normalize_header(m.header) != normalize_header(m.column.header), m.header


def test_exact_match_compares_field_and_transform():
    assert answer_json({"field": "spend", "transform": "money"}) == '{"field":"spend","transform":"money"}'
    assert canonical_mapping({"field": "spend", "transform": "money"}) == ("spend", "money")
    # an ignored column has no transform, whatever the answer says
    assert canonical_mapping({"field": IGNORE, "transform": "text"}) == canonical_mapping(
        {"field": IGNORE, "transform": None}) == (IGNORE, None)
    # a wrong transform is a different answer; an unknown field is no answer
    assert canonical_mapping({"field": "spend", "transform": "count"}) != ("spend", "money")
    assert canonical_mapping({"field": "cost", "transform": "money"}) is None
    assert canonical_mapping("spend") is None


def test_the_dataset_is_built_by_name_at_the_sizes_asked():
    # when the retailer adapter's dataset is built (build_dataset runs dataset_check)
    data = build_dataset(kind="retailer", name="schema-mapping", n_train=60, n_held_out=20, seed=0)

    # then it has the sizes asked, conversational examples, and held-out cases scored against the spec's answers
    assert (len(data.train), len(data.held_out)) == (60, 20)
    example = data.train[0]
    assert [m["role"] for m in example["prompt"]] == ["system", "user"]
    assert canonical_mapping(json.loads(example["completion"][0]["content"])) is not None
    for case in data.held_out:
        assert case.messages[1]["content"] == case.text
        assert data.canonical(case.expected) == (case.expected["field"], case.expected["transform"])
    assert data.train_templates <= set(TRAIN_TEMPLATES) and data.held_out_templates <= set(HELD_OUT_TEMPLATES)
    assert data.preference_pairs == []
