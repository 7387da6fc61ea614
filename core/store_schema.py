"""SQL schema of the table store (SQLAlchemy Core) and the engine factory (SQLite by default, PostgreSQL by URL).

Positions (`*_seq`) are the keys; the model's own `index` fields are stored beside them so a round trip is exact.
Decimal values are kept as TEXT (their exact string), bounding boxes and header paths as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

SCHEMA_VERSION = 1

metadata = MetaData()

documents = Table(
    "documents", metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("doc", String(512), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("unit", Text, nullable=False),
    Column("year", Integer),
    Column("kind", String(64)),
    Column("city", String(128)),
    Column("title", Text, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("path", Text),
    Column("ingested_at", String(40), nullable=False),  # ISO 8601 UTC with microseconds: sorts as text
    Column("n_tables", Integer, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("n_chunks", Integer, nullable=False),
    Index("ix_documents_unit_year", "unit", "year"),
    Index("ix_documents_ingested_at", "ingested_at"),  # store.generation() reads its max on every search
)

tables = Table(
    "tables", metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("table_seq", Integer, primary_key=True),
    Column("table_index", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("unit_of_measure", String(32)),
    Column("pages", JSON, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("note", Text),
    Column("number", String(128)),
    Column("spans", JSON, nullable=False),
    ForeignKeyConstraint(["doc_id"], ["documents.doc_id"], ondelete="CASCADE"),
)

rows = Table(
    "rows", metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("table_seq", Integer, primary_key=True),
    Column("row_seq", Integer, primary_key=True),
    Column("row_index", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("code", String(64)),
    Column("group_name", Text),
    Column("parent", Text),
    Column("page", Integer, nullable=False),
    Column("bbox", JSON, nullable=False),
    Column("spans", JSON, nullable=False),
    ForeignKeyConstraint(["doc_id", "table_seq"], ["tables.doc_id", "tables.table_seq"], ondelete="CASCADE"),
    Index("ix_rows_label", "label"),
    Index("ix_rows_code", "code"),
)

cells = Table(
    "cells", metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("table_seq", Integer, primary_key=True),
    Column("row_seq", Integer, primary_key=True),
    Column("cell_seq", Integer, primary_key=True),
    Column("column_path", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("value", Text),  # str(Decimal): exact
    Column("comparator", String(8)),
    Column("unit", String(32)),
    Column("page", Integer, nullable=False),
    Column("bbox", JSON, nullable=False),
    ForeignKeyConstraint(
        ["doc_id", "table_seq", "row_seq"], ["rows.doc_id", "rows.table_seq", "rows.row_seq"], ondelete="CASCADE"
    ),
)

chunks = Table(
    "chunks", metadata,
    Column("doc_id", String(64), primary_key=True),
    Column("chunk_seq", Integer, primary_key=True),
    Column("chunk_index", Integer, nullable=False),
    Column("section", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("page", Integer, nullable=False),
    Column("bbox", JSON, nullable=False),
    Column("spans", JSON, nullable=False),
    ForeignKeyConstraint(["doc_id"], ["documents.doc_id"], ondelete="CASCADE"),
)

CHILD_TABLES = (cells, rows, tables, chunks)  # delete order: children first


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, json_serializer=_dumps, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, json_serializer=_dumps, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create any missing tables and indexes (also indexes added to tables an older version created)."""
    metadata.create_all(engine, checkfirst=True)
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)
