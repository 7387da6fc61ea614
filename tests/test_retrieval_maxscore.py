"""MaxScore top-k on a merged index large enough for every path: the pool bound, probing, dense lookups, whole-list adds."""

from __future__ import annotations

import numpy as np
import pytest

import retrieval.maxscore as maxscore
from retrieval.maxscore import MergedPostings, item_norms, top_k

N_ITEMS = 60_000
N_TERMS = 40


def zipf_index(seed: int) -> MergedPostings:
    """Random postings with term lengths from 20 to 48,000, tf mostly 1 and few item lengths (many exact ties).

    Term 30 (7,965 items) has one tf too large for a byte, so it stays a sorted list to search.
    """
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(20, 0.8 * N_ITEMS, N_TERMS).astype(np.int64)
    items = np.concatenate([np.sort(rng.choice(N_ITEMS, size=n, replace=False)) for n in sizes])
    tf = rng.choice(np.array([1, 1, 1, 1, 2, 3], dtype=np.float32), size=len(items))
    tf[int(sizes[:30].sum())] = 300
    lengths = rng.integers(4, 40, size=N_ITEMS).astype(np.float32)
    ids = [f"doc{i // 300:04d}:r:{i % 300:03d}" for i in range(N_ITEMS)]
    order = rng.permutation(N_ITEMS)  # item numbers not in id order, so ties are broken by id, not by number
    ids = [ids[i] for i in order]
    terms = np.repeat(np.arange(N_TERMS), sizes)[rng.permutation(len(items))]  # build() must sort them
    shuffle = np.argsort(terms, kind="stable")
    unsorted_items, unsorted_tf = np.empty_like(items), np.empty_like(tf)
    unsorted_items[shuffle], unsorted_tf[shuffle] = items, tf
    return MergedPostings.build(ids, [], np.zeros(N_ITEMS, dtype=np.int32), terms, unsorted_items, unsorted_tf,
                                item_norms(lengths, float(lengths.mean())), N_TERMS)


def every_posting_scored(m: MergedPostings, q: np.ndarray, idf: np.ndarray, allowed: np.ndarray | None,
                         k: int) -> list[tuple[str, float]]:
    scores = np.zeros(len(m.ids))
    for term, w in zip(q, idf):  # in q's order, as top_k adds them: the same floats
        items, impact = m.postings(int(term))
        scores[items] += w * impact
    idx = np.flatnonzero(scores > 0)
    if allowed is not None:
        idx = idx[allowed[idx]]
    idx = idx[np.lexsort((m.id_rank[idx], -scores[idx]))[:k]]
    return [(m.ids[i], float(scores[i])) for i in idx]


@pytest.fixture(scope="module")
def zipf() -> MergedPostings:
    return zipf_index(7)


def test_top_k_equals_scoring_every_posting(zipf: MergedPostings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many-term queries over long lists: the pool raises θ, long lists are added whole or probed, all exact."""
    paths: list[str] = []
    real_add = maxscore._add_for

    def recording_add(m: MergedPostings, term: int, idf: float, cand: np.ndarray, *rest: object) -> None:
        size = len(m.postings(term)[0])
        if term in m.dense and len(cand) * maxscore.DENSE_RATIO < size:
            paths.append("dense")
        else:
            paths.append("whole" if len(cand) * maxscore.PROBE_RATIO >= size else "probe")
        real_add(m, term, idf, cand, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(maxscore, "_add_for", recording_add)
    rng = np.random.default_rng(1)
    rows_only = rng.random(N_ITEMS) < 0.5
    for _ in range(60):
        n_terms = int(rng.integers(1, 16))
        q = np.sort(rng.choice(N_TERMS, size=n_terms, replace=False))  # ascending = rarest first here
        idf = np.sort(rng.uniform(0.2, 6.0, size=n_terms))[::-1].copy()
        for allowed in (None, rows_only):
            for k in (1, 5, 50):
                assert top_k(zipf, q, idf, allowed, k) == every_posting_scored(zipf, q, idf, allowed, k)
                assert not zipf.work_arrays()[0].any() and not zipf.work_arrays()[1].any()
    assert {"whole", "probe", "dense"} <= set(paths)  # every way of adding a pruned term ran
    assert 30 not in zipf.dense and 31 in zipf.dense


def test_the_pool_bound_is_used_once_a_long_list_follows(zipf: MergedPostings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """θ from the pool of a short list's best items, not from ranking every item of a long list."""
    pooled: list[int] = []
    real_raise = maxscore._raise

    def recording_raise(scores: np.ndarray, items: np.ndarray, pool: np.ndarray | None, theta: float,
                        k: int, pooling: bool = True) -> tuple[float, np.ndarray | None]:
        if pool is not None and len(items) > maxscore.POOL_LIST:
            pooled.append(len(pool))
        return real_raise(scores, items, pool, theta, k, pooling)

    monkeypatch.setattr(maxscore, "_raise", recording_raise)
    q = np.arange(N_TERMS - 12, N_TERMS)  # twelve long lists, 5,000 to 48,000 items
    idf = np.linspace(3.0, 0.3, len(q))
    assert top_k(zipf, q, idf, None, 10) == every_posting_scored(zipf, q, idf, None, 10)
    assert pooled and all(n == maxscore.POOL for n in pooled)
