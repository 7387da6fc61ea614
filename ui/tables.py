"""Parsed tables and cited rows as pandas data frames, and their CSV / Excel downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import pandas as pd

from core.models import Citation, Table

SEP = " / "
LABEL = "项目"
CODE = "编码"
GROUP = "栏目"


def header(path: Sequence[str]) -> str:
    """A header path as one column name: '基本支出 / 人员经费'."""
    return SEP.join(p.strip() for p in path if p and p.strip()) or "（无表头）"


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    taken.add(out)
    return out


CONTENT = "内容"
PARENT = "上级"


def form_frame(table: Table) -> pd.DataFrame:
    """A key/value form (no header row, e.g. 项目支出绩效目标表): 上级 when present, 项目, 内容.

    A cell filed under a header other than its row's label keeps that header in front: 'header：text'.
    """
    has_parent = any(r.parent for r in table.rows)
    records = []
    for r in table.rows:
        parts = []
        for c in r.cells:
            if not c.text.strip():
                continue
            label = "".join(r.label.split())
            named = any("".join(p.split()) == label for p in c.column)
            parts.append(c.text if not c.column or named else f"{header(c.column)}：{c.text}")
        rec = {PARENT: r.parent or ""} if has_parent else {}
        rec.update({LABEL: r.label, CONTENT: "；".join(parts)})
        records.append(rec)
    return pd.DataFrame(records, columns=([PARENT] if has_parent else []) + [LABEL, CONTENT])


def table_frame(table: Table) -> pd.DataFrame:
    """One line per parsed row: 编码 / 栏目 when present, 项目 (the row label), then every cell column.

    Columns follow the table's header order; header columns that no row has a cell in are the label
    and code columns, already shown as 项目 / 编码. Repeated cells under one header are joined.
    A table without header columns is a key/value form: see `form_frame`.
    """
    if not table.columns and table.rows:
        return form_frame(table)
    order: list[str] = [header(c) for c in table.columns]
    seen_cols = {h for r in table.rows for h in (header(c.column) for c in r.cells)}
    cols = [h for h in dict.fromkeys(order) if h in seen_cols]
    cols += [h for h in dict.fromkeys(header(c.column) for r in table.rows for c in r.cells) if h not in cols]
    has_code = any(r.code for r in table.rows)
    has_group = any(r.group for r in table.rows)
    fixed = ([CODE] if has_code else []) + ([GROUP] if has_group else []) + [LABEL]
    taken = set(fixed)
    names = {h: _unique(h, taken) for h in cols}
    records = []
    for r in table.rows:
        rec: dict[str, str] = {}
        if has_code:
            rec[CODE] = r.code or ""
        if has_group:
            rec[GROUP] = r.group or ""
        rec[LABEL] = r.label
        for c in r.cells:
            key = names[header(c.column)]
            rec[key] = f"{rec[key]}；{c.text}" if rec.get(key) else c.text
        records.append(rec)
    return pd.DataFrame(records, columns=fixed + [names[h] for h in cols]).fillna("")


def citation_frame(citations: Sequence[Citation], names: dict[str, str] | None = None) -> pd.DataFrame:
    """Cited table rows: 单位, 年度, 表名, 页码, 项目, then the row's cells under their header paths."""
    records = []
    cell_cols: list[str] = []
    for c in citations:
        pages = sorted({p for p, _ in c.spans} or {c.page})
        rec: dict[str, str] = {
            "单位": c.unit, "年度": str(c.year or ""), "表名": c.table or "",
            "页码": "、".join(str(p) for p in pages), LABEL: c.row_label or "",
        }
        for k, v in c.cells.items():
            col = k if k not in rec else f"{k}（列）"
            if col not in cell_cols:
                cell_cols.append(col)
            rec[col] = v
        records.append(rec)
    return pd.DataFrame(records, columns=["单位", "年度", "表名", "页码", LABEL] + cell_cols).fillna("")


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV with a byte-order mark, so Excel opens the Chinese text correctly."""
    return df.to_csv(index=False).encode("utf-8-sig")


def sheet_name(title: str) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", title).strip() or "表格"
    return name[:31]


def excel_bytes(df: pd.DataFrame, title: str = "表格", note: str | None = None) -> bytes:
    """An .xlsx workbook (openpyxl) with the table on one sheet, columns sized to their text."""
    buf = io.BytesIO()
    start = 2 if note else 0
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        name = sheet_name(title)
        df.to_excel(writer, index=False, sheet_name=name, startrow=start)
        ws = writer.sheets[name]
        if note:
            ws.cell(row=1, column=1, value=note)
        for i, col in enumerate(df.columns, start=1):
            texts = [str(col)] + [str(v) for v in df[col].tolist()]
            width = max((sum(2 if ord(ch) > 127 else 1 for ch in t) for t in texts), default=8)
            ws.column_dimensions[ws.cell(row=start + 1, column=i).column_letter].width = min(60, max(8, width + 2))
    return buf.getvalue()


def safe_file_stem(text: str) -> str:
    """A file name for downloads made from a title (no path separators or control characters)."""
    stem = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", text).strip(" ._") or "表格"
    return stem[:80]
