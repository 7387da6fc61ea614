"""Helpers for the chat UI tests: a real index built from data/*.pdf in a temporary folder."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from ingest.cli import ingest_paths

ROOT = Path(__file__).resolve().parent.parent
DATA_PDFS = sorted((ROOT / "data").glob("*.pdf"))
SYNTHETIC = ROOT.parent / "shared" / "corpus" / "synthetic"


def build_index(index_dir: Path) -> Settings:
    """Ingest the bundled sample PDFs into `index_dir` (and the vector index, when retrieval has one)."""
    assert DATA_PDFS, "data/*.pdf is missing"
    settings = Settings(index_dir=index_dir, llm_base_url=None, llm_model=None)
    report = ingest_paths(DATA_PDFS, settings, progress=False)
    assert report.ok and len(report.stored) == len(DATA_PDFS), report.files
    from retrieval.hybrid import HybridSearch

    HybridSearch(settings).close()  # the vector index too, as the app would build it on first start
    return settings


def offline_env(monkeypatch, index_dir: Path, upload_dir: Path) -> None:  # noqa: ANN001 - pytest fixture
    """Point the app at `index_dir`, with no LLM and uploads in `upload_dir`, whatever .env says."""
    monkeypatch.setenv("BUDGETQA_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("BUDGETQA_UPLOAD_DIR", str(upload_dir))
    monkeypatch.setenv("BUDGETQA_LLM_BASE_URL", "")
    monkeypatch.setenv("BUDGETQA_LLM_MODEL", "")
    monkeypatch.setenv("BUDGETQA_DATA_DIR", str(upload_dir / "no-bundled-data"))
