"""The Chroma vector index on a real embedded Chroma, built from the sample PDFs in a real SQLite store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.settings import Settings
from core.store import open_store
from retrieval.vector import VectorIndex
from tests.retrieval_support import HUAIBEI, LUOYANG, settings_for, store_documents


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str], VectorIndex]:
    settings = settings_for(tmp_path_factory.mktemp("vector") / "index")
    ids = store_documents(settings)
    vector = VectorIndex(settings)
    vector.index_documents(list(ids.values()))
    return settings, ids, vector


def test_every_chunk_and_row_is_indexed_under_a_stable_id(indexed: tuple[Settings, dict[str, str], VectorIndex]
                                                         ) -> None:
    settings, ids, vector = indexed
    store = open_store(settings)
    infos = {i.doc_id: i for i in store.list_documents()}
    assert vector.doc_counts() == {d: i.n_chunks + i.n_rows for d, i in infos.items()}
    doc_id = ids[LUOYANG]
    got = vector.collection.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
    by_id = dict(zip(got["ids"], zip(got["metadatas"], got["documents"])))
    chunk = next(h for h in store.iter_chunk_hits([doc_id]) if h.chunk.text)
    meta, text = by_id[f"{doc_id}:c:{chunk.chunk.index}"]
    assert meta == {"doc_id": doc_id, "kind": "chunk", "page": chunk.chunk.page, "table": -1, "row": -1}
    assert chunk.chunk.text in text
    row = next(h for h in store.iter_row_hits([doc_id]) if h.row.label == "金保专网经费")
    meta, text = by_id[f"{doc_id}:r:{row.table_index}:{row.row.index}"]
    assert meta == {"doc_id": doc_id, "kind": "row", "page": row.row.page, "table": row.table_index,
                    "row": row.row.index}
    assert text.startswith(row.table + "｜金保专网经费｜")
    assert Counter(m["kind"] for m, _ in by_id.values()) == {"chunk": infos[doc_id].n_chunks,
                                                              "row": infos[doc_id].n_rows}


def test_indexing_again_changes_nothing(indexed: tuple[Settings, dict[str, str], VectorIndex]) -> None:
    _, ids, vector = indexed
    before = sorted(vector.all_ids())
    vector.index_document(ids[HUAIBEI])
    vector.index_documents(list(ids.values()))
    assert sorted(vector.all_ids()) == before


def test_search_filters_by_document_and_kind(indexed: tuple[Settings, dict[str, str], VectorIndex]) -> None:
    _, ids, vector = indexed
    hits = vector.search("一般公共预算支出", doc_ids=[ids[HUAIBEI]], k=10)
    assert len(hits) == 10 and all(i.startswith(ids[HUAIBEI] + ":") for i, _ in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    rows = vector.search("一般公共预算支出", doc_ids=list(ids.values()), k=10, kind="row")
    assert rows and all(":r:" in i for i, _ in rows)
    assert vector.search("一般公共预算支出", doc_ids=[], k=5) == []


def test_collection_uses_our_embedding_function_and_no_default_model(
        indexed: tuple[Settings, dict[str, str], VectorIndex]) -> None:
    _, _, vector = indexed
    config = vector.collection.configuration_json
    assert config["embedding_function"]["name"] == "budgetqa-local-hash"
    assert vector.collection.name == "budgetqa-local512"
    onnx = Path.home() / ".cache" / "chroma" / "onnx_models"
    assert not onnx.exists() or not any(onnx.iterdir())


def test_delete_document_removes_its_vectors(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ids = store_documents(settings)
    vector = VectorIndex(settings)
    vector.index_documents(list(ids.values()))
    vector.delete_document(ids[LUOYANG])
    assert vector.doc_ids() == {ids[HUAIBEI]}
    assert vector.search("金保专网经费", doc_ids=[ids[LUOYANG]], k=5) == []
    vector.delete_document(ids[LUOYANG])  # nothing left to delete: no error


def test_exact_search_within_documents_agrees_with_chroma_query(
        indexed: tuple[Settings, dict[str, str], VectorIndex], monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.vector as vector_module

    _, ids, vector = indexed
    for query, kind in (("一般公共预算基本支出", None), ("主要职责", "chunk"), ("住房公积金", "row")):
        exact = vector.search(query, doc_ids=[ids[HUAIBEI]], k=8, kind=kind)
        monkeypatch.setattr(vector_module, "EXACT_DOCS", 0)  # force Chroma's own filtered query
        chroma = vector.search(query, doc_ids=[ids[HUAIBEI]], k=8, kind=kind)
        monkeypatch.undo()
        assert [i for i, _ in exact] == [i for i, _ in chroma]
        assert [round(s, 4) for _, s in exact] == [round(s, 4) for _, s in chroma]
