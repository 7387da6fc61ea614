"""PDF files in, Documents out: every page parsed once, in worker processes, then tables, text, identity.

A `Parser` owns one pool of worker processes for a whole run. Each page is one task; a worker keeps the file
it is reading open between its pages, so a file is opened once per worker, not once per task. `parse_ahead`
submits the pages of the next files while the caller assembles and stores the current one, so the workers
do not wait for the parent's post-processing or its SQL commit. Workers die with the process that started
them (Linux: PR_SET_PDEATHSIG; elsewhere a thread watching the parent pid).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from core.errors import BudgetQAError, NoTextLayerError
from core.models import Document, Table
from core.settings import Settings, get_settings

from .captions import layouts_to_pieces, pieces_to_raw_tables
from .identity import pages_to_identity, title_to_name
from .layout import PageLayout
from .pdf import open_pdf, page_count, parse_page
from .tables import raw_table_to_table
from .text import lines_to_chunks, pages_to_lines

K = TypeVar("K")
LOOKAHEAD_PAGES = 16  # per worker: pages of the next files kept submitted while the current one is finished
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------ worker processes


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_init(parent: int) -> None:
    """Make this worker exit as soon as the process that started it is gone, even when that one was SIGKILLed.

    Linux sends the signal when the *thread* that forked the worker ends: a Parser is opened, used and closed
    by one thread (ingest_paths does), so that thread outlives its workers.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


_OPEN: dict[tuple[str, int, int, int, int], Any] = {}  # in a worker: the files it is reading, kept open


def _file_key(path: str) -> tuple[str, int, int, int, int]:
    st = os.stat(path)
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _parse_page(path: str, number: int) -> PageLayout:
    """Worker task: one page, from the worker's open copy of the file (opened on its first page)."""
    key = _file_key(path)
    pdf = _OPEN.get(key)
    if pdf is None:
        while len(_OPEN) >= 2:  # pages come file after file: the oldest open file is done with
            _OPEN.pop(next(iter(_OPEN))).close()
        pdf = _OPEN[key] = open_pdf(Path(path))
    return parse_page(pdf, number)


# ------------------------------------------------------------------ parsing


class ParseJob:
    """One file submitted to a Parser: its pages being parsed, in page order."""

    def __init__(self, path: Path, pages: int, futures: list[Future[PageLayout]] | None = None,
                 pdf: Any = None) -> None:
        self.path = path
        self.pages = pages
        self._futures = futures
        self._pdf = pdf  # without futures: the open file, parsed in this process when asked for

    def layouts(self, progress: Callable[[int], None] | None = None) -> list[PageLayout]:
        """Every page as layout data, in page order; `progress(1)` after each page."""
        try:
            out = []
            for n in range(1, self.pages + 1):
                out.append(self._futures[n - 1].result() if self._futures else parse_page(self._pdf, n))
                if progress:
                    progress(1)
            return out
        finally:
            self.cancel()

    def document(self, progress: Callable[[int], None] | None = None) -> Document:
        """The parsed Document (raises core.errors.IngestError subclasses with a one-line reason)."""
        return layouts_to_document(self.path, self.layouts(progress))

    def cancel(self) -> None:
        """Drop the pages not started yet (and close the file when it was open here)."""
        for fut in self._futures or ():
            fut.cancel()
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


class Parser:
    """Parses pages of PDF files in one pool of `workers` processes, started on first need; a context manager."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=get_context("fork"), initializer=_worker_init,
                initargs=(os.getpid(),),
            )
        return self._pool

    def submit(self, path: Path) -> ParseJob:
        """Start parsing a file (its pages are counted here; unreadable files raise IngestError here)."""
        path = Path(path)
        if self.workers <= 1:
            pdf = open_pdf(path)
            return ParseJob(path, len(pdf.pages), pdf=pdf)
        n = page_count(path)
        try:
            futures = [self._executor().submit(_parse_page, str(path), i) for i in range(1, n + 1)]
        except BrokenProcessPool:  # a worker died (killed, out of memory): the files after it get a new pool
            self.close()
            futures = [self._executor().submit(_parse_page, str(path), i) for i in range(1, n + 1)]
        return ParseJob(path, n, futures)

    def close(self) -> None:
        """Stop the workers (pages not started yet are dropped)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def parse_ahead(
    parser: Parser, items: Iterable[tuple[K, Path | None]], lookahead_pages: int | None = None,
) -> Iterator[tuple[K, ParseJob | BudgetQAError | None]]:
    """(key, job) for each (key, path) in order, submitting the next files while the caller handles one.

    A path of None is passed through as None (nothing to parse); a file that cannot be opened comes as
    its IngestError. `items` is read lazily, only as far as the look-ahead needs: at least one file
    beyond the one being handed out, and more while fewer than `lookahead_pages` pages are waiting.
    The caller takes each job's layouts (or cancels it) before asking for the next.
    """
    limit = LOOKAHEAD_PAGES * parser.workers if lookahead_pages is None else lookahead_pages
    queue: deque[tuple[K, ParseJob | BudgetQAError | None]] = deque()
    source = iter(items)
    exhausted = False

    def waiting() -> tuple[int, int]:
        jobs = [j for _, j in queue if isinstance(j, ParseJob)]
        return len(jobs), sum(j.pages for j in jobs)

    def fill() -> None:
        nonlocal exhausted
        while not exhausted:
            n_jobs, n_pages = waiting()
            if n_jobs >= 1 and n_pages >= limit:
                return
            try:
                key, path = next(source)
            except StopIteration:
                exhausted = True
                return
            job: ParseJob | BudgetQAError | None = None
            if path is not None:
                try:
                    job = parser.submit(path)
                except BudgetQAError as exc:
                    job = exc
            queue.append((key, job))

    try:
        fill()
        while queue:
            key, job = queue.popleft()
            fill()
            yield key, job
    finally:
        for _, job in queue:
            if isinstance(job, ParseJob):
                job.cancel()


def file_to_layouts(path: Path, workers: int = 1, progress: Callable[[int], None] | None = None) -> list[PageLayout]:
    """Every page of the file as layout data, in page order; `progress(1)` after each page."""
    with Parser(workers) as parser:
        return parser.submit(path).layouts(progress)


# ------------------------------------------------------------------ assembling a document


def layouts_to_tables(layouts: list[PageLayout], unit: str, year: int | None) -> list[Table]:
    tables = [raw_table_to_table(raw, i) for i, raw in enumerate(pieces_to_raw_tables(layouts_to_pieces(layouts)))]
    for t in tables:
        t.name = title_to_name(t.title, unit) if t.title else ""
        for row in t.rows:
            if not row.label and year:
                row.label = f"{year}年预算数"  # a table without a name column holds the year's budget figures
            for cell in row.cells:
                if cell.value is not None and cell.unit is None:
                    cell.unit = t.unit_of_measure
    return tables


def layouts_to_document(path: Path, layouts: list[PageLayout]) -> Document:
    """The Document of a parsed file; its hash is taken now, after parsing (what was parsed is what is named)."""
    if sum(p.n_chars for p in layouts) == 0:
        raise NoTextLayerError("PDF没有文字层（扫描件），需要先做OCR")
    ident = pages_to_identity(layouts)
    unit = str(ident["unit"] or "")
    tables = layouts_to_tables(layouts, unit, ident["year"])  # type: ignore[arg-type]
    chunks = lines_to_chunks(pages_to_lines(layouts), {p.number: p.width for p in layouts})
    return Document(
        doc=path.name, sha256=file_sha256(path), unit=unit, year=ident["year"],  # type: ignore[arg-type]
        kind=ident["kind"], pages=len(layouts), tables=tables, chunks=chunks,  # type: ignore[arg-type]
        city=ident["city"], title=str(ident["title"]), path=str(path),  # type: ignore[arg-type]
    )


def file_to_document(
    path: Path, settings: Settings | None = None, progress: Callable[[int], None] | None = None
) -> Document:
    """Parse one disclosure PDF (raises core.errors.IngestError subclasses with a one-line reason)."""
    settings = get_settings(settings)
    path = Path(path)
    return layouts_to_document(path, file_to_layouts(path, settings.workers, progress))
