"""The only module that imports pdfplumber: a page in, plain layout data out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from core.errors import DamagedPDFError, EncryptedPDFError, NotAPDFError
from core.models import BBox

from .layout import Grid, Line, PageLayout

# Ruled tables only: disclosures draw every cell border, and text alignment would turn
# narrative columns into false tables.
TABLE_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}


def check_pdf_header(path: Path) -> None:
    """Raise NotAPDFError unless the file starts like a PDF."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise NotAPDFError("不是PDF文件（文件头不是 %PDF-）")


def open_pdf(path: Path) -> Any:
    """pdfplumber.open with its failures turned into our named errors."""
    check_pdf_header(path)
    try:
        pdf = pdfplumber.open(path)
        _ = pdf.pages  # forces the page tree to be read
        return pdf
    except PdfminerException as exc:
        inner = exc.args[0] if exc.args else exc
        if isinstance(inner, (PDFPasswordIncorrect, PDFEncryptionError)) or "password" in str(inner).lower():
            raise EncryptedPDFError("PDF已加密，无法读取（需要密码）") from exc
        raise DamagedPDFError(f"PDF已损坏，无法解析（{type(inner).__name__}）") from exc
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise EncryptedPDFError("PDF已加密，无法读取（需要密码）") from exc
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        raise DamagedPDFError(f"PDF已损坏，无法解析（{type(exc).__name__}）") from exc


def page_count(path: Path) -> int:
    with open_pdf(path) as pdf:
        return len(pdf.pages)


def pages_to_layouts(path: Path, numbers: list[int]) -> list[PageLayout]:
    """Parse the given 1-based pages of one file (each page once)."""
    with open_pdf(path) as pdf:
        return [parse_page(pdf, n) for n in numbers]


def parse_page(pdf: Any, number: int) -> PageLayout:
    """One 1-based page of an open PDF as layout data; the page's cached objects are released after."""
    page = None
    try:
        page = pdf.pages[number - 1]
        return page_to_layout(page, number)
    except Exception as exc:
        raise DamagedPDFError(f"第{number}页无法解析（{type(exc).__name__}: {exc}）") from exc
    finally:
        if page is not None:
            page.close()


def page_to_layout(page: Any, number: int) -> PageLayout:
    tables = page.find_tables(TABLE_SETTINGS)
    grids = [g for g in (table_to_grid(t, number) for t in tables) if g is not None]
    boxes = [g.bbox for g in grids]

    def outside(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)

    text_page = page.filter(outside) if boxes else page
    lines = [
        Line(
            text=ln["text"],
            bbox=(ln["x0"], ln["top"], ln["x1"], ln["bottom"]),
            size=round(ln["chars"][0]["size"], 1) if ln.get("chars") else 0.0,
            page=number,
        )
        for ln in text_page.extract_text_lines(return_chars=True, keep_blank_chars=False)
        if ln["text"].strip()
    ]
    return PageLayout(number, float(page.width), float(page.height), lines, grids, n_chars=len(page.chars))


def table_to_grid(table: Any, number: int) -> Grid | None:
    texts: list[list[str | None]] = table.extract()
    if not texts or not texts[0]:
        return None
    rows = table.rows
    n_rows, n_cols = len(texts), len(texts[0])
    owners: list[list[tuple[int, int]]] = [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    boxes: list[list[BBox]] = [[(0.0, 0.0, 0.0, 0.0)] * n_cols for _ in range(n_rows)]
    starts: dict[tuple[int, int], BBox] = {}
    for r, row in enumerate(rows[:n_rows]):
        for c, cell in enumerate(row.cells[:n_cols]):
            if cell is not None:
                starts[(r, c)] = tuple(cell)  # type: ignore[assignment]
    # A slot's extent: from its own left/top edge to the nearest right/bottom edge of a cell starting there
    # (merged cells extend further, so the minimum is the slot's own edge).
    col_spans = [_span(starts, c, axis=0) for c in range(n_cols)]
    row_spans = [_span(starts, r, axis=1) for r in range(n_rows)]
    for r in range(n_rows):
        for c in range(n_cols):
            if (r, c) in starts:
                boxes[r][c] = starts[(r, c)]
                continue
            cx = (col_spans[c][0] + col_spans[c][1]) / 2 if c < len(col_spans) else 0
            cy = (row_spans[r][0] + row_spans[r][1]) / 2 if r < len(row_spans) else 0
            owner = _covering(starts, r, c, cx, cy)
            owners[r][c] = owner
            boxes[r][c] = starts.get(owner, (0.0, 0.0, 0.0, 0.0))
            if texts[r][c] is None and owner == (r, c):
                texts[r][c] = ""  # no cell covers it: an empty slot, not a merged one
    return Grid(number, tuple(table.bbox), texts, owners, boxes, [s[0] for s in col_spans])  # type: ignore[arg-type]


def _span(starts: dict[tuple[int, int], BBox], k: int, axis: int) -> tuple[float, float]:
    boxes = [b for key, b in starts.items() if key[1 - axis] == k]
    if not boxes:
        return (0.0, 0.0)
    return (min(b[axis] for b in boxes), min(b[axis + 2] for b in boxes))


def _covering(starts: dict[tuple[int, int], BBox], r: int, c: int, cx: float, cy: float) -> tuple[int, int]:
    """The nearest cell above/left of (r, c) whose box contains the slot's centre."""
    best = (r, c)
    for (rr, cc), b in starts.items():
        if rr <= r and cc <= c and b[0] - 0.5 <= cx <= b[2] + 0.5 and b[1] - 0.5 <= cy <= b[3] + 0.5:
            if best == (r, c) or (rr, cc) > best:
                best = (rr, cc)
    return best
