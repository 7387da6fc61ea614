"""Retrieval speed on N synthetic disclosures (plus the two bundled real ones): p50/p95 per query, index size.

    .venv/bin/python bench/retrieval_speed.py [--n 100 1000] [--max-queries 400] [--out bench/out/retrieval]

For each N: generate N disclosures with ../shared/tools/synth_disclosures.py (mixed styles, seed 1), ingest
them and data/*.pdf with `python -m ingest`, open HybridSearch (which builds the Chroma index) and time
hybrid search over the questions of ../shared/eval/real_dev.jsonl and a fixed sample of the synthetic QA,
each within its gold document ("doc"), over the whole corpus ("all") and as the service searches a
question alone ("question": the units it names resolved to their documents, searched there; all when it
names none). Each search is timed cold (hit and vector caches emptied), right again ("warm"), and as the
median of --repeats more ("steady": one slow moment of the machine does not count, a slow question does).
All sizes are opened first and then timed question by question in turn, so a slow spell of the machine
falls on every size alike. With retrieval.rows present, row lookups of the questions' source rows are
timed too. Generated files and indexes are kept under --out and reused by later runs; results go to
--out/retrieval_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.models import ChunkHit  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store import open_store  # noqa: E402

SHARED = ROOT.parent / "shared"
SYNTH = SHARED / "tools" / "synth_disclosures.py"
REAL_DEV = SHARED / "eval" / "real_dev.jsonl"
MODES = ("doc", "all", "question")


def run(cmd: list[str]) -> float:
    """Run a command from the project root (output passed through); seconds taken."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - start


def du(path: Path) -> int:
    """Bytes under a path."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def load_questions(synth_dir: Path, max_queries: int) -> list[dict[str, Any]]:
    """real_dev questions plus a fixed sample of the synthetic ones: question, doc file, gold pages, row phrase."""
    out: list[dict[str, Any]] = []
    for line in REAL_DEV.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        doc = f"{q['doc']}.pdf" if q.get("doc") and q["doc"] != "both" else None
        out.append({"set": "real_dev", "question": q["question"], "doc": doc, "pages": None,
                    "row": (q.get("source") or {}).get("row")})
    synth = [json.loads(x) for x in (synth_dir / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
    synth = [q for q in synth if q.get("answerable", True) and len(q.get("docs") or [q.get("doc")]) == 1]
    random.Random(1).shuffle(synth)
    for q in synth[:max_queries]:
        pages = {q.get("source_page")} | {a.get("page") for a in q.get("alt_sources") or []}
        out.append({"set": "synthetic", "question": q["question"], "doc": q["doc"], "pages": pages - {None},
                    "row": q.get("source_row")})
    return out


def row_lookup(settings: Settings) -> tuple[str, Callable[[str, list[str] | None, int], list[Any]]] | None:
    """The lead's row lookup, whichever API retrieval.rows offers, or None."""
    try:
        from retrieval import rows
    except ImportError:
        return None
    if hasattr(rows, "RowIndex"):
        index = rows.RowIndex(settings)
        return "RowIndex.lookup", lambda p, d, k: index.lookup(p, d, k)
    if hasattr(rows, "load_corpus") and hasattr(rows, "lookup"):
        corpus = rows.load_corpus(settings)
        return "rows.lookup", lambda p, d, k: rows.lookup(corpus, p, d, k)
    return None


@dataclass
class Size:
    """One corpus size, opened for timing: its searcher, questions and the figures gathered so far."""

    n: int
    res: dict[str, Any]
    hs: Any  # retrieval.hybrid.HybridSearch
    settings: Settings
    questions: list[dict[str, Any]]
    by_name: dict[str, str]
    times: dict[str, list[float]] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    judged: int = 0


def prepare(n: int, out: Path, max_queries: int) -> Size:
    """Generate, ingest and index one corpus size; time opening it."""
    from retrieval.hybrid import HybridSearch
    from retrieval.lexical import LexicalIndex

    synth_dir, index = out / f"synth-{n}", out / f"index-{n}"
    res: dict[str, Any] = {"n_synthetic": n}
    manifest = synth_dir / "manifest.json"
    if not (manifest.exists() and json.loads(manifest.read_text())["n"] == n):
        res["generate_s"] = run([sys.executable, str(SYNTH), "--out", str(synth_dir), "--n", str(n), "--style",
                                 "mixed", "--seed", "1", "--workers", "2", "--quiet"])
    settings = Settings(index_dir=index)
    if len(open_store(settings).list_documents()) < n + 2:
        res["ingest_s"] = run([sys.executable, "-m", "ingest", str(synth_dir), *map(str, sorted(
            (ROOT / "data").glob("*.pdf"))), "--index", str(index), "--quiet"])
    store = open_store(settings)
    infos = store.list_documents()
    res["documents"] = len(infos)
    res["items"] = sum(i.n_chunks + i.n_rows for i in infos)

    start = time.perf_counter()
    hs = HybridSearch(settings)
    res["open_and_sync_s"] = round(time.perf_counter() - start, 2)
    res["vector_indexed_docs"] = len(hs.last_sync.to_reindex()) if hs.last_sync else 0
    cached = len(list((index / "lexical").rglob("*.npz")))
    start = time.perf_counter()
    hs.lexical.refresh()
    res["bm25_build_s"] = round(time.perf_counter() - start, 2)
    res["bm25_docs_from_cache"] = cached
    start = time.perf_counter()
    LexicalIndex(settings, store).refresh()
    res["bm25_reload_from_cache_s"] = round(time.perf_counter() - start, 2)
    res["bm25"] = hs.lexical.stats()
    start = time.perf_counter()
    hs.sync(full=True)
    res["full_sync_when_clean_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    hs.sync()
    res["incremental_sync_when_clean_s"] = round(time.perf_counter() - start, 3)
    hs.search("预热", k=5)  # first query loads jieba
    size = Size(n, res, hs, settings, load_questions(synth_dir, max_queries), {i.doc: i.doc_id for i in infos})
    size.times = {f"{m}_{r}": [] for m in MODES for r in ("cold", "warm", "steady")}
    size.found = dict.fromkeys(MODES, 0)
    return size


def time_question(size: Size, q: dict[str, Any], k: int, repeats: int) -> None:
    """Time one question every way on one size: cold, right again, and the median of `repeats` more."""
    hs = size.hs
    doc_id = size.by_name.get(q["doc"]) if q["doc"] else None
    for mode in MODES:
        if mode == "doc" and doc_id is None:
            continue
        warm: list[float] = []
        for n_run in range(2 + repeats):
            if n_run == 0:  # really cold: at N = 100 the questions share documents read before
                hs.hits.clear()
                hs.vector.forget()
            start = time.perf_counter()
            if mode == "question":
                hits = hs.search_question(q["question"], k=k)[1]
            else:
                hits = hs.search(q["question"], [doc_id] if mode == "doc" else None, k=k)
            (warm.append if n_run else size.times[f"{mode}_cold"].append)((time.perf_counter() - start) * 1000)
        size.times[f"{mode}_warm"].append(warm[0])
        size.times[f"{mode}_steady"].append(statistics.median(warm[1:]))
        if q["pages"] and doc_id:
            pages = {(h.chunk.page if isinstance(h, ChunkHit) else h.row.page) for h in hits if h.doc.doc_id == doc_id}
            size.found[mode] += bool(pages & q["pages"])
    size.judged += bool(q["pages"] and doc_id)


def finish(size: Size, k: int) -> dict[str, Any]:
    """The figures of one size: search times, page hits, row lookups, disk."""
    res, settings = size.res, size.settings
    for name, ts in size.times.items():
        res[f"search_{name}_ms"] = {"queries": len(ts), "p50": round(pct(ts, 50), 1), "p95": round(pct(ts, 95), 1),
                                    "mean": round(statistics.fmean(ts), 1) if ts else None}
    for mode in MODES:
        res[f"page_hit_at_{k}_{mode}"] = f"{size.found[mode]}/{size.judged}"

    lookup = row_lookup(settings)
    if lookup is not None:
        name, fn = lookup
        ts = []
        for q in size.questions:
            if q["row"]:
                doc_id = size.by_name.get(q["doc"]) if q["doc"] else None
                start = time.perf_counter()
                fn(q["row"], [doc_id] if doc_id else None, k)
                ts.append((time.perf_counter() - start) * 1000)
        res[f"row_lookup_ms ({name})"] = {"queries": len(ts), "p50": round(pct(ts, 50), 2),
                                          "p95": round(pct(ts, 95), 2)}

    index = settings.index_dir
    mb = lambda b: round(b / 1e6, 1)  # noqa: E731
    res["disk_mb"] = {"total": mb(du(index)), "sqlite": mb(sum(du(p) for p in index.glob("*.sqlite*"))),
                      "chroma": mb(du(settings.chroma_dir)), "bm25_cache": mb(du(index / "lexical")),
                      "pdf_copies": mb(du(settings.pdf_dir))}
    size.hs.close()
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each N and print and save the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[20], help="corpus sizes (e.g. 100 1000); default 20")
    ap.add_argument("--max-queries", type=int, default=400, help="synthetic questions sampled per size")
    ap.add_argument("-k", type=int, default=5, help="hits per search")
    ap.add_argument("--repeats", type=int, default=3, help="repeats after the first repeated search, for 'steady'")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "retrieval")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sizes = [prepare(n, args.out.resolve(), args.max_queries) for n in args.n]
    # Question by question, each size in turn: a slow spell of this shared machine falls on every size alike.
    for i in range(max(len(size.questions) for size in sizes)):
        for size in sizes:
            if i < len(size.questions):
                time_question(size, size.questions[i], args.k, args.repeats)
    results = []
    for size in sizes:
        res = finish(size, args.k)
        print(f"== N = {size.n}", flush=True)
        print(json.dumps(res, ensure_ascii=False, indent=1), flush=True)
        results.append(res)
    (args.out / "retrieval_speed.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
