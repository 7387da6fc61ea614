"""Key/value forms (项目支出绩效目标表 laid out as a form): rows read by content, not by header."""

from __future__ import annotations

from core.models import BBox, Cell, Row, squash

from .captions import RawTable
from .layout import Grid
from .values import clean_text, text_to_value
from .vocab import in_vocab


def is_form(grid: Grid) -> bool:
    """A form starts with a key cell and its value, not with a row of column headers."""
    if not grid.texts or not grid.texts[0]:
        return False
    row = grid.texts[0]
    filled = [t for t in row if t is not None]
    return bool(row[0]) and in_vocab(row[0] or "", "form_keys") and len(filled) <= 3 and grid.n_cols <= 8


def form_to_rows(raw: RawTable) -> list[Row]:
    rows: list[Row] = []
    for piece in raw.pieces:
        grid = piece.grid
        for r in range(len(grid.texts)):
            row = _form_row(grid, r)
            if row is not None:
                row.index = len(rows)
                rows.append(row)
    return rows


def _form_row(grid: Grid, r: int) -> Row | None:
    parents: list[str] = []
    own: list[tuple[str, BBox]] = []
    seen: set[tuple[int, int]] = set()
    for c in range(grid.n_cols):
        owner = grid.owners[r][c]
        if owner in seen:
            continue
        seen.add(owner)
        text = clean_text(grid.texts[owner[0]][owner[1]])
        if not text:
            continue
        if owner[0] < r:
            parents.append(text)
        else:
            own.append((text, grid.boxes[r][c]))
    if not own:
        return None
    values = [i for i, (t, _) in enumerate(own) if text_to_value(t)[0] is not None]
    cut = values[0] if values else 1
    keys = [t for t, _ in own[:cut]] or [own[0][0]]
    label = keys[-1].rstrip("：:")
    parent_path = [p.rstrip("：:") for p in parents + keys[:-1]]
    cells = []
    for text, box in own[cut:] if values else own[1:]:
        value, comparator, unit = text_to_value(text)
        cells.append(Cell(parent_path + [label], text, value, comparator, unit, grid.page, box))
    boxes = [b for _, b in own]
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), min(b[3] for b in boxes))
    parent = parent_path[-1] if parent_path else None
    return Row(0, squash(label), cells, None, None, grid.page, bbox, [(grid.page, bbox)], parent)
