"""`python -m retrieval check|search`: drift between SQL and Chroma (and its repair), and hybrid search."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import BudgetQAError
from core.models import ChunkHit
from core.settings import Settings, get_settings

from .check import run_check


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m retrieval`."""
    ap = argparse.ArgumentParser(prog="python -m retrieval", description="Check and query the retrieval index.")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="report drift between the SQL store and Chroma (exit 1 on unrepaired drift)")
    c.add_argument("--index", type=Path, help="index folder (default: settings.index_dir)")
    c.add_argument("--repair", action="store_true", help="index missing documents, drop extra ones")
    c.add_argument("--verbose", action="store_true", help="one line per document")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    s = sub.add_parser("search", help="hybrid (BM25 + vector) search over chunks and rows")
    s.add_argument("query")
    s.add_argument("--index", type=Path, help="index folder (default: settings.index_dir)")
    s.add_argument("--doc", action="append", help="restrict to a document (id or file name); repeatable")
    s.add_argument("-k", type=int, default=None, help="how many hits (default: settings.top_k)")
    s.add_argument("--kind", choices=["chunk", "row"], help="only narrative chunks or only table rows")
    return ap


def _settings(index: Path | None) -> Settings:
    return Settings(index_dir=index) if index else get_settings()


def check(args: argparse.Namespace) -> int:
    """Report (and with --repair fix) drift; 0 when SQL and Chroma agree in the end."""
    drift, after = run_check(_settings(args.index), fix=args.repair)
    if args.json:
        out = drift.to_json()
        if after is not None:
            out["after_repair"] = after.to_json()
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print("\n".join(drift.lines(args.verbose)))
        if after is not None:
            print("after repair: " + after.lines()[-1])
    final = after if after is not None else drift
    return 0 if final.clean else 1


def search(args: argparse.Namespace) -> int:
    """Print the hybrid hits of a query, one block per hit."""
    from .hybrid import HybridSearch

    hs = HybridSearch(_settings(args.index))
    try:
        if hs.last_sync is not None and not hs.last_sync.clean:
            print("(vector index was behind the store and has been synced)", file=sys.stderr)
        doc_ids = None
        if args.doc:
            infos = hs.store.list_documents()
            doc_ids = [i.doc_id for i in infos if i.doc_id in args.doc or i.doc in args.doc
                       or Path(i.doc).stem in args.doc]
            if not doc_ids:
                print(f"no such document: {', '.join(args.doc)}", file=sys.stderr)
                return 1
        hits = hs.search(args.query, doc_ids, args.k, args.kind)
        for n, h in enumerate(hits, 1):
            if isinstance(h, ChunkHit):
                where = f"p.{h.chunk.page} › {' › '.join(h.chunk.section[-2:])}"
                text = h.chunk.text
            else:
                where = f"p.{h.row.page} {h.table} › {h.row.label}"
                text = "; ".join(f"{'/'.join(c.column)}: {c.text}" for c in h.row.cells if c.text.strip())
            print(f"{n}. [{h.score:.4f}] {h.doc.doc} {where}\n   {text[:300]}")
        if not hits:
            print("no hits")
        return 0
    finally:
        hs.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 on errors)."""
    args = build_parser().parse_args(argv)
    try:
        return check(args) if args.command == "check" else search(args)
    except BudgetQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
