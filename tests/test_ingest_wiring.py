"""Ingest wired to the search index and to the app: `python -m ingest` indexes Chroma, display names, per-page
progress, a failing on_stored hook, and re-parsed documents leaving no stale vectors behind.

Real PDFs, real pdfplumber in worker processes, real SQLite and embedded Chroma in temporary folders.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.models import Document, DocumentInfo
from core.settings import Settings
from core.store import SqlStore, open_store
from ingest.cli import PageProgress, clean_name, ingest_paths
from retrieval.hybrid import HybridSearch
from retrieval.items import iter_doc_items
from retrieval.vector import VectorIndex
from tests.retrieval_support import LUOYANG, parsed, settings_for
from ui.docs import ingest_uploads, reindex_all

ROOT = Path(__file__).resolve().parent.parent
SYNTH = sorted((ROOT.parent / "shared" / "corpus" / "synthetic").glob("*.pdf"))


def sql_items(store: SqlStore, doc_id: str) -> dict[str, str]:
    """item id → indexed text of one stored document, as SQL has it now."""
    return {it.id: it.text for _, items in iter_doc_items(store, [doc_id]) for it in items}


def chroma_items(settings: Settings, doc_id: str) -> dict[str, str]:
    """item id → text of one document's vectors, as Chroma has them."""
    got = VectorIndex(settings).collection.get(where={"doc_id": doc_id}, include=["documents"])
    return dict(zip(got["ids"], got["documents"] or []))


def test_python_m_ingest_indexes_every_stored_document_in_chroma(tmp_path: Path) -> None:
    box, index = tmp_path / "box", tmp_path / "index"
    box.mkdir()
    shutil.copy(SYNTH[0], box / "a.pdf")
    shutil.copy(SYNTH[1], box / "b.pdf")
    env = {**os.environ, "BUDGETQA_EMBEDDING": "local", "BUDGETQA_CHROMA_HOST": ""}
    proc = subprocess.run([sys.executable, "-m", "ingest", "--quiet", str(box), "--index", str(index)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    settings = settings_for(index)
    store = open_store(settings)
    infos = store.list_documents()
    assert len(infos) == 2
    # no HybridSearch was opened (it would catch up by itself): the CLI's own hook wrote these
    assert VectorIndex(settings).doc_counts() == {i.doc_id: i.n_chunks + i.n_rows for i in infos}
    for info in infos:
        assert chroma_items(settings, info.doc_id) == sql_items(store, info.doc_id)

    other = tmp_path / "sql-only"
    proc = subprocess.run([sys.executable, "-m", "ingest", "--quiet", "--sql-only", str(box / "a.pdf"),
                           "--index", str(other)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (other / "chroma").exists()


def test_display_names_name_the_document_and_never_a_path(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index", workers=2)
    up = tmp_path / "uploads"
    up.mkdir()
    first, second, third = up / "upload-1x.pdf", up / "upload-2y.pdf", up / "upload-3z.pdf"
    shutil.copy(SYNTH[2], first)
    shutil.copy(SYNTH[3], second)
    shutil.copy(SYNTH[4], third)
    evil = "../../etc/单位预算公开\x07.pdf"
    report = ingest_paths([first], settings, progress=False, display_names={first: evil})
    (r,) = report.files
    assert r.status == "added" and r.doc == "单位预算公开.pdf" == clean_name(evil)
    store = open_store(settings)
    info = store.get_info(r.doc_id or "")
    assert info.doc == "单位预算公开.pdf" and info.path == str(settings.pdf_dir / f"{info.doc_id}.pdf")
    assert sorted(p.name for p in settings.pdf_dir.iterdir()) == [f"{info.doc_id}.pdf"]
    assert not (tmp_path / "etc").exists() and not (settings.index_dir.parent / "etc").exists()

    # other content under the same name: beside it when asked to keep both, over it by default
    kept = ingest_paths([second], settings, progress=False, display_names={str(second): "单位预算公开.pdf"},
                        replace_same_name=False)
    assert [(f.status, f.doc) for f in kept.files] == [("added", "单位预算公开 (2).pdf")]
    replaced = ingest_paths([third], settings, progress=False, display_names={third: "单位预算公开.pdf"})
    assert [(f.status, f.doc) for f in replaced.files] == [("replaced", "单位预算公开.pdf")]
    assert sorted(d.doc for d in store.list_documents()) == ["单位预算公开 (2).pdf", "单位预算公开.pdf"]
    again = ingest_paths([third], settings, progress=False, display_names={third: "别的名字.pdf"})
    assert again.files[0].status == "unchanged" and "stored as 单位预算公开.pdf" in again.files[0].reason


def test_on_page_reports_every_page_of_every_parsed_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index", workers=2)
    box = tmp_path / "box"
    box.mkdir()
    for i, src in enumerate(SYNTH[5:8]):
        shutil.copy(src, box / f"{i}.pdf")
    ingest_paths([box / "1.pdf"], settings, progress=False)  # stored already: not parsed again, no progress
    seen: list[PageProgress] = []
    report = ingest_paths([box], settings, progress=False, on_page=seen.append)
    assert [f.status for f in report.files] == ["added", "unchanged", "added"]
    for f, n in ((report.files[0], 1), (report.files[2], 3)):
        mine = [p for p in seen if p.file == n]
        assert [p.done for p in mine] == list(range(f.pages + 1))  # 0 when it starts, then after every page
        assert {(p.name, p.pages, p.files, p.path) for p in mine} == {(f.doc, f.pages, 3, f.path)}
    assert {p.file for p in seen} == {1, 3}
    assert [p.file for p in seen] == sorted(p.file for p in seen)


def test_a_failing_on_stored_hook_leaves_the_document_stored(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index", workers=2)

    def broken(info: DocumentInfo) -> None:
        raise RuntimeError("vector store down")

    report = ingest_paths(SYNTH[8:10], settings, progress=False, on_stored=broken)
    assert [f.status for f in report.files] == ["added", "added"] and report.ok
    assert all("on_stored failed" in f.reason and "vector store down" in f.reason for f in report.files)
    assert len(open_store(settings).list_documents()) == 2


def _reparsed(doc: Document) -> Document:
    """The same file as a changed parser might see it: same hash, same number of items, other ids and texts."""
    new = copy.deepcopy(doc)
    new.chunks = new.chunks[:-1]  # one chunk fewer …
    last = new.tables[-1]
    extra = copy.deepcopy(last.rows[-1])
    extra.index = last.rows[-1].index + 1  # … one row more
    last.rows.append(extra)
    new.chunks[0].text += "（修订）"  # and a text that changed under the same id
    return new


def test_full_sync_rewrites_a_document_parsed_again_under_the_same_hash(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    store = open_store(settings)
    doc = parsed(LUOYANG)
    doc_id = store.save_document(doc)
    hs = HybridSearch(settings, store)
    before = chroma_items(settings, doc_id)
    assert before == sql_items(store, doc_id)

    again = _reparsed(doc)
    assert store.save_document(again) == doc_id
    now = sql_items(store, doc_id)
    assert len(now) == len(before) and set(now) != set(before)
    hs.sync()  # counts alone see nothing
    hs.sync(full=True)
    assert chroma_items(settings, doc_id) == now  # no stale id, no missing one, no old text
    assert hs.rewritten == [doc_id]
    assert hs.search("（修订）", [doc_id], k=1)
    hs.sync(full=True)
    assert hs.rewritten == []  # nothing left to do


def test_reindex_all_reparses_names_kept_and_chroma_matches_sql(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index", workers=2, upload_dir=tmp_path / "up")
    store = open_store(settings)
    seen: list[PageProgress] = []
    results = ingest_uploads(settings, store, [("单位预算公开.pdf", SYNTH[10].read_bytes()), ("空.pdf", b""),
                                               ("单位预算公开.pdf", SYNTH[11].read_bytes())], on_page=seen.append)
    assert [(r.ok, r.status, r.name) for r in results] == [
        (True, "added", "单位预算公开.pdf"), (False, "failed", "空.pdf"), (True, "added", "单位预算公开.pdf")]
    assert "单位预算公开 (2).pdf" in results[2].message
    assert {p.file for p in seen} == {1, 2} and all(p.files == 2 for p in seen)
    assert sorted(d.doc for d in store.list_documents()) == ["单位预算公开 (2).pdf", "单位预算公开.pdf"]
    assert not list((tmp_path / "up").iterdir())  # the uploads' temporary copies are gone

    hs = HybridSearch(settings, store)
    info = store.find_by_name("单位预算公开.pdf")
    assert info is not None
    stale = _reparsed(store.load_document(info.doc_id))  # what an older parser stored and embedded
    store.save_document(stale)
    hs.index_document(info.doc_id)
    assert chroma_items(settings, info.doc_id) == sql_items(store, info.doc_id)  # in step with the old parse

    steps: list[tuple[int, int, str]] = []
    problems = reindex_all(settings, store, lambda i, n, name: steps.append((i, n, name)), hs)
    assert problems == []
    assert steps[-1] == (2, 2, "") and [s[2] for s in steps[:2]] == ["单位预算公开 (2).pdf", "单位预算公开.pdf"]
    assert sorted(d.doc for d in store.list_documents()) == ["单位预算公开 (2).pdf", "单位预算公开.pdf"]
    for d in store.list_documents():
        assert chroma_items(settings, d.doc_id) == sql_items(store, d.doc_id)
    assert "（修订）" not in " ".join(sql_items(store, info.doc_id).values())
