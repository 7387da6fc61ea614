"""The searchable items of a document (narrative chunks and table rows): stable ids, texts, metadata, hits."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from core.errors import DocumentNotFoundError
from core.models import ChunkHit, Document, DocumentInfo, RowHit
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


def document_hits(info: DocumentInfo, doc: Document) -> list[Hit]:
    """Every chunk and row of a loaded document as hits, chunks first."""
    hits: list[Hit] = [ChunkHit(doc=info, chunk=c) for c in doc.chunks]
    for t in doc.tables:
        hits.extend(RowHit(doc=info, table=t.title, table_name=t.name, table_index=t.index,
                           unit_of_measure=t.unit_of_measure, columns=t.columns, row=r) for r in t.rows)
    return hits


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
    """Item id → hit, loading whole documents from the store on demand and keeping the last few."""

    def __init__(self, store: TableStore, max_docs: int = 64) -> None:
        self.store = store
        self.max_docs = max_docs
        self._docs: OrderedDict[str, dict[str, Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every loaded document (after the store changed)."""
        with self._lock:
            self._docs.clear()

    def _doc(self, doc_id: str) -> dict[str, Hit]:
        with self._lock:
            if doc_id in self._docs:
                self._docs.move_to_end(doc_id)
                return self._docs[doc_id]
        info = self.store.get_info(doc_id)
        hits = {hit_id(h): h for h in document_hits(info, self.store.load_document(doc_id))}
        with self._lock:
            self._docs[doc_id] = hits
            while len(self._docs) > self.max_docs:
                self._docs.popitem(last=False)
        return hits

    def get(self, item_id: str) -> Hit | None:
        """The hit of an item id, or None when its document or item is gone."""
        try:
            return self._doc(doc_of(item_id)).get(item_id)
        except DocumentNotFoundError:
            return None
