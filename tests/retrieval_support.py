"""Helpers for the retrieval tests: the bundled PDFs parsed once per session, stored into fresh real indexes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import httpx

from core.models import Document
from core.settings import Settings
from core.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DATA_PDFS = sorted((ROOT / "data").glob("*.pdf"))
LUOYANG = "luoyang-2026-unit-budget.pdf"
HUAIBEI = "huaibei-2026-unit-budget.pdf"


@lru_cache(maxsize=1)
def parsed_documents() -> tuple[Document, ...]:
    """data/*.pdf parsed by the real pipeline, once per test process."""
    from ingest.pipeline import file_to_document

    assert DATA_PDFS, "data/*.pdf is missing"
    return tuple(file_to_document(p, Settings(workers=2)) for p in DATA_PDFS)


def parsed(name: str) -> Document:
    """One sample document as parsed (a deep copy is the caller's to change)."""
    return next(d for d in parsed_documents() if d.doc == name)


def settings_for(index_dir: Path, **extra: object) -> Settings:
    """Settings of a test index (local embedding, no LLM, whatever the environment says)."""
    values: dict[str, object] = {"embedding": "local", "chroma_host": None, "llm_base_url": None, "llm_model": None}
    values.update(extra)
    return Settings(index_dir=index_dir, **values)  # type: ignore[arg-type]


def store_documents(settings: Settings, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """Save the parsed sample documents (all, or those named) into the settings' SQL store; file name → doc id."""
    store = open_store(settings)
    try:
        return {d.doc: store.save_document(d) for d in parsed_documents() if names is None or d.doc in names}
    finally:
        store.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma_server(path: Path, port: int, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    """`chroma run` on a folder and port, returned once its heartbeat answers."""
    exe = Path(sys.executable).with_name("chroma")
    log = open(path.parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with {proc.returncode}: {(path.parent / log.name).read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("chroma server did not answer its heartbeat in time")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started and wait for it."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
