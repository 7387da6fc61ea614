"""Tokens and row renderings of the retrieval index, on rows of the real sample PDFs."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

from core.models import Cell, DocumentInfo, Row, RowHit
from retrieval.tokens import DOMAIN_WORDS, domain_words, query_tokens, row_text, tokenize
from tests.retrieval_support import LUOYANG, ROOT, parsed, parsed_documents


def _info() -> DocumentInfo:
    return DocumentInfo(doc_id="0" * 16, doc="x.pdf", sha256="0" * 64, unit="某单位", year=2026, kind="单位预算",
                        city=None, title="", pages=1, n_tables=1, n_rows=1, n_chunks=0)


def test_row_text_renders_title_label_and_cells_with_text() -> None:
    row = Row(index=3, label="某项经费", cells=[
        Cell(column=["合计"], text="57.20", value=Decimal("57.20"), unit="万元"),
        Cell(column=["本年拨款", "一般公共预算"], text="57.20", value=Decimal("57.20"), unit="万元"),
        Cell(column=["本年拨款", "政府性基金"], text="", value=None),
        Cell(column=["指标值"], text="≥95%", value=Decimal("95"), comparator="≥", unit="%"),
        Cell(column=["说明"], text="按  规定\n执行", value=None),
    ])
    hit = RowHit(doc=_info(), table="2026年项目支出预算表", table_name="项目支出预算表", table_index=0,
                 unit_of_measure="万元", columns=[], row=row)
    assert row_text(hit) == ("2026年项目支出预算表｜某项经费｜合计 57.20 万元｜本年拨款/一般公共预算 57.20 万元"
                             "｜指标值 ≥95%｜说明 按 规定 执行")


def test_row_text_of_a_real_project_row() -> None:
    doc = parsed(LUOYANG)
    table = next(t for t in doc.tables if t.name == "项目支出预算表")
    row = next(r for r in table.rows if r.label == "金保专网经费")
    hit = RowHit(doc=_info(), table=table.title, table_name=table.name, table_index=table.index,
                 unit_of_measure=table.unit_of_measure, columns=table.columns, row=row)
    text = row_text(hit)
    assert text.startswith("2026年项目支出预算表｜金保专网经费｜")
    assert "｜合计 57.20 万元｜" in text and text.endswith("｜本年拨款/一般公共预算 57.20 万元")


def test_domain_words_are_single_tokens_and_stopwords_go() -> None:
    toks = tokenize("2026年一般公共预算基本支出中人员经费是多少？")
    assert "一般公共预算" in toks and "人员经费" in toks and "基本支出" in toks
    assert "是" not in toks and "多少" not in toks and "？" not in toks
    assert "社会保障卡" in tokenize("承担社会保障卡的日常管理工作")


def test_question_phrasings_are_expanded_to_disclosure_words() -> None:
    toks = query_tokens("为什么预算减少")
    assert "原因" in toks and "减少" in toks and "为什么" not in toks
    assert "社会保障卡" in query_tokens("社保卡维护工作经费")


def test_domain_words_hold_no_names_of_the_sample_units() -> None:
    words = domain_words()
    assert len(words) > 100
    for w in words:  # generic vocabulary: no unit markers, no place of the samples
        assert not any(mark in w for mark in ("市", "局", "中心", "县", "省")), w
        for doc in parsed_documents():
            assert doc.unit not in w and (not doc.city or doc.city.rstrip("市") not in w)
    assert DOMAIN_WORDS.is_relative_to(ROOT / "retrieval")


def test_jieba_loads_once_and_lazily() -> None:
    code = ("import sys, retrieval.tokens as t; assert 'jieba' not in sys.modules; "
            "t.tokenize('基本支出'); tok = t.tokenizer(); t.tokenize('项目支出'); assert t.tokenizer() is tok")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
