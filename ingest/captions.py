"""Grids with their captions (title, 单位：万元, 单位公开表N) and notes; continued pieces joined."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.models import squash

from .layout import Grid, Line, PageLayout
from .values import clean_text
from .vocab import vocab

_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(万元|元|千元|亿元)")
_NUMBER = re.compile(r"^[（(]?((?:单位|部门)?公开表\s*\d+|附表\s*\d+|表\s*\d+(?:-\d+)?|附件\s*\d+)[)）]?$")
_PAREN_ONLY = re.compile(r"^[（(][^（）()]{0,20}[)）]$")
_PAGE_NO = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*(?:页)?(?:\s*/\s*\d+)?[-—–－\s]*$")


@dataclass
class Piece:
    grid: Grid
    title: str | None = None
    unit: str | None = None
    number: str | None = None
    notes: list[str] = field(default_factory=list)
    ends_page: bool = False  # nothing but footers below it on its page
    starts_page: bool = False  # nothing but running headers above it on its page


@dataclass
class RawTable:
    pieces: list[Piece]

    @property
    def first(self) -> Piece:
        return self.pieces[0]


def is_page_furniture(line: Line, height: float) -> bool:
    """Page numbers and similar footer/header lines."""
    text = line.text.strip()
    near_edge = line.bbox[1] > height * 0.88 or line.bbox[3] < height * 0.08
    return near_edge and (bool(_PAGE_NO.match(text)) or len(text) <= 3)


def layouts_to_pieces(pages: list[PageLayout]) -> list[Piece]:
    pieces: list[Piece] = []
    for page in pages:
        lines = [ln for ln in page.lines if not is_page_furniture(ln, page.height)]
        grids = sorted(page.grids, key=lambda g: g.bbox[1])
        upper = 0.0
        for i, grid in enumerate(grids):
            above = [ln for ln in lines if ln.bbox[3] <= grid.bbox[1] + 1 and ln.bbox[1] >= upper - 1]
            lower = grids[i + 1].bbox[1] if i + 1 < len(grids) else page.height
            below = [ln for ln in lines if ln.bbox[1] >= grid.bbox[3] - 1 and ln.bbox[3] <= lower + 1]
            piece = lines_to_caption(above, grid)
            piece.notes = _notes(below)
            piece.starts_page = i == 0 and not above
            piece.ends_page = i + 1 == len(grids) and all(_is_note(ln.text) for ln in below)
            pieces.append(piece)
            upper = grid.bbox[3]
    return pieces


def lines_to_caption(above: list[Line], grid: Grid) -> Piece:
    """Title, unit of measure and table number from the lines just above a grid (nearest first)."""
    piece = Piece(grid)
    title_line: Line | None = None
    for ln in sorted(above, key=lambda x: -x.bbox[3]):
        text = clean_text(ln.text)
        m = _UNIT.search(text)
        if m:
            piece.unit = piece.unit or m.group(1)
            text = clean_text(text[: m.start()])
        if not text or _PAREN_ONLY.match(text) or any(text.startswith(p) for p in vocab()["meta_prefixes"]):
            continue
        num = _NUMBER.match(squash(text))
        if num:
            piece.number = piece.number or num.group(1)
            continue
        if title_line is None:
            if text.endswith(("。", "；", ";", "，")) or len(text) > 90:
                break  # narrative: this grid has no caption of its own
            title_line, piece.title = ln, text
        elif _continues_title(ln, title_line, text, piece.title or ""):
            piece.title = text + (piece.title or "")
            title_line = ln
        else:
            break
    return piece


def _continues_title(upper: Line, title: Line, text: str, title_text: str) -> bool:
    """A title wrapped over two centred lines."""
    gap = title.bbox[1] - upper.bbox[3]
    centred = abs((upper.bbox[0] + upper.bbox[2]) - (title.bbox[0] + title.bbox[2])) < 40
    return (
        gap < (title.bbox[3] - title.bbox[1]) * 1.2
        and centred
        and not text.endswith(("表", "。", "：", ":"))
        and len(text) + len(title_text) < 90
        and not title_text[:1].isdigit()
    )


def _is_note(text: str) -> bool:
    t = squash(text)
    return any(w in t for w in vocab()["empty_notes"]) or any(t.startswith(p) for p in vocab()["note_prefixes"])


def _notes(below: list[Line]) -> list[str]:
    """Note lines right under a table ("备注：…故此表无数据。"), re-joined across wraps."""
    notes: list[str] = []
    for ln in sorted(below, key=lambda x: x.bbox[1]):
        text = clean_text(ln.text)
        if _is_note(text) and (not notes or any(p in squash(text) for p in vocab()["empty_notes"])):
            notes.append(text)
        elif notes and not notes[-1].endswith("。"):
            notes[-1] += text
        else:
            break
    return notes


def pieces_to_raw_tables(pieces: list[Piece]) -> list[RawTable]:
    """Join a piece to the table before it when it continues that table on the next page."""
    tables: list[RawTable] = []
    for piece in pieces:
        prev = tables[-1].pieces[-1] if tables else None
        if prev is not None and _continues(prev, piece, tables[-1].first):
            tables[-1].pieces.append(piece)
        else:
            tables.append(RawTable([piece]))
    return tables


def _continues(prev: Piece, piece: Piece, first: Piece) -> bool:
    if piece.title or piece.grid.page != prev.grid.page + 1 or not prev.ends_page or not piece.starts_page:
        return False
    if piece.grid.n_cols == first.grid.n_cols:
        return True
    # A ruling line missing on one page changes the column count; the table's outer frame does not.
    return abs(piece.grid.bbox[0] - first.grid.bbox[0]) < 3 and abs(piece.grid.bbox[2] - first.grid.bbox[2]) < 3
