"""Exact top-k BM25 over the merged posting lists of every document, with MaxScore pruning.

Terms are taken rarest first. Once the most the remaining (common) terms could add to an item,
Σ idf·max impact, is below the k-th best score so far, no item they alone match can enter the top k:
their long posting lists are then only probed for the few items that still can. Without this the
common terms of a question ("项目", "支出") cost time in proportion to the corpus.

The score and mark arrays are reused between searches instead of allocated (and page-faulted) each time,
and candidates are collected from the postings scored, not by scanning every item: at a thousand
documents both cost more than the scoring itself. Postings are added with np.add.at, which at numpy 2
costs half of `scores[items] += …`, and once many candidates remain a long list is added whole rather
than picked over. (Block-max bounds, a largest impact per block of 32 items, were tried: their bounds
cut the candidates by 4–5x but building them per search cost more than they saved, p95 1.9 -> 2.4 ms.)

Terms found in at least 1/DENSE_SHARE of the items also keep their term frequencies as one byte per item, so
the candidates are looked up in it (one gather) rather than binary-searched in a list of 50,000–200,000
items; the impact is then computed from tf and the item's norm by the same expression, so the floats are
the same. It costs a byte per item per such term (67 terms at a thousand documents, 20 MB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

K1 = 1.2  # BM25 parameters
B = 0.75
DENSE_SHARE = 16  # a term in at least 1/DENSE_SHARE of the items keeps a tf byte per item
DENSE_RATIO = 2  # ... which is used for the candidates when they are fewer than half its postings
PROBE_RATIO = 16  # a posting list this many times longer than the items probed is binary-searched, not added whole
POOL = 1024  # items kept to raise the k-th best bound cheaply
POOL_LIST = 8 * POOL  # a posting list longer than this is not ranked whole to raise the bound, once a pool exists
SLACK = 1.0 + 1e-9  # bounds are raised a hair so that rounding never makes them too low


def item_norms(lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """K1·(1 − B + B·length/avgdl) of each item: the length part of BM25."""
    return K1 * (1.0 - B + B * lengths.astype(np.float64) / avgdl)


def impacts(tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """BM25 without idf, tf·(K1+1)/(tf + norm): every search computes it this way, so all give the same floats."""
    return tf * (K1 + 1.0) / (tf + norm)


@dataclass
class MergedPostings:
    """All documents' postings in one term-sorted array, for searches over the whole corpus."""

    ids: list[str]
    docs: dict[str, int]  # doc_id -> ordinal
    doc_of: np.ndarray  # ordinal of each item's document
    is_chunk: np.ndarray
    offsets: np.ndarray  # term id -> items[offsets[t]:offsets[t+1]]
    items: np.ndarray
    impact: np.ndarray  # tf·(K1+1) / (tf + K1·(1 − B + B·length/avgdl)) of each posting: BM25 without idf
    max_impact: np.ndarray  # term id -> the largest impact in its posting list
    id_rank: np.ndarray  # item -> position of its id in sorted order: ties are broken by id
    norm: np.ndarray  # item -> its item_norms value
    dense: dict[int, np.ndarray]  # term id -> tf of the term in every item (uint8, 0: absent), for common terms
    # per-search work arrays, all zero/False between searches (callers hold the index's lock)
    _scores: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _mark: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)

    @classmethod
    def build(cls, ids: list[str], docs: list[str], doc_of: np.ndarray, terms: np.ndarray, items: np.ndarray,
              tf: np.ndarray, norm: np.ndarray, n_terms: int) -> MergedPostings:
        """Invert postings given as parallel arrays (term id, item, tf) with each item's norm."""
        order = np.argsort(terms, kind="stable")
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=offsets[1:])
        items = items[order].astype(np.int64)
        tf = tf[order].astype(np.float64)
        impact = impacts(tf, norm[items])
        max_impact = np.zeros(n_terms, dtype=np.float64)
        used = np.flatnonzero(np.diff(offsets) > 0)
        if len(used):
            max_impact[used] = np.maximum.reduceat(impact, offsets[used])
        return cls(ids=ids, docs={d: n for n, d in enumerate(docs)}, doc_of=doc_of,
                   is_chunk=np.array([":c:" in i for i in ids], dtype=bool), offsets=offsets, items=items,
                   impact=impact, max_impact=max_impact,
                   id_rank=np.argsort(np.argsort(np.array(ids, dtype=str), kind="stable")),
                   norm=norm, dense=_dense_tfs(offsets, items, tf, len(ids)))

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(items, impacts) of one term, items ascending."""
        sl = slice(int(self.offsets[term]), int(self.offsets[term + 1]))
        return self.items[sl], self.impact[sl]

    def work_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The zeroed score array and cleared mark array of this index, made on first use."""
        if len(self._scores) != len(self.ids):
            self._scores = np.zeros(len(self.ids), dtype=np.float64)
            self._mark = np.zeros(len(self.ids), dtype=bool)
        return self._scores, self._mark


def top_k(m: MergedPostings, q: np.ndarray, idf: np.ndarray, allowed: np.ndarray | None,
          k: int) -> list[tuple[str, float]]:
    """(item id, score) of the k best items with a positive score; q sorted rarest first, idf in the same order.

    `allowed` (a mask over items) restricts the result. Scores add terms in q's order, as a search
    within documents does, so both give bit-identical floats.
    """
    scores, mark = m.work_arrays()
    touched: list[np.ndarray] = []
    try:
        return _top_k(m, q, idf, allowed, k, scores, mark, touched)
    finally:
        for items in touched:  # leave the work array zeroed for the next search
            scores[items] = 0.0


def _top_k(m: MergedPostings, q: np.ndarray, idf: np.ndarray, allowed: np.ndarray | None, k: int,
           scores: np.ndarray, mark: np.ndarray, touched: list[np.ndarray]) -> list[tuple[str, float]]:
    bound = idf * m.max_impact[q] * SLACK
    rest = np.concatenate([np.cumsum(bound[::-1])[::-1][1:], [0.0]])  # what the terms after each could add
    reach = np.cumsum(bound)  # the most the terms up to each could have given
    theta = 0.0  # a lower bound of the k-th best final score
    pool: np.ndarray | None = None  # distinct items with high partial scores, to raise theta cheaply
    pooling = m.offsets[q[-1] + 1] - m.offsets[q[-1]] > POOL_LIST  # a list long enough to use it follows (q: rarest first)
    for n in range(len(q)):
        items, impact = m.postings(int(q[n]))
        np.add.at(scores, items, idf[n] * impact)  # faster than scores[items] += … (items are distinct)
        touched.append(items)
        if n == len(q) - 1:
            break
        if reach[n] <= rest[n]:  # no partial score can exceed rest yet: no point in a k-th best
            continue
        theta, pool = _raise(scores, items if allowed is None else items[allowed[items]], pool, theta, k, pooling)
        if rest[n] < theta:
            cand = _candidates(touched, scores, mark, theta - rest[n])
            if allowed is not None:
                cand = cand[allowed[cand]]
            for j in range(n + 1, len(q)):
                _add_for(m, int(q[j]), float(idf[j]), cand, scores, touched)
                got = scores[cand]
                theta = max(theta, kth_largest(got, k))
                cand = cand[got + rest[j] >= theta]
            return _top(m, cand, scores, k)
    top = _candidates(touched, scores, mark, 0.0, strict=True)
    if allowed is not None:
        top = top[allowed[top]]
    return _top(m, top, scores, k)


def _raise(scores: np.ndarray, items: np.ndarray, pool: np.ndarray | None, theta: float, k: int,
           pooling: bool = True) -> tuple[float, np.ndarray | None]:
    """theta raised to the k-th best partial score of a set of distinct items, and the pool of the best of them.

    Scores only grow, so the k-th best of any k distinct items bounds the final k-th from below. A short
    posting list is ranked whole and its best items kept as the pool; past that, only the pool is ranked
    again, instead of a long list of common-term items whose partial scores are mostly small.
    Without `pooling` no pool is kept.
    """
    if pool is not None and len(items) > POOL_LIST:
        return max(theta, kth_largest(scores[pool], k)), pool
    got = scores[items]
    if not pooling:  # no list long enough to need the pool follows: don't pick one out
        return max(theta, kth_largest(got, k)), pool
    if len(items) > POOL:
        keep = np.argpartition(got, len(got) - POOL)[len(got) - POOL:]
        items, got = items[keep], got[keep]
    mine = kth_largest(got, k)
    kept = kth_largest(scores[pool], k) if pool is not None else 0.0
    if kept > mine:  # the old pool still holds the better items
        return max(theta, kept), pool
    return max(theta, mine), items


def allowed_items(m: MergedPostings, doc_ids: list[str] | None, kind: str | None) -> np.ndarray | None:
    """Which items a search within documents and/or of one kind may return (None: all)."""
    mask: np.ndarray | None = None
    if kind is not None:
        mask = m.is_chunk == (kind == "chunk")
    if doc_ids is not None:
        docs = np.array(sorted({m.docs[d] for d in doc_ids if d in m.docs}), dtype=np.int32)
        in_docs = np.isin(m.doc_of, docs)
        mask = in_docs if mask is None else mask & in_docs
    return mask


def _candidates(touched: list[np.ndarray], scores: np.ndarray, mark: np.ndarray, threshold: float,
                strict: bool = False) -> np.ndarray:
    """The scored items (ascending) whose score is ≥ threshold (> when strict), looking only where scores are."""
    if sum(len(t) for t in touched) * 8 > len(scores):  # most of the array was touched: scanning it is cheaper
        return np.flatnonzero(scores > threshold if strict else scores >= threshold)
    for items in touched:  # marks dedupe and sort without sorting (a scan of bytes, not of scores)
        got = scores[items]
        mark[items[got > threshold if strict else got >= threshold]] = True
    found = np.flatnonzero(mark)
    mark[found] = False
    return found


def _add_for(m: MergedPostings, term: int, idf: float, cand: np.ndarray, scores: np.ndarray,
             touched: list[np.ndarray]) -> None:
    """Add one term's BM25 part to the scores of the candidate items (sorted), and maybe of others."""
    items, impact = m.postings(term)
    if not len(items) or not len(cand):
        return
    tfs = m.dense.get(term)
    if tfs is not None and len(cand) * DENSE_RATIO < len(items):  # a common term: look the candidates up
        tf = tfs[cand]
        hit = np.flatnonzero(tf)
        found = cand[hit]
        scores[found] += idf * impacts(tf[hit].astype(np.float64), m.norm[found])
        return
    if len(cand) * PROBE_RATIO < len(items):  # few candidates: binary search them in the (sorted) posting list
        pos = np.minimum(np.searchsorted(items, cand), len(items) - 1)
        hit = items[pos] == cand
        scores[cand[hit]] += idf * impact[pos[hit]]
        return
    # Many: adding to every item of the list costs less than picking the candidates out of it, and the
    # items that are not candidates can no longer enter the top k, whatever their scores become.
    np.add.at(scores, items, idf * impact)
    touched.append(items)


def _dense_tfs(offsets: np.ndarray, items: np.ndarray, tf: np.ndarray, n_items: int) -> dict[int, np.ndarray]:
    """term id -> its tf in every item, for the terms in at least 1/DENSE_SHARE of the items."""
    out: dict[int, np.ndarray] = {}
    for term in np.flatnonzero(np.diff(offsets) >= max(n_items // DENSE_SHARE, 1)):
        sl = slice(int(offsets[term]), int(offsets[term + 1]))
        if tf[sl].max() <= 255:  # a count above 255 does not fit in a byte: that term keeps the binary search
            tfs = np.zeros(n_items, dtype=np.uint8)
            tfs[items[sl]] = tf[sl]
            out[int(term)] = tfs
    return out


def kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest value (0 when there are fewer than k)."""
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _top(m: MergedPostings, idx: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    idx = idx[scores[idx] > 0]
    if len(idx) > k:  # all items tied with the k-th compete, by id, whichever were scored
        idx = idx[scores[idx] >= kth_largest(scores[idx], k)]
    idx = idx[np.lexsort((m.id_rank[idx], -scores[idx]))[:k]]
    return [(m.ids[i], float(scores[i])) for i in idx]
