"""Answering on the synthetic corpus (20 generated disclosures, two layouts, 2,205 gold questions)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from answering import ask
from answering.indicators import split_question
from answering.query import parse
from answering.verify import verify
from core.models import Answer, Citation, Value
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT.parent / "shared" / "corpus" / "synthetic"
SCORE = ROOT.parent / "shared" / "eval" / "score.py"
# The issue asks for 98% (measured 99.5% on 2026-11-23); the floor is a little below that so a regression fails.
FLOOR = 0.993


@pytest.fixture(scope="module")
def synthetic_index(tmp_path_factory) -> Settings:
    index = tmp_path_factory.mktemp("synthetic-index")
    subprocess.run([sys.executable, "-m", "ingest", str(SYNTHETIC), "--index", str(index), "--quiet"], check=True,
                   cwd=ROOT, capture_output=True)
    return Settings(index_dir=index)


def _scorer():
    spec = importlib.util.spec_from_file_location("score", SCORE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_qa_accuracy(synthetic_index):
    score = _scorer()
    by_type: dict[str, Counter[str]] = {}
    unverified = 0
    for path in sorted(SYNTHETIC.glob("*.qa.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            docs = [q["doc"]] if q.get("context_required") else None
            a = ask(q["question"], synthetic_index, docs).to_json()
            ok, _why = score.judge(score.to_gold(q), a)
            by_type.setdefault(q["type"], Counter())["pass" if ok else "fail"] += 1
            unverified += sum(1 for v in a["values"] if v["verified"] is False)
    passed = sum(c["pass"] for c in by_type.values())
    total = sum(c["pass"] + c["fail"] for c in by_type.values())
    for t, c in sorted(by_type.items()):
        print(f"{t:15s} {c['pass']:4d}/{c['pass'] + c['fail']:4d}")
    print(f"synthetic QA accuracy {passed}/{total} = {100 * passed / total:.1f}%, unverified values {unverified}")
    assert by_type["unanswerable"]["fail"] == 0, "a question no disclosure answers got an answer"
    assert passed / total >= FLOOR


def test_performance_target_of_a_project(synthetic_index):
    a = ask("萍乡市社会保险事业管理中心社保经办大厅运行经费的办理业务量指标值是多少？", synthetic_index)
    assert a.status == "answered" and a.values[0].verified
    assert a.values[0].value == Decimal("51") and "≥51万件" in a.answer


def test_unchanged_figure_is_a_verified_zero(synthetic_index):
    a = ask("淄博市劳动保障监察支队2026年收支总计比上年增减多少", synthetic_index)
    assert a.status == "answered" and "持平" in a.answer
    assert a.values[0].value == 0 and a.values[0].verified


def test_people_count_from_the_narrative(synthetic_index):
    """Was not found: the measure word pattern 人|名 was escaped as one literal."""
    a = ask("淄博市劳动保障监察支队实有在职人员多少名", synthetic_index)
    assert a.status == "answered" and a.values[0].value == Decimal("20") and a.citations[0].kind == "text"


def test_qualified_measure_is_not_read_from_a_prefix_of_the_item(synthetic_index):
    """Was wrong: "一般公共预算人员经费" fell back to the figure after "一般公共预算" in the text."""
    a = ask("保定市公共就业和人才服务中心2026年一般公共预算人员经费多少", synthetic_index)
    assert a.values and a.values[0].value == Decimal("124.95")
    assert a.citations[a.values[0].citation].kind == "table_row"


def test_question_words_do_not_stay_in_the_item():
    assert parse("", "在职人员有多少人？").item == "在职人员"
    assert parse("", "机构运转经费和去年比变化多少").item == "机构运转经费"
    assert parse("", "公用经费预算合计是多少").item == "公用经费"
    assert parse("", "今年总预算多少钱").item == "总预算"
    assert parse("", "一年预算总额是多少").item == "预算总额"  # was "是"
    assert parse("", "代管资金余额截至2024年底是多少").item == "代管资金余额"
    assert split_question("某平台项目绩效目标里设备完好率要求") == ("某平台", "设备完好率")


def test_no_change_needs_a_quote_that_says_so():
    quote = Citation(doc="d.pdf", unit="某单位", year=2026, kind="text", page=1, bbox=(0, 0, 1, 1),
                     quote="收支总计与上年保持一致。")
    a = Answer("q", "answered", "与上年持平。", values=[Value(Decimal(0), "万元", "持平", True, 0)], citations=[quote])
    verify(a)
    assert a.values[0].verified
    quote.quote = "收支总计减少5万元。"
    verify(a)
    assert not a.values[0].verified


def test_city_ending_in_zhou_is_resolved(synthetic_index):
    """Was not resolved: "柳州市".rstrip("市县州") left "柳", so "柳州…" named no document."""
    a = ask("柳州120急救中心编制多少人", synthetic_index)
    assert a.status == "answered" and {c.unit for c in a.citations} == {"柳州市紧急医疗救援中心"}


def test_question_naming_no_unit_lists_a_few_units(synthetic_index):
    """Over many documents an unnamed unit gives a bounded answer that asks to name one, not twenty parts."""
    a = ask("机关事业单位基本养老保险缴费支出是多少", synthetic_index)
    units = {c.unit for c in a.citations}
    assert a.status == "ambiguous" and 2 <= len(units) <= 8
    assert "请在问题中指明单位" in a.answer and all(v.verified for v in a.values)


def test_sum_keeps_a_name_that_contains_a_separator(synthetic_index):
    """Was wrong (72.00): "抢救与保护" was split at 与 and one row was added twice."""
    a = ask("南通市档案馆重点档案抢救与保护经费和档案馆库房运行维护经费加起来多少钱？", synthetic_index)
    total = [v for v in a.values if v.formula][0]
    assert total.value == Decimal("53.50") and total.formula == "18.50 + 35.00 = 53.50"


def test_default_column_is_the_documents_year(synthetic_index):
    """Was wrong (4.97): the 三公 table's 合计 row was read in its 2025年预算数 column."""
    a = ask("大同市特殊教育学校2026年“三公”经费预算总额", synthetic_index)
    assert a.values[0].value == Decimal("4.65")


def test_largest_function_class_sums_leaf_rows(synthetic_index):
    """Was wrong (41.42): the class total dropped the row named like the unit (档案馆) and mixed levels."""
    a = ask("南通档案馆钱主要花在哪类支出上", synthetic_index)
    total = [v for v in a.values if v.formula][0]
    assert "一般公共服务支出" in a.answer and total.value == Decimal("267.77") and a.values[0].verified


def test_change_stated_in_the_next_sentence(synthetic_index):
    """Was not found: the change follows in a sentence that does not repeat the item ("预算数比2025年减少…")."""
    a = ask("萍乡社会保险事业管理中心2026年“三公”经费比上年增减多少", synthetic_index)
    assert a.status == "answered" and [v.value for v in a.values] == [Decimal("-1.68"), Decimal("-11.57")]
    assert all(v.verified for v in a.values) and "预算数比2025年减少1.68万元" in a.citations[0].quote


def test_short_label_inside_a_longer_item_is_not_a_match():
    """Was answered with the row "五、教育": "教育督导评估经费" contains the label but asks for something else."""
    from retrieval.rows import core_of, score_label
    from retrieval.vocab import label_key

    def score(phrase: str, label: str) -> float:
        return score_label(label_key(phrase), core_of(phrase), label_key(label), None)[0]

    assert score("教育督导评估经费", "五、教育") < 60
    assert score("一般公共预算基本支出中水费", "水费") >= 60  # qualifiers around a label do not count
    assert score("“住房公积金”功能科目支出", "住房公积金") >= 60


def test_change_computed_from_a_tables_two_years_when_the_text_is_silent(synthetic_index):
    a = ask("大同市特殊教育学校公务接待费比上年增减多少", synthetic_index)
    assert a.status == "answered" and "持平" in a.answer
    diff = a.values[-1] if a.values[-1].unit != "%" else a.values[-2]
    assert diff.formula == "0 − 0 = 0.00" and diff.verified and a.citations[0].kind == "table_row"


def test_stated_change_also_cites_the_agreeing_table_row(synthetic_index):
    a = ask("商丘市文化馆三公经费较上年增减多少", synthetic_index)
    assert a.status == "answered" and a.values[0].value == 0
    assert [c.kind for c in a.citations] == ["text", "table_row"] and "一致" in a.answer
