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
    data["_abbr_sorted"] = sorted(data["abbreviations"].items(), key=lambda kv: -len(kv[0]))
    return data


def normalise(text: str) -> str:
    """Full-width → half-width digits and letters, no whitespace, Chinese brackets, quotes unified."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(text.split())
    text = text.replace("(", "（").replace(")", "）").replace('"', "“")
    text = re.sub(r"“([^“”]*)“", r"“\1”", text)
    return text


def canonical(text: str) -> str:
    """Normalised text with abbreviations spelled out (人社局 → 人力资源和社会保障局, 社保卡 → 社会保障卡)."""
    text = normalise(text)
    out, i = [], 0
    pairs = synonyms()["_abbr_sorted"]
    while i < len(text):
        for short, long in pairs:
            if text.startswith(long, i):
                out.append(long)
                i += len(long)
                break
            if text.startswith(short, i):
                out.append(long)
                i += len(short)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def strip_numbering(label: str) -> str:
    return _NUMBERING.sub("", label)


def label_key(label: str) -> str:
    """A row label as compared: canonical, without list numbering and trailing colon."""
    return canonical(strip_numbering(normalise(label))).rstrip("：:")


def is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)
