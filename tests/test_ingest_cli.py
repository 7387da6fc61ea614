"""`python -m ingest` on real PDFs into a real SQLite index: idempotency, replacement, bad files, a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import DocumentInfo
from core.settings import Settings
from core.store import SqlStore, open_store
from core.store_schema import cells, chunks, rows, tables
from ingest.cli import PAUSE_ENV, ingest_paths, main
from ingest.pipeline import file_sha256

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SYNTH = sorted((CORPUS / "synthetic").glob("*.pdf"))
SCANNED = CORPUS / "pdf" / "luoyang-2026-unit-budget-scanned.pdf"


def settings_for(index: Path) -> Settings:
    return Settings(index_dir=index, workers=2)


def snapshot(store: SqlStore) -> list[tuple[str, ...]]:
    """Everything that would change if a document were written again."""
    with store.engine.connect() as conn:
        docs = conn.exec_driver_sql("SELECT doc_id, doc, sha256, ingested_at, path FROM documents ORDER BY doc")
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (tables, rows, cells, chunks)]
        return [tuple(map(str, r)) for r in docs] + [tuple(map(str, counts))]


def per_doc_counts(store: SqlStore) -> dict[str, set[str]]:
    """doc_ids present in each child table."""
    with store.engine.connect() as conn:
        return {
            t.name: set(conn.execute(select(t.c.doc_id).distinct()).scalars()) for t in (tables, rows, cells, chunks)
        }


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process from /proc, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and brackets
    return int(fields[1]), fields[0]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …)."""
    kids = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and (_stat(int(d.name)) or (0, ""))[0] == pid]
    return kids + [k for kid in kids for k in descendants(kid)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    st = _stat(pid)
    return st is not None and st[1] not in ("Z", "X")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--quiet", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=600,
    )


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    """Two good PDFs, one of them in a subfolder (folders are searched recursively)."""
    box = tmp_path / "inbox"
    (box / "sub").mkdir(parents=True)
    shutil.copy(SYNTH[0], box / "a.pdf")
    shutil.copy(SYNTH[1], box / "sub" / "b.pdf")
    return box


def test_second_run_is_unchanged_and_leaves_db_alone(inbox: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    stored: list[DocumentInfo] = []
    report = ingest_paths([inbox], settings_for(index), progress=False, on_stored=stored.append)
    assert [f.status for f in report.files] == ["added", "added"], report.files
    assert {i.doc for i in stored} == {"a.pdf", "b.pdf"}
    assert all(f.pages > 0 and f.tables > 0 and f.rows > 0 and f.chunks > 0 for f in report.files)

    store = open_store(settings_for(index))
    before, gen = snapshot(store), store.generation()
    for info in store.list_documents():
        assert info.path == str(index / "pdf" / f"{info.doc_id}.pdf")
        assert Path(info.path).read_bytes() == (inbox / ("a.pdf" if info.doc == "a.pdf" else "sub/b.pdf")).read_bytes()

    assert main([str(inbox), "--index", str(index), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("unchanged, skipped") == 2
    assert "0 stored" in out and "2 unchanged" in out
    assert snapshot(store) == before and store.generation() == gen
    assert sorted(p.name for p in (index / "pdf").iterdir()) == sorted(f"{i.doc_id}.pdf" for i in stored)


def test_changed_file_replaces_its_old_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index, box = tmp_path / "index", tmp_path / "box"
    box.mkdir()
    target = box / "report.pdf"
    shutil.copy(SYNTH[2], target)
    assert main([str(target), "--index", str(index), "--quiet"]) == 0
    store = open_store(settings_for(index))
    (old,) = store.list_documents()

    shutil.copy(SYNTH[3], target)
    assert main([str(target), "--index", str(index), "--quiet"]) == 0
    assert "replaced" in capsys.readouterr().out
    (new,) = store.list_documents()
    assert new.doc == "report.pdf" and new.sha256 == file_sha256(SYNTH[3]) != old.sha256
    assert store.find_by_sha(old.sha256) is None
    assert not (index / "pdf" / f"{old.doc_id}.pdf").exists() and Path(new.path or "").exists()
    assert per_doc_counts(store) == {t.name: {new.doc_id} for t in (tables, rows, cells, chunks)}
    assert sum(1 for _ in store.iter_row_hits()) == new.n_rows


def test_unreadable_files_are_reported_and_the_rest_stored(inbox: Path, tmp_path: Path) -> None:
    data = SYNTH[4].read_bytes()
    (inbox / "truncated.pdf").write_bytes(data[: len(data) // 3])
    (inbox / "notes.pdf").write_text("这不是PDF，只是一个文本文件。\n", encoding="utf-8")
    shutil.copy(SCANNED, inbox / "scan.pdf")
    index = tmp_path / "index"
    proc = run_cli(str(inbox), "--index", str(index))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = {ln.split(":")[0].split()[-1]: ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "added"))}
    assert lines["a.pdf"].startswith("added") and lines["b.pdf"].startswith("added")
    assert lines["truncated.pdf"].startswith("FAILED") and "损坏" in lines["truncated.pdf"]
    assert lines["notes.pdf"].startswith("FAILED") and "不是PDF" in lines["notes.pdf"]
    assert lines["scan.pdf"].startswith("FAILED") and "文字层" in lines["scan.pdf"]
    assert "3 failed" in proc.stdout and "Traceback" not in proc.stderr
    store = open_store(settings_for(index))
    assert sorted(d.doc for d in store.list_documents()) == ["a.pdf", "b.pdf"]
    assert len(list((index / "pdf").iterdir())) == 2


def test_scanned_pdf_says_no_text_layer(tmp_path: Path) -> None:
    report = ingest_paths([SCANNED], settings_for(tmp_path / "index"), progress=False)
    (res,) = report.files
    assert res.status == "failed" and "文字层" in res.reason and "\n" not in res.reason
    assert not report.ok


def test_index_inside_an_input_folder_is_not_ingested_again(inbox: Path) -> None:
    index = inbox / "index"
    first = ingest_paths([inbox], settings_for(index), progress=False)
    second = ingest_paths([inbox], settings_for(index), progress=False)
    assert len(first.files) == 2 and [f.status for f in second.files] == ["unchanged", "unchanged"]


def test_kill_during_commit_leaves_no_trace(tmp_path: Path) -> None:
    box, index = tmp_path / "box", tmp_path / "index"
    box.mkdir()
    for i, src in enumerate(SYNTH[5:8], start=1):
        shutil.copy(src, box / f"{i}.pdf")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--quiet", str(box), "--index", str(index)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, PAUSE_ENV: "4"},
    )
    pauses: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "[test] pausing" in line:
                pauses.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while len(pauses) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert len(pauses) == 2 and "2.pdf" in pauses[1], pauses
    workers = descendants(proc.pid)
    assert workers, "the ingest parses in worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left:  # do not leave them behind for the next test
        os.kill(w, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived the killed ingest"

    store = open_store(settings_for(index))
    (only,) = store.list_documents()
    assert only.doc == "1.pdf"
    assert store.find_by_sha(file_sha256(box / "2.pdf")) is None
    assert per_doc_counts(store) == {t.name: {only.doc_id} for t in (tables, rows, cells, chunks)}
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        n_rows = conn.execute(select(func.count()).select_from(rows)).scalar_one()
    assert n_rows == only.n_rows

    again = run_cli(str(box), "--index", str(index))
    assert again.returncode == 0, again.stdout + again.stderr
    statuses = [ln.split()[0] for ln in again.stdout.splitlines() if ln.endswith(("skipped", ")"))]
    assert statuses == ["unchanged", "added", "added"], again.stdout
    assert sorted(d.doc for d in store.list_documents()) == ["1.pdf", "2.pdf", "3.pdf"]


def test_show_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--show", str(SYNTH[0]), "--json", "--index", str(tmp_path / "index")]) == 0
    raw = capsys.readouterr().out
    data = json.loads(raw)
    assert list(data) == ["doc", "unit", "year", "kind", "pages", "tables", "chunks"]
    assert data["doc"] == SYNTH[0].name and data["pages"] > 0 and data["tables"] and data["chunks"]
    table = data["tables"][0]
    assert list(table) == ["title", "unit_of_measure", "pages", "columns", "rows", "note"]
    assert all(isinstance(c, list) for c in table["columns"])
    row = table["rows"][0]
    assert list(row) == ["label", "code", "page", "bbox", "cells"] and len(row["bbox"]) == 4
    values = [c["value"] for t in data["tables"] for r in t["rows"] for c in r["cells"]]
    assert all(v is None or isinstance(v, (int, float)) for v in values) and any(v is not None for v in values)
    assert list(row["cells"][0]) == ["column", "text", "value"]
    assert list(data["chunks"][0]) == ["section", "page", "text"]
    assert data["unit"] in raw  # ensure_ascii=False: Chinese printed as is
    assert not (tmp_path / "index").exists()  # --show stores nothing


def test_show_text_summary_and_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--show", str(SYNTH[0])]) == 0
    out = capsys.readouterr().out
    assert SYNTH[0].name in out and "tables" in out
    bad = tmp_path / "x.pdf"
    bad.write_text("plain text", encoding="utf-8")
    assert main(["--show", str(bad)]) == 1
    assert "FAILED" in capsys.readouterr().out
