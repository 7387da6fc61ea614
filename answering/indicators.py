"""Performance targets (绩效目标表): the value set for one indicator of one project.

Two layouts are read the same way: a list table whose rows are labelled by the project, with
(三级指标, 指标值) cell pairs, and a key/value form per project whose 项目名称 row names it and whose
indicator rows carry the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from core.models import Cell, DocumentInfo, RowHit
from retrieval.rows import Corpus, core_of, score_label
from retrieval.vocab import canonical, label_key

_ASK = [
    re.compile(r"^(?P<proj>.+?)(?:项目)?的?(?:绩效目标|绩效指标)[里中的]?(?P<ind>.+?)(?:要求|目标值|指标值|指标)*$"),
    re.compile(r"^(?P<proj>.+?)的(?P<ind>.+?)(?:指标值|目标值|指标)$"),
]
_TARGET = re.compile(r"^(?P<cmp>[≥≤><=＝]?)\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>\S*)$")
_HEADER_WORDS = {"项目名称", "一级指标", "二级指标", "三级指标", "指标值", "绩效指标", "年度目标"}


@dataclass
class Target:
    project: str
    indicator: str
    hit: RowHit
    cell: Cell


def split_question(item: str) -> tuple[str, str] | None:
    """"某项目绩效目标里某指标" / "某经费的某指标值" → (project phrase, indicator phrase)."""
    for pattern in _ASK:
        m = pattern.match(canonical(item))
        if m and len(m["proj"]) >= 2 and len(m["ind"]) >= 2:
            return m["proj"], m["ind"]
    return None


def target_cell(cell: Cell) -> Cell | None:
    """The cell with its number, bound and unit read from the printed target ("≥95%", "=635个")."""
    m = _TARGET.match(canonical(cell.text or ""))
    if not m:
        return None
    try:
        value = Decimal(m["num"])
    except InvalidOperation:
        return None
    unit = m["unit"] or cell.unit or ""
    return replace(cell, value=value, comparator=(m["cmp"] or None), unit=unit or None)


def targets(corpus: Corpus, doc: DocumentInfo) -> list[Target]:
    """Every (project, indicator, value) of the document's performance-target tables."""
    out: list[Target] = []
    by_table: dict[int, list[RowHit]] = {}
    for h in corpus.doc_rows(doc.doc_id):
        if "绩效" in h.table:
            by_table.setdefault(h.table_index, []).append(h)
    for rows in by_table.values():
        form_project = next((c.text for h in rows if label_key(h.row.label) == "项目名称" for c in h.row.cells
                             if c.text and label_key(c.text) != "项目名称"), None)
        for h in rows:
            project = form_project or h.row.label
            out.extend(_row_targets(h, project, form_project is not None))
    return out


def _row_targets(h: RowHit, project: str, form: bool) -> list[Target]:
    out = []
    cells = h.row.cells
    for i, c in enumerate(cells):
        name = None
        if c.text and target_cell(c) is None and i + 1 < len(cells):
            name = c.text  # (三级指标, 指标值) pairs
            value = target_cell(cells[i + 1])
        elif form and label_key(h.row.label) not in _HEADER_WORDS and i == len(cells) - 1:
            name, value = h.row.label, target_cell(c)  # a form row: the indicator is the row's label
        else:
            continue
        if value is not None and label_key(name) not in _HEADER_WORDS:
            out.append(Target(project, name, h, value))
    return out


def find_targets(corpus: Corpus, doc: DocumentInfo, item: str) -> list[Target]:
    """The target cells of the indicator of the project the item names (best matches only)."""
    parts = split_question(item)
    if parts is None:
        return []
    proj, ind = parts
    scored = []
    for t in targets(corpus, doc):
        p, _ = score_label(label_key(proj), core_of(proj), label_key(t.project), None)
        s, _ = score_label(label_key(ind), core_of(ind), label_key(t.indicator), None)
        if p >= 40 and s >= 60:
            scored.append((p + s, t))
    if not scored:
        return []
    top = max(s for s, _ in scored)
    seen: dict[tuple[str, str], Target] = {}
    for s, t in scored:
        if s >= top - 5:
            seen.setdefault((t.project, t.cell.text), t)
    return list(seen.values())
