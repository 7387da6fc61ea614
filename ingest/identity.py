"""Document identity from its content: disclosing unit, city, year, kind; normalised table names."""

from __future__ import annotations

import re
from collections import Counter

from core.models import squash

from .layout import PageLayout
from .values import clean_text, strip_numbering
from .vocab import vocab

_YEAR = re.compile(r"(20\d{2})\s*年")
_META = re.compile(r"^(?:单位名称|部门名称|编制单位|预算单位)[:：]\s*(.+?)(?:\s*(?:金额)?单位[:：].*)?$")
_DATE = re.compile(r"20\d{2}\s*年\s*\d{1,2}\s*月(\s*\d{1,2}\s*日)?")
_CITY = re.compile(r"^(?:.{2,4}?(?:省|自治区))?(.{2,5}?(?:市|州|盟|地区|县))")
_PARENS = str.maketrans({"(": "（", ")": "）"})


def normalise_unit(text: str) -> str:
    return squash(clean_text(text)).translate(_PARENS)


def pages_to_identity(pages: list[PageLayout]) -> dict[str, object]:
    """unit, city, year, kind and title of a disclosure."""
    cover = _cover_text(pages)
    all_text = "\n".join(ln.text for p in pages[:6] for ln in p.lines)
    year_m = _YEAR.search(cover) or _YEAR.search(all_text)
    year = int(year_m.group(1)) if year_m else None
    kind = next((k for k, words in vocab()["doc_kinds"].items() if any(w in cover for w in words)), None)
    if kind is None:
        kind = next((k for k, words in vocab()["doc_kinds"].items() if any(w in all_text for w in words)), None)
    unit = _unit_from_meta(pages) or _unit_from_cover(cover)
    city_m = _CITY.match(unit)
    return {"unit": unit, "city": city_m.group(1) if city_m else None, "year": year, "kind": kind,
            "title": clean_text(cover.replace("\n", ""))}


def _cover_text(pages: list[PageLayout]) -> str:
    for page in pages[:3]:
        lines = [ln.text for ln in page.lines if ln.text.strip()]
        text = "\n".join(lines)
        if any(w in text for ws in vocab()["doc_kinds"].values() for w in ws):
            return "\n".join(t for t in lines if not _DATE.fullmatch(squash(t)) and len(squash(t)) < 60)
    return "\n".join(ln.text for ln in pages[0].lines) if pages else ""


def _unit_from_meta(pages: list[PageLayout]) -> str | None:
    names: Counter[str] = Counter()
    for page in pages:
        for ln in page.lines:
            m = _META.match(clean_text(ln.text))
            if m:
                names[normalise_unit(m.group(1))] += 1
    return names.most_common(1)[0][0] if names else None


def _unit_from_cover(cover: str) -> str:
    text = normalise_unit(cover)
    text = _DATE.sub("", text)
    text = re.sub(r"20\d{2}年度?", "", text)
    for word in ("单位预算公开", "部门预算公开", "单位预算", "部门预算", "决算公开", "部门决算", "单位决算", "决算", "公开"):
        text = text.replace(word, "")
    return text.strip("（）")  if text.count("（") != text.count("）") else text


def title_to_name(title: str, unit: str) -> str:
    """A table title without the unit's name, the year and its 单位公开表 number."""
    name = squash(title).translate(_PARENS)
    if unit:
        name = name.replace(unit, "")
    name = re.sub(r"^附件[:：]?", "", name)
    name = re.sub(r"20\d{2}年度?", "", name)
    name = re.sub(r"[（(]?(?:单位|部门)?公开表\d+[)）]?", "", name)
    return strip_numbering(name) or squash(title)
