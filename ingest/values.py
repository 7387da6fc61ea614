"""Cell and label text: cleaning, numbers with their comparator and unit."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－％：（）", "0123456789.,-%:()")
_NUMBER = re.compile(
    r"^(?P<cmp>[≤≥<>＜＞=]|<=|>=)?\s*(?P<sign>[-+])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s*(?P<unit>万元|亿元|元|%|％|个|人|辆|台|套|次|年|天|家|项|件|户|名|平方米|m2|㎡)?$"
)
_CMP = {"<=": "≤", ">=": "≥", "＜": "<", "＞": ">"}
NO_VALUE = {"", "—", "-", "--", "——", "－", "/", "／", "…", "*"}


def clean_text(text: str | None) -> str:
    """Cell text as printed, with line wraps and letter-spacing between CJK characters removed."""
    if not text:
        return ""
    text = text.replace("\u3000", " ").strip()
    text = _SPACE_NEAR_CJK.sub("", text)
    return re.sub(r"\s+", " ", text)


def text_to_value(text: str | None, default_unit: str | None = None) -> tuple[Decimal | None, str | None, str | None]:
    """(value, comparator, unit) of a cell's text; value None when the text is not a number.

    "12.30" → (12.30, None, default_unit); "≤12.3 万元" → (12.3, "≤", "万元"); "95%" → (95, None, "%").
    """
    raw = clean_text(text).translate(_FULLWIDTH).replace(" ", "")
    if raw in NO_VALUE:
        return None, None, None
    neg = raw.startswith("(") and raw.endswith(")")
    if neg:
        raw = raw[1:-1]
    m = _NUMBER.match(raw)
    if not m:
        return None, None, None
    try:
        value = Decimal(m["num"].replace(",", ""))
    except InvalidOperation:
        return None, None, None
    if m["sign"] == "-" or neg:
        value = -value
    unit = m["unit"]
    if unit == "％":
        unit = "%"
    cmp_ = m["cmp"]
    return value, _CMP.get(cmp_, cmp_) if cmp_ else None, unit or default_unit


def is_amount_text(text: str | None) -> bool:
    """A plain number as tables print amounts (not a code, not a bound)."""
    raw = clean_text(text).replace(",", "")
    return bool(re.fullmatch(r"-?\d+(\.\d+)?", raw)) and not is_code_text(raw)


def is_code_text(text: str | None) -> bool:
    """A classification or project code: digits without a decimal point, often with leading zeros."""
    raw = clean_text(text)
    return bool(re.fullmatch(r"\d{3,}", raw)) and (len(raw) >= 5 or raw.startswith("0"))


def strip_numbering(label: str) -> str:
    """A label without its list numbering: "一、一般公共预算收入" → "一般公共预算收入"."""
    return _NUMBERING.sub("", label).strip()


_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[)）]、?|\d+[、.．]|其中[：:]|[:：])\s*"
)
