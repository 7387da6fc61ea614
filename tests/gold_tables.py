"""Compare parsed tables with the synthetic corpus's gold tables (used by tests and bench)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from core.models import Document, squash
from ingest.values import strip_numbering


def norm_label(text: str) -> str:
    return strip_numbering(squash(text).replace("(", "（").replace(")", "）")).rstrip("：:")


def gold_cells(gold: dict) -> list[tuple[str, str, str, Decimal]]:
    """(table title, row label, last header, value) of every gold cell with a value."""
    out = []
    for t in gold["tables"]:
        for r in t["rows"]:
            for c in r.get("cells", []):
                if c.get("value") is None:
                    continue
                label = c.get("row_label") or r["row_label"]
                last = c["col_path"][-1] if c["col_path"] else ""
                out.append((t["title"], norm_label(label), squash(last), Decimal(str(c["value"]))))
    return out


def recovered(doc: Document, gold: dict) -> tuple[int, int, list[tuple]]:
    """How many gold cells the parsed document has with the same label, last header and value."""
    have = set()
    for t in doc.tables:
        for r in t.rows:
            for c in r.cells:
                if c.value is not None:
                    last = squash(c.column[-1]) if c.column else ""
                    have.add((norm_label(r.label), last, c.value.normalize()))
    missing = []
    cells = gold_cells(gold)
    for title, label, last, value in cells:
        if (label, last, value.normalize()) not in have:
            missing.append((title, label, last, value))
    return len(cells) - len(missing), len(cells), missing


def load_gold(pdf: Path) -> dict:
    return json.loads(pdf.with_name(pdf.stem + ".gold.json").read_text(encoding="utf-8"))
