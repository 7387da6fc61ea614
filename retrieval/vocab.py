"""The domain vocabulary (retrieval/synonyms.json) and text normalisation built on it."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[)）]、?|\d+[、.．]|其中[：:]|[:：])\s*"
)


@lru_cache(maxsize=1)
def synonyms() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(__file__).with_name("synonyms.json").read_text(encoding="utf-8"))
    pairs = sorted(data["abbreviations"].items(), key=lambda kv: -len(kv[0]))
    # One alternation: at each position the full form wins over the short one (longest first), so a
    # text that already spells a name out is left as it is.
    words = sorted({w for pair in pairs for w in pair}, key=len, reverse=True)
    data["_abbr_re"] = re.compile("|".join(re.escape(w) for w in words))
    data["_abbr_map"] = {**{long: long for _, long in pairs}, **dict(pairs)}
    return data


def normalise(text: str) -> str:
    """Full-width → half-width digits and letters, no whitespace, Chinese brackets, quotes unified."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(text.split())
    text = text.replace("(", "（").replace(")", "）").replace('"', "“")
    text = re.sub(r"“([^“”]*)“", r"“\1”", text)
    return text


@lru_cache(maxsize=200_000)
def canonical(text: str) -> str:
    """Normalised text with abbreviations spelled out (人社局 → 人力资源和社会保障局, 社保卡 → 社会保障卡)."""
    data = synonyms()
    mapping = data["_abbr_map"]
    return data["_abbr_re"].sub(lambda m: mapping[m.group(0)], normalise(text))


def strip_numbering(label: str) -> str:
    return _NUMBERING.sub("", label)


def label_key(label: str) -> str:
    """A row label as compared: canonical, without list numbering and trailing colon."""
    return canonical(strip_numbering(normalise(label))).rstrip("：:")


def is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def aliases(item: str) -> list[str]:
    """The item and the other wordings it stands for (synonyms.json item_aliases), in order."""
    table = synonyms()["item_aliases"]
    found = table.get(item) or table.get(canonical(item))
    return list(dict.fromkeys([*found, item])) if found else [item]


def without_generic(item: str) -> str:
    """"事业单位医疗支出" → "事业单位医疗": the narrative often names a 科目 without its generic tail."""
    for w in sorted(synonyms()["generic_item_words"], key=len, reverse=True):
        if item.endswith(w) and len(item) - len(w) >= 3:
            return item[: -len(w)]
    return item


def narrative_wordings(words: list[str]) -> list[str]:
    """The canonical forms to look for in the narrative: each wording, then each without its generic tail."""
    out: list[str] = []
    for word in words:
        key = canonical(word)
        out += [key, without_generic(key)]
    return list(dict.fromkeys(out))
