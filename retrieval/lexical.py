"""BM25 over jieba tokens of the same texts the vector index holds (chunks with headings, row renderings).

The index lives in memory, one compact posting list (CSR arrays) per document, and follows the SQL store:
when `store.generation()` changes, documents that appeared are added and those that went away are dropped.
Tokens of a document are cached on disk under index_dir/lexical/, keyed by the document id (a content hash),
its sizes and the tokeniser version, so a restart does not run jieba over every document again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.models import DocumentInfo
from core.settings import Settings, get_settings
from core.store import TableStore, open_store

from .items import Item, iter_doc_items
from .maxscore import MergedPostings, allowed_items, impacts, item_norms, kth_largest, top_k
from .tokens import query_tokens, tokenize

log = logging.getLogger(__name__)
PER_DOC = 32  # searches within at most this many documents score them one by one; others use the merged index


def _sources_hash() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("tokens.py", "items.py", "domain_words.txt"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


_VERSION = _sources_hash()  # of the code this process runs, not of whatever is on disk later


def tokens_version() -> str:
    """Changes whenever the tokeniser, the vocabulary or the renderings change (a hash of their sources)."""
    return _VERSION


@dataclass
class DocPostings:
    """One document's items as a term-sorted posting list: terms[i] occurs in items[offsets[i]:offsets[i+1]]."""

    ids: list[str]
    lengths: np.ndarray  # tokens per item
    words: list[str]  # the document's distinct terms, sorted
    offsets: np.ndarray
    items: np.ndarray
    tfs: np.ndarray
    terms: np.ndarray | None = None  # global term ids of `words`, in the same order, set when added

    @classmethod
    def build(cls, items: list[Item]) -> DocPostings:
        """Tokenise the items and invert them."""
        triples: dict[str, list[tuple[int, int]]] = {}
        lengths = np.zeros(len(items), dtype=np.float32)
        for n, it in enumerate(items):
            toks = tokenize(it.text)
            lengths[n] = len(toks)
            for word, tf in Counter(toks).items():
                triples.setdefault(word, []).append((n, tf))
        words = sorted(triples)
        sizes = [len(triples[w]) for w in words]
        offsets = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat = [p for w in words for p in triples[w]]
        posting = np.array(flat, dtype=np.int32).reshape(-1, 2)
        return cls([it.id for it in items], lengths, words, offsets, posting[:, 0].copy(),
                   posting[:, 1].astype(np.float32))

    def save(self, path: Path) -> None:
        """Write to an .npz file (atomically)."""
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(self.ids, dtype=str), lengths=self.lengths, words=np.array(self.words, dtype=str),
                 offsets=self.offsets, items=self.items, tfs=self.tfs)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DocPostings:
        """Read what `save` wrote."""
        with np.load(path, allow_pickle=False) as z:
            return cls([str(x) for x in z["ids"]], z["lengths"], [str(x) for x in z["words"]], z["offsets"],
                       z["items"], z["tfs"])


class LexicalIndex:
    """In-memory BM25 over every stored document, refreshed when the store's generation changes."""

    def __init__(self, settings: Settings | None = None, store: TableStore | None = None,
                 cache: bool = True) -> None:
        self.settings = get_settings(settings)
        self.store = store if store is not None else open_store(self.settings)
        self.cache_dir: Path | None = self.settings.index_dir / "lexical" / tokens_version() if cache else None
        self.docs: dict[str, DocPostings] = {}
        self._stored: dict[str, str | None] = {}  # doc_id → ingested_at of the postings held
        self.vocab: dict[str, int] = {}
        self.df = np.zeros(0, dtype=np.float64)
        self.n_items = 0
        self.total_len = 0.0
        self._generation: str | None = None
        self._merged: MergedPostings | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------ keeping up with the store

    def refresh(self, force: bool = False, generation: str | None = None) -> bool:
        """Follow the store: add new documents, drop deleted ones. True when something changed.

        `generation`, when the caller has just read the store's, saves reading it again.
        """
        gen = generation or self.store.generation()
        if gen == self._generation and not force:
            return False
        with self._lock:
            if gen == self._generation and not force:
                return False
            infos = {i.doc_id: i for i in self.store.list_documents()}
            # Deleted documents, and documents stored again under the same id (a re-parse of the same file).
            for doc_id in [d for d in self.docs if d not in infos or self._stored.get(d) != infos[d].ingested_at]:
                self._remove(doc_id)
            missing = [d for d in infos if d not in self.docs]
            self._stored = {d: infos[d].ingested_at for d in infos}
            self._add_many([infos[d] for d in missing])
            self._generation = gen
            return True

    def _cache_path(self, info: DocumentInfo) -> Path | None:
        if self.cache_dir is None:
            return None
        stored = re.sub(r"\D", "", info.ingested_at or "")  # a re-parse gets a cache entry of its own
        return self.cache_dir / f"{info.doc_id}-{info.n_chunks}-{info.n_rows}-{stored}.npz"

    def _add_many(self, infos: list[DocumentInfo]) -> None:
        to_build: list[DocumentInfo] = []
        for info in infos:
            path = self._cache_path(info)
            if path is not None and path.exists():
                try:
                    self._add(info.doc_id, DocPostings.load(path))
                    continue
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("token cache %s unreadable (%s); rebuilding", path, exc)
            to_build.append(info)
        if to_build:
            self._prune_cache()
        by_id = {i.doc_id: i for i in to_build}
        for start in range(0, len(to_build), 50):
            for doc_id, items in iter_doc_items(self.store, [i.doc_id for i in to_build[start:start + 50]]):
                postings = DocPostings.build(items)
                path = self._cache_path(by_id[doc_id])
                if path is not None:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        for old in path.parent.glob(f"{doc_id}-*.npz"):  # an earlier parse of this file
                            old.unlink()
                        postings.save(path)
                    except OSError as exc:
                        log.warning("cannot cache tokens in %s: %s", path, exc)
                self._add(doc_id, postings)

    def _prune_cache(self) -> None:
        """Remove token caches of other tokeniser versions (they can never be read again)."""
        if self.cache_dir is None or not self.cache_dir.parent.is_dir():
            return
        for old in self.cache_dir.parent.iterdir():
            if old.is_dir() and old.name != self.cache_dir.name:
                shutil.rmtree(old, ignore_errors=True)

    def _add(self, doc_id: str, p: DocPostings) -> None:
        if doc_id in self.docs:
            self._remove(doc_id)
        for w in p.words:
            if w not in self.vocab:
                self.vocab[w] = len(self.vocab)
        if len(self.vocab) > len(self.df):
            grown = np.zeros(max(len(self.vocab), 2 * len(self.df)), dtype=np.float64)
            grown[:len(self.df)] = self.df
            self.df = grown
        p.terms = np.array([self.vocab[w] for w in p.words], dtype=np.int64)
        order = np.argsort(p.terms, kind="stable")  # sort by global term id, for searchsorted
        if len(order) and np.any(order[:-1] > order[1:]):
            starts, ends = p.offsets[:-1][order], p.offsets[1:][order]
            idx = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
            p.items, p.tfs = p.items[idx], p.tfs[idx]
            p.offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
            p.terms = p.terms[order]
            p.words = [p.words[i] for i in order]
        np.add.at(self.df, p.terms, np.diff(p.offsets).astype(np.float64))
        self.docs[doc_id] = p
        self._merged = None
        self.n_items += len(p.ids)
        self.total_len += float(p.lengths.sum())

    def _remove(self, doc_id: str) -> None:
        p = self.docs.pop(doc_id)
        self._merged = None
        assert p.terms is not None
        np.subtract.at(self.df, p.terms, np.diff(p.offsets).astype(np.float64))
        self.n_items -= len(p.ids)
        self.total_len -= float(p.lengths.sum())

    # ------------------------------------------------------------ searching

    def search(self, query: str, doc_ids: list[str] | None = None, k: int = 20,
               kind: str | None = None, generation: str | None = None) -> list[tuple[str, float]]:
        """(item id, BM25 score) of the k best items with a positive score, optionally within documents/of a kind."""
        self.refresh(generation=generation)
        with self._lock:
            qids = sorted({self.vocab[t] for t in query_tokens(query) if t in self.vocab})
            if not qids or self.n_items == 0:
                return []
            q = np.array(qids, dtype=np.int64)
            df = self.df[q]
            idf = np.log1p((self.n_items - df + 0.5) / (df + 0.5))
            # rarest terms first, in both ways of scoring: the same order of additions gives the same floats
            order = np.argsort(df, kind="stable")
            q, idf = q[order], idf[order]
            avgdl = max(self.total_len / self.n_items, 1e-9)
            if doc_ids is None or len(doc_ids) > PER_DOC:
                return self._search_merged(q, idf, doc_ids, k, kind)
            wanted = [d for d in dict.fromkeys(doc_ids) if d in self.docs]
            marker = None if kind is None else (":c:" if kind == "chunk" else ":r:")
            found: list[tuple[float, str]] = []
            for doc_id in wanted:
                found.extend(self._score_doc(self.docs[doc_id], q, idf, avgdl, k, marker))
        found.sort(key=lambda x: (-x[0], x[1]))
        return [(i, s) for s, i in found[:k]]

    def merged(self) -> MergedPostings:
        """The merged posting list of every document (built on first use after a change)."""
        with self._lock:
            if self._merged is None:
                self._merged = self._merge()
            return self._merged

    def _merge(self) -> MergedPostings:
        docs = list(self.docs)
        ids: list[str] = []
        terms: list[np.ndarray] = []
        items: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        doc_of: list[np.ndarray] = []
        for n, doc_id in enumerate(docs):
            p = self.docs[doc_id]
            assert p.terms is not None
            terms.append(np.repeat(p.terms, np.diff(p.offsets)))
            items.append(p.items.astype(np.int64) + len(ids))
            tfs.append(p.tfs)
            lengths.append(p.lengths)
            doc_of.append(np.full(len(p.ids), n, dtype=np.int32))
            ids.extend(p.ids)
        avgdl = max(self.total_len / max(self.n_items, 1), 1e-9)
        return MergedPostings.build(ids, docs, _cat(doc_of, np.int32), _cat(terms, np.int64), _cat(items, np.int64),
                                    _cat(tfs, np.float32), item_norms(_cat(lengths, np.float32), avgdl), len(self.vocab))

    def _search_merged(self, q: np.ndarray, idf: np.ndarray, doc_ids: list[str] | None, k: int,
                       kind: str | None) -> list[tuple[str, float]]:
        """Top k over the merged postings, exact (see retrieval.maxscore)."""
        m = self.merged()
        return top_k(m, q, idf, allowed_items(m, doc_ids, kind), k)

    @staticmethod
    def _score_doc(p: DocPostings, q: np.ndarray, idf: np.ndarray, avgdl: float, k: int,
                   marker: str | None) -> list[tuple[float, str]]:
        assert p.terms is not None
        if not len(p.terms):
            return []
        pos = np.searchsorted(p.terms, q)
        hit = (pos < len(p.terms)) & (p.terms[np.minimum(pos, len(p.terms) - 1)] == q)
        if not hit.any():
            return []
        scores = np.zeros(len(p.ids), dtype=np.float64)
        norm = item_norms(p.lengths, avgdl)
        for j in np.nonzero(hit)[0]:
            sl = slice(int(p.offsets[pos[j]]), int(p.offsets[pos[j] + 1]))
            items, tf = p.items[sl], p.tfs[sl].astype(np.float64)
            scores[items] += idf[j] * impacts(tf, norm[items])  # as the merged impacts
        if marker is not None:
            scores[[marker not in i for i in p.ids]] = 0.0
        top = np.nonzero(scores > 0)[0]
        if len(top) > k:  # all items tied with the k-th: the caller breaks ties by id, as the merged search does
            top = top[scores[top] >= kth_largest(scores[top], k)]
        return [(float(scores[i]), p.ids[i]) for i in top]

    def item_ids(self, doc_id: str) -> list[str] | None:
        """The item ids of a document the index holds (None when it holds no such document)."""
        p = self.docs.get(doc_id)
        return list(p.ids) if p is not None else None

    def stats(self) -> dict[str, float]:
        """Sizes of the index: documents, items, distinct terms, average item length."""
        return {"docs": len(self.docs), "items": self.n_items, "terms": len(self.vocab),
                "avg_len": self.total_len / self.n_items if self.n_items else 0.0}


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The parts end to end (an empty array of `dtype` when there are none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
