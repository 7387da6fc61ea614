"""The parser on real PDFs: synthetic gold tables and the two real disclosures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.models import squash
from ingest.pipeline import file_to_document
from tests.gold_tables import load_gold, recovered

SHARED = Path(__file__).resolve().parents[2] / "shared"
SYNTHETIC = sorted((SHARED / "corpus" / "synthetic").glob("*.pdf"))
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def synthetic_docs():
    return [(pdf, load_gold(pdf), file_to_document(pdf)) for pdf in SYNTHETIC]


def test_synthetic_gold_cells_recovered_per_layout(synthetic_docs):
    per_style: dict[str, list[int]] = {}
    for _, gold, doc in synthetic_docs:
        ok, n, _ = recovered(doc, gold)
        acc = per_style.setdefault(gold["meta"]["style"], [0, 0])
        acc[0] += ok
        acc[1] += n
    for style, (ok, n) in sorted(per_style.items()):
        print(f"{style}: {ok}/{n} gold cells = {100 * ok / n:.2f}%")
        assert n > 500
        assert ok / n >= 0.995


def test_synthetic_every_gold_table_title_found(synthetic_docs):
    for pdf, gold, doc in synthetic_docs:
        titles = [squash(t.title) for t in doc.tables]
        for t in gold["tables"]:
            want = squash(t["title"])
            assert any(want in have or have in want for have in titles if have), (pdf.name, want)


def test_synthetic_identity_from_content(synthetic_docs):
    for _, gold, doc in synthetic_docs:
        assert doc.unit == gold["meta"]["unit_name"].replace("(", "（").replace(")", "）")
        assert doc.year == gold["meta"]["year"]


# The tables that ../shared/corpus/README.md lists: (title fragment, pages).
LUOYANG = [("单位收支预算表", [11, 12]), ("单位收入预算表", [13]), ("单位支出预算表", [14]),
           ("财政拨款收支预算表", [15, 16]), ("一般公共预算支出预算表", [17]), ("一般公共预算基本支出预算表", [18]),
           ("支出经济分类汇总表", [19, 20]), ("“三公”经费预算表", [21]), ("政府性基金支出预算表", [22]),
           ("国有资本经营支出预算表", [23]), ("机构运转经费预算表", [24]), ("项目支出预算表", [25]),
           ("单位预算项目绩效目标表", [26, 27])]
HUAIBEI = [("收支总表", [6, 7]), ("收入总表", [8]), ("支出总表", [9]), ("财政拨款收支总表", [10]),
           ("一般公共预算支出表", [11]), ("一般公共预算基本支出表", [12]), ("政府性基金预算支出表", [13]),
           ("国有资本经营预算支出表", [14]), ("项目支出表", [15]), ("政府采购支出表", [16]),
           ("政府购买服务支出表", [17]), ("通用资产配置支出表", [18]), ("项目支出绩效目标表", [24, 25]),
           ("项目支出绩效目标表", [26, 27]), ("项目支出绩效目标表", [28, 29]), ("项目支出绩效目标", [33]),
           ("项目支出绩效目标表", [34]), ("项目支出绩效目标表", [35]), ("项目支出绩效目标表", [36])]


@pytest.mark.parametrize("name,expected", [("luoyang-2026-unit-budget.pdf", LUOYANG),
                                           ("huaibei-2026-unit-budget.pdf", HUAIBEI)])
def test_real_disclosure_tables_found_with_title_unit_pages(name, expected):
    doc = file_to_document(DATA / name)
    assert doc.year == 2026 and doc.kind == "单位预算"
    got = [(squash(t.title), t.pages, t.unit_of_measure) for t in doc.tables]
    for fragment, pages in expected:
        match = [g for g in got if g[0].endswith(squash(fragment)) and g[1] == pages]
        assert match, (fragment, pages, got)
    for title, _, unit in got:
        if "绩效目标" not in title:
            assert unit == "万元", title


def test_real_dev_source_rows_have_gold_numbers():
    docs = {p.stem: file_to_document(p) for p in DATA.glob("*.pdf")}
    for line in (SHARED / "eval" / "real_dev.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        src = gold.get("source") or {}
        if not src.get("row") or gold["doc"] not in docs or gold["type"] not in ("lookup", "total", "argmax"):
            continue
        doc = docs[gold["doc"]]
        want = {round(float(a["value"]), 2) for a in gold["answers"]}
        values = {
            round(float(c.value), 2)
            for t in doc.tables if squash(src["table"]) in squash(t.title) or src["table"] in ("三公",)
            for r in t.rows if squash(src["row"]) in squash(r.label) or r.label in ("合计",)
            for c in r.cells if c.value is not None
        }
        if src["table"] == "三公":
            continue  # an empty table: the figure is stated in the narrative (checked by the answering tests)
        assert want & values, (gold["id"], src, want)


def test_empty_table_kept_with_note():
    doc = file_to_document(DATA / "luoyang-2026-unit-budget.pdf")
    fund = [t for t in doc.tables if "政府性基金" in t.title][0]
    assert fund.rows == [] or all(not c.value for r in fund.rows for c in r.cells)
    assert fund.note and "无数据" in fund.note


def test_header_paths_propagate_merged_cells():
    doc = file_to_document(DATA / "luoyang-2026-unit-budget.pdf")
    project = [t for t in doc.tables if t.title.endswith("项目支出预算表")][0]
    assert ["本年拨款", "一般公共预算"] in project.columns
    row = [r for r in project.rows if "57.20" in [c.text for c in r.cells]][0]
    cell = row.cell("本年拨款", "一般公共预算")
    assert cell is not None and str(cell.value) == "57.20" and cell.bbox[2] > cell.bbox[0]


def test_split_codes_joined_and_values_parsed():
    doc = file_to_document(DATA / "luoyang-2026-unit-budget.pdf")
    spending = [t for t in doc.tables if t.title.endswith("单位支出预算表")][0]
    codes = {r.code for r in spending.rows}
    assert any(c and len(c) == 7 for c in codes)
    perf = [t for t in doc.tables if "绩效目标" in t.title][0]
    bounds = [c for r in perf.rows for c in r.cells if c.comparator == "≤" and c.unit == "万元"]
    assert bounds and all(c.value is not None for c in bounds)
