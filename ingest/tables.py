"""Raw table pieces into Tables: header paths, column roles, rows with labels, codes and values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.models import BBox, Cell, Row, Table, squash

from .captions import RawTable
from .forms import form_to_rows, is_form
from .layout import Grid
from .values import clean_text, is_amount_text, is_code_text, strip_numbering, text_to_value
from .vocab import in_vocab, vocab


@dataclass
class Slot:
    text: str | None  # None: covered by a merged cell
    inherited: str | None  # text of the cell above that covers it (vertical merge)
    bbox: BBox
    page: int


BodyRow = list[Slot]


def raw_table_to_table(raw: RawTable, index: int) -> Table:
    first = raw.first
    grid = first.grid
    note = " ".join(n for p in raw.pieces for n in p.notes) or None
    pages = sorted({p.grid.page for p in raw.pieces})
    spans = [(p.grid.page, p.grid.bbox) for p in raw.pieces]
    title = first.title or ""
    if is_form(grid):
        rows, columns = form_to_rows(raw), []
    else:
        h = header_row_count(grid)
        columns = header_paths(grid, h)
        body = body_rows(raw, h)
        body, in_note = _drop_note_rows(body)
        note = " ".join(n for n in (in_note, note) if n) or None
        rows = body_to_rows(body, columns)
    return Table(index, title, title, first.unit, pages, columns, rows, note, first.number, spans)


def header_row_count(grid: Grid) -> int:
    """Leading rows before the first body row (one with an amount, a code or a total label)."""
    for r, row in enumerate(grid.texts):
        texts = [t for t in row if t]
        if any(is_amount_text(t) or is_code_text(t) for t in texts):
            return max(r, 1) if r else 0
        if r and None not in row and texts and in_vocab(texts[0], "total_labels"):
            return r
        if r and any(_is_note_text(t) for t in texts):
            return r
    return len(grid.texts)


def header_paths(grid: Grid, h: int) -> list[list[str]]:
    """One header path per column; merged header cells are propagated across and down."""
    paths = []
    for c in range(grid.n_cols):
        path: list[str] = []
        seen: set[tuple[int, int]] = set()
        for r in range(h):
            owner = grid.owners[r][c]
            if owner in seen:
                continue
            seen.add(owner)
            text = clean_text(grid.texts[owner[0]][owner[1]])
            if text and (not path or path[-1] != text):
                path.append(text)
        paths.append(path)
    return paths


def body_rows(raw: RawTable, h: int) -> list[BodyRow]:
    """Body slots of every piece, aligned to the first piece's columns, repeated headers dropped."""
    first = raw.first.grid
    header = [[squash(t or "") for t in row] for row in first.texts[:h]]
    out: list[BodyRow] = []
    for n, piece in enumerate(raw.pieces):
        grid = piece.grid
        start = h if n == 0 else _repeated_header_rows(grid, header)
        mapping = _column_map(grid, first)
        rows = [_slots(grid, r, mapping, first.n_cols) for r in range(start, len(grid.texts))]
        if n and rows and out and _is_split_row(rows[0], out[-1]):
            out[-1] = _join_rows(out[-1], rows.pop(0))
        out.extend(rows)
    return out


def _repeated_header_rows(grid: Grid, header: list[list[str]]) -> int:
    k = 0
    while k < len(header) and k < len(grid.texts):
        if [squash(t or "") for t in grid.texts[k]] != header[k] or not any(header[k]):
            break
        k += 1
    return k


def _column_map(grid: Grid, first: Grid) -> list[int]:
    if grid.n_cols == first.n_cols:
        return list(range(grid.n_cols))
    return [min(range(first.n_cols), key=lambda k: abs(first.col_x[k] - x)) for x in grid.col_x]


def _slots(grid: Grid, r: int, mapping: list[int], n_cols: int) -> BodyRow:
    row = [Slot("", None, (0.0, 0.0, 0.0, 0.0), grid.page) for _ in range(n_cols)]
    for c, k in enumerate(mapping):
        text = grid.texts[r][c]
        owner = grid.owners[r][c]
        inherited = None
        if text is None and owner[0] < r:
            inherited = clean_text(grid.texts[owner[0]][owner[1]])
        if row[k].text and text is None:
            continue
        row[k] = Slot(text, inherited, grid.boxes[r][c], grid.page)
    return row


def _is_split_row(row: BodyRow, prev: BodyRow) -> bool:
    """The first row of a continued piece is the rest of the last row before the page break."""
    texts = [s.text or "" for s in row]
    has_amount = any(is_amount_text(t) for t in texts)
    prev_amount = any(is_amount_text(s.text) for s in prev)
    first_text = next((t for t in texts if t.strip()), "")
    if not first_text:
        return False
    numbered = strip_numbering(clean_text(first_text)) != clean_text(first_text) or is_code_text(first_text)
    return not has_amount and prev_amount and not numbered and sum(1 for t in texts if t.strip()) <= 2


def _join_rows(a: BodyRow, b: BodyRow) -> BodyRow:
    out = []
    for x, y in zip(a, b):
        text = (x.text or "") + (y.text or "") if (x.text or y.text) else x.text
        out.append(Slot(text, x.inherited, x.bbox, x.page))
    return out


def _is_note_text(text: str | None) -> bool:
    t = squash(text or "")
    return any(w in t for w in vocab()["empty_notes"]) or any(t.startswith(p) for p in vocab()["note_prefixes"])


def _drop_note_rows(body: list[BodyRow]) -> tuple[list[BodyRow], str | None]:
    keep, notes = [], []
    for row in body:
        texts = [clean_text(s.text) for s in row if s.text]
        if len(texts) == 1 and _is_note_text(texts[0]):
            notes.append(texts[0])
        else:
            keep.append(row)
    return keep, " ".join(notes) or None


# ---- column roles and rows -------------------------------------------------------------------


def column_roles(columns: list[list[str]], body: list[BodyRow]) -> list[str]:
    """'code', 'ordinal', 'label' or 'value' for each column."""
    roles = []
    for c, path in enumerate(columns):
        last = path[-1] if path else ""
        texts = [clean_text(row[c].text) for row in body if row[c].text]
        if in_vocab(last, "code_headers") or (texts and all(is_code_text(t) for t in texts) and not last):
            roles.append("code")
        elif in_vocab(last, "ordinal_headers"):
            roles.append("ordinal")
        elif in_vocab(last, "label_headers") or last.endswith("名称"):
            roles.append("label")
        elif texts and sum(1 for t in texts if text_to_value(t)[0] is None) > len(texts) / 2:
            roles.append("label")
        else:
            roles.append("value")
    return roles


def column_groups(columns: list[list[str]], roles: list[str]) -> list[list[int]]:
    """Side-by-side tables (收入 | 支出) split into one group of columns per label column with values."""
    labels = [c for c, r in enumerate(roles) if r == "label"]
    if not labels:
        return [list(range(len(columns)))]
    cuts = [labels[0]]
    key = squash(columns[labels[0]][-1]) if columns[labels[0]] else ""
    for _a, b in zip(labels, labels[1:]):
        same = bool(columns[b]) and squash(columns[b][-1]) == key
        if same and any(roles[k] == "value" for k in range(cuts[-1] + 1, b)):
            cuts.append(b)
    if len(cuts) == 1:
        return [list(range(len(columns)))]
    starts = [_group_start(c, roles) for c in cuts]
    starts[0] = 0
    return [list(range(s, e)) for s, e in zip(starts, starts[1:] + [len(columns)])]


def _group_start(label_col: int, roles: list[str]) -> int:
    c = label_col
    while c > 0 and roles[c - 1] in ("code", "ordinal"):
        c -= 1
    return c


def body_to_rows(body: list[BodyRow], columns: list[list[str]]) -> list[Row]:
    roles = column_roles(columns, body)
    groups = column_groups(columns, roles)
    rows: list[Row] = []
    for n, slots in enumerate(body):
        for cols in groups:
            row = _group_to_row(slots, cols, columns, roles, len(groups) > 1)
            if row is not None and n == 0 and "label" in roles and not row.label and any(c.value is not None for c in row.cells):
                row.label = vocab()["total_labels"][0]  # an unlabelled first body row is the table's total
            if row is not None:
                row.index = len(rows)
                rows.append(row)
    return rows


def _group_to_row(slots: BodyRow, cols: list[int], columns: list[list[str]], roles: list[str], split: bool) -> Row | None:
    label_cols = [c for c in cols if roles[c] == "label"]
    label_cols.sort(key=lambda c: _label_rank(columns[c]))
    label, parent = "", None
    for c in label_cols:
        s = slots[c]
        text = clean_text(s.text) if s.text is not None else ""
        if text and is_code_text(text) and len(label_cols) > 1:
            continue  # a code printed in the name column (unit rows): the next name column names the row
        if text:
            label = text
            break
        if s.text is None and s.inherited:
            label, parent = s.inherited, s.inherited
            break
    code_cols = _code_cols(cols, roles, label_cols)
    code = "".join(clean_text(slots[c].text) for c in code_cols if slots[c].text) or None
    if code is None and label_cols and is_code_text(slots[label_cols[0]].text):
        code = clean_text(slots[label_cols[0]].text)
    cells = []
    for c in cols:
        if (label_cols and c == label_cols[0] and not (code and clean_text(slots[c].text) == code)) or c in code_cols:
            continue
        s = slots[c]
        if s.text is None:
            continue  # covered by a merged cell: the value belongs to the cell that covers it
        text = clean_text(s.text)
        value = comparator = unit = None
        if roles[c] == "value":
            value, comparator, unit = text_to_value(text)
        cells.append(Cell(list(columns[c]), text, value, comparator, unit, s.page, s.bbox))
    if not label and not code and not any(c.text for c in cells):
        return None
    if not label and split and not any(c.value is not None for c in cells):
        return None
    if not label and code:
        label = code
    boxes = [slots[c].bbox for c in cols if slots[c].text is not None and slots[c].bbox[2] > 0]
    bbox = _row_bbox(boxes)
    page = slots[cols[0]].page
    group = columns[cols[0]][0] if split and columns[cols[0]] else None
    return Row(0, _squash_label(label), cells, code, group, page, bbox, [(page, bbox)], parent)


def _label_rank(path: list[str]) -> int:
    """Which name column names a row: item names before category names and other text columns."""
    last = path[-1] if path else ""
    if any(w in last for w in vocab()["category_label_words"]):
        return 1
    return 0 if "名称" in last or last == "项目" else 2


def _code_cols(cols: list[int], roles: list[str], label_cols: list[int]) -> list[int]:
    """Code columns right before the label column (类/款/项 or 科目编码); further code groups stay cells."""
    if not label_cols:
        return [c for c in cols if roles[c] == "code"]
    first_label = min(label_cols)
    out: list[int] = []
    c = first_label - 1
    while c >= cols[0] and roles[c] in ("code", "ordinal"):
        if roles[c] == "code":
            out.insert(0, c)
        c -= 1
    if not out:
        out = [c for c in cols if roles[c] == "code" and c < first_label]
    return out


def _row_bbox(boxes: list[BBox]) -> BBox:
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), min(b[3] for b in boxes))


def _squash_label(label: str) -> str:
    # Letter-spaced labels ("收 入 总 计") read as one word.
    return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", label)
