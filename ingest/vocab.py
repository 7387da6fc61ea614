"""Loads the layout vocabulary (ingest/vocab.json) once."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.models import squash


@lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).with_name("vocab.json")).read_text(encoding="utf-8"))
    for key, words in list(data.items()):
        if isinstance(words, list):
            data[key + "_set"] = {squash(w) for w in words}
    return data


def in_vocab(text: str, key: str) -> bool:
    return squash(text).rstrip("：:") in vocab()[key + "_set"]
