"""Embedding backends (local hashing, sentence-transformers, OpenAI-compatible), each a Chroma EmbeddingFunction.

The service always passes embeddings to Chroma itself and gives every collection one of these
functions explicitly, so Chroma never loads or downloads its default model.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from core.errors import StoreError
from core.settings import Settings, get_settings

from .tokens import normalize

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_BIGRAM_SEED = np.uint64(0x94D049BB133111EB)
_S32 = np.uint64(32)


def _mix(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit integer hash (splitmix-style), the same in every process."""
    x = x * _M1
    x ^= x >> _S32
    x = x * _M2
    x ^= x >> np.uint64(29)
    return x


def _l2(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return mat / norms


class Embedder(EmbeddingFunction[Documents]):
    """What the vector index needs: documents and queries to unit vectors, and a key naming the vector space."""

    key = "embedder"
    fusion_weight = 1.0  # weight of this embedder's ranking in hybrid rank fusion (BM25 has 1.0)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input), query=True))

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        """A float32 matrix with one L2-normalised row per text."""
        raise NotImplementedError

    def default_space(self) -> Any:
        return "cosine"


@register_embedding_function
class LocalHashEmbedding(Embedder):
    """Character uni- and bi-grams hashed into `dim` buckets: offline, deterministic, no model, weak semantics."""

    fusion_weight = 0.1  # no term weighting: it favours short look-alike rows (see README, Retrieval)

    def __init__(self, dim: int = 512, unigram_weight: float = 0.5) -> None:
        self.dim = int(dim)
        self.unigram_weight = float(unigram_weight)
        self.key = f"local{self.dim}"

    @staticmethod
    def name() -> str:
        return "budgetqa-local-hash"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "unigram_weight": self.unigram_weight}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LocalHashEmbedding:
        return LocalHashEmbedding(int(config.get("dim", 512)), float(config.get("unigram_weight", 0.5)))

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        joined = "\x00".join(normalize(t) for t in texts) + "\x00"
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        owner = np.cumsum(cp == 0) - (cp == 0)  # index of the text each code point belongs to
        valid = (((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0x3400) & (cp <= 0x4DBF))
                 | ((cp >= 0x61) & (cp <= 0x7A)))  # CJK ideographs and latin letters; digits and signs carry nothing
        dim = np.uint64(self.dim)
        uni = np.nonzero(valid)[0]
        pair = np.nonzero(valid[:-1] & valid[1:])[0]
        buckets = np.concatenate([
            owner[uni].astype(np.uint64) * dim + _mix(cp[uni]) % dim,
            owner[pair].astype(np.uint64) * dim + _mix((cp[pair] << _S32) ^ cp[pair + 1] ^ _BIGRAM_SEED) % dim,
        ]).astype(np.int64)
        weights = np.concatenate([np.full(len(uni), self.unigram_weight), np.ones(len(pair))])
        counts = np.bincount(buckets, weights=weights, minlength=n * self.dim).reshape(n, self.dim)
        mat = np.log1p(counts)
        empty = ~mat.any(axis=1)
        mat[empty, 0] = 1.0  # a fixed direction for texts without any character, never a zero vector
        return _l2(mat).astype(np.float32)


@register_embedding_function
class SentenceTransformerEmbedding(Embedder):
    """A sentence-transformers model from a local directory (loaded on first use, never downloaded)."""

    BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        if not model_path or not Path(model_path).is_dir():
            raise StoreError(f"embedding model directory not found: {model_path!r} (set BUDGETQA_EMBEDDING_MODEL_PATH)")
        self.model_path = str(model_path)
        self.batch_size = batch_size
        self.key = "st-" + Path(model_path).name
        low = Path(model_path).name.lower()
        self.query_prefix = self.BGE_ZH_QUERY if "bge" in low and "zh" in low and "m3" not in low else ""
        self._model: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def name() -> str:
        return "budgetqa-sentence-transformers"

    def get_config(self) -> dict[str, Any]:
        return {"model_path": self.model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SentenceTransformerEmbedding:
        return SentenceTransformerEmbedding(str(config["model_path"]))

    def model(self) -> Any:
        """The loaded model (imports sentence_transformers only now)."""
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise StoreError("embedding 'sentence-transformers' needs: pip install sentence-transformers") from exc
                self._model = SentenceTransformer(self.model_path, device=None, local_files_only=True)
        return self._model

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        if query and self.query_prefix:
            texts = [self.query_prefix + t for t in texts]
        vecs = self.model().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)


@register_embedding_function
class OpenAIEmbedding(Embedder):
    """An OpenAI-compatible /embeddings endpoint (Ollama, Xinference, vLLM, a cloud API) over httpx."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, batch_size: int = 64,
                 timeout: float = 60.0) -> None:
        if not base_url:
            raise StoreError("embedding 'openai' needs BUDGETQA_EMBEDDING_BASE_URL")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout = timeout
        self.key = "oa-" + model

    @staticmethod
    def name() -> str:
        return "budgetqa-openai-compatible"

    def get_config(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}  # never the key: Chroma persists this

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbedding:
        return OpenAIEmbedding(str(config["base_url"]), str(config["model"]))

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        out: list[list[float]] = []
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            for i in range(0, len(texts), self.batch_size):
                batch = [t if t.strip() else " " for t in texts[i:i + self.batch_size]]
                try:
                    resp = client.post(f"{self.base_url}/embeddings", json={"model": self.model, "input": batch})
                    resp.raise_for_status()
                    data = sorted(resp.json()["data"], key=lambda d: d["index"])
                except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
                    raise StoreError(f"embeddings endpoint {self.base_url} failed: {exc}") from exc
                if len(data) != len(batch):
                    raise StoreError(f"embeddings endpoint returned {len(data)} vectors for {len(batch)} texts")
                out.extend(d["embedding"] for d in data)
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return _l2(np.asarray(out, dtype=np.float32))


_cache: dict[tuple[Any, ...], Embedder] = {}
_cache_lock = threading.Lock()


def make_embedder(settings: Settings | None = None) -> Embedder:
    """The embedding backend the settings choose (one instance per configuration and process)."""
    s = get_settings(settings)
    kind = s.embedding.strip().lower().replace("_", "-")
    if kind == "local":
        key: tuple[Any, ...] = ("local", s.embedding_dim)
    elif kind in ("sentence-transformers", "st"):
        key = ("st", s.embedding_model_path)
    elif kind in ("openai", "openai-compatible"):
        key = ("openai", s.embedding_base_url, s.embedding_model, s.embedding_api_key)
    else:
        raise StoreError(f"unknown embedding backend {s.embedding!r}: use local, sentence-transformers or openai")
    with _cache_lock:
        if key not in _cache:
            if key[0] == "local":
                _cache[key] = LocalHashEmbedding(s.embedding_dim)
            elif key[0] == "st":
                _cache[key] = SentenceTransformerEmbedding(str(s.embedding_model_path or ""))
            else:
                _cache[key] = OpenAIEmbedding(str(s.embedding_base_url or ""), s.embedding_model, s.embedding_api_key)
        return _cache[key]


def collection_name(prefix: str, embedder: Embedder) -> str:
    """The Chroma collection for one vector space: prefix plus the embedder's key, in Chroma's allowed letters."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}-{embedder.key}").strip("-._")
    name = name[:200] or "budgetqa"
    return name if len(name) >= 3 else name + "-00"
