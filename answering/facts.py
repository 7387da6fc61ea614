"""Figures the narrative states: a number after an item, a change against last year, a share, a reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from core.models import ChunkHit
from retrieval.vocab import canonical, normalise

_SENT = re.compile(r"[^。！？；\n]+[。！？；]?")
_NUM = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
_MONEY = re.compile(_NUM + r"\s*(万元|亿元|元)")
_CHANGE = re.compile(r"(增加|减少|增长|下降|上升|降低|持平)\s*了?\s*" + _NUM + r"\s*(万元|元|%)")
SAME = re.compile(r"持平|保持一致|基本一致|无变化|没有变化|未发生变化|不变")
NO_CHANGE = "持平"
_PCT = re.compile(r"占[^，。；%]{0,20}?" + _NUM + r"\s*%")
_REASON = re.compile(
    r"(?:主要原因(?:是|为)?[:：]?|原因主要(?:是|为)[:：]?|原因(?:是|为)[:：]?|主要是由于|主要由于)(.+?)(?:[。；]|$)"
)


@dataclass
class Fact:
    chunk: ChunkHit
    sentence: str
    values: list[tuple[Decimal, str, str]]  # (value, unit, text as printed)
    score: float
    extra: str = ""


@lru_cache(maxsize=50_000)
def _split(text: str) -> tuple[tuple[str, str], ...]:
    """A chunk's sentences, each with its canonical form (cached: chunks are read by many questions)."""
    return tuple((s.strip(), canonical(s.strip())) for s in _SENT.findall(text) if s.strip())


def sentences(chunk: ChunkHit) -> list[str]:
    return [s for s, _ in _split(chunk.chunk.text)]


def _item_ends(chunks: list[ChunkHit], item: str) -> Iterator[tuple[ChunkHit, str, str, int]]:
    """(chunk, sentence, canonical sentence, position after the item) for every mention of the item."""
    if not item:
        return
    for ch in chunks:
        if item not in canonical(ch.chunk.text):
            continue
        for sent, c in _split(ch.chunk.text):
            start = c.find(item)
            while start >= 0:
                yield ch, sent, c, start + len(item)
                start = c.find(item, start + 1)


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _inside(c: str, end: int, names: list[str]) -> bool:
    """The match ending at `end` lies inside one of the names (the unit's own name, say)."""
    return any(m.start() < end <= m.end() for n in names if n for m in re.finditer(re.escape(n), c))


def number_after(chunks: list[ChunkHit], item: str, unit_word: str | None = None,
                 exclude: list[str] | None = None) -> Fact | None:
    """The first amount (or count with `unit_word`) stated right after the item, across chunks."""
    item = canonical(item)
    if len(item) < 2:
        return None
    words = "|".join(re.escape(w) for w in unit_word.split("|")) if unit_word else ""
    pattern = re.compile(_NUM + r"\s*(" + words + ")") if unit_word else _MONEY
    best: Fact | None = None
    for ch, sent, c, end in _item_ends(chunks, item):
        if exclude and _inside(c, end, exclude):
            continue
        m = pattern.search(c, end)
        if m and m.start() - end <= 14 and not _CHANGE.match(c, max(0, m.start() - 3)):
            score = 100 - (m.start() - end)
            if best is None or score > best.score:
                best = Fact(ch, sent, [(_dec(m.group(1)), m.group(2), m.group(1))], score)
    return best


def change_of(chunks: list[ChunkHit], item: str, exclude: list[str] | None = None) -> Fact | None:
    """Amount and percent of a change against last year stated for the item (持平 is a change of 0)."""
    item = canonical(item)
    best: Fact | None = None
    for ch, sent, c, end in _item_ends(chunks, item):
        if exclude and _inside(c, end, exclude):
            continue  # "档案馆" inside the unit's own name "某市档案馆"
        found = _changes_after(c, end)
        score = 50 + 10 * len(found) - (c.find(item) / 100)
        if not found:  # "…“三公”经费预算为12.84万元。预算数比2025年减少1.68万元": the next sentence goes on
            nxt = _next_sentence(ch, c)
            if nxt and _GOES_ON.match(nxt[1]):
                found = _changes_after(nxt[1], 0)
                sent, score = sent + nxt[0], 40 + 10 * len(found)
        if found and (best is None or score > best.score):
            best = Fact(ch, sent, found, score)
    return best


_GOES_ON = re.compile(r"^(?:预算数?|较|比|与|同比)")


def _next_sentence(ch: ChunkHit, c: str) -> tuple[str, str] | None:
    parts = _split(ch.chunk.text)
    for i, (_s, cs) in enumerate(parts[:-1]):
        if cs == c:
            return parts[i + 1]
    return None


def _changes_after(c: str, end: int) -> list[tuple[Decimal, str, str]]:
    """The first amount and percent change after position `end` of a sentence (same clause run)."""
    found: list[tuple[Decimal, str, str]] = []
    same = SAME.search(c, end)
    for m in _CHANGE.finditer(c, end):
        if same and same.start() < m.start():
            break
        # Long sentences list what the amount covers before stating the change: allow a wide gap for the
        # first figure, but no other item's amount may sit in between.
        gap = c[end:m.start()] if not found else ""
        if len(gap) > 160 or len(_MONEY.findall(gap)) > 1 or len(found) >= 2:
            break
        if any(u == m.group(3) for _, u, _ in found):
            break
        sign = -1 if m.group(1) in ("减少", "下降", "降低") else 1
        found.append((sign * _dec(m.group(2)), m.group(3), m.group(1) + m.group(2)))
    if not found and same and same.start() - end <= 60 and len(_MONEY.findall(c[end:same.start()])) <= 1:
        found += [(Decimal(0), "万元", NO_CHANGE), (Decimal(0), "%", NO_CHANGE)]  # no change in amount or rate
    return found


def share_of(chunks: list[ChunkHit], item: str, whole: str | None) -> Fact | None:
    """A percentage the text states for the item ("基本支出X万元，占Y%")."""
    item = canonical(item)
    best: Fact | None = None
    for ch, sent, c, end in _item_ends(chunks, item):
        m = _PCT.search(c, end)
        if not m or m.start() - end > 25:
            continue
        w = canonical(whole) if whole else ""
        # The whole named between the item and the figure, or in the section's heading ("一般公共预算支出结构").
        score = 100 - (m.start() - end) + (20 if w and w in c[end:m.end()] else 0) \
            + (30 if w and w in canonical("".join(ch.chunk.section)) else 0)
        if best is None or score > best.score:
            best = Fact(ch, sent, [(_dec(m.group(1)), "%", m.group(1) + "%")], score)
    return best


def reason_for(chunks: list[ChunkHit], item: str, question: str) -> Fact | None:
    """The sentence giving the reason of a change, best matching the item."""
    item = canonical(item) if item else ""
    qchars = set(canonical(question))
    best: Fact | None = None
    for ch in chunks:
        for sent, c in _split(ch.chunk.text):
            m = _REASON.search(normalise(sent))
            if not m:
                continue
            score = len(qchars & set(c)) + (30 if item and item in c else 0)
            if best is None or score > best.score:
                best = Fact(ch, sent, [], score, extra=m.group(1).strip("，,：: "))
    return best


def best_sentence(chunks: list[ChunkHit], question: str, item: str, require: re.Pattern[str] | None = None) -> Fact | None:
    """The sentence sharing most with the question (for descriptive questions), among those matching `require`."""
    qchars = set(canonical(question)) - set("的是什么多少哪些有吗呢？?")
    item = canonical(item)
    best: Fact | None = None
    for ch in chunks:
        for sent, c in _split(ch.chunk.text):
            if require is not None and not require.search(sent):
                continue
            score = len(qchars & set(c)) + (20 if item and item in c else 0) - len(c) / 200
            if best is None or score > best.score:
                best = Fact(ch, sent, [], score)
    return best
