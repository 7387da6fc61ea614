"""Ingest speed against bare pdfplumber on the same files, in one run.

    .venv/bin/python bench/ingest_speed.py [--workers N] [--repeat R] [FILES_OR_DIRS...]

Default input: ../shared/corpus/pdf/*.pdf and ../shared/corpus/synthetic/*.pdf. The ingest side is the
full pipeline into a temporary index (parse, hash, copy, store); the baseline is pdfplumber's
extract_text + extract_tables on every page, in one process. A file ingest cannot read is reported as failed
and left out of both rates. With --repeat R both sides run R times, alternating, and the fastest run of each
counts (the machine is shared: the load average before and after is printed, with the CPU seconds each side
used, which other jobs barely change).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402

from core.settings import Settings  # noqa: E402
from ingest.cli import IngestReport, find_pdfs, ingest_paths  # noqa: E402

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


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the ingest workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_ingest(files: list[Path], workers: int | None) -> tuple[IngestReport, float, float, int]:
    """(report, seconds, CPU seconds, workers) of one ingest of `files` into a new temporary index."""
    with tempfile.TemporaryDirectory(prefix="budgetqa-bench-") as tmp:
        extra = {"workers": workers} if workers else {}
        settings = Settings(index_dir=Path(tmp) / "index", **extra)
        cpu, start = cpu_seconds(), time.perf_counter()
        report = ingest_paths(files, settings, progress=False)
        return report, time.perf_counter() - start, cpu_seconds() - cpu, settings.workers


def main(argv: list[str] | None = None) -> int:
    """Run both sides and print pages/s and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="*", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--workers", type=int, default=None, help="ingest worker processes (default: settings)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest counts")
    args = ap.parse_args(argv)

    files = find_pdfs(args.inputs)
    load = os.getloadavg()[0]
    ingest_runs: list[tuple[float, float]] = []
    plumber_runs: list[tuple[float, float]] = []
    for _ in range(max(1, args.repeat)):
        report, ingest_s, ingest_cpu, workers = run_ingest(files, args.workers)
        ingest_runs.append((ingest_s, ingest_cpu))
        good = [Path(r.path) for r in report.stored]
        cpu = cpu_seconds()
        plumber_pages, plumber_s = bare_pdfplumber(good)
        plumber_runs.append((plumber_s, cpu_seconds() - cpu))
    for r in report.files:
        if r.status == "failed":
            print(f"failed: {Path(r.path).name}: {r.reason}")
    ingest_pages = report.pages
    ingest_s, ingest_cpu = min(ingest_runs)
    plumber_s, plumber_cpu = min(plumber_runs)

    ingest_rate = ingest_pages / ingest_s if ingest_s else 0.0
    plumber_rate = plumber_pages / plumber_s if plumber_s else 0.0
    print(f"files: {len(files)} ({len(good)} ingested, {report.count('failed')} failed); pages: {ingest_pages}; "
          f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"ingest ({workers} workers, incl. store): {ingest_s:6.2f} s  {ingest_rate:6.1f} pages/s  "
          f"CPU {ingest_cpu:6.2f} s  tables {sum(r.tables for r in report.stored)}  "
          f"rows {sum(r.rows for r in report.stored)}  chunks {sum(r.chunks for r in report.stored)}")
    print(f"bare pdfplumber (1 process):          {plumber_s:6.2f} s  {plumber_rate:6.1f} pages/s  "
          f"CPU {plumber_cpu:6.2f} s")
    if args.repeat > 1:
        print("runs (s): ingest " + " ".join(f"{s:.2f}" for s, _ in ingest_runs)
              + " | pdfplumber " + " ".join(f"{s:.2f}" for s, _ in plumber_runs))
    if plumber_rate:
        print(f"ratio ingest / pdfplumber: {ingest_rate / plumber_rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
