"""Chinese tokens for budget text (jieba plus a budget vocabulary) and the one-line rendering of rows and chunks."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.models import Cell, ChunkHit, RowHit

DOMAIN_WORDS = Path(__file__).with_name("domain_words.txt")
SEP = "｜"  # between the parts of a row rendering

# Function words and question words that say nothing about which passage answers.
STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 为 有 其 其中 对 于 按 由 从 以 之 等 中 上 下 个 这 那 该 此 并 也 都 又 "
    "吗 呢 吧 啊 么 请问 请 一下 查 查一下 查询 告诉 我 你 您 我们 多少 几 多 什么 哪些 哪个 哪 怎么 怎样 "
    "如何 是否 有没有 情况 问题 给出 列出 说明 一共 共 总共 所有 为什么 为何 几个 多大 哪里".split()
)
# Question phrasings mapped to the words disclosures use for the same thing.
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "为什么": ("原因",),
    "为何": ("原因",),
    "缘故": ("原因",),
    "怎么回事": ("原因",),
    "职能": ("职责",),
    "职责": ("职能",),
    "干什么": ("职责", "职能"),
    "做什么": ("职责", "职能"),
    "社保卡": ("社会保障卡",),
    "社会保障卡": ("社保卡",),
    "涨": ("增加", "增长"),
    "降": ("减少", "下降"),
    "变化": ("增加", "减少"),
    "变动": ("增加", "减少"),
    "花": ("支出",),
    "钱": ("经费", "资金"),
}
_WORD = re.compile(r"[\w%.]+", re.UNICODE)
_lock = threading.Lock()
_tokenizer: Any = None


def domain_words() -> list[str]:
    """The budget vocabulary of domain_words.txt (comments and blank lines dropped)."""
    words = []
    for line in DOMAIN_WORDS.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word)
    return words


def vocabulary_version() -> str:
    """A short hash of the tokeniser's inputs, so caches of tokens can tell when they are stale."""
    h = hashlib.sha256(DOMAIN_WORDS.read_bytes())
    h.update(" ".join(sorted(STOPWORDS)).encode())
    h.update(b"v1")
    return h.hexdigest()[:10]


def tokenizer() -> Any:
    """The process-wide jieba tokenizer with the domain words, built on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in domain_words():
                    tok.add_word(normalize(word), freq=200000)
                _tokenizer = tok
    return _tokenizer


def normalize(text: str) -> str:
    """NFKC (full-width brackets and digits to ASCII), lower case, without whitespace inside words."""
    return unicodedata.normalize("NFKC", text).lower()


def _keep(token: str) -> bool:
    return bool(token) and token not in STOPWORDS and _WORD.fullmatch(token) is not None


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of `text` (words and their sub-words), without punctuation and stopwords."""
    tok = tokenizer()
    out: list[str] = []
    for part in _WORD.findall(normalize(text)):
        out.extend(t for t in tok.cut_for_search(part) if _keep(t))
    return out


@lru_cache(maxsize=4096)
def _query_tokens(query: str) -> tuple[str, ...]:
    tokens = tokenize(query)
    extra = [e for t in tokens for e in EXPANSIONS.get(t, ())]
    extra += [e for phrase, exp in EXPANSIONS.items() if len(phrase) > 1 and phrase in query for e in exp]
    seen = set(tokens)
    for e in extra:
        if e not in seen:
            tokens.append(e)
            seen.add(e)
    return tuple(tokens)


def query_tokens(query: str) -> list[str]:
    """Tokens of a question: its words plus the disclosure words for its question phrasings."""
    return list(_query_tokens(query))


def _cell_text(cell: Cell) -> str:
    path = "/".join(p for p in (" ".join(x.split()) for x in cell.column) if p)
    text = " ".join(cell.text.split())
    if cell.value is not None and cell.unit and not text.endswith(cell.unit):
        text = f"{text} {cell.unit}"
    return f"{path} {text}" if path else text


def row_text(hit: RowHit) -> str:
    """One line for a table row: title｜label｜header/path value unit｜… (cells with text only)."""
    parts = [" ".join(hit.table.split()), " ".join(hit.row.label.split())]
    parts += [_cell_text(c) for c in hit.row.cells if c.text.strip()]
    return SEP.join(parts)


def chunk_text(hit: ChunkHit, headings: int = 2) -> str:
    """A narrative chunk with its last section headings in front (the words a question often names)."""
    head = " › ".join(" ".join(s.split()) for s in hit.chunk.section[-headings:] if s.strip())
    return f"{head}\n{hit.chunk.text}" if head else hit.chunk.text
