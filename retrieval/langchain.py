"""LangChain retrievers over hybrid search and over the structured row lookup, returning cited Documents.

Each Document's metadata carries what a citation needs: doc, unit, year, table, page, row_label, bbox,
kind ("table_row" | "text", as in core.models.Citation) and the item id and score.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from core.models import ChunkHit, RowHit

from .hybrid import HybridSearch
from .items import Hit, hit_id
from .tokens import chunk_text, row_text

RowLookup = Callable[[str, list[str] | None, int], list[RowHit]]


def _box(bbox: Any) -> list[float]:
    return [round(float(x), 1) for x in bbox]


def hit_to_document(hit: Hit) -> LCDocument:
    """A LangChain Document for a chunk or row hit, with citation metadata."""
    info = hit.doc
    meta: dict[str, Any] = {
        "id": hit_id(hit), "doc_id": info.doc_id, "doc": info.doc, "unit": info.unit, "year": info.year,
        "score": float(hit.score),
    }
    if isinstance(hit, ChunkHit):
        c = hit.chunk
        meta.update(kind="text", table=None, row_label=None, page=c.page, bbox=_box(c.bbox),
                    section=" › ".join(c.section), pages=sorted({p for p, _ in c.spans} or {c.page}))
        return LCDocument(page_content=chunk_text(hit), metadata=meta)
    r = hit.row
    meta.update(kind="table_row", table=hit.table, table_name=hit.table_name, table_index=hit.table_index,
                row_index=r.index, row_label=r.label, page=r.page, bbox=_box(r.bbox),
                unit_of_measure=hit.unit_of_measure,
                cells={"/".join(c.column): c.text for c in r.cells if c.text.strip()},
                pages=sorted({p for p, _ in r.spans} or {r.page}), why=hit.why)
    return LCDocument(page_content=row_text(hit), metadata=meta)


class HybridRetriever(BaseRetriever):
    """Chunks and rows by BM25 + vector rank fusion (optionally within documents, of one kind).

    Without `doc_ids` the query's own units, cities and year choose the documents (all of them when it
    names none; nothing when it names a unit the index lacks), unless `resolve_units` is False.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    doc_ids: list[str] | None = None
    k: int = 5
    kind: str | None = None  # "chunk" | "row" | None for both
    resolve_units: bool = True

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[LCDocument]:
        if self.doc_ids is None and self.resolve_units:
            hits = self.search.search_question(query, self.k, self.kind)[1]
        else:
            hits = self.search.search(query, self.doc_ids, self.k, self.kind)
        return [hit_to_document(h) for h in hits]


class RowRetriever(BaseRetriever):
    """Table rows from a structured row lookup `lookup(phrase, doc_ids, k)`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    lookup: RowLookup
    doc_ids: list[str] | None = None
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[LCDocument]:
        return [hit_to_document(h) for h in self.lookup(query, self.doc_ids, self.k)]
