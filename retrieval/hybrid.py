"""Hybrid search: BM25 and vector rankings fused by reciprocal rank fusion, returned as ChunkHit/RowHit.

Opening a HybridSearch makes Chroma match the SQL store (documents missing from Chroma are indexed,
documents gone from SQL are dropped), and so does every search after the store's generation changed,
so a document is searchable right after ingest whichever process stored it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from core.errors import DocumentNotFoundError
from core.models import DocumentInfo, RowHit
from core.settings import Settings, get_settings
from core.store import TableStore, open_store

from .check import Drift, find_drift, repair
from .items import Hit, HitCache, doc_of, iter_doc_items
from .lexical import LexicalIndex
from .resolve import Resolution, resolve
from .vector import DOCS_PER_READ, VectorIndex

log = logging.getLogger(__name__)
RRF_K = 60
# (Chroma location, collection) -> (store generation, {doc_id: items}) as of this process's last sync
_synced: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
_synced_lock = threading.Lock()
MIN_NAME_PART = 4  # shortest piece of a unit name that is taken out of a question before searching its documents


def rrf(rankings: list[list[str]], k: int = RRF_K, weights: list[float] | None = None) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: Σ w/(k + rank) over the rankings an id appears in (rank from 1), best first."""
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[n]
        for rank, item_id in enumerate(ranking, start=1):
            scores[item_id] = scores.get(item_id, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


def _longest_common(a: str, b: str) -> tuple[int, int]:
    """(start in a, length) of the longest common substring of a and b."""
    best, end = 0, 0
    prev = [0] * (len(b) + 1)
    for i, ca in enumerate(a, 1):
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best, end = cur[j], i
        prev = cur
    return end - best, best


def strip_names(query: str, names: list[str], min_len: int = MIN_NAME_PART) -> str:
    """The query without the pieces (≥ min_len characters) it shares with the given unit names.

    Inside known documents the unit's name identifies the document, not the passage; left in, it makes
    cover pages and headings, which repeat the name, outrank the passage asked about.
    """
    out = query
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        while True:
            start, length = _longest_common(out, name)
            if length < min_len:
                break
            out = out[:start] + "\x00" + out[start + length:]
    parts = out.split("\x00")
    # a scrap of one or two characters between two removed pieces is part of the name too (人[社]局)
    kept = [p for n, p in enumerate(parts) if n in (0, len(parts) - 1) or len(p.strip()) > 2]
    return " ".join(" ".join(kept).split()) or query


class HybridSearch:
    """BM25 + vector search over the SQL store's chunks and rows, with Chroma kept in step with SQL."""

    def __init__(self, settings: Settings | None = None, store: TableStore | None = None, client: Any = None,
                 sync: bool = True) -> None:
        self.settings = get_settings(settings)
        self.store: TableStore = store if store is not None else open_store(self.settings)
        self.vector = VectorIndex(self.settings, self.store, client=client)
        self.lexical = LexicalIndex(self.settings, self.store)
        self.hits = HitCache(self.store)
        self._generation: str | None = None
        self._infos: dict[str, DocumentInfo] = {}
        self._doc_list: list[DocumentInfo] = []
        self._lock = threading.RLock()
        self._workers: ThreadPoolExecutor | None = None  # runs the vector ranking beside BM25
        self.last_sync: Drift | None = None
        self.rewritten: list[str] = []  # documents the last full sync re-indexed because their items changed
        if sync:
            self.sync()

    # ------------------------------------------------------------ keeping Chroma in step with SQL

    def _sync_key(self) -> tuple[str, str]:
        s = self.settings
        where = f"{s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir.resolve())
        return where, self.vector.name

    def sync(self, store: TableStore | None = None, full: bool = False) -> Drift:
        """Make Chroma match SQL: index what is missing or incomplete, delete what SQL no longer has.

        The first sync in a process compares every document (listing all ids in Chroma); later ones compare
        only the documents that appeared, changed or went away since the last sync, unless `full`.

        Those comparisons count items. `full` also compares every document item by item (ids and texts,
        read from SQL and from Chroma) and rewrites the documents that differ (`self.rewritten`): a
        document parsed again under the same content hash keeps its doc_id and maybe its number of items,
        and without this its old vectors, some under ids it no longer has, would stay.
        """
        with self._lock:
            if store is not None and store is not self.store:
                self._attach(store)
            gen = self.store.generation()
            infos = {i.doc_id: i for i in self.store.list_documents()}
            counts = {d: i.n_chunks + i.n_rows for d, i in infos.items()}
            key = self._sync_key()
            with _synced_lock:
                prev = None if full else _synced.get(key)
            if prev is not None:
                changed = {d for d, n in counts.items() if prev[1].get(d) != n} | (set(prev[1]) - set(counts))
                drift = self._repair(find_drift(self.store, self.vector, only=sorted(changed), infos=infos))
                if self.vector.count() != sum(counts.values()):  # someone else changed Chroma: compare all
                    prev = None
            if prev is None:
                drift = self._repair(find_drift(self.store, self.vector, infos=infos))
            self.rewritten = self._rewrite_changed(sorted(set(infos) - set(drift.to_reindex()))) if full else []
            with _synced_lock:
                _synced[key] = (gen, counts)
            self._generation = gen
            self._infos = infos
            self._doc_list = list(infos.values())  # one list per sync: resolve() indexes it once
            self.hits.clear()
            self.vector.forget()
            self.last_sync = drift
            return drift

    def _rewrite_changed(self, doc_ids: list[str]) -> list[str]:
        """Re-index the documents whose vectors differ from their items in SQL (other ids or other texts)."""
        in_chroma: dict[str, set[str]] = {}
        for item_id in self.vector.all_ids():
            in_chroma.setdefault(doc_of(item_id), set()).add(item_id)
        changed: list[str] = []
        for start in range(0, len(doc_ids), DOCS_PER_READ):
            for doc_id, items in iter_doc_items(self.store, doc_ids[start:start + DOCS_PER_READ]):
                want = {it.id: it.text for it in items}
                if in_chroma.get(doc_id, set()) != set(want) or (want and self._texts(list(want)) != want):
                    changed.append(doc_id)
        if changed:
            self.vector.index_documents(changed)  # upserts every item, deletes the ids the document no longer has
            log.info("vector index: %d documents rewritten after they were parsed again", len(changed))
        return changed

    def _texts(self, ids: list[str]) -> dict[str, str]:
        got = self.vector.collection.get(ids=ids, include=["documents"])
        return dict(zip(got["ids"], got.get("documents") or []))

    def _repair(self, drift: Drift) -> Drift:
        if not drift.clean:
            written = repair(drift, self.vector)
            log.info("vector index synced: %d documents indexed (%d items), %d removed",
                     len(drift.to_reindex()), written, len(drift.extra))
        return drift

    def _attach(self, store: TableStore) -> None:
        self.store = store
        self.vector._store = store
        self.lexical = LexicalIndex(self.settings, store)
        self.hits = HitCache(store)

    def _fresh(self) -> None:
        if self.store.generation() != self._generation:
            self.sync()

    def index_document(self, doc_id: str) -> int:
        """(Re)index one stored document in Chroma; BM25 follows on the next search."""
        return self.vector.index_document(doc_id)

    def delete_document(self, doc_id: str) -> bool:
        """Delete a document from SQL and from Chroma; idempotent (False when neither had it)."""
        with self._lock:
            try:
                self.store.delete_document(doc_id)
                found = True
            except DocumentNotFoundError:
                found = False
            found = bool(self.vector.item_ids(doc_id)) or found
            self.vector.delete_document(doc_id)
            self.sync()
            return found

    # ------------------------------------------------------------ searching

    @property
    def weights(self) -> list[float]:
        """Fusion weights of the BM25 and the vector ranking."""
        return [1.0, float(getattr(self.vector.embedder, "fusion_weight", 1.0))]

    def rankings(self, query: str, doc_ids: list[str] | None = None, depth: int = 50,
                 kind: str | None = None) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The BM25 and the vector ranking (id, score) of a query, each `depth` long."""
        self._fresh()
        if doc_ids is not None:
            query = strip_names(query, [self._infos[d].unit for d in doc_ids if d in self._infos])
        self.lexical.refresh(generation=self._generation)  # before the vector search asks it for item ids
        # the two rankings at once: Chroma's query releases the GIL (on 2 CPUs they still contend; see README)
        vec = self._pool().submit(self.vector.search, query, doc_ids, depth, kind, self.lexical.item_ids)
        lex = self.lexical.search(query, doc_ids, depth, kind, generation=self._generation)
        return lex, vec.result()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vector-search")
            return self._workers

    def search_ids(self, query: str, doc_ids: list[str] | None = None, k: int | None = None,
                   kind: str | None = None) -> list[tuple[str, float]]:
        """Fused (item id, RRF score), best first."""
        k = k or self.settings.top_k
        lex, vec = self.rankings(query, doc_ids, max(50, 4 * k), kind)
        return rrf([[i for i, _ in lex], [i for i, _ in vec]], weights=self.weights)[:k]

    def search(self, query: str, doc_ids: list[str] | None = None, k: int | None = None,
               kind: str | None = None) -> list[Hit]:
        """The k best chunks and rows for a query (within `doc_ids` when given; kind 'chunk' or 'row' to restrict)."""
        k = k or self.settings.top_k
        lex, vec = self.rankings(query, doc_ids, max(50, 4 * k), kind)
        lex_rank = {i: r for r, (i, _) in enumerate(lex, 1)}
        vec_rank = {i: r for r, (i, _) in enumerate(vec, 1)}
        out: list[Hit] = []
        fused = rrf([list(lex_rank), list(vec_rank)], weights=self.weights)
        self.hits.prefetch(i for i, _ in fused[:k])  # one read per document for the likely top k
        for item_id, score in fused:
            hit = self.hits.get(item_id)
            if hit is None:  # Chroma still had a document SQL has just dropped
                continue
            if isinstance(hit, RowHit):
                why = f"hybrid: bm25 #{lex_rank.get(item_id, '-')}, vector #{vec_rank.get(item_id, '-')}"
                out.append(replace(hit, score=score, why=why))
            else:
                out.append(replace(hit, score=score))
            if len(out) >= k:
                break
        return out

    def resolve(self, question: str) -> Resolution:
        """The documents a question names (units, cities, year), among the documents of the last sync."""
        self._fresh()
        return resolve(question, self._doc_list)

    def search_question(self, question: str, k: int | None = None,
                        kind: str | None = None) -> tuple[Resolution, list[Hit]]:
        """Search the documents a question names; all documents when it names none (the resolution says which).

        A named unit the index does not hold gives no hits: passages of other units would answer a
        question nobody asked. `Resolution.problem` says why.
        """
        res = self.resolve(question)
        if res.named and not res.docs:
            return res, []
        return res, self.search(question, [d.doc_id for d in res.docs] if res.named else None, k, kind)

    def close(self) -> None:
        """Stop the search threads and release the SQL store's connections."""
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def indexer(settings: Settings | None = None) -> Callable[[DocumentInfo], None]:
    """An `on_stored` hook for ingest: index each document in Chroma right after SQL stored it."""
    state: dict[str, VectorIndex] = {}

    def on_stored(info: DocumentInfo) -> None:
        if "v" not in state:
            state["v"] = VectorIndex(settings)
        state["v"].index_document(info.doc_id)

    return on_stored
