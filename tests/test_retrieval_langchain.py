"""LangChain retrievers return Documents whose metadata cite document, unit, year, table, page, row and box."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document as LCDocument

from core.models import RowHit
from retrieval.hybrid import HybridSearch
from retrieval.langchain import HybridRetriever, RowRetriever
from tests.retrieval_support import HUAIBEI, LUOYANG, settings_for, store_documents

KEYS = {"doc", "unit", "year", "table", "page", "row_label", "bbox", "kind", "doc_id", "id", "score"}


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> tuple[HybridSearch, dict[str, str]]:
    settings = settings_for(tmp_path_factory.mktemp("lc") / "index")
    ids = store_documents(settings)
    return HybridSearch(settings), ids


def test_hybrid_retriever_returns_cited_documents(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    retriever = HybridRetriever(search=hs, doc_ids=[ids[HUAIBEI]], k=4)
    docs = retriever.invoke("代管资金余额")
    assert len(docs) == 4 and all(isinstance(d, LCDocument) for d in docs)
    assert all(KEYS <= set(d.metadata) for d in docs)
    text = next(d for d in docs if "30684" in d.page_content)
    m = text.metadata
    assert m["kind"] == "text" and m["doc"] == HUAIBEI and m["unit"] == "淮北市人力资源和社会保障局信息中心"
    assert m["year"] == 2026 and m["table"] is None and m["row_label"] is None and m["page"] > 1
    assert len(m["bbox"]) == 4 and m["bbox"][2] > m["bbox"][0] and m["section"]


def test_hybrid_retriever_without_documents_follows_the_units_a_query_names(
        search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, _ids = search
    scoped = HybridRetriever(search=hs, k=6).invoke("淮北人社局信息中心三公经费预算情况")
    assert scoped and {d.metadata["doc"] for d in scoped} == {HUAIBEI}
    everywhere = HybridRetriever(search=hs, k=6, resolve_units=False).invoke("淮北人社局信息中心三公经费预算情况")
    assert {d.metadata["doc"] for d in everywhere} != {HUAIBEI}


def test_row_retriever_wraps_a_lookup(search: tuple[HybridSearch, dict[str, str]]) -> None:
    hs, ids = search
    calls: list[tuple[str, list[str] | None, int]] = []

    def lookup(phrase: str, doc_ids: list[str] | None, k: int) -> list[RowHit]:
        calls.append((phrase, doc_ids, k))
        return [h for h in hs.search(phrase, doc_ids, k, kind="row") if isinstance(h, RowHit)]

    retriever = RowRetriever(lookup=lookup, doc_ids=[ids[LUOYANG]], k=3)
    docs = retriever.invoke("金保专网经费")
    assert calls == [("金保专网经费", [ids[LUOYANG]], 3)]
    row = next(d for d in docs if d.metadata["table"] == "2026年项目支出预算表")
    m = row.metadata
    assert m["kind"] == "table_row" and m["row_label"] == "金保专网经费" and m["doc"] == LUOYANG
    assert m["cells"]["合计"] == "57.20" and m["cells"]["本年拨款/一般公共预算"] == "57.20"
    assert m["unit"].startswith("洛阳市劳动能力鉴定中心") and m["year"] == 2026 and m["page"] > 1
    assert row.page_content.startswith("2026年项目支出预算表｜金保专网经费｜")


async def _ainvoke(retriever: HybridRetriever, query: str) -> list[LCDocument]:
    return await retriever.ainvoke(query)


def test_retrievers_work_in_a_runnable_chain(search: tuple[HybridSearch, dict[str, str]]) -> None:
    import asyncio

    hs, ids = search
    retriever = HybridRetriever(search=hs, k=2, kind="chunk")
    chain = retriever | (lambda docs: [d.metadata["kind"] for d in docs])
    assert chain.invoke("主要职责") == ["text", "text"]
    docs = asyncio.run(_ainvoke(retriever, "主要职责"))
    assert len(docs) == 2
