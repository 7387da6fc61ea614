"""Finding the cell an item refers to in one document: rows, measures on total rows, table topics."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.models import Cell, DocumentInfo, RowHit
from retrieval.rows import Corpus, lookup, rows_of_table, tables_named
from retrieval.vocab import aliases, canonical, label_key, synonyms

STRONG = 60.0


@dataclass
class Found:
    hit: RowHit
    cell: Cell


def default_cell(hit: RowHit, measure: str | None = None) -> Cell | None:
    """The cell a plain question about the row means: the measure's column, else 合计/总计/金额…"""
    cells = [c for c in hit.row.cells if c.value is not None and c.comparator is None]
    if not cells:
        return None
    if measure:
        spec = synonyms()["measures"].get(measure, {"columns": [measure]})
        wanted = [canonical(w) for w in spec["columns"]]
        matching = [c for c in cells if any(w in canonical(p) for p in c.column for w in wanted)]
        if matching:
            # The measure's own total: its 小计/合计 sub-column, or the column named by it.
            for c in matching:
                if canonical(c.column[-1]) in wanted or c.column[-1] in ("小计", "合计"):
                    return c
            return matching[0]
    year = str(hit.doc.year or "")
    for name in synonyms()["default_columns"]:
        named = [c for c in cells if c.column and canonical(c.column[-1]).endswith(canonical(name))]
        if named:  # "2025年预算数" and "2026年预算数": the document's own year, not last year's
            return next((c for c in named if year and year in "".join(c.column)), None) or \
                next((c for c in named if not re.search(r"20\d{2}|上年", "".join(c.column))), named[0])
    return cells[0]


def attribute_cell(hit: RowHit, attribute: str) -> Cell | None:
    """The value next to a text cell naming the attribute ("服务对象满意度" → "≥99%")."""
    key = canonical(attribute)
    key = re.sub(r"(指标|指标值|目标|是多少)$", "", key)
    if len(key) < 2:
        return None
    cells = hit.row.cells
    for i, c in enumerate(cells):
        if c.value is None and c.text and (key in canonical(c.text) or canonical(c.text) in key):
            for nxt in cells[i + 1:]:
                if nxt.value is not None:
                    return nxt
    return None


def measure_key(item: str) -> str | None:
    """The measure an item names on its own ("基本支出合计", "一般公共预算人员经费"), if any."""
    key = re.sub(r"(总额|总计|合计|总数|小计|一共|总共)$", "", canonical(item))
    if key not in synonyms()["measures"]:
        key = re.sub(r"^(一般公共预算|财政拨款|本年)", "", key)  # the measure's own tables are in that scope
    return key if key in synonyms()["measures"] else None


def measure_total(corpus: Corpus, doc: DocumentInfo, key: str) -> list[Found]:
    """The measure's column on the total row of the tables that report it."""
    spec = synonyms()["measures"][key]
    order = tables_named(corpus, doc.doc_id, spec["tables"])
    all_tables = sorted({h.table_index for h in corpus.doc_rows(doc.doc_id)})
    totals = {canonical(t) for t in synonyms()["total_rows"]}
    for t in order + [t for t in all_tables if t not in order]:
        for hit in rows_of_table(corpus, doc.doc_id, t):
            if label_key(hit.row.label) in totals:
                cell = default_cell(hit, key)
                if cell is not None and any(canonical(w) in canonical(p) for p in cell.column for w in spec["columns"]):
                    return [Found(hit, cell)]
    return []


def topic_total(corpus: Corpus, doc: DocumentInfo, item: str) -> list[Found]:
    """A question naming a table's topic (政府采购, 机构运转经费) means that table's total row."""
    key = canonical(item)
    generic = "|".join(map(re.escape, synonyms()["generic_item_words"] + ["预算", "总额", "合计", "总计"]))
    for topic, names in synonyms()["table_topics"].items():
        # Only the topic itself: "政府采购货物" is a part of the table, not its total.
        if re.fullmatch(rf"{re.escape(canonical(topic))}(?:{generic})*", key):
            totals = {canonical(t) for t in synonyms()["total_rows"]}
            for t in tables_named(corpus, doc.doc_id, names):
                rows = rows_of_table(corpus, doc.doc_id, t)
                # The total row; a one-row table (a transposed 三公 table: one row of columns) is its own total.
                picked = [h for h in rows if label_key(h.row.label) in totals] or (rows if len(rows) == 1 else [])
                for hit in picked:
                    cell = default_cell(hit)
                    if cell is not None:
                        return [Found(hit, cell)]
    return []


def find_rows(corpus: Corpus, doc: DocumentInfo, item: str, measure: str | None = None) -> list[Found]:
    """Rows matching the item (or a wording it stands for) strongly, each with its cell."""
    for alias in aliases(item):
        found = _find_rows(corpus, doc, alias, measure)
        if found:
            return found
    return []


def _find_rows(corpus: Corpus, doc: DocumentInfo, item: str, measure: str | None = None) -> list[Found]:
    """Rows matching the item strongly, each with its cell; near-equal matches all returned."""
    key = measure_key(item)
    if key:
        found = measure_total(corpus, doc, key)
        if found:
            return found
    unit = canonical(doc.unit)
    # A row naming the unit itself (its line in a 支出表) is the unit's total, never the item asked about; a key of
    # a per-project form (绩效目标表 "其中：财政拨款") answers only a question naming that key exactly.
    hits = [h for h in lookup(corpus, item, [doc.doc_id], k=12) if h.score >= STRONG and label_key(h.row.label) != unit
            and (h.row.parent is None or "绩效" not in h.table or h.score >= 95)]
    columns = column_cells(corpus, doc, item)
    if not hits:
        return columns or topic_total(corpus, doc, item)
    top = hits[0].score
    out = list(columns)  # a transposed table's own column (三公 items) comes first
    for h in hits:
        if h.score < top - 5:
            break
        rest = canonical(item).replace(label_key(h.row.label), "")
        cell = attribute_cell(h, rest) if len(rest) >= 3 else None
        cell = cell or default_cell(h, measure if measure and measure not in canonical(h.row.label) else None)
        if cell is not None:
            out.append(Found(h, cell))
    return out


def column_cells(corpus: Corpus, doc: DocumentInfo, item: str) -> list[Found]:
    """The cell under a column named exactly like the item, in a transposed table (one or two body rows)."""
    key = label_key(item)
    if len(key) < 2:
        return []
    by_table: dict[int, list[RowHit]] = {}
    for h in corpus.doc_rows(doc.doc_id):
        by_table.setdefault(h.table_index, []).append(h)
    year = str(doc.year or "")
    out = []
    for rows in by_table.values():
        if len(rows) > 2:
            continue
        # The document's own year when the table has a row per year ("2025年预算数", "2026年预算数").
        row = next((h for h in rows if year and year in h.row.label), rows[0])
        for c in row.row.cells:
            if c.value is not None and c.column and label_key(c.column[-1]) == key:
                out.append(Found(row, c))
    return out


def distinct(found: list[Found]) -> list[Found]:
    """One Found per distinct value (the same figure repeated in several tables is one answer)."""
    seen: dict[object, Found] = {}
    for f in found:
        seen.setdefault(f.cell.value, f)
    return list(seen.values())


def near_labels(corpus: Corpus, docs: list[DocumentInfo], item: str) -> list[str]:
    """Labels of rows that resemble the item, for "did you mean" (no amounts)."""
    hits = lookup(corpus, item, [d.doc_id for d in docs], k=5)
    return list(dict.fromkeys(h.row.label for h in hits if 0 < h.score < STRONG))[:3]
