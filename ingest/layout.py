"""Plain data that `ingest.pdf` extracts from a page: text lines and ruled table grids."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import BBox


@dataclass
class Line:
    """A line of text outside the tables of its page."""

    text: str
    bbox: BBox
    size: float = 0.0  # font size, to tell headings from body text
    page: int = 0


@dataclass
class Grid:
    """One ruled table piece on one page, as pdfplumber sees it.

    `texts[r][c]` is the text of the cell that starts at (r, c), `None` where a merged cell covers it.
    `owners[r][c]` is the (row, col) of the cell covering (r, c); `boxes[r][c]` its bounding box.
    """

    page: int
    bbox: BBox
    texts: list[list[str | None]]
    owners: list[list[tuple[int, int]]]
    boxes: list[list[BBox]]
    col_x: list[float] = field(default_factory=list)  # left edges of the grid's columns

    @property
    def n_cols(self) -> int:
        return len(self.texts[0]) if self.texts else 0


@dataclass
class PageLayout:
    number: int
    width: float
    height: float
    lines: list[Line]
    grids: list[Grid]
    n_chars: int = 0
