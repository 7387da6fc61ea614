"""The same index and searches through a real Chroma server (`chroma run`) and HttpClient."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import ChunkHit
from retrieval.__main__ import main
from retrieval.hybrid import HybridSearch
from retrieval.vector import VectorIndex
from tests.retrieval_support import (
    HUAIBEI,
    LUOYANG,
    free_port,
    settings_for,
    start_chroma_server,
    stop,
    store_documents,
)
from tests.test_retrieval_hybrid import NARRATIVE, _text


def test_hybrid_search_through_a_chroma_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    server = start_chroma_server(tmp_path / "chroma-server", port)
    try:
        settings = settings_for(tmp_path / "index", chroma_host="127.0.0.1", chroma_port=port)
        ids = store_documents(settings)
        hs = HybridSearch(settings)
        assert type(hs.vector.client).__name__ == "Client"
        assert hs.vector.client.get_settings().chroma_api_impl.endswith("FastAPI")
        assert hs.last_sync is not None and sorted(hs.last_sync.missing) == sorted(ids.values())
        assert not (tmp_path / "index" / "chroma").exists()  # nothing embedded: the server holds the vectors
        for question, doc, expected in NARRATIVE:
            hits = hs.search(question, [ids[doc]], k=3)
            assert any(expected in _text(h) for h in hits), question
        top = hs.search("主要职责", [ids[HUAIBEI]], k=1, kind="chunk")[0]
        assert isinstance(top, ChunkHit) and "主要职责" in " ".join(top.chunk.section)

        assert hs.delete_document(ids[LUOYANG])
        assert VectorIndex(settings).doc_ids() == {ids[HUAIBEI]}
        vector = VectorIndex(settings)
        vector.collection.delete(ids=vector.item_ids(ids[HUAIBEI])[:3])
        monkeypatch.setenv("BUDGETQA_CHROMA_HOST", "127.0.0.1")  # the command line reads the environment
        monkeypatch.setenv("BUDGETQA_CHROMA_PORT", str(port))
        assert main(["check", "--index", str(tmp_path / "index")]) == 1
        assert main(["check", "--index", str(tmp_path / "index"), "--repair"]) == 0
        assert VectorIndex(settings).doc_counts() == {ids[HUAIBEI]: len(list(hs.lexical.docs[ids[HUAIBEI]].ids))}
    finally:
        stop(server)
    assert server.returncode is not None
