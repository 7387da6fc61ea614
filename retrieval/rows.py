"""Row lookup: a phrase to ranked table rows across the chosen documents, and the in-memory corpus."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from core.errors import StoreError
from core.models import ChunkHit, DocumentInfo, RowHit
from core.settings import Settings, get_settings
from core.store import SqlStore, open_store

from .vocab import canonical, is_subsequence, label_key, normalise, synonyms


@dataclass
class Corpus:
    """Everything answering reads, loaded once per store generation."""

    generation: str
    docs: list[DocumentInfo]
    rows: dict[str, list[RowHit]] = field(default_factory=dict)
    chunks: dict[str, list[ChunkHit]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)  # id(RowHit) → label key
    bigrams: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # doc → bigram → row positions

    def doc_rows(self, doc_id: str) -> list[RowHit]:
        return self.rows.get(doc_id, [])


_CACHE: dict[str, Corpus] = {}
_STORES: dict[str, tuple[SqlStore, int]] = {}
_LOCK = threading.Lock()


def _store(settings: Settings) -> SqlStore:
    """One open store per database: opening an engine and checking the schema costs milliseconds per question."""
    ident = _file_identity(settings)
    held = _STORES.get(settings.sql_url)
    if held is not None and held[1] != ident:  # the SQLite file was replaced (index rebuilt): reconnect
        held[0].close()
        held = None
    if held is None:
        held = _STORES[settings.sql_url] = (open_store(settings), _file_identity(settings))
    return held[0]


def _file_identity(settings: Settings) -> int:
    """The SQLite file's inode (0 for server databases), to notice a database rebuilt under the same path."""
    if settings.database_url:
        return 0
    try:
        return os.stat(settings.index_dir / "budget.sqlite").st_ino
    except OSError:
        return -1


def load_corpus(settings: Settings | None = None) -> Corpus:
    """The corpus of the configured index, reloaded only when the store changed."""
    settings = get_settings(settings)
    key = settings.sql_url
    with _LOCK:
        try:
            store = _store(settings)
            gen = store.generation()
        except StoreError:  # a dropped server connection: open it again once
            _STORES.pop(key)[0].close()
            store = _store(settings)
            gen = store.generation()
        cached = _CACHE.get(key)
        if cached is not None and cached.generation == gen:
            return cached
        corpus = Corpus(gen, store.list_documents())
        for hit in store.iter_row_hits():
            corpus.rows.setdefault(hit.doc.doc_id, []).append(hit)
        for ch in store.iter_chunk_hits():
            corpus.chunks.setdefault(ch.doc.doc_id, []).append(ch)
        for doc_id, hits in corpus.rows.items():
            grams: dict[str, set[int]] = {}
            for i, h in enumerate(hits):
                k = label_key(h.row.label)
                corpus.keys[id(h)] = k
                for g in _bigrams(k):
                    grams.setdefault(g, set()).add(i)
            corpus.bigrams[doc_id] = grams
        _CACHE[key] = corpus
        return corpus


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


@lru_cache(maxsize=1)
def _generic_chars() -> frozenset[str]:
    return frozenset("".join(synonyms()["generic_item_words"]))


@lru_cache(maxsize=1)
def _qualifiers() -> re.Pattern[str]:
    # what a question may add around a row's label without asking for another row
    words = list(synonyms()["measures"]) + synonyms()["generic_item_words"] + synonyms()["filler_words"]
    words += synonyms()["row_qualifiers"]
    return re.compile("|".join(re.escape(canonical(w)) for w in sorted(set(words), key=len, reverse=True)))


def _qualifier_free(text: str) -> str:
    return _qualifiers().sub("", text)


def core_of(phrase: str) -> str:
    """The distinctive part of an item phrase: without filler and generic words like 经费/费."""
    text = canonical(phrase)
    for w in sorted(synonyms()["filler_words"] + synonyms()["generic_item_words"], key=len, reverse=True):
        text = text.replace(w, "")
    return text


def score_label(phrase_key: str, core: str, key: str, code: str | None) -> tuple[float, str]:
    """How well a row label matches a phrase (0 = not at all), and why."""
    if not key:
        return 0.0, ""
    if key == phrase_key:
        return 100.0, "exact"
    if code and len(code) >= 3 and code in phrase_key:
        return 95.0, "code"
    if len(key) >= 2 and key in phrase_key:
        # "教育督导评估经费" holds the label "教育" but asks for something else: what the label leaves over,
        # beyond qualifiers and generic words, lowers the score below a strong match.
        rest = _qualifier_free(phrase_key.replace(key, "", 1))
        return 80.0 + min(len(key), 15) - (13 * len(rest) if len(rest) >= 3 else 0), "label in question"
    if len(phrase_key) >= 2 and phrase_key in key:
        return 75.0 - min(len(key) - len(phrase_key), 20) * 0.5, "question in label"
    if core and len(core) >= 2 and core in key:
        return 60.0 + 10 * len(core) / len(key), "core in label"
    if not core or len(core) < 2:
        return 0.0, ""
    if len(core) >= 4 and len(core) >= 0.35 * len(key) and is_subsequence(core, key):
        return 60.0 + 10 * len(core) / len(key), "abbreviation"  # 设备维修 for 设备和软件维修辅材费
    covered = _lcs(core, key)
    if covered / len(core) >= 0.75 and covered >= 2:
        return 40.0 + 20 * covered / max(len(key), len(core)), "fuzzy"
    ratio = fuzz.partial_ratio(core, key)
    if ratio >= 85 and len(core) >= 3:
        return ratio * 0.45, "fuzzy"
    return 0.0, ""


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (short strings)."""
    prev = [0] * (len(b) + 1)
    for ch in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ch == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def lookup(corpus: Corpus, phrase: str, doc_ids: list[str] | None = None, k: int = 5) -> list[RowHit]:
    """Rows whose label best matches the phrase, best first (ties: earlier tables first)."""
    phrase_key = label_key(phrase)
    core = core_of(phrase)
    # Candidates share a bigram that is not all generic: "经费" or "支出" alone would make every row a candidate.
    generic = _generic_chars()
    grams = _bigrams(core) | {g for g in _bigrams(phrase_key) if not set(g) <= generic}
    if not grams:
        grams = _bigrams(phrase_key)
    scored: list[tuple[float, int, int, RowHit]] = []
    for doc_id in doc_ids if doc_ids is not None else [d.doc_id for d in corpus.docs]:
        hits = corpus.rows.get(doc_id, [])
        index = corpus.bigrams.get(doc_id, {})
        cand: set[int] = set()
        for g in grams:
            cand |= index.get(g, set())
        for i in cand:
            h = hits[i]
            s, why = score_label(phrase_key, core, corpus.keys[id(h)], h.row.code)
            if s > 0:
                h2 = RowHit(h.doc, h.table, h.table_name, h.table_index, h.unit_of_measure, h.columns, h.row, s, why)
                scored.append((s, h.table_index, h.row.index, h2))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [t[3] for t in scored[:k]]


def rows_of_table(corpus: Corpus, doc_id: str, table_index: int) -> list[RowHit]:
    return [h for h in corpus.doc_rows(doc_id) if h.table_index == table_index]


def tables_named(corpus: Corpus, doc_id: str, names: list[str]) -> list[int]:
    """Indexes of the document's tables whose normalised name matches one of `names` (best first)."""
    wanted = [normalise(n) for n in names]
    found: dict[int, int] = {}
    for h in corpus.doc_rows(doc_id):
        name = normalise(h.table_name)
        for rank, w in enumerate(wanted):
            if name == w or (name.endswith(w) and len(w) >= 4):
                found[h.table_index] = min(found.get(h.table_index, 99), rank)
    return sorted(found, key=lambda t: (found[t], t))
