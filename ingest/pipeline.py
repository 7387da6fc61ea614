"""A PDF file in, a Document out: pages parsed once each (in parallel), then tables, text, identity."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from core.errors import NoTextLayerError
from core.models import Document, Table
from core.settings import Settings, get_settings

from .captions import layouts_to_pieces, pieces_to_raw_tables
from .identity import pages_to_identity, title_to_name
from .layout import PageLayout
from .pdf import page_count, pages_to_layouts
from .tables import raw_table_to_table
from .text import lines_to_chunks, pages_to_lines

_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0
BATCH = 4  # pages per task: large enough to amortise opening the file in a worker


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE != workers:
        if _POOL is not None:
            _POOL.shutdown()
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
        _POOL_SIZE = workers
    return _POOL


def file_to_layouts(path: Path, workers: int = 1, progress: Callable[[int], None] | None = None) -> list[PageLayout]:
    """Every page of the file as layout data, in page order."""
    n = page_count(path)
    batches = [list(range(i, min(i + BATCH, n + 1))) for i in range(1, n + 1, BATCH)]
    layouts: list[PageLayout] = []
    if workers <= 1 or n <= BATCH:
        for batch in batches:
            layouts.extend(pages_to_layouts(path, batch))
            if progress:
                progress(len(batch))
        return layouts
    futures = [_pool(workers).submit(pages_to_layouts, path, b) for b in batches]
    for fut in futures:
        part = fut.result()
        layouts.extend(part)
        if progress:
            progress(len(part))
    return layouts


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


def file_to_document(
    path: Path, settings: Settings | None = None, progress: Callable[[int], None] | None = None
) -> Document:
    """Parse one disclosure PDF (raises core.errors.IngestError subclasses with a one-line reason)."""
    settings = get_settings(settings)
    path = Path(path)
    layouts = file_to_layouts(path, settings.workers, progress)
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
