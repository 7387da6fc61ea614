"""Changes against last year: as the narrative states them, checked against a table's two year columns."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from core.models import Answer, Cell, DocumentInfo
from retrieval.rows import Corpus
from retrieval.vocab import aliases, canonical, narrative_wordings

from . import facts
from .cite import Builder, money_text, pct_text, row_citation
from .lookup import Found, find_rows
from .ops import nothing_found, who
from .query import Query


def yoy_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    item = q.item or "收入总计"
    parts = []
    for doc in docs:
        fact = _stated_change(corpus, doc, item)
        pair = _year_pair(corpus, doc, item)
        said = _say_stated(b, fact, item) if fact else None
        table = _say_computed(b, pair, fact) if pair and (fact is None or _differs(fact, pair)) else None
        if said is None and table is None:
            continue
        text = f"{who(doc)}{item}与上年相比" + (said or table or "")
        if said and table:
            text += f"；但按表格计算{table}，与说明不一致，请以原表为准"
        elif said and pair:  # the table agrees: cite its row too
            b.cite(row_citation(pair[0].hit))
            text += f"，与《{pair[0].hit.table}》“{pair[0].hit.row.label}”行的两年数额一致"
        parts.append(text)
    if not parts:
        return nothing_found(q, corpus, docs)
    return b.done("；".join(parts) + "。", "answered" if len(parts) == 1 else "ambiguous")


def _stated_change(corpus: Corpus, doc: DocumentInfo, item: str) -> facts.Fact | None:
    chunks = corpus.chunks.get(doc.doc_id, [])
    for variant in narrative_wordings(aliases(item)):
        fact = facts.change_of(chunks, variant, exclude=[canonical(doc.unit)])
        if fact:
            return fact
    return None


def _say_stated(b: Builder, fact: facts.Fact, item: str) -> str:
    said = []
    for k, (_value, unit, printed) in enumerate(fact.values):
        v = b.fact_value(fact, k, label=item)
        said.append("持平" if printed == facts.NO_CHANGE else f"{printed[:2]}{v.text}{unit}")
    return f"{'，'.join(dict.fromkeys(said))}（公开文件原文：“{fact.sentence}”）"


def _year_pair(corpus: Corpus, doc: DocumentInfo, item: str) -> tuple[Found, Cell] | None:
    """The item's row with this year's cell and last year's (上年 / the year before), if a table has both."""
    if not doc.year:
        return None
    last = re.compile(rf"上年|{doc.year - 1}")
    for f in find_rows(corpus, doc, item):
        now = f.cell if not last.search("".join(f.cell.column)) else None
        before = next((c for c in f.hit.row.cells
                       if c is not f.cell and c.value is not None and last.search("".join(c.column))), None)
        if now is not None and before is not None and now.value is not None:
            return f, before
    return None


def _say_computed(b: Builder, pair: tuple[Found, Cell], fact: facts.Fact | None) -> str:
    f, before = pair
    now_v = b.cell_value(f.hit, f.cell, label=f.hit.row.label)
    old_v = b.cell_value(f.hit, before, label=f.hit.row.label)
    diff = now_v.value - old_v.value
    formula = f"{now_v.text} − {old_v.text} = {money_text(diff)}"
    b.computed(diff, now_v.unit, money_text(diff), formula, [now_v, old_v], label=f.hit.row.label)
    amount = f"{'增加' if diff > 0 else '减少'}{money_text(abs(diff))}{now_v.unit}" if diff else "持平"
    text = f"{amount}（{formula}"
    if old_v.value:
        pct = (diff / old_v.value * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        pf = f"{money_text(diff)} ÷ {old_v.text} × 100% = {pct_text(pct)}%"
        b.computed(pct, "%", pct_text(pct), pf, [now_v, old_v], label=f.hit.row.label)
        text += f"；{pf}"
    return text + f"，见{f.hit.table}）"


def _differs(fact: facts.Fact, pair: tuple[Found, Cell]) -> bool:
    """The text's amount is not the table's difference (both in the table's unit)."""
    f, before = pair
    if f.cell.value is None or before.value is None:
        return False
    diff = f.cell.value - before.value
    stated = [v for v, unit, _ in fact.values if unit in ("万元", "元") and unit == (f.cell.unit or f.hit.unit_of_measure)]
    return bool(stated) and all(abs(v - diff) > Decimal("0.005") for v in stated)
