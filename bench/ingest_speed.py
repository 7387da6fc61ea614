"""Ingest speed against bare pdfplumber on the same files, in one run.

    .venv/bin/python bench/ingest_speed.py [--workers N] [FILES_OR_DIRS...]

Default input: ../shared/corpus/pdf/*.pdf and ../shared/corpus/synthetic/*.pdf. The ingest side is the
full pipeline into a temporary index (parse, hash, copy, store); the baseline is pdfplumber's
extract_text + extract_tables on every page, in one process. A file ingest cannot read is reported as failed
and left out of both rates.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402

from core.settings import Settings  # noqa: E402
from ingest.cli import find_pdfs, ingest_paths  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_INPUTS = [CORPUS / "pdf", CORPUS / "synthetic"]


def bare_pdfplumber(files: list[Path]) -> tuple[int, float]:
    """(pages, seconds) of extract_text + extract_tables on every page of `files`."""
    pages = 0
    start = time.perf_counter()
    for f in files:
        with pdfplumber.open(f) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.extract_tables()
                page.close()
                pages += 1
    return pages, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run both sides and print pages/s and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="*", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--workers", type=int, default=None, help="ingest worker processes (default: settings)")
    args = ap.parse_args(argv)

    files = find_pdfs(args.inputs)
    with tempfile.TemporaryDirectory(prefix="budgetqa-bench-") as tmp:
        extra = {"workers": args.workers} if args.workers else {}
        settings = Settings(index_dir=Path(tmp) / "index", **extra)
        start = time.perf_counter()
        report = ingest_paths(files, settings, progress=False)
        ingest_s = time.perf_counter() - start
    for r in report.files:
        if r.status == "failed":
            print(f"failed: {Path(r.path).name}: {r.reason}")
    good = [Path(r.path) for r in report.stored]
    ingest_pages = report.pages
    plumber_pages, plumber_s = bare_pdfplumber(good)

    ingest_rate = ingest_pages / ingest_s if ingest_s else 0.0
    plumber_rate = plumber_pages / plumber_s if plumber_s else 0.0
    print(f"files: {len(files)} ({len(good)} ingested, {report.count('failed')} failed); pages: {ingest_pages}")
    print(f"ingest ({settings.workers} workers, incl. store): {ingest_s:6.2f} s  {ingest_rate:6.1f} pages/s  "
          f"tables {sum(r.tables for r in report.stored)}  rows {sum(r.rows for r in report.stored)}  "
          f"chunks {sum(r.chunks for r in report.stored)}")
    print(f"bare pdfplumber (1 process):          {plumber_s:6.2f} s  {plumber_rate:6.1f} pages/s")
    if plumber_rate:
        print(f"ratio ingest / pdfplumber: {ingest_rate / plumber_rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
