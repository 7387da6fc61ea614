"""README documents every setting."""

from pathlib import Path

from core.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`BUDGETQA_{n.upper()}`" not in text or f"`{n}`" not in text]
    assert missing == []


def test_readme_has_the_shared_sections() -> None:
    heads = [ln[3:].strip() for ln in README.read_text(encoding="utf-8").splitlines() if ln.startswith("## ")]
    for want in ("Quick start", "What it does", "Settings", "Ingest", "Retrieval", "Answering", "Chat",
                 "Tests and benchmarks"):
        assert want in heads
