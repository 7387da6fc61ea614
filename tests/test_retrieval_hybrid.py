"""Hybrid search (BM25 + Chroma, rank fusion) on the sample PDFs: the right passage or row, citations, sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import ChunkHit, RowHit
from core.settings import Settings
from core.store import open_store
from ingest.cli import ingest_paths
from retrieval.hybrid import HybridSearch, indexer, rrf, strip_names
from retrieval.items import HitCache, hit_id
from retrieval.vector import VectorIndex
from tests.retrieval_support import DATA_PDFS, HUAIBEI, LUOYANG, settings_for, store_documents

# (question, document, text one of the top 3 hits must contain)
NARRATIVE = [
    ("洛阳市劳动能力鉴定中心2026年为什么预算减少", LUOYANG, "主要原因：人员减少"),
    ("主要职责是什么", HUAIBEI, "承担社会保障卡的日常管理工作"),
    ("淮北市人社局信息中心的代管资金余额截至2024年底是多少", HUAIBEI, "代管资金余额为30684元"),
    ("淮北市人社局信息中心有几个项目实行了绩效管理", HUAIBEI, "3个项目实行了绩效管理"),
    ("一般公共预算支出为什么增加", HUAIBEI, "人员正常工资增长"),
    ("三公经费预算情况", LUOYANG, "“三公”经费支出预算为0.00万元"),
    ("政府采购预算安排", HUAIBEI, "政府采购预算64.16万元"),
]


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> tuple[HybridSearch, dict[str, str]]:
    settings = settings_for(tmp_path_factory.mktemp("hybrid") / "index")
    ids = store_documents(settings)
    return HybridSearch(settings), ids


def _text(hit: ChunkHit | RowHit) -> str:
    if isinstance(hit, ChunkHit):
        return hit.chunk.text
    return hit.row.label + " " + " ".join(c.text for c in hit.row.cells)


@pytest.mark.parametrize(("question", "doc", "expected"), NARRATIVE)
def test_narrative_questions_find_the_passage(search: tuple[HybridSearch, dict[str, str]], question: str,
                                              doc: str, expected: str) -> None:
    hs, ids = search
    hits = hs.search(question, [ids[doc]], k=3)
    assert any(expected in _text(h) for h in hits), [_text(h)[:60] for h in hits]
    assert all(h.doc.doc_id == ids[doc] for h in hits)


def test_without_a_document_the_passage_is_still_found(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    hits = hs.search("代管资金余额", k=5)
    assert any("30684" in _text(h) and h.doc.doc == HUAIBEI for h in hits)


def test_a_question_is_searched_in_the_documents_it_names(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    res, hits = hs.search_question("淮北人社局信息中心三公经费预算情况", k=8)
    assert res.named and [d.doc for d in res.docs] == [HUAIBEI]
    assert hits and {h.doc.doc for h in hits} == {HUAIBEI}
    assert LUOYANG in {h.doc.doc for h in hs.search("淮北人社局信息中心三公经费预算情况", k=8)}  # unscoped
    res, hits = hs.search_question("三公经费预算情况", k=8)  # names no unit: every document is a candidate
    assert not res.named and len(res.docs) == 2
    assert [hit_id(h) for h in hits] == [hit_id(h) for h in hs.search("三公经费预算情况", k=8)]
    res, hits = hs.search_question("武汉市财政局三公经费预算情况", k=8)
    assert res.problem and "武汉市财政局" in res.problem and hits == []


def test_project_row_is_found_with_its_citation(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    hits = hs.search("金保专网经费是多少？", [ids[LUOYANG]], k=3, kind="row")
    assert hits and all(isinstance(h, RowHit) for h in hits)
    top = next(h for h in hits if isinstance(h, RowHit) and h.table_name == "项目支出预算表")
    assert top.row.label == "金保专网经费" and top.table == "2026年项目支出预算表"
    assert top.row.cell("合计") is not None and top.row.cell("合计").text == "57.20"  # type: ignore[union-attr]
    assert top.doc.doc == LUOYANG and top.doc.unit.startswith("洛阳市劳动能力鉴定中心") and top.doc.year == 2026
    assert top.row.page > 1 and top.row.bbox[2] > top.row.bbox[0] and top.score > 0 and "bm25" in top.why


def test_chunk_hits_carry_page_bbox_and_section(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    hits = hs.search("主要职责", [ids[HUAIBEI]], k=2, kind="chunk")
    top = hits[0]
    assert isinstance(top, ChunkHit) and "主要职责" in " ".join(top.chunk.section)
    assert top.chunk.page == 4 and top.chunk.bbox[3] > top.chunk.bbox[1]
    assert hits[0].score >= hits[1].score


def test_hit_cache_reads_only_the_rows_and_chunks_asked_for(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    store = hs.store
    every = {hit_id(h): h for h in store.iter_row_hits([ids[HUAIBEI]])}
    every.update({hit_id(h): h for h in store.iter_chunk_hits([ids[HUAIBEI]])})
    cache = HitCache(store)
    some_row = next(i for i in every if ":r:3:" in i)
    cache.prefetch([some_row, f"{ids[HUAIBEI]}:c:2"])
    assert sorted(cache._hits) == sorted([some_row, f"{ids[HUAIBEI]}:c:2"])  # not its table, not the document
    assert all(cache.get(i) == h for i, h in every.items())  # the rest is read on demand, equal to a full read
    assert cache.get(f"{ids[HUAIBEI]}:r:999:0") is None and cache.get("nonsense") is None


def test_both_rankings_run_side_by_side_and_close_stops_the_threads(
        search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    own = HybridSearch(hs.settings, sync=False)
    own.sync()
    for docs in (None, [ids[HUAIBEI]]):
        lex, vec = own.rankings("金保专网经费", docs, 20)
        assert lex == hs.lexical.search("金保专网经费", docs, 20)
        assert vec == hs.vector.search("金保专网经费", docs, 20, ids_of=hs.lexical.item_ids) and vec
    workers = own._workers
    assert workers is not None
    own.close()
    assert own._workers is None and workers._shutdown
    assert own.search("金保专网经费", k=3)  # a search after close starts them again
    own.close()


def test_rrf_and_unit_name_stripping() -> None:
    assert rrf([["a", "b"], ["b", "c"]]) == [("b", 1 / 62 + 1 / 61), ("a", 1 / 61), ("c", 1 / 62)]
    assert rrf([["a"], ["b"]], weights=[1.0, 0.5])[0][0] == "a"
    assert strip_names("淮北市人社局信息中心有几个项目实行了绩效管理", ["淮北市人力资源和社会保障局信息中心"]) \
        == "有几个项目实行了绩效管理"
    assert strip_names("社保卡维护工作经费", ["洛阳市劳动能力鉴定中心（洛阳市社会保障卡管理中心）"]) == "社保卡维护工作经费"


def test_search_follows_documents_stored_after_it_opened(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings, (LUOYANG,))
    hs = HybridSearch(settings)
    assert hs.vector.doc_ids() == {ids[LUOYANG]}
    assert not [h for h in hs.search("代管资金余额", k=5) if h.doc.doc == HUAIBEI]
    more = store_documents(settings, (HUAIBEI,))  # another writer adds a document
    hits = hs.search("代管资金余额", k=5)
    assert any(h.doc.doc_id == more[HUAIBEI] and "30684" in _text(h) for h in hits)
    assert hs.vector.doc_ids() == {ids[LUOYANG], more[HUAIBEI]}


def test_delete_removes_from_sql_chroma_and_bm25(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings)
    hs = HybridSearch(settings)
    assert hs.search("金保专网经费", [ids[LUOYANG]], k=3)
    assert hs.delete_document(ids[LUOYANG]) is True
    assert [i.doc for i in open_store(settings).list_documents()] == [HUAIBEI]
    assert hs.vector.doc_ids() == {ids[HUAIBEI]}
    assert hs.vector.item_ids(ids[LUOYANG]) == []
    assert hs.lexical.search("金保专网经费", [ids[LUOYANG]], k=5) == []
    assert all(h.doc.doc == HUAIBEI for h in hs.search("金保专网经费", k=10))
    assert hs.delete_document(ids[LUOYANG]) is False  # idempotent
    again = HybridSearch(settings)  # a fresh process sees the same
    assert again.last_sync is not None and again.last_sync.clean


def test_ingest_hook_indexes_right_after_each_document_is_stored(tmp_path: Path) -> None:
    settings: Settings = settings_for(tmp_path / "index", workers=2)
    report = ingest_paths(DATA_PDFS, settings, progress=False, on_stored=indexer(settings))
    assert report.ok and len(report.stored) == 2
    vector = VectorIndex(settings)
    infos = open_store(settings).list_documents()
    assert vector.doc_counts() == {i.doc_id: i.n_chunks + i.n_rows for i in infos}
    hs = HybridSearch(settings)
    assert hs.last_sync is not None and hs.last_sync.clean  # nothing left for the sync to do


def test_later_syncs_compare_only_what_changed_unless_chroma_was_changed_behind_their_back(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings)
    first = HybridSearch(settings)
    assert first.last_sync is not None and len(first.last_sync.missing) == 2 and len(first.last_sync.counts) == 2
    second = HybridSearch(settings)  # same process, nothing changed: nothing compared
    assert second.last_sync is not None and second.last_sync.clean and second.last_sync.counts == {}
    second.vector.collection.delete(ids=second.vector.item_ids(ids[HUAIBEI])[:5])  # behind its back
    third = HybridSearch(settings)
    assert third.last_sync is not None and third.last_sync.incomplete == [ids[HUAIBEI]]
    assert third.vector.doc_counts() == {d: n for d, (n, _) in third.last_sync.counts.items()}
