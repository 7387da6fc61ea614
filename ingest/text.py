"""Narrative text into chunks that follow the document's own headings."""

from __future__ import annotations

import re
from collections import Counter

from core.models import BBox, Chunk, squash

from .captions import is_page_furniture
from .layout import Line, PageLayout
from .values import clean_text
from .vocab import vocab

HEADING_LEVELS = [
    (0, re.compile(r"^(第[一二三四五六七八九十]+部分|附件[:：0-9一二三四五六七八九十]?|附表)")),
    (1, re.compile(r"^[一二三四五六七八九十]+[、.．]")),
    (2, re.compile(r"^[（(][一二三四五六七八九十]+[)）]")),
    (3, re.compile(r"^\d{1,2}[.、．](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[)）]")),
]
_ENDS = ("。", "！", "？", "；", "：", ":")
_UNIT_LINE = re.compile(r"^(金额)?单位[:：]")


def heading_level(text: str) -> int | None:
    """Level of a heading line, None for body text (long lines and sentences are body text)."""
    t = text.strip()
    if len(t) > 40 or t.endswith(("。", "；", "，")) or "，" in t or "：" in t[:-1]:
        return None  # a sentence that starts with a list marker is body text
    for level, pattern in HEADING_LEVELS:
        if pattern.match(t):
            return level
    return None


def running_lines(pages: list[PageLayout]) -> set[str]:
    """Texts repeated near the top or bottom of many pages: running headers and footers."""
    counts: Counter[str] = Counter()
    for page in pages:
        edge = {squash(ln.text) for ln in page.lines if ln.bbox[1] < page.height * 0.08 or ln.bbox[3] > page.height * 0.92}
        counts.update(edge)
    return {t for t, n in counts.items() if n >= max(3, len(pages) // 3)}


def pages_to_lines(pages: list[PageLayout]) -> list[Line]:
    """Narrative lines in reading order, without page furniture, running lines and table captions' meta lines."""
    skip = running_lines(pages)
    out = []
    for page in pages:
        for ln in sorted(page.lines, key=lambda x: (round(x.bbox[1]), x.bbox[0])):
            text = ln.text.strip()
            if is_page_furniture(ln, page.height) or squash(text) in skip:
                continue
            if _UNIT_LINE.match(text) or any(text.startswith(p) for p in vocab()["meta_prefixes"]):
                continue
            out.append(ln)
    return out


def lines_to_chunks(lines: list[Line], widths: dict[int, float]) -> list[Chunk]:
    """Paragraphs under their section path; paragraphs broken by a page break are joined."""
    margins = _left_margins(lines)
    section: list[tuple[int, str]] = []
    chunks: list[Chunk] = []
    para: list[Line] = []

    def flush() -> None:
        if para:
            chunks.append(_chunk(para, [t for _, t in section], len(chunks)))
            para.clear()

    for ln in lines:
        text = clean_text(ln.text)
        level = heading_level(text)
        if level is not None:
            flush()
            section = [s for s in section if s[0] < level] + [(level, text)]
            continue
        if para and _starts_paragraph(ln, para[-1], margins, widths):
            flush()
        para.append(ln)
    flush()
    return chunks


def _left_margins(lines: list[Line]) -> dict[int, float]:
    by_page: dict[int, list[float]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(round(ln.bbox[0]))
    return {p: Counter(xs).most_common(1)[0][0] for p, xs in by_page.items()}


def _starts_paragraph(ln: Line, prev: Line, margins: dict[int, float], widths: dict[int, float]) -> bool:
    size = max(ln.size, 8.0)
    indented = ln.bbox[0] > margins.get(ln.page, 0) + size * 0.8
    prev_text = prev.text.strip()
    if prev.page != ln.page:
        return indented or prev_text.endswith(_ENDS)
    prev_short = prev.bbox[2] < widths.get(prev.page, 595) * 0.75
    gap = ln.bbox[1] - prev.bbox[3]
    return indented or (prev_text.endswith(_ENDS) and prev_short) or gap > size * 1.5


def _chunk(lines: list[Line], section: list[str], index: int) -> Chunk:
    text = ""
    for ln in lines:
        piece = clean_text(ln.text)
        # Latin words broken at a line end keep a space; CJK text joins directly.
        if text and re.match(r"[A-Za-z0-9]", piece[:1]) and re.search(r"[A-Za-z]$", text):
            text += " "
        text += piece
    spans: dict[int, BBox] = {}
    for ln in lines:
        b = spans.get(ln.page)
        spans[ln.page] = ln.bbox if b is None else (min(b[0], ln.bbox[0]), min(b[1], ln.bbox[1]),
                                                     max(b[2], ln.bbox[2]), max(b[3], ln.bbox[3]))
    first = lines[0].page
    return Chunk(index, section, text, first, spans[first], sorted(spans.items()))
