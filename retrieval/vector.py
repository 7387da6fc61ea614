"""The vector index: narrative chunks and row renderings of every stored document in one Chroma collection.

Embedded Chroma in `settings.chroma_dir` by default, a Chroma server when `settings.chroma_host` is set.
Embeddings are always computed here and passed to Chroma, with the embedder given to the collection too,
so Chroma never falls back to its own default model.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from core.errors import StoreError
from core.settings import Settings, get_settings
from core.store import TableStore, open_store

from .embeddings import Embedder, collection_name, make_embedder
from .items import Item, doc_of, iter_doc_items

log = logging.getLogger(__name__)
DOCS_PER_READ = 50  # documents read from the SQL store at a time when indexing many
PAGE = 20000  # ids per page when listing the collection
EXACT_DOCS = 8  # searches within at most this many documents rank their vectors exactly, here
CACHED_DOCS = 256  # documents whose vectors are kept in memory for those searches


def chroma_client(settings: Settings | None = None) -> Any:
    """A Chroma client: HttpClient when chroma_host is set, else an embedded PersistentClient (telemetry off)."""
    s = get_settings(settings)
    cs = ChromaSettings(anonymized_telemetry=False)
    try:
        if s.chroma_host:
            return chromadb.HttpClient(host=s.chroma_host, port=s.chroma_port, settings=cs)
        s.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(s.chroma_dir), settings=cs)
    except Exception as exc:  # chromadb raises plain ValueError/ConnectionError/…
        where = f"{s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir)
        raise StoreError(f"cannot open Chroma at {where}: {exc}") from exc


class VectorIndex:
    """Chunks and rows of the SQL store as vectors in one Chroma collection (per embedding space)."""

    def __init__(self, settings: Settings | None = None, store: TableStore | None = None,
                 embedder: Embedder | None = None, client: Any = None) -> None:
        self.settings = get_settings(settings)
        self._store = store
        self.embedder = embedder or make_embedder(self.settings)
        self.client = client or chroma_client(self.settings)
        self.name = collection_name(self.settings.chroma_collection, self.embedder)
        try:
            self.collection = self.client.get_or_create_collection(
                self.name, embedding_function=self.embedder, configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": self.embedder.key},
            )
            self.batch = max(1, min(4000, int(self.client.get_max_batch_size())))
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collection {self.name}: {exc}") from exc
        self._vectors: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def store(self) -> TableStore:
        """The SQL store the index is built from (opened on first use)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    # ------------------------------------------------------------ writing

    def _upsert(self, items: list[Item]) -> None:
        for i in range(0, len(items), self.batch):
            part = items[i:i + self.batch]
            vecs = self.embedder.embed([it.text for it in part])
            try:
                self.collection.upsert(
                    ids=[it.id for it in part], embeddings=vecs, documents=[it.text for it in part],
                    metadatas=[it.metadata() for it in part],  # type: ignore[misc]
                )
            except Exception as exc:
                raise StoreError(f"cannot write to Chroma collection {self.name}: {exc}") from exc

    def forget(self, doc_ids: Iterable[str] | None = None) -> None:
        """Drop cached vectors of some documents (of all when None)."""
        with self._lock:
            if doc_ids is None:
                self._vectors.clear()
            for d in doc_ids or ():
                self._vectors.pop(d, None)

    def index_document(self, doc_id: str) -> int:
        """Upsert one stored document's chunks and rows (idempotent; stale ids of the document are removed)."""
        return self.index_documents([doc_id])

    def index_documents(self, doc_ids: Iterable[str], progress: Any = None) -> int:
        """Upsert several stored documents in batches; returns how many items were written."""
        ids = list(dict.fromkeys(doc_ids))
        self.forget(ids)
        written = 0
        pending: list[Item] = []
        for start in range(0, len(ids), DOCS_PER_READ):
            for doc_id, items in iter_doc_items(self.store, ids[start:start + DOCS_PER_READ]):
                keep = {it.id for it in items}
                stale = [i for i in self.item_ids(doc_id) if i not in keep]
                if stale:
                    self.collection.delete(ids=stale)
                pending.extend(items)
                written += len(items)
                if len(pending) >= self.batch:
                    self._upsert(pending)
                    pending = []
                if progress is not None:
                    progress(doc_id)
        self._upsert(pending)
        return written

    def delete_document(self, doc_id: str) -> None:
        """Remove every vector of a document (nothing happens when there is none)."""
        self.forget([doc_id])
        self.collection.delete(where={"doc_id": doc_id})

    # ------------------------------------------------------------ reading

    def item_ids(self, doc_id: str) -> list[str]:
        """Ids of one document's vectors."""
        return list(self.collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def all_ids(self) -> list[str]:
        """Every id in the collection (paged)."""
        out: list[str] = []
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=PAGE, offset=offset)["ids"]
            out.extend(page)
            if len(page) < PAGE:
                return out
            offset += PAGE

    def doc_counts(self) -> dict[str, int]:
        """How many vectors each document has in Chroma."""
        return dict(Counter(doc_of(i) for i in self.all_ids()))

    def doc_ids(self) -> set[str]:
        """The documents Chroma holds vectors of."""
        return set(self.doc_counts())

    def count(self) -> int:
        """How many vectors the collection holds."""
        return int(self.collection.count())

    def doc_vectors(self, doc_id: str, ids: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(ids, unit vectors) of one document as Chroma holds them, cached (least recently used dropped).

        `ids`, when the caller knows the document's item ids, makes the read a lookup by id (faster than
        a metadata filter on a large collection).
        """
        with self._lock:
            if doc_id in self._vectors:
                self._vectors.move_to_end(doc_id)
                return self._vectors[doc_id]
        if ids:
            got = self.collection.get(ids=ids, include=["embeddings"])
        else:
            got = self.collection.get(where={"doc_id": doc_id}, include=["embeddings"])
        ids = list(got["ids"])
        embs = got.get("embeddings")
        mat = np.asarray(embs, dtype=np.float32) if embs is not None and len(ids) else np.zeros((0, 1), np.float32)
        with self._lock:
            self._vectors[doc_id] = (ids, mat)
            while len(self._vectors) > CACHED_DOCS:
                self._vectors.popitem(last=False)
        return ids, mat

    def _exact(self, vec: np.ndarray, doc_ids: list[str], k: int, kind: str | None,
               ids_of: Callable[[str], list[str] | None] | None) -> list[tuple[str, float]]:
        marker = None if kind is None else (":c:" if kind == "chunk" else ":r:")
        found: list[tuple[float, str]] = []
        for doc_id in dict.fromkeys(doc_ids):
            ids, mat = self.doc_vectors(doc_id, ids_of(doc_id) if ids_of is not None else None)
            if not ids:
                continue
            scores = mat @ vec
            order = np.argsort(-scores, kind="stable")
            taken = 0
            for i in order:
                if marker is None or marker in ids[i]:
                    found.append((float(scores[i]), ids[i]))
                    taken += 1
                    if taken >= k:
                        break
        found.sort(key=lambda x: (-x[0], x[1]))
        return [(i, s) for s, i in found[:k]]

    def search(self, query: str, doc_ids: list[str] | None = None, k: int = 20, kind: str | None = None,
               ids_of: Callable[[str], list[str] | None] | None = None) -> list[tuple[str, float]]:
        """(item id, cosine similarity) of the k nearest items, optionally within documents and of one kind.

        Within a few documents the documents' vectors are ranked exactly here (Chroma's filtered HNSW
        search is slower there and may return fewer than k); otherwise Chroma's HNSW index answers.
        `ids_of(doc_id)` may tell a document's item ids, to read its vectors by id.
        """
        if doc_ids is not None and not doc_ids:
            return []
        vec = self.embedder.embed([query], query=True)
        if doc_ids is not None and len(doc_ids) <= EXACT_DOCS:
            return self._exact(vec[0], doc_ids, max(1, k), kind, ids_of)
        where: list[dict[str, Any]] = []
        if doc_ids is not None:
            where.append({"doc_id": {"$in": list(doc_ids)}})
        if kind is not None:
            where.append({"kind": kind})
        flt: dict[str, Any] | None = where[0] if len(where) == 1 else ({"$and": where} if where else None)
        try:
            res = self.collection.query(query_embeddings=vec, n_results=max(1, k), where=flt, include=["distances"])
        except Exception as exc:
            raise StoreError(f"vector search failed: {exc}") from exc
        ids = res["ids"][0] if res["ids"] else []
        dists = (res.get("distances") or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, dists)]
