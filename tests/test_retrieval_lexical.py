"""BM25 over jieba tokens: follows the store's generation, caches tokens on disk, same ranking both ways."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import retrieval.lexical as lexical_module
import retrieval.maxscore as maxscore
from core.store import open_store
from retrieval.lexical import LexicalIndex, tokens_version
from tests.retrieval_support import HUAIBEI, LUOYANG, parsed, settings_for, store_documents


def test_bm25_follows_the_store_and_caches_tokens(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings, (LUOYANG,))
    store = open_store(settings)
    lex = LexicalIndex(settings, store)
    top = lex.search("金保专网经费", k=3)
    assert top and all(i.startswith(ids[LUOYANG]) for i, _ in top)
    assert lex.refresh() is False  # nothing changed
    more = store_documents(settings, (HUAIBEI,))
    hits = lex.search("代管资金余额", k=3)  # the new document is picked up on the next search
    assert hits[0][0].startswith(more[HUAIBEI] + ":c:")
    cache = tmp_path / "index" / "lexical" / tokens_version()
    assert sorted(p.name.split("-")[0] for p in cache.glob("*.npz")) == sorted([ids[LUOYANG], more[HUAIBEI]])
    again = LexicalIndex(settings, store)  # a restart reads the cached tokens
    assert [(i, round(s, 6)) for i, s in again.search("代管资金余额", k=3)] == [(i, round(s, 6)) for i, s in hits]
    assert again.stats()["items"] == lex.stats()["items"] and again.stats()["terms"] == lex.stats()["terms"]
    store.delete_document(more[HUAIBEI])
    assert all(i.startswith(ids[LUOYANG]) for i, _ in lex.search("代管资金余额", k=10))
    assert lex.stats()["docs"] == 1


def test_merged_and_per_document_scoring_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings)
    lex = LexicalIndex(settings, cache=False)
    both = list(ids.values())
    for query, kind in (("一般公共预算支出为什么增加", None), ("主要职责", "chunk"), ("住房公积金", "row")):
        per_doc = lex.search(query, both, k=10, kind=kind)
        monkeypatch.setattr(lexical_module, "PER_DOC", 0)  # force the merged posting list
        merged = lex.search(query, both, k=10, kind=kind)
        unfiltered = lex.search(query, None, k=10, kind=kind)
        monkeypatch.undo()
        assert [round(s, 6) for _, s in per_doc] == [round(s, 6) for _, s in merged]
        assert [round(s, 6) for _, s in merged] == [round(s, 6) for _, s in unfiltered]
        assert len(per_doc) == 10
        if kind is not None:
            assert all((":c:" in i) == (kind == "chunk") for i, _ in merged)
    only = lex.search("主要职责", [ids[HUAIBEI]], k=5)
    monkeypatch.setattr(lexical_module, "PER_DOC", 0)
    assert lex.search("主要职责", [ids[HUAIBEI]], k=5) == only


def test_token_caches_of_other_versions_are_removed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    store_documents(settings, (LUOYANG,))
    stale = tmp_path / "index" / "lexical" / "0123456789ab"
    stale.mkdir(parents=True)
    (stale / "feedfacefeedface-1-1.npz").write_bytes(b"old")
    LexicalIndex(settings).refresh()
    assert [p.name for p in (tmp_path / "index" / "lexical").iterdir()] == [tokens_version()]


def test_a_document_stored_again_under_the_same_id_is_tokenised_again(tmp_path: Path) -> None:
    """Was stale: a re-parse with the same hash and item counts kept the old postings, in memory and on disk."""
    settings = settings_for(tmp_path / "index")
    store = open_store(settings)
    doc = parsed(LUOYANG)
    doc_id = store.save_document(doc)
    lex = LexicalIndex(settings, store)
    assert not lex.search("修订说明甲乙", [doc_id], k=1)
    again = copy.deepcopy(doc)
    again.chunks[0].text += "修订说明甲乙"
    assert store.save_document(again) == doc_id
    assert lex.search("修订说明甲乙", [doc_id], k=1)  # the running index follows
    assert LexicalIndex(settings, store).search("修订说明甲乙", [doc_id], k=1)  # and a restart reads no old cache
    cache = tmp_path / "index" / "lexical" / tokens_version()
    assert len(list(cache.glob(f"{doc_id}-*.npz"))) == 1


def test_pruned_search_over_all_documents_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MaxScore skips most of the common terms' postings; the top k must stay what scoring everything gives."""
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings)
    lex = LexicalIndex(settings, cache=False)
    probes: list[int] = []
    real_add = maxscore._add_for

    def counting_add(*args: object) -> None:
        probes.append(1)
        real_add(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(maxscore, "_add_for", counting_add)
    queries = ("淮北市人社局信息中心2026年金保专网经费是多少万元", "一般公共预算基本支出中办公费是多少",
               "机关运行经费比上年增加的原因", "政府采购预算总额", "三公经费预算数", "合计")
    for query in queries:
        for k in (1, 3, 10, 50):
            pruned = lex.search(query, None, k=k)
            exhaustive = lex.search(query, list(ids.values()), k=k)  # ≤ PER_DOC documents: every posting scored
            assert [(i, round(s, 9)) for i, s in pruned] == [(i, round(s, 9)) for i, s in exhaustive]
            assert pruned == sorted(pruned, key=lambda x: (-x[1], x[0]))  # ties in id order, on both paths
    assert probes  # the pruned path ran
    m = lex.merged()
    assert not m.work_arrays()[0].any() and not m.work_arrays()[1].any()  # left clean for the next search
