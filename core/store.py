"""The SQL table store: documents, tables, rows, cells and chunks through SQLAlchemy Core.

SQLite in the index folder by default (WAL, foreign keys on), PostgreSQL when `database_url` says so.
A document is written in one transaction, so a reader never sees half of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select
from sqlalchemy import Row as SqlRow
from sqlalchemy.exc import SQLAlchemyError

from core.errors import DocumentNotFoundError, StoreError
from core.models import BBox, Cell, Chunk, ChunkHit, Document, DocumentInfo, Row, RowHit, Table
from core.settings import Settings, get_settings
from core.store_schema import CHILD_TABLES, cells, chunks, create_schema, documents, make_engine, rows, tables


@runtime_checkable
class TableStore(Protocol):
    """What the rest of the service needs from a table store."""

    def save_document(self, doc: Document, before_commit: Callable[[], None] | None = None) -> str: ...
    def find_by_sha(self, sha: str) -> DocumentInfo | None: ...
    def find_by_name(self, doc_name: str) -> DocumentInfo | None: ...
    def get_info(self, doc_id: str) -> DocumentInfo: ...
    def delete_document(self, doc_id: str) -> None: ...
    def list_documents(self) -> list[DocumentInfo]: ...
    def load_document(self, doc_id: str) -> Document: ...
    def iter_row_hits(self, doc_ids: list[str] | None = None) -> Iterator[RowHit]: ...
    def iter_chunk_hits(self, doc_ids: list[str] | None = None) -> Iterator[ChunkHit]: ...
    def row_hits(self, keys: Iterable[tuple[str, int, int]]) -> list[RowHit]: ...
    def chunk_hits(self, keys: Iterable[tuple[str, int]]) -> list[ChunkHit]: ...
    def generation(self) -> str: ...


# keys read per query by row_hits/chunk_hits: SQLite parses a chain of ORs into a tree at most 1000 deep
KEYS_PER_QUERY = 200


def _bbox(value: Any) -> BBox:
    x0, top, x1, bottom = value
    return (float(x0), float(top), float(x1), float(bottom))


def _spans(value: Any) -> list[tuple[int, BBox]]:
    return [(int(page), _bbox(box)) for page, box in value or []]


def _plain_spans(spans: Sequence[tuple[int, BBox]]) -> list[list[Any]]:
    return [[page, list(box)] for page, box in spans]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SqlStore:
    """The table store over one SQLAlchemy engine."""

    def __init__(self, settings: Settings | None = None, engine: Engine | None = None) -> None:
        self.settings = get_settings(settings)
        try:
            self.engine = engine or make_engine(self.settings.sql_url)
            create_schema(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the table store: {exc}") from exc

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    # ---------------------------------------------------------------- writing

    def save_document(self, doc: Document, before_commit: Callable[[], None] | None = None) -> str:
        """Store `doc` in one transaction, replacing any version with the same file name or content."""
        doc_id = doc.doc_id
        table_rows, row_rows, cell_rows = self._table_records(doc)
        chunk_rows = [
            {"doc_id": doc_id, "chunk_seq": seq, "chunk_index": c.index, "section": list(c.section),
             "text": c.text, "page": c.page, "bbox": list(c.bbox), "spans": _plain_spans(c.spans)}
            for seq, c in enumerate(doc.chunks)
        ]
        record = {
            "doc_id": doc_id, "doc": doc.doc, "sha256": doc.sha256, "unit": doc.unit, "year": doc.year,
            "kind": doc.kind, "city": doc.city, "title": doc.title, "pages": doc.pages, "path": doc.path,
            "ingested_at": _now(), "n_tables": len(doc.tables), "n_rows": len(row_rows),
            "n_chunks": len(doc.chunks),
        }
        try:
            with self.engine.begin() as conn:
                old = conn.execute(
                    select(documents.c.doc_id).where(or_(documents.c.doc == doc.doc, documents.c.doc_id == doc_id))
                ).scalars().all()
                for old_id in old:
                    self._delete(conn, old_id)
                conn.execute(documents.insert(), [record])
                for table, records in ((tables, table_rows), (rows, row_rows), (cells, cell_rows),
                                       (chunks, chunk_rows)):
                    if records:
                        conn.execute(table.insert(), records)
                if before_commit is not None:
                    before_commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store {doc.doc}: {exc}") from exc
        return doc_id

    @staticmethod
    def _table_records(doc: Document) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        doc_id = doc.doc_id
        t_recs: list[dict[str, Any]] = []
        r_recs: list[dict[str, Any]] = []
        c_recs: list[dict[str, Any]] = []
        for ts, t in enumerate(doc.tables):
            t_recs.append({
                "doc_id": doc_id, "table_seq": ts, "table_index": t.index, "title": t.title, "name": t.name,
                "unit_of_measure": t.unit_of_measure, "pages": list(t.pages),
                "columns": [list(c) for c in t.columns], "note": t.note, "number": t.number,
                "spans": _plain_spans(t.spans),
            })
            for rs, r in enumerate(t.rows):
                r_recs.append({
                    "doc_id": doc_id, "table_seq": ts, "row_seq": rs, "row_index": r.index, "label": r.label,
                    "code": r.code, "group_name": r.group, "parent": r.parent, "page": r.page,
                    "bbox": list(r.bbox), "spans": _plain_spans(r.spans),
                })
                for cs, c in enumerate(r.cells):
                    c_recs.append({
                        "doc_id": doc_id, "table_seq": ts, "row_seq": rs, "cell_seq": cs,
                        "column_path": list(c.column), "text": c.text,
                        "value": None if c.value is None else str(c.value), "comparator": c.comparator,
                        "unit": c.unit, "page": c.page, "bbox": list(c.bbox),
                    })
        return t_recs, r_recs, c_recs

    @staticmethod
    def _delete(conn: Connection, doc_id: str) -> None:
        for table in CHILD_TABLES:
            conn.execute(delete(table).where(table.c.doc_id == doc_id))
        conn.execute(delete(documents).where(documents.c.doc_id == doc_id))

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and everything it holds (DocumentNotFoundError when absent)."""
        try:
            with self.engine.begin() as conn:
                found = conn.execute(select(documents.c.doc_id).where(documents.c.doc_id == doc_id)).first()
                if found is None:
                    raise DocumentNotFoundError(f"no document {doc_id!r} in the index")
                self._delete(conn, doc_id)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot delete {doc_id}: {exc}") from exc

    # ---------------------------------------------------------------- reading documents

    @staticmethod
    def _info(r: SqlRow[Any]) -> DocumentInfo:
        m = r._mapping
        return DocumentInfo(
            doc_id=m["doc_id"], doc=m["doc"], sha256=m["sha256"], unit=m["unit"], year=m["year"],
            kind=m["kind"], city=m["city"], title=m["title"], pages=m["pages"], n_tables=m["n_tables"],
            n_rows=m["n_rows"], n_chunks=m["n_chunks"], path=m["path"], ingested_at=m["ingested_at"],
        )

    def _infos(self, where: Any = None) -> list[DocumentInfo]:
        query = select(documents).order_by(documents.c.doc)
        if where is not None:
            query = query.where(where)
        try:
            with self.engine.connect() as conn:
                return [self._info(r) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the table store: {exc}") from exc

    def find_by_sha(self, sha: str) -> DocumentInfo | None:
        """The stored document with this content hash, if any."""
        found = self._infos(documents.c.sha256 == sha)
        return found[0] if found else None

    def find_by_name(self, doc_name: str) -> DocumentInfo | None:
        """The stored document ingested under this file name, if any."""
        found = self._infos(documents.c.doc == doc_name)
        return found[0] if found else None

    def get_info(self, doc_id: str) -> DocumentInfo:
        """One document's info (DocumentNotFoundError when absent)."""
        found = self._infos(documents.c.doc_id == doc_id)
        if not found:
            raise DocumentNotFoundError(f"no document {doc_id!r} in the index")
        return found[0]

    def list_documents(self) -> list[DocumentInfo]:
        """Every stored document, by file name."""
        return self._infos()

    def generation(self) -> str:
        """A token that changes whenever documents are added, replaced or deleted."""
        try:
            with self.engine.connect() as conn:
                # two scalar subqueries: together in one select, SQLite scans the index for max() as well
                n, last = conn.execute(select(select(func.count()).select_from(documents).scalar_subquery(),
                                              select(func.max(documents.c.ingested_at)).scalar_subquery())).one()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the table store: {exc}") from exc
        return f"{n}:{last or '-'}"

    def load_document(self, doc_id: str) -> Document:
        """The whole document as stored (DocumentNotFoundError when absent)."""
        info = self.get_info(doc_id)
        doc = Document(
            doc=info.doc, sha256=info.sha256, unit=info.unit, year=info.year, kind=info.kind, pages=info.pages,
            city=info.city, title=info.title, path=info.path,
        )
        try:
            with self.engine.connect() as conn:
                doc.tables = [t for _, t in self._load_tables(conn, doc_id)]
                doc.chunks = self._load_chunks(conn, doc_id)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {doc_id}: {exc}") from exc
        return doc

    # ---------------------------------------------------------------- bulk reads for retrieval

    def _load_tables(self, conn: Connection, doc_id: str) -> list[tuple[int, Table]]:
        """(table_seq, Table) of one document, in three queries."""
        q_tables = select(tables).where(tables.c.doc_id == doc_id).order_by(tables.c.table_seq)
        table_maps = [r._mapping for r in conn.execute(q_tables)]
        if not table_maps:
            return []
        q_rows = select(rows).where(rows.c.doc_id == doc_id).order_by(rows.c.table_seq, rows.c.row_seq)
        q_cells = select(cells).where(cells.c.doc_id == doc_id).order_by(
            cells.c.table_seq, cells.c.row_seq, cells.c.cell_seq)
        by_row: dict[tuple[int, int], list[Cell]] = defaultdict(list)
        for r in conn.execute(q_cells):
            by_row[(r.table_seq, r.row_seq)].append(_cell(r._mapping))
        by_table: dict[int, list[Row]] = defaultdict(list)
        for r in conn.execute(q_rows):
            by_table[r.table_seq].append(_row(r._mapping, by_row.get((r.table_seq, r.row_seq), [])))
        return [(m["table_seq"], _table(m, by_table.get(m["table_seq"], []))) for m in table_maps]

    @staticmethod
    def _load_chunks(conn: Connection, doc_id: str) -> list[Chunk]:
        query = select(chunks).where(chunks.c.doc_id == doc_id).order_by(chunks.c.chunk_seq)
        return [_chunk(r._mapping) for r in conn.execute(query)]

    def _selected(self, doc_ids: Iterable[str] | None) -> list[DocumentInfo]:
        if doc_ids is None:
            return self.list_documents()
        wanted = sorted(set(doc_ids))
        # by primary key: listing every document costs milliseconds per call at a thousand documents
        return self._infos(documents.c.doc_id.in_(wanted)) if wanted else []

    def iter_row_hits(self, doc_ids: list[str] | None = None) -> Iterator[RowHit]:
        """Every stored row with its cells, table and document (three queries per document)."""
        for info in self._selected(doc_ids):
            try:
                with self.engine.connect() as conn:
                    loaded = self._load_tables(conn, info.doc_id)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read {info.doc_id}: {exc}") from exc
            for _, t in loaded:
                for row in t.rows:
                    yield _row_hit(info, t, row)

    def iter_chunk_hits(self, doc_ids: list[str] | None = None) -> Iterator[ChunkHit]:
        """Every stored narrative chunk with its document (one query per document)."""
        for info in self._selected(doc_ids):
            try:
                with self.engine.connect() as conn:
                    loaded = self._load_chunks(conn, info.doc_id)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read {info.doc_id}: {exc}") from exc
            for chunk in loaded:
                yield ChunkHit(doc=info, chunk=chunk)

    def row_hits(self, keys: Iterable[tuple[str, int, int]]) -> list[RowHit]:
        """The rows with these (doc_id, table index, row index), with cells, table and document; absent ones left out.

        A few queries whatever the number of documents: a search's top hits, spread over many documents,
        are read without reading their tables whole.
        """
        wanted = sorted(set(keys))
        found: list[tuple[Any, Row]] = []
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(wanted), KEYS_PER_QUERY):
                    found.extend(self._read_rows(conn, wanted[start:start + KEYS_PER_QUERY]))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read rows: {exc}") from exc
        infos = {i.doc_id: i for i in self._selected({t["doc_id"] for t, _ in found})}
        return [_row_hit(infos[t["doc_id"]], _table(t, []), row) for t, row in found if t["doc_id"] in infos]

    @staticmethod
    def _read_rows(conn: Connection, wanted: list[tuple[str, int, int]]) -> list[tuple[Any, Row]]:
        """(table record, Row) of these (doc_id, table index, row index), in their order; three queries."""
        table_keys = sorted({(d, t) for d, t, _ in wanted})
        q_tables = select(tables).where(or_(*(and_(tables.c.doc_id == d, tables.c.table_index == t)
                                              for d, t in table_keys)))
        table_of = {(m["doc_id"], m["table_index"]): m for m in (r._mapping for r in conn.execute(q_tables))}
        want = [(d, table_of[(d, t)]["table_seq"], r) for d, t, r in wanted if (d, t) in table_of]
        if not want:
            return []
        q_rows = select(rows).where(or_(*(and_(rows.c.doc_id == d, rows.c.table_seq == s, rows.c.row_index == r)
                                          for d, s, r in want)))
        row_of = {(m["doc_id"], m["table_seq"], m["row_index"]): m for m in (r._mapping for r in conn.execute(q_rows))}
        cells_of: dict[tuple[str, int, int], list[Cell]] = defaultdict(list)
        if row_of:
            q_cells = select(cells).where(or_(*(
                and_(cells.c.doc_id == m["doc_id"], cells.c.table_seq == m["table_seq"], cells.c.row_seq == m["row_seq"])
                for m in row_of.values()))).order_by(cells.c.doc_id, cells.c.table_seq, cells.c.row_seq, cells.c.cell_seq)
            for r in conn.execute(q_cells):
                cells_of[(r.doc_id, r.table_seq, r.row_seq)].append(_cell(r._mapping))
        by_seq = {(m["doc_id"], m["table_seq"]): m for m in table_of.values()}
        return [(by_seq[(d, s)], _row(m, cells_of.get((d, s, m["row_seq"]), [])))
                for d, s, r in want if (m := row_of.get((d, s, r))) is not None]

    def chunk_hits(self, keys: Iterable[tuple[str, int]]) -> list[ChunkHit]:
        """The chunks with these (doc_id, chunk index), with their documents; absent ones left out."""
        wanted = sorted(set(keys))
        maps: list[Any] = []
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(wanted), KEYS_PER_QUERY):
                    query = select(chunks).where(or_(*(and_(chunks.c.doc_id == d, chunks.c.chunk_index == n)
                                                       for d, n in wanted[start:start + KEYS_PER_QUERY])))
                    maps.extend(r._mapping for r in conn.execute(query.order_by(chunks.c.doc_id, chunks.c.chunk_seq)))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read chunks: {exc}") from exc
        infos = {i.doc_id: i for i in self._selected({m["doc_id"] for m in maps})}
        return [ChunkHit(doc=infos[m["doc_id"]], chunk=_chunk(m)) for m in maps if m["doc_id"] in infos]


def _cell(m: Any) -> Cell:
    return Cell(column=list(m["column_path"]), text=m["text"], value=None if m["value"] is None else Decimal(m["value"]),
                comparator=m["comparator"], unit=m["unit"], page=m["page"], bbox=_bbox(m["bbox"]))


def _row(m: Any, row_cells: list[Cell]) -> Row:
    return Row(index=m["row_index"], label=m["label"], cells=row_cells, code=m["code"], group=m["group_name"],
               page=m["page"], bbox=_bbox(m["bbox"]), spans=_spans(m["spans"]), parent=m["parent"])


def _table(m: Any, table_rows: list[Row]) -> Table:
    return Table(index=m["table_index"], title=m["title"], name=m["name"], unit_of_measure=m["unit_of_measure"],
                 pages=[int(p) for p in m["pages"]], columns=[list(c) for c in m["columns"]], rows=table_rows,
                 note=m["note"], number=m["number"], spans=_spans(m["spans"]))


def _chunk(m: Any) -> Chunk:
    return Chunk(index=m["chunk_index"], section=list(m["section"]), text=m["text"], page=m["page"],
                 bbox=_bbox(m["bbox"]), spans=_spans(m["spans"]))


def _row_hit(info: DocumentInfo, t: Table, row: Row) -> RowHit:
    return RowHit(doc=info, table=t.title, table_name=t.name, table_index=t.index,
                  unit_of_measure=t.unit_of_measure, columns=t.columns, row=row)


def open_store(settings: Settings | None = None) -> SqlStore:
    """The table store the settings point at (created if missing)."""
    return SqlStore(settings)
