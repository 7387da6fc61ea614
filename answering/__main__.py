"""python -m answering "问题" [--index DIR] [--json] | --json --batch FILE"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import BudgetQAError
from core.models import Answer
from core.settings import Settings

from . import ask


def _human(a: Answer) -> str:
    mark = {"answered": "✓ 已核验" if all(v.verified for v in a.values) else "⚠ 含未核验数字",
            "ambiguous": "⚠ 有多个可能的答案", "not_found": "✗ 未找到"}[a.status]
    lines = [f"[{mark}] {a.answer}"]
    for v in a.values:
        if v.formula:
            lines.append(f"  计算：{v.formula}")
    for i, c in enumerate(a.citations):
        where = f"{c.doc} 第{c.page}页"
        if c.kind == "table_row":
            cells = "，".join(f"{k}={v}" for k, v in c.cells.items())
            lines.append(f"  [{i}] {where}《{c.table}》“{c.row_label}”：{cells}")
        else:
            lines.append(f"  [{i}] {where}〔{c.section}〕“{c.quote}”")
    if a.notice:
        lines.append(f"  注意：{a.notice}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m answering", description="预算公开问答")
    ap.add_argument("question", nargs="?")
    ap.add_argument("--index", type=Path, help="index directory (default: settings.index_dir)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batch", type=Path, help="JSONL file of {id, question[, documents]} lines")
    args = ap.parse_args(argv)
    settings = Settings(index_dir=args.index) if args.index else Settings()
    try:
        if args.batch:
            for line in args.batch.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                docs = item.get("documents")
                if not docs and item.get("context_required") and item.get("doc"):
                    docs = [item["doc"]]  # the asker's selected document, for questions that name no unit
                a = ask(item["question"], settings, docs)
                out = {"id": item.get("id")} | a.to_json()
                print(json.dumps(out, ensure_ascii=False), flush=True)
            return 0
        if not args.question:
            ap.error("a question or --batch FILE is required")
        a = ask(args.question, settings)
        print(json.dumps(a.to_json(), ensure_ascii=False, indent=1) if args.json else _human(a))
        return 0
    except BudgetQAError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
