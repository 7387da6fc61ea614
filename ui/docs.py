"""Managing the indexed documents from the UI: uploads, deletion, re-indexing and display names.

An uploaded file's name is never used as a path: the bytes go to a file with a random name in
``settings.upload_dir`` (or the system temp dir), that file is ingested, and the original name (cleaned)
is the name the document is stored, listed and cited under. Indexes from before kept uploads' names in
``index_dir/ui/names.json``; those names are still shown.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BudgetQAError
from core.models import DocumentInfo
from core.settings import Settings
from core.store import SqlStore
from ingest.cli import PageProgress, clean_name, ingest_paths
from ingest.pipeline import ParseJob, Parser, parse_ahead

from .render import remove_page_images

log = logging.getLogger("budgetqa.ui")
_NAMES_LOCK = threading.Lock()


@dataclass
class UploadResult:
    name: str  # display name (the uploaded file's own name)
    ok: bool
    status: str  # added | replaced | unchanged | failed
    message: str
    doc_id: str | None = None


# ------------------------------------------------------------------ display names


def _names_file(settings: Settings) -> Path:
    return settings.index_dir / "ui" / "names.json"


def load_names(settings: Settings) -> dict[str, str]:
    """doc_id → display name of documents uploaded before uploads were stored under their own name."""
    try:
        data = json.loads(_names_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_names(settings: Settings, names: dict[str, str]) -> None:
    path = _names_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".names.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(names, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _set_name(settings: Settings, doc_id: str, name: str | None) -> None:
    with _NAMES_LOCK:
        names = load_names(settings)
        if name is None:
            names.pop(doc_id, None)
        else:
            names[doc_id] = name
        _save_names(settings, names)


def display_name(info: DocumentInfo, names: dict[str, str]) -> str:
    return names.get(info.doc_id) or info.doc


def doc_label(info: DocumentInfo) -> str:
    """How a document is named in lists: unit · year · kind."""
    parts = [info.unit or "（未识别单位）", f"{info.year}年" if info.year else "", info.kind or ""]
    return " · ".join(p for p in parts if p)


# ------------------------------------------------------------------ retrieval index


def open_search(settings: Settings, store: SqlStore) -> Any | None:
    """The hybrid search over `store` (Chroma brought in step with SQL on opening), or None when unavailable.

    Answering reads the table store, so the chat still works without it; uploads and deletions then only
    change SQL, and the next HybridSearch opened anywhere catches up.
    """
    try:
        from retrieval.hybrid import HybridSearch

        return HybridSearch(settings, store)
    except Exception as exc:  # noqa: BLE001 - Chroma down or misconfigured must not stop the chat
        log.warning("vector index unavailable: %s", exc)
        return None


def sync_search(search: Any | None, full: bool = False) -> None:
    """Bring the vector index in line with SQL; `full` compares every document item by item (after re-parsing)."""
    if search is None:
        return
    try:
        search.sync(full=full)
    except Exception as exc:  # noqa: BLE001
        log.warning("vector index sync failed: %s", exc)


# ------------------------------------------------------------------ uploads


def upload_dir(settings: Settings) -> Path:
    base = Path(settings.upload_dir) if settings.upload_dir else Path(tempfile.gettempdir()) / "budgetqa-uploads"
    base.mkdir(parents=True, exist_ok=True)
    return base


def write_upload(settings: Settings, data: bytes) -> Path:
    """The uploaded bytes in a new file with a random name (never the uploaded name)."""
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".pdf", dir=upload_dir(settings))
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def ingest_uploads(
    settings: Settings, store: SqlStore, files: Sequence[tuple[str, bytes]], search: Any | None = None,
    on_page: Callable[[PageProgress], None] | None = None,
) -> list[UploadResult]:
    """Ingest uploaded (name, bytes) in one run, one result each; a file that fails leaves the index as it was.

    Each document is stored under its uploaded name (cleaned); a second upload under a name already in the
    index with other content is stored beside it (`name (2).pdf`), not over it. `on_page` follows the
    parsing page by page.
    """
    results = [UploadResult(clean_name(name), False, "failed", "没有可导入的内容" if data else "文件为空")
               for name, data in files]
    paths: dict[Path, int] = {}
    try:
        for i, (_, data) in enumerate(files):
            if data:
                paths[write_upload(settings, data)] = i
        report = ingest_paths(list(paths), settings, progress=False, store=store, on_page=on_page,
                              display_names={p: results[i].name for p, i in paths.items()}, replace_same_name=False)
    except BudgetQAError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        for i in paths.values():
            results[i].message = reason
        return results
    finally:
        for p in paths:
            p.unlink(missing_ok=True)
    names = load_names(settings)
    for r in report.files:
        i = paths[Path(r.path)]
        shown = results[i].name
        if r.status == "failed":
            results[i] = UploadResult(shown, False, "failed", r.reason or "无法导入")
        elif r.status == "unchanged":
            known = names.get(r.doc_id or "") or r.doc or ""
            results[i] = UploadResult(shown, True, "unchanged", f"内容与已索引的文档相同（{known}），未重复导入", r.doc_id)
        else:
            renamed = f"，名称已存在，存为“{r.doc}”" if r.doc != shown else ""
            results[i] = UploadResult(shown, True, r.status, f"已导入：{r.pages} 页，{r.tables} 张表，{r.rows} 行，"
                                      f"{r.chunks} 段文字{renamed}", r.doc_id)
    if report.stored:
        sync_search(search)
    return results


# ------------------------------------------------------------------ deletion and re-indexing


def delete_document(settings: Settings, store: SqlStore, doc_id: str, search: Any | None = None) -> None:
    """Remove a document from the table store, the vector index, the PDF copies and the page images."""
    info = store.get_info(doc_id)
    if search is not None:
        search.delete_document(doc_id)  # SQL and Chroma
    else:
        store.delete_document(doc_id)
    pdf_dir = settings.pdf_dir.resolve()
    for candidate in {info.path, str(settings.pdf_dir / f"{doc_id}.pdf")}:
        if candidate:
            p = Path(candidate)
            if p.is_file() and p.resolve().is_relative_to(pdf_dir):
                p.unlink(missing_ok=True)
    remove_page_images(settings, doc_id)
    _set_name(settings, doc_id, None)


def reindex_all(
    settings: Settings, store: SqlStore, progress: Callable[[int, int, str], None] | None = None,
    search: Any | None = None,
) -> list[tuple[str, str]]:
    """Parse every stored PDF again and replace its document in one transaction each, then sync Chroma in full.

    The PDFs are parsed in one worker pool, the next while one is stored. A document whose PDF is missing
    or no longer parses keeps its old version. Returns (document name, problem) for those.
    """
    problems: list[tuple[str, str]] = []
    infos = store.list_documents()

    def to_parse() -> Iterator[tuple[DocumentInfo, Path | None]]:
        for info in infos:
            path = Path(info.path) if info.path else settings.pdf_dir / f"{info.doc_id}.pdf"
            yield info, path if path.is_file() else None

    with Parser(settings.workers) as parser:
        for i, (info, job) in enumerate(parse_ahead(parser, to_parse())):
            if progress:
                progress(i, len(infos), info.doc)
            try:
                if job is None:
                    problems.append((info.doc, "原始PDF已不在索引目录中"))
                    continue
                if not isinstance(job, ParseJob):
                    raise job
                doc = job.document()
            except BudgetQAError as exc:
                problems.append((info.doc, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
                continue
            doc.doc, doc.path = info.doc, str(job.path)
            store.save_document(doc)
            remove_page_images(settings, info.doc_id)
    if progress:
        progress(len(infos), len(infos), "")
    sync_search(search, full=True)  # same doc_ids, maybe other items: compared item by item
    return problems


def ingest_bundled(settings: Settings, store: SqlStore) -> int:
    """On first start with an empty index, ingest the bundled PDFs of `data_dir`; returns how many."""
    if store.list_documents() or not Path(settings.data_dir).is_dir():
        return 0
    report = ingest_paths([settings.data_dir], settings, progress=False, store=store)
    return len(report.stored)
