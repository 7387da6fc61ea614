"""A Chinese question into a structured query: operation, item phrase, measure, output unit."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from retrieval.vocab import canonical, synonyms

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

OPS: list[tuple[str, re.Pattern[str]]] = [
    ("why", re.compile(r"为什么|为何|原因|缘故")),
    ("month", re.compile(r"\d{1,2}月份|每月|月度|季度|上半年|下半年")),
    ("yoy", re.compile(
        r"比(?:20\d{2}年?|上年|去年|上一年)|同比|较(?:20\d{2}年?|上年|去年)|和去年比|与20\d{2}年?相比|与上年相比"
        r"|变化|变动|增减|增加了|减少了|增长了|下降了|增幅|降幅")),
    ("share", re.compile(r"占.*(?:比|百分|多少|几)|比例|比重|占比|百分之几|百分比")),
    ("count", re.compile(r"(?:几|多少)个项目|项目(?:数|个数)|多少项|几项")),
    ("argmax", re.compile(r"最多|最大|最高|最少|最小|最低|主要花在|钱最多|哪个项目|哪一类|哪类|哪项|哪一项")),
    ("sum", re.compile(r"加起来|加在一起|之和|两个项目合计|两项合计|合计多少|一共多少|共多少")),
]
_MIN_WORDS = ("最少", "最小", "最低")
_DIFF_WORDS = re.compile(r"多多少|少多少|相差|差多少|差额|高多少|低多少")
_MAX_WORDS = re.compile(r"更高|更多|更大|最高|最多|哪个单位|谁的")


@dataclass
class Query:
    question: str
    op: str = "lookup"  # lookup | total | sum | share | yoy | argmax | count | why | compare | month
    item: str = ""
    items: list[str] = field(default_factory=list)  # for sum / share denominator
    measure: str | None = None
    attribute: str | None = None
    want_min: bool = False
    want_yuan: bool = False
    want_percent: bool = False
    want_amount: bool = False
    compare: str | None = None  # max | min | difference | each
    unit_word: str | None = None  # 人, 辆, 个 … for counts in text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def normalise_question(text: str) -> str:
    """Full-width → half-width, no spaces, Chinese numerals before units → digits."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = "".join(text.split())
    return re.sub(r"([零一二两三四五六七八九])(?=个|项|辆|人|名)", lambda m: str(_CN_DIGITS[m.group(1)]), text)


def parse(question: str, rest: str) -> Query:
    """Parse `rest` (the question without the unit names it mentions)."""
    q = Query(question=question)
    text = canonical(normalise_question(rest))
    for op, pattern in OPS:
        if pattern.search(text):
            q.op = op
            break
    q.want_min = any(w in text for w in _MIN_WORDS)
    q.want_yuan = bool(re.search(r"多少元|几元|(?<!万)元[?？]?$", text)) and "万元" not in text
    q.want_percent = bool(re.search(r"百分|%|幅度|增幅|降幅|比例|比重|占比", text))
    q.want_amount = bool(re.search(r"多少万|金额|多少钱|多少(?!百分)|几万", text)) and not re.search(r"百分之多少", text)
    m = re.search(r"(?:多少|几)(个|人|名|辆|台|套|次|家|户|项|平方米)", text)
    q.unit_word = m.group(1) if m else None
    if _DIFF_WORDS.search(text):
        q.compare = "difference"
    elif _MAX_WORDS.search(text):
        q.compare = "min" if q.want_min else "max"
    else:
        q.compare = "each"
    q.measure = _measure(text)
    q.item = item_phrase(text, q.op)
    if q.unit_word is None:  # "退休人员有多少": the item itself says what is counted
        q.unit_word = next((u for w, u in synonyms()["counted_items"].items() if q.item.endswith(w)), None)
    if q.op == "lookup" and q.unit_word in ("个", "项") and "项目" in q.item:
        q.op = "count"
    if q.op == "share":
        q.item, q.items = _share_parts(text)
    elif q.op == "sum" or (q.op == "lookup" and re.search(r"[和与及、]", q.item) and "加" in text):
        q.op = "sum"
        q.items = [p for p in re.split(r"[和与及、]", q.item) if p]
        if len(q.items) < 2:
            q.op = "lookup"
    if q.op == "lookup" and _is_total(q.item):
        q.op = "total"
    return q


_STRIP = re.compile(
    r"[2两]个项目|[2两]项|截[至止到](20\d{2}年?)?(\d{1,2}月)?(底|末|\d{1,2}日)?|(比|较|与|和|同)(20\d{2}年?|上年|去年|上一年)(预算数?)?(相比|比)?|同比|20\d{2}年度?|的?(比例|比重|占比|百分比)"
    r"|(增加|减少|增长|下降|变化|变动|增减)(了)?|幅度|百分之(多少|几)|[?？。！!，,]"
    r"|最多|最大|最高|最少|最小|最低|哪个|哪一类|哪类|哪项|哪一项|是什么|是啥|什么"
)


_ASK_COUNT = re.compile(r"(?:有|共有|一共有)?(?:多少|几)(?:个|人|名|辆|台|套|次|家|户|项)")


def item_phrase(text: str, op: str) -> str:
    """The thing asked about: the question without question words, years and operation words."""
    t = _ASK_COUNT.sub("", _STRIP.sub("", text))
    fillers = sorted(synonyms()["filler_words"], key=len, reverse=True)
    aliased = synonyms()["item_aliases"]
    while t not in aliased:  # one filler at a time, so that "总预算" stops before it becomes "总"
        before = t
        # Fillers only at the ends ("预算" inside "一般公共预算拨款收入" stays); a strip that leaves a known
        # phrase wins ("今年总预算" → "总预算", not "今年总"), then trailing question words, then leading ones.
        head = next((w for w in fillers if len(w) >= 2 and len(t) > len(w) and t.startswith(w)), None)
        tail = next((w for w in fillers if len(t) > len(w) and t.endswith(w)), None)
        options = ([t[: -len(tail)]] if tail else []) + ([t[len(head):]] if head else [])
        if options:
            t = next((o for o in options if o in aliased), options[0])
        t = re.sub(r"^[和与及、的了]+|(的|了|呢|吗|啊)+$", "", t)
        if t == before:
            break
    return t.strip("的")


def _share_parts(text: str) -> tuple[str, list[str]]:
    """"A占B的比例" → ("A", ["B"])."""
    m = re.match(r"(.*?)占(.*?)(?:的)?(?:比例|比重|百分比|百分之|多少|几|%|$)", text)
    if not m:
        return item_phrase(text, "share"), []
    a = item_phrase(m.group(1), "share")
    b = item_phrase(m.group(2), "share")
    return a, [b] if b else []


def _measure(text: str) -> str | None:
    for key in synonyms()["measures"]:
        if key in text:
            return key
    return None


def _is_total(item: str) -> bool:
    key = canonical(item)
    return key in synonyms()["total_rows"] or key.endswith(("总计", "总额"))
