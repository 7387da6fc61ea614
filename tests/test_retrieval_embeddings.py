"""Embedding backends: the offline hashing default, backend choice, and the OpenAI-compatible protocol."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from core.errors import StoreError
from core.settings import Settings
from retrieval.embeddings import (
    LocalHashEmbedding,
    OpenAIEmbedding,
    SentenceTransformerEmbedding,
    collection_name,
    make_embedder,
)
from tests.retrieval_support import ROOT

TEXTS = ["2026年一般公共预算支出预算表｜合计｜合计 251.26 万元", "主要职责：承担社会保障卡的日常管理工作", "", "123 ,.;"]


def test_local_embedding_is_unit_length_and_deterministic_across_processes() -> None:
    emb = LocalHashEmbedding(256)
    mat = emb.embed(TEXTS)
    assert mat.shape == (4, 256) and mat.dtype == np.float32
    assert np.allclose(np.linalg.norm(mat, axis=1), 1.0)
    code = ("import json, sys; from retrieval.embeddings import LocalHashEmbedding; "
            "print(json.dumps(LocalHashEmbedding(256).embed(json.loads(sys.argv[1])).tolist()))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(TEXTS)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    assert np.array_equal(np.array(json.loads(out), dtype=np.float32), mat)


def test_local_embedding_puts_related_texts_closer() -> None:
    emb = LocalHashEmbedding(512)
    q = emb.embed(["社会保障卡管理"], query=True)[0]
    near, far = emb.embed(["承担社会保障卡的日常管理工作", "住房公积金缴费支出"])
    assert float(q @ near) > float(q @ far)


def test_settings_choose_the_backend() -> None:
    local = make_embedder(Settings(embedding="local", embedding_dim=128))
    assert isinstance(local, LocalHashEmbedding) and local.dim == 128
    assert make_embedder(Settings(embedding="local", embedding_dim=128)) is local
    assert collection_name("budgetqa", local) == "budgetqa-local128"
    with pytest.raises(StoreError, match="unknown embedding"):
        make_embedder(Settings(embedding="word2vec"))
    with pytest.raises(StoreError, match="model directory not found"):
        make_embedder(Settings(embedding="sentence-transformers", embedding_model_path="/nonexistent/bge-small-zh"))
    with pytest.raises(StoreError, match="EMBEDDING_BASE_URL"):
        make_embedder(Settings(embedding="openai", embedding_base_url=None))
    assert "sentence_transformers" not in sys.modules


def test_sentence_transformers_backend_is_lazy(tmp_path: Path) -> None:
    model_dir = tmp_path / "bge-small-zh-v1.5"
    model_dir.mkdir()
    emb = SentenceTransformerEmbedding(str(model_dir))
    assert emb.key == "st-bge-small-zh-v1.5" and emb.query_prefix  # bge zh models want a query instruction
    assert "sentence_transformers" not in sys.modules  # nothing imported or loaded until the first embedding


class _Endpoint(BaseHTTPRequestHandler):
    """A local OpenAI-compatible /embeddings server answering with hashing embeddings (in reverse order)."""

    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Endpoint.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        vecs = LocalHashEmbedding(64).embed(body["input"]) * 3.0  # not normalised: the client must do it
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)][::-1]
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_openai_compatible_backend_batches_orders_and_normalises(endpoint: str) -> None:
    _Endpoint.seen.clear()
    emb = make_embedder(Settings(embedding="openai", embedding_base_url=endpoint, embedding_model="bge-m3",
                                 embedding_api_key="secret"))
    assert isinstance(emb, OpenAIEmbedding) and emb.key == "oa-bge-m3"
    emb.batch_size = 3
    mat = emb.embed(TEXTS + ["项目支出"])
    assert mat.shape == (5, 64) and np.allclose(np.linalg.norm(mat, axis=1), 1.0)
    assert np.allclose(mat, LocalHashEmbedding(64).embed(TEXTS + ["项目支出"]), atol=1e-6)
    assert [len(s["input"]) for s in _Endpoint.seen] == [3, 2]
    assert all(s["path"] == "/v1/embeddings" and s["model"] == "bge-m3" for s in _Endpoint.seen)
    assert _Endpoint.seen[0]["auth"] == "Bearer secret"
    assert "secret" not in json.dumps(emb.get_config())


def test_openai_compatible_backend_failure_is_a_store_error() -> None:
    emb = OpenAIEmbedding("http://127.0.0.1:9/v1", "bge-m3", timeout=2.0)
    with pytest.raises(StoreError, match="embeddings endpoint"):
        emb.embed(["基本支出"])
