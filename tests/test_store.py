"""The SQL table store on a real SQLite file: exact round trip, replacement, deletion, bulk reads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, inspect, select

from core.errors import DocumentNotFoundError
from core.models import Cell, Chunk, Document, Row, Table
from core.settings import Settings
from core.store import SqlStore, TableStore, open_store
from core.store_schema import cells, chunks, rows, tables


def make_doc(name: str = "a.pdf", sha: str = "ab" * 32, unit: str = "测试单位", scale: int = 1) -> Document:
    """A small hand-built document with awkward values: exact decimals, negatives, None, exponents."""
    head = [["收入", "项目"], ["收入", "预算数"]]
    t0 = Table(
        index=0, title=f"{unit}2026年收支总表", name="收支总表", unit_of_measure="万元", pages=[3, 4],
        columns=head, note="注：本表无数据时为空。", number="单位公开表1",
        spans=[(3, (50.5, 100.25, 540.0, 780.125)), (4, (50.5, 60.0, 540.0, 200.0))],
        rows=[
            Row(index=0, label="一、一般公共预算收入", code=None, group="收入", page=3,
                bbox=(56.8, 163.85076377952805, 297.7, 181.45076377952807),
                spans=[(3, (56.8, 163.85076377952805, 297.7, 181.45076377952807))],
                cells=[Cell(column=["收入", "预算数"], text="358.58", value=Decimal("358.58") * scale,
                            unit="万元", page=3, bbox=(237.0, 163.85, 297.7, 181.45))]),
            Row(index=1, label="工资福利支出", code="301", group=None, parent="基本支出", page=4,
                bbox=(56.8, 70.0, 297.7, 90.0),
                spans=[(3, (56.8, 760.0, 297.7, 780.0)), (4, (56.8, 70.0, 297.7, 90.0))],
                cells=[
                    Cell(column=["收入", "预算数"], text="-0.10", value=Decimal("-0.10"), unit="万元", page=4,
                         bbox=(237.0, 70.0, 297.7, 90.0)),
                    Cell(column=["收入", "预算数"], text="1E+3", value=Decimal("1E+3"), unit="万元", page=4),
                    Cell(column=["说明"], text="—", value=None, page=4, bbox=(300.0, 70.0, 400.0, 90.0)),
                    Cell(column=["指标值"], text="≥95%", value=Decimal("95"), comparator="≥", unit="%", page=4),
                ]),
        ],
    )
    t1 = Table(index=1, title="空表", name="空表", unit_of_measure=None, pages=[5], columns=[], rows=[])
    ch = [
        Chunk(index=0, section=["第一部分", "一、主要职能"], text="负责……", page=2, bbox=(70.0, 90.5, 520.0, 400.0),
              spans=[(2, (70.0, 90.5, 520.0, 400.0))]),
        Chunk(index=1, section=[], text="第二段", page=2),
    ]
    return Document(doc=name, sha256=sha, unit=unit, year=2026, kind="单位预算", pages=6, tables=[t0, t1],
                    chunks=ch, city="某市", title=f"{unit}2026年单位预算公开", path=f"/x/{sha[:16]}.pdf")


@pytest.fixture()
def store(tmp_path: Path) -> SqlStore:
    return open_store(Settings(index_dir=tmp_path / "index"))


def count(store: SqlStore, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_round_trip_is_exact(store: SqlStore) -> None:
    doc = make_doc()
    doc_id = store.save_document(doc)
    assert doc_id == doc.doc_id
    back = store.load_document(doc_id)
    assert back == doc
    cell = back.tables[0].rows[1].cells[1]
    assert cell.value == Decimal("1E+3") and str(cell.value) == "1E+3"
    assert isinstance(back.tables[0].rows[0].bbox, tuple)
    assert isinstance(back.tables[0].spans[0][1], tuple)
    assert back.tables[0].rows[1].cells[0].value == Decimal("-0.10")
    assert str(back.tables[0].rows[1].cells[0].value) == "-0.10"
    assert store.engine.url.get_backend_name() == "sqlite"
    assert (Path(store.settings.index_dir) / "budget.sqlite").exists()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_find_and_list(store: SqlStore) -> None:
    a, b = make_doc("a.pdf", "aa" * 32), make_doc("b.pdf", "bb" * 32, unit="另一单位")
    store.save_document(b)
    store.save_document(a)
    assert [i.doc for i in store.list_documents()] == ["a.pdf", "b.pdf"]
    info = store.find_by_sha("bb" * 32)
    assert info is not None and info.doc == "b.pdf" and info.unit == "另一单位"
    assert (info.n_tables, info.n_rows, info.n_chunks, info.pages) == (2, 2, 2, 6)
    assert store.find_by_name("a.pdf") is not None
    assert store.find_by_name("c.pdf") is None and store.find_by_sha("cc" * 32) is None
    assert isinstance(store, TableStore)


def test_replace_by_name_leaves_one_version(store: SqlStore) -> None:
    old = make_doc("same.pdf", "01" * 32)
    store.save_document(old)
    gen = store.generation()
    new = make_doc("same.pdf", "02" * 32, scale=2)
    store.save_document(new)
    assert store.generation() != gen
    docs = store.list_documents()
    assert [(d.doc, d.sha256) for d in docs] == [("same.pdf", "02" * 32)]
    assert store.find_by_sha("01" * 32) is None
    assert store.load_document(new.doc_id).tables[0].rows[0].cells[0].value == Decimal("717.16")
    assert count(store, rows) == 2 and count(store, cells) == 5 and count(store, chunks) == 2
    with pytest.raises(DocumentNotFoundError):
        store.load_document(old.doc_id)


def test_same_content_saved_twice_is_one_document(store: SqlStore) -> None:
    store.save_document(make_doc("x.pdf"))
    store.save_document(make_doc("x.pdf"))
    assert len(store.list_documents()) == 1 and count(store, cells) == 5


def test_delete_removes_everything(store: SqlStore) -> None:
    a, b = make_doc("a.pdf", "aa" * 32), make_doc("b.pdf", "bb" * 32)
    store.save_document(a)
    store.save_document(b)
    gen = store.generation()
    store.delete_document(a.doc_id)
    assert store.generation() != gen
    assert [d.doc for d in store.list_documents()] == ["b.pdf"]
    assert count(store, tables) == 2 and count(store, rows) == 2 and count(store, cells) == 5
    assert count(store, chunks) == 2
    with pytest.raises(DocumentNotFoundError):
        store.delete_document(a.doc_id)
    with pytest.raises(DocumentNotFoundError):
        store.get_info(a.doc_id)


def test_failed_save_rolls_back(store: SqlStore) -> None:
    store.save_document(make_doc("a.pdf", "aa" * 32))

    def boom() -> None:
        raise RuntimeError("killed before commit")

    with pytest.raises(RuntimeError):
        store.save_document(make_doc("b.pdf", "bb" * 32), before_commit=boom)
    with pytest.raises(RuntimeError):
        store.save_document(make_doc("a.pdf", "cc" * 32), before_commit=boom)  # a failed replacement
    assert [(d.doc, d.sha256) for d in store.list_documents()] == [("a.pdf", "aa" * 32)]
    assert count(store, rows) == 2 and count(store, cells) == 5


def test_iter_row_hits(store: SqlStore) -> None:
    a, b = make_doc("a.pdf", "aa" * 32), make_doc("b.pdf", "bb" * 32, unit="另一单位")
    store.save_document(a)
    store.save_document(b)
    hits = list(store.iter_row_hits())
    assert len(hits) == 4
    first = hits[0]
    assert first.doc.doc == "a.pdf" and first.table == "测试单位2026年收支总表" and first.table_name == "收支总表"
    assert first.unit_of_measure == "万元" and first.columns == [["收入", "项目"], ["收入", "预算数"]]
    assert first.table_index == 0 and first.row.label == "一、一般公共预算收入"
    assert first.row.cell("预算数") is not None
    assert [len(h.row.cells) for h in hits] == [1, 4, 1, 4]
    only_b = list(store.iter_row_hits([b.doc_id]))
    assert {h.doc.doc for h in only_b} == {"b.pdf"} and len(only_b) == 2
    assert only_b[1].row == b.tables[0].rows[1]
    assert list(store.iter_row_hits([])) == []


def test_row_hits_and_chunk_hits_read_just_those(store: SqlStore) -> None:
    """A search reads only the rows and chunks of its top hits, across documents, not whole tables."""
    a, b = make_doc("a.pdf", "aa" * 32), make_doc("b.pdf", "bb" * 32, unit="另一单位")
    store.save_document(a)
    store.save_document(b)
    t0 = b.tables[0]
    assert len(t0.rows) >= 2
    first, last = t0.rows[0], t0.rows[-1]
    picked = store.row_hits([(b.doc_id, 0, last.index), (b.doc_id, 0, 999), (b.doc_id, 7, 0), ("nope", 0, 0)])
    assert [h.row for h in picked] == [last] and picked[0].doc.doc == "b.pdf"
    assert picked[0].columns == t0.columns and picked[0].table == t0.title and picked[0].table_index == 0
    assert picked[0].row.cells == last.cells and picked[0].row.cells  # its own cells, not another row's
    both = store.row_hits([(b.doc_id, 0, last.index), (a.doc_id, 0, first.index), (b.doc_id, 0, first.index)])
    assert [(h.doc.doc, h.row) for h in both] == [("a.pdf", a.tables[0].rows[0]), ("b.pdf", first), ("b.pdf", last)]
    assert store.row_hits([(a.doc_id, 1, 0)]) == [] and store.row_hits([]) == []  # a table without rows
    many = store.row_hits([(b.doc_id, 0, r) for r in range(-300, 300)])  # more keys than one query takes
    assert [h.row for h in many] == t0.rows
    second = store.chunk_hits([(a.doc_id, 1), (b.doc_id, 1), (b.doc_id, 99)])
    assert [(h.doc.doc, h.chunk) for h in second] == [("a.pdf", a.chunks[1]), ("b.pdf", b.chunks[1])]


def test_iter_chunk_hits(store: SqlStore) -> None:
    a = make_doc("a.pdf", "aa" * 32)
    store.save_document(a)
    hits = list(store.iter_chunk_hits())
    assert [h.chunk for h in hits] == a.chunks
    assert hits[0].doc.doc_id == a.doc_id and hits[0].chunk.section == ["第一部分", "一、主要职能"]


def test_generation_of_empty_store_is_stable(store: SqlStore) -> None:
    assert store.generation() == store.generation()
    reopened = open_store(store.settings)
    assert reopened.generation() == store.generation()


def test_generation_reads_an_index_even_in_a_store_made_before_it(store: SqlStore) -> None:
    """generation() runs on every search: max(ingested_at) must come from an index, not a table scan."""
    store.save_document(make_doc())
    before = store.generation()
    with store.engine.begin() as conn:  # as a store created by a version without the index
        conn.exec_driver_sql("DROP INDEX ix_documents_ingested_at")
    reopened = open_store(store.settings)
    assert "ix_documents_ingested_at" in {i["name"] for i in inspect(reopened.engine).get_indexes("documents")}
    seen: list[str] = []
    event.listen(reopened.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    assert reopened.generation() == before
    with reopened.engine.connect() as conn:
        plan = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + seen[-1])]
    assert "SEARCH documents USING COVERING INDEX ix_documents_ingested_at" in plan, plan  # a lookup, not a scan
    assert not any(p.startswith("SCAN documents USING COVERING INDEX ix_documents_ingested_at") for p in plan)


def test_real_pdf_round_trip(store: SqlStore) -> None:
    from ingest.pipeline import file_to_document

    src = Path(__file__).resolve().parent.parent / "data" / "huaibei-2026-unit-budget.pdf"
    doc = file_to_document(src, store.settings)
    store.save_document(doc)
    assert store.load_document(doc.doc_id) == doc
    info = store.get_info(doc.doc_id)
    assert info.n_rows == sum(len(t.rows) for t in doc.tables) == sum(1 for _ in store.iter_row_hits())
    assert info.n_chunks == len(doc.chunks) == sum(1 for _ in store.iter_chunk_hits())
