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


def _item_key(item_id: str) -> tuple[str, str, tuple[int, ...]] | None:
    """(doc_id, 'c' or 'r', (chunk index,) or (table index, row index)) of an item id; None when it is not one."""
    parts = item_id.split(":")
    if len(parts) < 3 or parts[1] not in ("c", "r") or not all(p.isdigit() for p in parts[2:]):
        return None
    numbers = tuple(int(p) for p in parts[2:])
    if len(numbers) != (1 if parts[1] == "c" else 2):
        return None
    return parts[0], parts[1], numbers


class HitCache:
    """Item id → hit, read from the store on demand, item by item, the last few thousand kept.

    A search needs the hits of its top few items only: reading just those rows and chunks keeps the
    first search touching a document from reading whole tables (milliseconds each at a thousand documents).
    """

    def __init__(self, store: TableStore, max_items: int = 20_000) -> None:
        self.store = store
        self.max_items = max_items
        self._hits: OrderedDict[str, Hit | None] = OrderedDict()  # None: read, and not in the store
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget everything loaded (after the store changed)."""
        with self._lock:
            self._hits.clear()

    def prefetch(self, item_ids: Iterable[str]) -> None:
        """Read the rows and chunks of these items that are not cached yet: a few queries for all of them."""
        rows: dict[tuple[str, int, int], str] = {}
        chunks: dict[tuple[str, int], str] = {}
        with self._lock:
            for item_id in item_ids:
                key = _item_key(item_id)
                if key is None or item_id in self._hits:
                    continue
                doc_id, kind, numbers = key
                if kind == "c":
                    chunks[(doc_id, numbers[0])] = item_id
                else:
                    rows[(doc_id, numbers[0], numbers[1])] = item_id
        if not rows and not chunks:
            return
        loaded: dict[str, Hit | None] = dict.fromkeys([*rows.values(), *chunks.values()])
        found: list[Hit] = [*self.store.row_hits(rows), *self.store.chunk_hits(chunks)]
        for h in found:
            loaded[hit_id(h)] = h
        with self._lock:
            self._hits.update(loaded)
            while len(self._hits) > self.max_items:
                self._hits.popitem(last=False)

    def get(self, item_id: str) -> Hit | None:
        """The hit of an item id, or None when its document or item is gone."""
        if _item_key(item_id) is None:
            return None
        with self._lock:
            if item_id in self._hits:
                self._hits.move_to_end(item_id)
                return self._hits[item_id]
        self.prefetch([item_id])
        with self._lock:
            return self._hits.get(item_id)
