"""Chunking is pure and deterministic: one chunk per policy rule citing rule id and set version, one per mapping
spec, one per playbook section; each chunk's text says in words what its rule forbids or requires."""

from __future__ import annotations

import copy

from campaigns.harmonize.specs import SPECS_DIR
from governance.policies.demo import MEGAMART_POLICY_RULES
from inference.rag.chunking import (
    pattern_examples,
    playbook_parse,
    playbooks,
    policy_chunks,
    spec_chunks,
    spec_documents,
)


def test_one_chunk_per_rule_citing_rule_id_and_version():
    # when MegaMart's demo set is chunked as version 3
    chunks = policy_chunks(retailer_name="MegaMart", version=3, rules=MEGAMART_POLICY_RULES)

    # then every rule has exactly one chunk, in the document's order, citing its id and the set's version
    assert [chunk.source_id for chunk in chunks] == [rule["rule_id"] for rule in MEGAMART_POLICY_RULES]
    assert {chunk.source_kind for chunk in chunks} == {"policy"}
    assert {chunk.version for chunk in chunks} == {3}
    for chunk in chunks:
        assert chunk.title == f"MegaMart ad policy v3: {chunk.source_id}"
        assert chunk.text.startswith(f"MegaMart ad policy v3, rule {chunk.source_id}: ")


def test_chunking_is_deterministic_and_leaves_its_input_alone():
    rules = copy.deepcopy(MEGAMART_POLICY_RULES)

    first = policy_chunks(retailer_name="MegaMart", version=1, rules=rules)
    second = policy_chunks(retailer_name="MegaMart", version=1, rules=rules)

    assert first == second
    assert [chunk.content_sha256 for chunk in first] == [chunk.content_sha256 for chunk in second]
    assert rules == MEGAMART_POLICY_RULES
    assert len({chunk.content_sha256 for chunk in first}) == len(first)


def test_a_rule_reads_as_what_it_forbids_why_and_the_fix():
    chunks = {c.source_id: c for c in policy_chunks(retailer_name="MegaMart", version=1, rules=MEGAMART_POLICY_RULES)}

    assert chunks["health-boosts-immunity"].text == (
        "MegaMart ad policy v1, rule health-boosts-immunity: health claims, disallowed wording; an ad that breaks it "
        'is blocked. Ads must not use wording such as "boost immune system", "boosts immune system", '
        '"strengthen immunity", "strengthens your immune system", "supercharge your immune system", '
        '"supercharges your immunity". Why: Health claims need FDA approval; describe the product, not a medical '
        "outcome. Fix: Remove the wording.")
    assert chunks["disclaimer-alcohol"].text.endswith(
        'Ads for categories alcohol must carry the disclaimer: "Please enjoy responsibly. Must be 21+."')
    assert "headline at most 30 characters; body at most 90 characters" in chunks["spec-search"].text
    assert "these audiences may not be targeted: kids, children, tweens" in chunks["targeting-kids-hfss"].text
    assert "at least 50 users (k-anonymity)" in chunks["data-access-purchases"].text
    assert 'the word "Target" (case-sensitive)' in chunks["competitor-target"].text


def test_patterns_read_back_as_example_wording():
    assert pattern_examples(r"\b(?:lowest|cheapest|best)\s+prices?\b") == [
        "lowest price", "lowest prices", "cheapest price", "cheapest prices", "best price", "best prices"]
    assert pattern_examples(r"\bwal[\s-]?mart\b") == ["wal mart", "walmart"]
    assert pattern_examples(r"(?<!\w)#\s?1(?!\d)|\bnumber[\s-]+one\b") == ["# 1", "#1", "number one"]
    assert pattern_examples("(") == []


def test_one_chunk_per_mapping_spec_with_its_attribution_and_columns():
    documents = spec_documents(SPECS_DIR)

    chunks = {chunk.source_id: chunk for chunk in spec_chunks(documents)}

    assert sorted(chunks) == sorted(document["name"] for document in documents)
    walmart = chunks["walmart-ui"]
    assert (walmart.source_kind, walmart.version) == ("spec", 1)
    assert walmart.text.startswith("Mapping spec walmart-ui v1 for network walmart (ad events): Walmart Connect "
                                   "Sponsored Search, Ad Center UI download (14-day click). Attribution: 14-day "
                                   "click, last touch model. Products are identified by walmart item id. ")
    assert "search term from 'Searched Keyword'" in walmart.text


def test_a_playbook_is_one_chunk_per_section_and_names_its_owner():
    markdown = ("---\ntitle: Test playbook\nretailer: megamart\nversion: 2\n---\n# Test playbook\n\nIntro.\n\n"
                "## First topic\n\nLine one\nline two.\n\n## Second: topic\n\nMore.\n")

    playbook = playbook_parse(name="test", markdown=markdown)

    assert playbook.retailer == "megamart"
    assert [(c.source_id, c.version, c.title, c.text) for c in playbook.chunks] == [
        ("test#first-topic", 2, "Test playbook: First topic", "First topic. Line one line two."),
        ("test#second-topic", 2, "Test playbook: Second: topic", "Second: topic. More."),
    ]


def test_the_shipped_playbooks_are_shared_except_megamarts():
    owners = {playbook.name: playbook.retailer for playbook in playbooks()}

    assert owners == {"amazon-ads": None, "instacart": None, "megamart": "megamart", "retail-media-basics": None,
                      "walmart-connect": None}
    assert all(playbook.chunks for playbook in playbooks())
