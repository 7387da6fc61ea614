"""Answering speed on N synthetic disclosures (plus the two bundled real ones): questions/s, p50/p95 per question.

    .venv/bin/python bench/answer_speed.py [--n 100 1000] [--max-questions 1000] [--profile 20] [--out bench/out/retrieval]

Uses the corpora of bench/retrieval_speed.py (`synth-N` and `index-N` under --out: N disclosures from
../shared/tools/synth_disclosures.py --style mixed --seed 1, ingested with data/*.pdf), generating and ingesting
them the same way when missing. For each N it writes a batch of the 35 questions of ../shared/eval/real_dev.jsonl
and a fixed sample of the corpus's own synthetic questions (synth-N/qa.jsonl, every type, seed 1), then runs the
product's batch path in this process, `answering.__main__.main(["--json", "--batch", FILE, "--index", DIR])`, with
standard output captured line by line: a question's time is the gap between its answer line and the previous one
(the first one counts from the call, so it includes loading the corpus, and is reported apart as the warm-up).
No LLM: the bench stops if the settings enable one. The slowest questions, and those around the p95, are then
run again through the same batch path under cProfile (top 15 functions by cumulative time). Answers, figures and
the code version (commit, files changed since) go to --out.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import retrieval_speed as rs  # noqa: E402  (same corpora, commands and percentile as the retrieval benchmark)

from answering.__main__ import main as answering_main  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store import open_store  # noqa: E402

P95_GOAL_MS = 50.0
RATE_GOAL = 50.0


class LineClock(io.TextIOBase):
    """A stdout that keeps each complete line, the moment it was written and the process's CPU time then."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []
        self.cpu: list[float] = []
        self._buf = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.times.append(time.perf_counter())
            self.cpu.append(time.process_time())
            self.lines.append(line)
        return len(s)


def code_version() -> str:
    """The commit checked out and the files changed since, as the timings depend on them."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout  # noqa: E731
    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return git("rev-parse", "--short", "HEAD").strip() + (f" + uncommitted {', '.join(dirty)}" if dirty else "")


def ensure_corpus(n: int, out: Path) -> tuple[Path, Path]:
    """synth-N and index-N under `out`, made like bench/retrieval_speed.py does when missing."""
    synth_dir, index = out / f"synth-{n}", out / f"index-{n}"
    manifest = synth_dir / "manifest.json"
    if not (manifest.exists() and json.loads(manifest.read_text())["n"] == n):
        rs.run([sys.executable, str(rs.SYNTH), "--out", str(synth_dir), "--n", str(n), "--style", "mixed",
                "--seed", "1", "--workers", "2", "--quiet"])
    if len(open_store(Settings(index_dir=index)).list_documents()) < n + 2:
        rs.run([sys.executable, "-m", "ingest", str(synth_dir), *map(str, sorted((ROOT / "data").glob("*.pdf"))),
                "--index", str(index), "--quiet"])
    return synth_dir, index


def write_batch(synth_dir: Path, path: Path, max_questions: int) -> list[dict[str, Any]]:
    """real_dev lines as they are, then a fixed sample of the corpus's synthetic questions (all types)."""
    items = [json.loads(x) for x in rs.REAL_DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    for q in items:
        q["set"] = "real_dev"
    synth = [json.loads(x) for x in (synth_dir / "qa.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    random.Random(1).shuffle(synth)
    for q in synth[:max_questions]:
        q["set"] = "synthetic"
        items.append(q)
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in items), encoding="utf-8")
    return items


def run_batch(batch: Path, index: Path) -> tuple[float, float, LineClock]:
    """The product's batch path in this process; start time, start CPU time and the timed output lines."""
    clock = LineClock()
    start, start_cpu = time.perf_counter(), time.process_time()
    with redirect_stdout(clock):
        code = answering_main(["--json", "--batch", str(batch), "--index", str(index)])
    if code != 0:
        raise SystemExit(f"python -m answering --batch exited with {code}")
    return start, start_cpu, clock


def ms_stats(ms: list[float]) -> dict[str, Any]:
    return {"questions": len(ms), "p50": round(rs.pct(ms, 50), 2), "p95": round(rs.pct(ms, 95), 2),
            "p99": round(rs.pct(ms, 99), 2), "max": round(max(ms), 1) if ms else None,
            "mean": round(statistics.fmean(ms), 2) if ms else None}


def bench_one(n: int, out: Path, max_questions: int, n_profile: int) -> dict[str, Any]:
    synth_dir, index = ensure_corpus(n, out)
    infos = open_store(Settings(index_dir=index)).list_documents()
    batch = out / f"answer-batch-{n}.jsonl"
    items = write_batch(synth_dir, batch, max_questions)
    res: dict[str, Any] = {"n_synthetic": n, "documents": len(infos), "rows": sum(i.n_rows for i in infos),
                           "chunks": sum(i.n_chunks for i in infos), "questions": len(items)}

    start, start_cpu, clock = run_batch(batch, index)
    assert len(clock.lines) == len(items), (len(clock.lines), len(items))
    (out / f"answers-{n}.jsonl").write_text("".join(x + "\n" for x in clock.lines), encoding="utf-8")
    stamps = [start, *clock.times]
    per_q = [(stamps[i + 1] - stamps[i]) * 1000 for i in range(len(items))]
    warm = per_q[1:]  # the first question also loads the corpus
    cpu = [start_cpu, *clock.cpu]
    cpu_q = [(cpu[i + 1] - cpu[i]) * 1000 for i in range(len(items))]
    total = stamps[-1] - start
    res["first_question_ms (loads the corpus)"] = round(per_q[0], 1)
    res["batch_s"] = round(total, 2)
    res["questions_per_s"] = round((len(items) - 1) / (stamps[-1] - stamps[1]), 1)
    res["questions_per_s_with_warmup"] = round(len(items) / total, 1)
    res["per_question_ms"] = ms_stats(warm)
    res["per_question_cpu_ms (other jobs on the machine do not count)"] = ms_stats(cpu_q[1:])
    for name in ("real_dev", "synthetic"):
        res[f"per_question_ms_{name}"] = ms_stats([t for t, q in zip(per_q[1:], items[1:]) if q["set"] == name])
    by_type: dict[str, list[float]] = {}
    for t, q in zip(per_q[1:], items[1:]):
        by_type.setdefault(q.get("type") or "?", []).append(t)
    res["p95_ms_by_type"] = {k: round(rs.pct(v, 95), 1) for k, v in sorted(by_type.items())}
    statuses = Counter(json.loads(line)["status"] for line in clock.lines)
    res["statuses"] = dict(statuses)
    res["goals"] = {f"p95 <= {P95_GOAL_MS:g} ms": res["per_question_ms"]["p95"] <= P95_GOAL_MS,
                    f">= {RATE_GOAL:g} questions/s": res["questions_per_s"] >= RATE_GOAL}
    res["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    # Under cProfile, run again through the batch path: the slowest questions (after the warm-up), and the
    # questions around the p95 (between the p90 and the p99, the slowest excluded), which set the percentile.
    ranked = sorted(range(1, len(items)), key=lambda i: -per_q[i])
    slow = ranked[:n_profile]
    lo, hi = rs.pct(warm, 90), rs.pct(warm, 99)
    band = [i for i in ranked[n_profile:] if lo <= per_q[i] <= hi]
    res["slowest"] = [{"ms": round(per_q[i], 1), "type": items[i].get("type"), "set": items[i]["set"],
                       "question": items[i]["question"], "status": json.loads(clock.lines[i])["status"]}
                      for i in slow]
    res["p95_band_by_type"] = dict(Counter(items[i].get("type") or "?" for i in band))
    profiles = {}
    for name, group in ((f"the {len(slow)} slowest questions", slow),
                        (f"the {len(band)} questions between the p90 and the p99", band)):
        if group:
            profiles[name] = profile_questions([items[i] for i in group], [per_q[i] for i in group],
                                               out / f"answer-profiled-{n}.jsonl", index)
    res["profiles"] = profiles
    return res


def profile_questions(group: list[dict[str, Any]], first_ms: list[float], path: Path, index: Path) -> str:
    """Run these questions again through the batch path under cProfile; the top 15 functions by cumulative time."""
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in group), encoding="utf-8")
    prof = cProfile.Profile()
    start = time.perf_counter()
    with redirect_stdout(LineClock()):
        prof.runcall(answering_main, ["--json", "--batch", str(path), "--index", str(index)])
    took = time.perf_counter() - start
    text = io.StringIO()
    text.write(f"first run {sum(first_ms) / 1000:.2f} s, again under cProfile {took:.2f} s\n")
    pstats.Stats(prof, stream=text).strip_dirs().sort_stats("cumulative").print_stats(15)
    return text.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="corpus sizes; default 100 1000")
    ap.add_argument("--max-questions", type=int, default=1000, help="synthetic questions sampled per size")
    ap.add_argument("--profile", type=int, default=20, help="how many of the slowest questions to profile apart")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "retrieval")
    args = ap.parse_args(argv)
    for var in ("BUDGETQA_LLM_BASE_URL", "BUDGETQA_LLM_MODEL", "BUDGETQA_LLM_API_KEY"):
        os.environ.pop(var, None)
    if Settings().llm_enabled:
        raise SystemExit("an LLM is configured (.env); this benchmark times answering without one")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    version = code_version()
    print(f"code: {version}", flush=True)
    results = []
    for n in args.n:
        print(f"== N = {n}", flush=True)
        res = bench_one(n, out, args.max_questions, args.profile) | {"code": version}
        profiles = res.pop("profiles")
        print(json.dumps(res, ensure_ascii=False, indent=1), flush=True)
        for name, text in profiles.items():
            print(f"-- cProfile of {name}, run again (top 15 cumulative):")
            print(text, flush=True)
        res["profiles"] = profiles
        results.append(res)
    (out / "answer_speed.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print("\n| | " + " | ".join(f"N = {r['n_synthetic']}" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    rows = [("questions (35 real_dev + synthetic sample)", lambda r: r["questions"]),
            ("first question (loads the corpus), ms", lambda r: r["first_question_ms (loads the corpus)"]),
            ("questions/s in batch (after the first)", lambda r: r["questions_per_s"]),
            ("per question p50 / p95 ms", lambda r: f"{r['per_question_ms']['p50']} / {r['per_question_ms']['p95']}"),
            ("per question CPU p50 / p95 ms", lambda r: "{p50} / {p95}".format(
                **r["per_question_cpu_ms (other jobs on the machine do not count)"])),
            ("max RSS MB", lambda r: r["max_rss_mb"])]
    for name, fn in rows:
        print(f"| {name} | " + " | ".join(str(fn(r)) for r in results) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
