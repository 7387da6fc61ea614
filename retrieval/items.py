"""The searchable items of a document (narrative chunks and table rows): stable ids, texts, metadata, hits."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from core.models import ChunkHit, RowHit
from core.store import TableStore

from .tokens import chunk_text, row_text

Hit = ChunkHit | RowHit


@dataclass(frozen=True)
class Item:
    """One indexed text: a chunk or a row rendering, with what Chroma keeps as metadata."""

    id: str
    doc_id: str
    kind: str  # "chunk" | "row"
    text: str
    page: int
    table: int = -1
    row: int = -1

    def metadata(self) -> dict[str, str | int]:
        """Chroma metadata (no None values: -1 stands for 'not a row')."""
        return {"doc_id": self.doc_id, "kind": self.kind, "page": self.page, "table": self.table, "row": self.row}


def chunk_id(doc_id: str, chunk_index: int) -> str:
    """The stable id of a narrative chunk."""
    return f"{doc_id}:c:{chunk_index}"


def row_id(doc_id: str, table_index: int, row_index: int) -> str:
    """The stable id of a table row."""
    return f"{doc_id}:r:{table_index}:{row_index}"


def doc_of(item_id: str) -> str:
    """The document id an item id starts with."""
    return item_id.split(":", 1)[0]


def hit_id(hit: Hit) -> str:
    """The item id of a chunk or row hit."""
    if isinstance(hit, ChunkHit):
        return chunk_id(hit.doc.doc_id, hit.chunk.index)
    return row_id(hit.doc.doc_id, hit.table_index, hit.row.index)


def hit_item(hit: Hit) -> Item:
    """The indexed form of a hit."""
    if isinstance(hit, ChunkHit):
        return Item(hit_id(hit), hit.doc.doc_id, "chunk", chunk_text(hit), hit.chunk.page)
    return Item(hit_id(hit), hit.doc.doc_id, "row", row_text(hit), hit.row.page, hit.table_index, hit.row.index)


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it.id not in seen:
            seen.add(it.id)
            out.append(it)
    return out


def iter_doc_items(store: TableStore, doc_ids: list[str]) -> Iterator[tuple[str, list[Item]]]:
    """(doc_id, items) for each given document in the store, read with the store's bulk readers."""
    if not doc_ids:
        return
    chunks = groupby(store.iter_chunk_hits(doc_ids), key=lambda h: h.doc.doc_id)
    rows = groupby(store.iter_row_hits(doc_ids), key=lambda h: h.doc.doc_id)
    by_doc: dict[str, list[Item]] = {}
    for doc_id, hits in chunks:
        by_doc[doc_id] = [hit_item(h) for h in hits]
    wanted = set(doc_ids)
    for doc_id, row_hits in rows:
        items = by_doc.pop(doc_id, []) + [hit_item(h) for h in row_hits]
        yield doc_id, _unique(items)
        wanted.discard(doc_id)
    for doc_id, items in by_doc.items():  # documents with chunks but no rows
        yield doc_id, _unique(items)
        wanted.discard(doc_id)
    for doc_id in sorted(wanted & {i.doc_id for i in store.list_documents()}):
        yield doc_id, []  # stored, but without any chunk or row


class HitCache:
    """Item id → hit: a document's chunks or its rows read from the store on demand, the last few kept."""

    def __init__(self, store: TableStore, max_parts: int = 128) -> None:
        self.store = store
        self.max_parts = max_parts
        self._parts: OrderedDict[tuple[str, str], dict[str, Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget everything loaded (after the store changed)."""
        with self._lock:
            self._parts.clear()

    def _part(self, doc_id: str, kind: str) -> dict[str, Hit]:
        key = (doc_id, kind)
        with self._lock:
            if key in self._parts:
                self._parts.move_to_end(key)
                return self._parts[key]
        source: Iterable[Hit] = (self.store.iter_chunk_hits([doc_id]) if kind == "c"
                                 else self.store.iter_row_hits([doc_id]))
        hits = {hit_id(h): h for h in source}
        with self._lock:
            self._parts[key] = hits
            while len(self._parts) > self.max_parts:
                self._parts.popitem(last=False)
        return hits

    def get(self, item_id: str) -> Hit | None:
        """The hit of an item id, or None when its document or item is gone."""
        parts = item_id.split(":", 2)
        if len(parts) < 3 or parts[1] not in ("c", "r"):
            return None
        return self._part(parts[0], parts[1]).get(item_id)
