"""Example questions made from what is in the index (project rows, spending structure, narrative sections)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from core.models import Document, squash

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SKIP_LABEL = re.compile(r"^(合计|总计|小计|其中|项目名称|单位名称|\d|[一二三四五六七八九十]+、|（)|等$")


def short_unit(unit: str) -> str:
    """The unit's name without its bracketed second name: 某市某中心（某市某管理中心） → 某市某中心."""
    return re.sub(r"[（(].*?[)）]\s*$", "", unit).strip() or unit


def _project_rows(doc: Document, limit: int = 3) -> list[str]:
    """Labels of projects with an amount, from project tables (项目支出表 first), fewest namesakes first."""
    unit = squash(doc.unit)
    counts = Counter(squash(r.label) for t in doc.tables for r in t.rows)
    out: list[str] = []
    tables = sorted(doc.tables, key=lambda t: ("项目支出" not in t.name, t.index))
    for t in tables:
        if "项目" not in t.name or "绩效目标表" in t.name and not t.columns:
            continue
        for r in t.rows:
            label = r.label.strip()
            if (not 4 <= len(label) <= 16 or _SKIP_LABEL.search(label) or not _CJK.search(label)
                    or squash(label) in unit or unit[:6] in squash(label)):
                continue
            if label not in out and any(c.value is not None and c.value > 0 for c in r.cells):
                out.append(label)
    return sorted(out, key=lambda label: counts[squash(label)] > 1)[:limit]


def _has_basic_spending(doc: Document) -> bool:
    return any("支出" in t.name and any("基本支出" in "".join(c) for c in t.columns) for t in doc.tables)


def _has_section(doc: Document, word: str) -> bool:
    return any(word in "".join(c.section) for c in doc.chunks)


def candidates(doc: Document) -> list[str]:
    """Questions this document should answer, best first."""
    if not doc.unit:
        return []
    unit = short_unit(doc.unit)
    qs = [f"{unit}的{p}是多少？" for p in _project_rows(doc)]
    if _has_basic_spending(doc):
        qs.insert(min(1, len(qs)), f"{unit}基本支出占比多少？")
    if any("三公" in t.name for t in doc.tables):
        qs.append(f"{unit}的“三公”经费预算是多少？")
    if _has_section(doc, "主要职责") or _has_section(doc, "主要职能"):
        qs.append(f"{unit}的主要职责是什么？")
    return qs


def example_questions(
    docs: Sequence[Document], limit: int = 4, answerable: Callable[[str], bool] | None = None
) -> list[str]:
    """Up to `limit` questions, taken in turn from each document so every unit gets one early.

    With `answerable`, questions it rejects are left out (when any question passes at all).
    """
    per_doc = [candidates(d) for d in docs]
    if answerable is not None:
        checked = [[q for q in qs if answerable(q)] for qs in per_doc]
        if any(checked):
            per_doc = checked
    out: list[str] = []
    depth = max((len(q) for q in per_doc), default=0)
    for i in range(depth):
        for qs in per_doc:
            if i < len(qs) and qs[i] not in out:
                out.append(qs[i])
    return out[:limit]
