"""The ingest command line and `ingest_paths`: PDF files in, documents in the table store.

The edge of ingest: the parser (`ingest.pipeline`) never writes anywhere; this module copies the
original PDF into the index, stores the Document in one transaction and reports per file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from core.errors import BudgetQAError, IngestError
from core.models import Document, DocumentInfo, doc_id_for
from core.settings import Settings, get_settings
from core.store import SqlStore, open_store
from ingest.pipeline import ParseJob, Parser, file_sha256, parse_ahead

log = logging.getLogger(__name__)
PAUSE_ENV = "BUDGETQA_TEST_PAUSE_BEFORE_COMMIT"  # tests only: seconds to sleep inside the transaction
ORPHAN_AGE = 600.0  # seconds before an unreferenced PDF copy in the index is removed
MAX_NAME = 120  # characters of a display name


@dataclass(frozen=True)
class PageProgress:
    """Where a run is: `done` of the `pages` pages of file number `file` (1-based) of `files` are parsed."""

    name: str  # the name the document is stored under
    path: str
    file: int
    files: int
    done: int
    pages: int


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    status: str  # added | replaced | unchanged | failed
    reason: str = ""
    doc_id: str | None = None
    doc: str | None = None
    pages: int = 0
    tables: int = 0
    rows: int = 0
    chunks: int = 0
    seconds: float = 0.0


@dataclass
class IngestReport:
    """Per-file results of one ingest run, with totals over the files actually parsed and stored."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """How many files ended with this status."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def stored(self) -> list[FileResult]:
        return [f for f in self.files if f.status in ("added", "replaced")]

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    @property
    def pages(self) -> int:
        return sum(f.pages for f in self.stored)

    def summary(self) -> str:
        """The closing lines of a CLI run."""
        stored = self.stored
        pages = self.pages
        parse_s = sum(f.seconds for f in stored)
        rate = pages / parse_s if parse_s > 0 else 0.0
        return (
            f"documents: {len(stored)} stored ({self.count('added')} added, {self.count('replaced')} replaced), "
            f"{self.count('unchanged')} unchanged, {self.count('failed')} failed\n"
            f"pages: {pages}  tables: {sum(f.tables for f in stored)}  rows: {sum(f.rows for f in stored)}  "
            f"chunks: {sum(f.chunks for f in stored)}\n"
            f"seconds: {self.seconds:.1f}  pages/s: {rate:.1f}"
        )


def _inside_an_index(path: Path, top: Path) -> bool:
    return any((d / "budget.sqlite").exists() for d in path.parents if d.is_relative_to(top) and d != top)


def find_pdfs(paths: Iterable[Path | str], skip: Path | None = None) -> list[Path]:
    """Files as given and *.pdf under folders (recursively), without duplicates or anything under `skip`."""
    out: list[Path] = []
    seen: set[Path] = set()
    skip_r = skip.resolve() if skip is not None else None
    for raw in paths:
        p = Path(raw)
        found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() == ".pdf") if p.is_dir() else [p]
        for q in found:
            r = q.resolve()
            if r in seen or (p.is_dir() and skip_r is not None and r.is_relative_to(skip_r)):
                continue
            if p.is_dir() and _inside_an_index(q, p):
                continue  # copies kept by another index under this folder are not new documents
            seen.add(r)
            out.append(q)
    return out


def _copy_pdf(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _remove_orphans(store: SqlStore, pdf_dir: Path) -> None:
    """Delete PDF copies no stored document points at (left by a killed run), once they are old."""
    if not pdf_dir.is_dir():
        return
    known = {d.doc_id for d in store.list_documents()}
    now = time.time()
    for f in pdf_dir.iterdir():
        stem = f.name.lstrip(".").split(".")[0]
        if f.is_file() and stem not in known and now - f.stat().st_mtime > ORPHAN_AGE:
            f.unlink(missing_ok=True)


def _pause_hook(name: str) -> Callable[[], None] | None:
    seconds = os.environ.get(PAUSE_ENV)
    if not seconds:
        return None

    def pause() -> None:
        print(f"[test] pausing {seconds}s before commit of {name}", file=sys.stderr, flush=True)
        time.sleep(float(seconds))

    return pause


def clean_name(name: str) -> str:
    """A display name from an uploaded file name: its last component, printable characters only.

    It names the document in lists and citations and is never used as a path.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base or "未命名.pdf")[:MAX_NAME]


def _free_name(store: SqlStore, name: str) -> str:
    """`name`, or `stem (2).pdf`, `stem (3).pdf`… when a stored document already has it."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    n = 1
    candidate = name
    while store.find_by_name(candidate) is not None:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    return candidate


@dataclass
class _File:
    """One input file of a run: where it is, what it is called, what the pre-check found."""

    path: Path
    name: str
    sha: str = ""
    result: FileResult | None = None  # final without parsing (missing, unreadable, already stored)


def _unchanged(f: _File, same: DocumentInfo, settings: Settings) -> FileResult:
    dest = settings.pdf_dir / f"{same.doc_id}.pdf"
    if not dest.exists():
        _copy_pdf(f.path, dest)
    reason = "unchanged, skipped" + (f" (stored as {same.doc})" if same.doc != f.name else "")
    return FileResult(path=str(f.path), status="unchanged", reason=reason, doc_id=same.doc_id, doc=same.doc)


def _failed(f: _File, exc: BaseException) -> FileResult:
    if isinstance(exc, BudgetQAError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        reason = f"无法处理（{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}）"
    return FileResult(path=str(f.path), status="failed", reason=reason, doc=f.name)


def _precheck(f: _File, store: SqlStore, settings: Settings) -> None:
    """Hash the file; a file that needs no parsing (missing, already stored) gets its final result."""
    try:
        if not f.path.is_file():
            raise IngestError("文件不存在" if not f.path.exists() else "不是文件")
        f.sha = file_sha256(f.path)
        same = store.find_by_sha(f.sha)
        if same is not None:
            f.result = _unchanged(f, same, settings)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
        f.result = _failed(f, exc)


@dataclass
class _Run:
    """What every file of one ingest run shares."""

    store: SqlStore
    settings: Settings
    progress: bool
    on_stored: Callable[[DocumentInfo], None] | None
    on_page: Callable[[PageProgress], None] | None
    replace_same_name: bool
    files: int


def _store_parsed(f: _File, n: int, job: ParseJob | BudgetQAError | None, run: _Run) -> FileResult:
    """Wait for a file's pages, assemble its Document and store it; every failure becomes a `failed` result."""
    store, settings = run.store, run.settings
    try:
        if not isinstance(job, ParseJob):
            raise job or IngestError("没有解析任务")
        same = store.find_by_sha(f.sha)  # the same content earlier in this run
        if same is not None:
            return _unchanged(f, same, settings)
        name = f.name if run.replace_same_name else _free_name(store, f.name)
        previous = store.find_by_name(name)
        bar = tqdm(total=job.pages, desc=name[:40], unit="page", disable=not run.progress, leave=False)
        done = 0

        def step(k: int) -> None:
            nonlocal done
            done += k
            bar.update(k)
            if run.on_page is not None:
                run.on_page(PageProgress(name, str(f.path), n, run.files, done, job.pages))

        step(0)
        try:
            doc = job.document(progress=step)
        finally:
            bar.close()
        doc.doc = name
        dest = settings.pdf_dir / f"{doc_id_for(doc.sha256)}.pdf"  # the hash of what was parsed
        _copy_pdf(f.path, dest)
        doc.path = str(dest)
        try:
            doc_id = store.save_document(doc, before_commit=_pause_hook(name))
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        if previous is not None and previous.doc_id != doc_id:
            (settings.pdf_dir / f"{previous.doc_id}.pdf").unlink(missing_ok=True)
        result = FileResult(path=str(f.path), status="replaced" if previous is not None else "added")
        _fill_counts(result, doc, doc_id)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
        return _failed(f, exc)
    finally:
        if isinstance(job, ParseJob):
            job.cancel()
    if run.on_stored is not None:
        try:
            run.on_stored(store.get_info(doc_id))
        except Exception as exc:  # noqa: BLE001 - the document is stored; only the hook's extra work is missing
            log.warning("%s stored, but on_stored failed: %s", name, exc)
            result.reason = f"stored; on_stored failed: {type(exc).__name__}: {exc}".splitlines()[0]
    return result


def _fill_counts(result: FileResult, doc: Document, doc_id: str) -> None:
    result.doc_id, result.doc, result.pages = doc_id, doc.doc, doc.pages
    result.tables, result.chunks = len(doc.tables), len(doc.chunks)
    result.rows = sum(len(t.rows) for t in doc.tables)


def _line(r: FileResult) -> str:
    name = Path(r.path).name
    if r.status == "failed":
        return f"FAILED     {name}: {r.reason}"
    if r.status == "unchanged":
        return f"unchanged  {name}: {r.reason}"
    return (f"{r.status:<10} {name}: {r.pages} pages, {r.tables} tables, {r.rows} rows, {r.chunks} chunks "
            f"({r.seconds:.1f}s)" + (f" [{r.reason}]" if r.reason else ""))


def ingest_paths(
    paths: Sequence[Path | str], settings: Settings | None = None, progress: bool = True,
    on_stored: Callable[[DocumentInfo], None] | None = None, store: SqlStore | None = None,
    display_names: Mapping[Path | str, str] | None = None, on_page: Callable[[PageProgress], None] | None = None,
    replace_same_name: bool = True,
) -> IngestReport:
    """Ingest PDF files and folders into the index; `progress` shows bars and one line per file.

    Files are parsed in one pool of `settings.workers` processes, the next files' pages while the
    current file is assembled and stored; results come in input order.

    - `on_stored(info)` runs right after each document is committed (its failure is reported in the
      file's `reason`, the document stays stored).
    - `display_names` maps input files (as given) to the names their documents are stored, listed and
      cited under (cleaned by `clean_name`; never used as a path); other files keep their own name.
    - `on_page(PageProgress)` is called when a file's parsing is first waited for and after each page.
    - A new document whose name a stored document already has replaces it; with
      `replace_same_name=False` it is stored beside it as `name (2).pdf` (content already stored is
      always `unchanged`).
    """
    settings = get_settings(settings)
    start = time.perf_counter()
    own_store = store is None
    store = store or open_store(settings)
    report = IngestReport()
    try:
        _remove_orphans(store, settings.pdf_dir)
        names = {Path(k).resolve(): clean_name(v) for k, v in (display_names or {}).items()}
        files = [_File(p, names.get(p.resolve(), p.name)) for p in find_pdfs(paths, skip=settings.index_dir)]
        run = _Run(store, settings, progress, on_stored, on_page, replace_same_name, len(files))

        def to_parse() -> Iterator[tuple[int, Path | None]]:
            for i, f in enumerate(files):
                _precheck(f, store, settings)
                yield i, f.path if f.result is None else None

        with Parser(settings.workers) as parser:
            last = time.perf_counter()
            for i, job in parse_ahead(parser, to_parse()):
                f = files[i]
                result = f.result or _store_parsed(f, i + 1, job, run)
                now = time.perf_counter()
                result.seconds, last = now - last, now  # this file's share of the run's time
                report.files.append(result)
                if progress:
                    tqdm.write(_line(result))
    finally:
        if own_store:
            store.close()
    report.seconds = time.perf_counter() - start
    return report


# ------------------------------------------------------------------ --show


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def document_to_show_json(doc: Document) -> dict[str, Any]:
    """The --show --json shape of a parsed document."""
    return {
        "doc": doc.doc, "unit": doc.unit, "year": doc.year, "kind": doc.kind, "pages": doc.pages,
        "tables": [
            {
                "title": t.title, "unit_of_measure": t.unit_of_measure, "pages": t.pages, "columns": t.columns,
                "rows": [
                    {"label": r.label, "code": r.code, "page": r.page, "bbox": [round(x, 1) for x in r.bbox],
                     "cells": [{"column": c.column, "text": c.text, "value": _number(c.value)} for c in r.cells]}
                    for r in t.rows
                ],
                "note": t.note,
            }
            for t in doc.tables
        ],
        "chunks": [{"section": c.section, "page": c.page, "text": c.text} for c in doc.chunks],
    }


def document_to_text(doc: Document, max_rows: int = 8) -> str:
    """A readable summary of a parsed document."""
    out = [f"{doc.doc}: {doc.unit} | {doc.year} | {doc.kind} | {doc.city or '-'} | {doc.pages} pages",
           f"title: {doc.title}", f"{len(doc.tables)} tables, {len(doc.chunks)} chunks", ""]
    for t in doc.tables:
        pages = ",".join(str(p) for p in t.pages)
        out.append(f"[{t.index}] {t.title}  ({t.name}; {t.unit_of_measure or '-'}; p.{pages}; {len(t.rows)} rows)")
        out.append("    columns: " + " | ".join("›".join(c) for c in t.columns))
        for r in t.rows[:max_rows]:
            vals = "; ".join(f"{'›'.join(c.column[-1:])}={c.text}" for c in r.cells if c.text)
            tag = f"{r.code} " if r.code else ""
            grp = f"[{r.group}] " if r.group else ""
            out.append(f"    p{r.page} {grp}{tag}{r.label}: {vals}")
        if len(t.rows) > max_rows:
            out.append(f"    … {len(t.rows) - max_rows} more rows")
        if t.note:
            out.append(f"    note: {t.note}")
    out.append("")
    for c in doc.chunks:
        text = c.text.replace("\n", " ")
        out.append(f"p{c.page} {' › '.join(c.section) or '-'}: {text[:80]}{'…' if len(text) > 80 else ''}")
    return "\n".join(out)


def show(path: Path, as_json: bool, settings: Settings | None = None) -> int:
    """Parse one file without storing it and print it; returns the exit status."""
    from ingest.pipeline import file_to_document

    try:
        doc = file_to_document(path, get_settings(settings))
    except (IngestError, OSError) as exc:
        print(f"FAILED     {path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        return 1
    if as_json:
        print(json.dumps(document_to_show_json(doc), ensure_ascii=False, indent=1))
    else:
        print(document_to_text(doc))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m ingest`."""
    ap = argparse.ArgumentParser(prog="python -m ingest", description="Ingest budget disclosure PDFs into the index.")
    ap.add_argument("paths", nargs="*", type=Path, help="PDF files and folders (searched recursively for *.pdf)")
    ap.add_argument("--index", type=Path, help="index folder (default: settings.index_dir)")
    ap.add_argument("--show", type=Path, metavar="FILE.pdf", help="parse one file without storing and print it")
    ap.add_argument("--json", action="store_true", help="with --show: print the parse as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--sql-only", action="store_true",
                    help="store in SQL only, not in the search index (it catches up when the search next opens)")
    return ap


def main(
    argv: Sequence[str] | None = None,
    on_stored_for: Callable[[Settings], Callable[[DocumentInfo], None]] | None = None,
) -> int:
    """Entry point of `python -m ingest`; returns the exit status.

    `on_stored_for(settings)` makes the hook run after each stored document (`ingest/__main__.py` passes
    the search index's, unless --sql-only).
    """
    ap = build_parser()
    args = ap.parse_args(argv)
    settings = Settings(index_dir=args.index) if args.index else get_settings()
    if args.show:
        return show(args.show, args.json, settings)
    if args.json:
        ap.error("--json goes with --show")
    if not args.paths:
        ap.error("give PDF files or folders to ingest (or --show FILE.pdf)")
    on_stored = on_stored_for(settings) if on_stored_for is not None and not args.sql_only else None
    report = ingest_paths(args.paths, settings, progress=not args.quiet, on_stored=on_stored)
    if args.quiet:
        for r in report.files:
            print(_line(r))
    print(report.summary())
    print(f"index: {settings.index_dir}")
    return 0 if report.ok else 1
