"""Each operation of a query over the chosen documents, composing a cited Answer."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from core.models import Answer, DocumentInfo
from retrieval.rows import Corpus, lookup, rows_of_table, tables_named
from retrieval.vocab import aliases, canonical, label_key, narrative_wordings, synonyms

from . import facts
from .cite import Builder, money_text, not_found, pct_text, text_citation
from .indicators import Target, find_targets, split_question
from .lookup import STRONG, Found, default_cell, distinct, find_rows, measure_key, near_labels
from .query import Query

_COUNT = re.compile(r"(\d+)\s*(个|项)(?!目标|指标)")
_PEOPLE = {"人": "人|名", "名": "人|名", "个": "个|项", "项": "个|项"}


def who(doc: DocumentInfo) -> str:
    return f"{doc.unit}{doc.year or ''}年" if doc.year else doc.unit


def _unit_pattern(q: Query) -> str | None:
    return _PEOPLE.get(q.unit_word or "", q.unit_word) if q.unit_word else None


def lookup_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    parts: list[str] = []
    ambiguous = False
    shortlist = _shortlist(q, corpus, docs)
    by_doc: dict[str, list[Found]] = {}

    def rows_in(d: DocumentInfo) -> list[Found]:  # computed when reached: at most MAX_UNITS are shown
        if d.doc_id not in by_doc:
            by_doc[d.doc_id] = distinct(find_rows(corpus, d, q.item, q.measure)) if not q.unit_word else []
        return by_doc[d.doc_id]

    # Over many documents the shortlist holds only those with a strong row; over few, look at each.
    any_rows = bool(shortlist) if shortlist is not docs else any(rows_in(d) for d in docs)
    listed = {d.doc_id for d in shortlist}
    asks_target = split_question(q.item) is not None if q.item else False
    for doc in shortlist if any_rows or asks_target else docs:
        if len(parts) >= MAX_UNITS:
            parts.append(f"另有其他单位的同名数据未列出，请在问题中指明单位（共检索{len(docs)}个公开文件）")
            break
        shown = find_targets(corpus, doc, q.item) if asks_target else []
        if shown:
            ambiguous |= len(shown) > 1
            parts.append(_say_targets(b, doc, shown))
            continue
        found = rows_in(doc) if doc.doc_id in listed else []
        if found:
            ambiguous |= len(found) > 1
            parts.append(_say_found(b, doc, q, found))
            continue
        if any_rows and len(docs) > 1:
            continue  # another document has the item in a table: do not guess from this one's text
        fact = _text_number(corpus, doc, q)
        if fact:
            v = b.fact_value(fact)
            where = fact.chunk.chunk.section[-1] if fact.chunk.chunk.section else "正文"
            parts.append(f"{who(doc)}{q.item}为{v.text}{v.unit}（见“{where}”）")
    if not parts:
        return nothing_found(q, corpus, docs)
    status = "ambiguous" if ambiguous or len(parts) > 1 and not _named_several(q) else "answered"
    if len(parts) > 1:
        text = "找到多处结果：" + "；".join(parts) + "。"
        return b.done(text, "ambiguous" if status == "ambiguous" else "answered")
    return b.done(parts[0] + "。", status)


MAX_UNITS = 8  # units listed for a question that names none; the rest are counted, not shown


def _shortlist(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> list[DocumentInfo]:
    """With many documents and no unit named: those where one lookup across all of them finds the item."""
    if len(docs) <= MAX_UNITS or not q.item or measure_key(q.item) or q.unit_word:
        return docs
    ids = [d.doc_id for d in docs]
    words = aliases(q.item)
    parts = split_question(q.item)
    if parts:
        words = [parts[0]]  # the project a performance target belongs to
    strong = {h.doc.doc_id for w in words for h in lookup(corpus, w, ids, k=10 * MAX_UNITS) if h.score >= STRONG}
    return [d for d in docs if d.doc_id in strong]


def _text_number(q_corpus: Corpus, doc: DocumentInfo, q: Query) -> facts.Fact | None:
    """A figure the narrative states after the item (or after the item's leading words)."""
    chunks = q_corpus.chunks.get(doc.doc_id, [])
    words = aliases(q.item) if q.item else []
    if q.unit_word and len(canonical(q.item)) < 2:  # "有几辆车": the noun the narrative counts with
        words = synonyms()["count_nouns"].get(q.unit_word, [])
    for variant in narrative_wordings(words):
        fact = facts.number_after(chunks, variant, _unit_pattern(q), exclude=[canonical(doc.unit)])
        if fact:
            return fact
    return None


def _named_several(q: Query) -> bool:
    return q.compare is not None and q.op == "compare"


def _say_found(b: Builder, doc: DocumentInfo, q: Query, found: list[Found]) -> str:
    bits = []
    for f in found:
        v = b.cell_value(f.hit, f.cell, yuan=q.want_yuan, label=f.hit.row.label)
        col = "/".join(f.cell.column)
        shown = v.text if v.text.startswith(f.cell.comparator or "") else f"{f.cell.comparator}{v.text}"
        bits.append(f"“{f.hit.row.label}”{shown}{v.unit}（{f.hit.table}，{col}）")
    if len(bits) == 1:
        return f"{who(doc)}{bits[0]}"
    return f"{who(doc)}有多处不同的数额：" + "；".join(bits)


def _say_targets(b: Builder, doc: DocumentInfo, found: list[Target]) -> str:
    bits = []
    for t in found:
        b.cell_value(t.hit, t.cell, label=t.indicator)
        bits.append(f"“{t.project}”的绩效指标“{t.indicator}”为{t.cell.text}（{t.hit.table}，{'/'.join(t.cell.column)}）")
    return who(doc) + "；".join(bits)


def nothing_found(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    where = "、".join(d.unit for d in docs[:3]) + ("等" if len(docs) > 3 else "")
    near = near_labels(corpus, docs, q.item) if q.item else []
    text = f"在{where}的公开文件中没有找到“{q.item or q.question}”的数据。"
    if near:
        text += "相近的项目有：" + "、".join(near) + "。"
    return not_found(q.question, text, near)


def sum_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    """The sum of the named rows, in the first document (of those in scope) that has every one of them."""
    missing = q.items[0] if q.items else q.item
    for doc in _shortlist(Query(q.question, item=q.items[0] if q.items else q.item), corpus, docs):
        found = _sum_rows(q, corpus, doc)
        if isinstance(found, str):
            missing = found
            continue
        b = Builder(q.question)
        vals = [b.cell_value(f.hit, f.cell, label=f.hit.row.label) for f in found]
        if len({(v.citation, v.value) for v in vals}) < len(vals):
            continue  # two parts read the same cell: the split was wrong, do not add it twice
        total = sum((v.value for v in vals), Decimal(0))
        formula = " + ".join(v.text for v in vals) + f" = {money_text(total)}"
        b.computed(total, vals[0].unit, money_text(total), formula, vals)
        names = "、".join(v.label or "" for v in vals)
        return b.done(f"{who(doc)}{names}合计{money_text(total)}{vals[0].unit}（{formula}）。")
    return nothing_found(Query(q.question, item=missing), corpus, docs)


def _sum_rows(q: Query, corpus: Corpus, doc: DocumentInfo) -> list[Found] | str:
    """One row per part of the sum, or the first part the document lacks."""
    out = []
    for item in _merge_parts(corpus, doc, q.items, q.item):
        found = find_rows(corpus, doc, item)
        if not found:
            return item
        if "项目" in q.question:  # "两个项目合计": the rows of the project table, not a 科目 of the same name
            found = [f for f in found if "项目" in f.hit.table] or found
        out.append(found[0])
    return out


def _merge_parts(corpus: Corpus, doc: DocumentInfo, parts: list[str], phrase: str) -> list[str]:
    """"A与B和C" splits at every 和/与: join neighbours whose span of the phrase is itself a row's label."""
    out: list[tuple[str, int, int]] = []  # (part, start, end) in the phrase
    pos = 0
    for p in parts:
        start = phrase.find(p, pos)
        end = start + len(p) if start >= 0 else pos
        pos = end
        if out and start >= 0 and out[-1][1] >= 0:
            joined = phrase[out[-1][1]:end]
            hits = lookup(corpus, joined, [doc.doc_id], k=1)
            if hits and hits[0].score >= 95:
                out[-1] = (joined, out[-1][1], end)
                continue
        out.append((p, start, end))
    return [p for p, _, _ in out]


def share_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    parts = []
    for doc in docs:
        chunks = corpus.chunks.get(doc.doc_id, [])
        whole = q.items[0] if q.items else None
        fact = next((f for a in aliases(q.item) if (f := facts.share_of(chunks, a, whole))), None)
        if fact:
            v = b.fact_value(fact, label=q.item)
            parts.append(f"{who(doc)}{q.item}占{whole or '总额'}的{v.text}%（公开文件原文：“{fact.sentence}”）")
            continue
        part = _computed_share(b, q, corpus, doc, whole)
        if part:
            parts.append(part)
    if not parts:
        return nothing_found(q, corpus, docs)
    return b.done("；".join(parts) + "。", "answered" if len(parts) == 1 else "ambiguous")


def _computed_share(b: Builder, q: Query, corpus: Corpus, doc: DocumentInfo, whole: str | None) -> str | None:
    num = find_rows(corpus, doc, q.item)
    den = find_rows(corpus, doc, whole or "支出总计")
    if not num or not den or not den[0].cell.value:
        return None
    a = b.cell_value(num[0].hit, num[0].cell, label=num[0].hit.row.label)
    c = b.cell_value(den[0].hit, den[0].cell, label=den[0].hit.row.label)
    pct = (a.value / c.value * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    formula = f"{a.text} ÷ {c.text} × 100% = {pct_text(pct)}%"
    b.computed(pct, "%", pct_text(pct), formula, [a, c], label=q.item)
    return f"{who(doc)}{q.item}占{whole or '总支出'}的{pct_text(pct)}%（{formula}，四舍五入到两位小数）"


def why_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    parts = []
    for doc in docs:
        fact = facts.reason_for(corpus.chunks.get(doc.doc_id, []), q.item, q.question)
        if fact:
            b.cite(text_citation(fact.chunk, fact.sentence))
            parts.append(f"据{who(doc)}预算公开：{fact.extra}（原文：“{fact.sentence}”）")
    if not parts:
        return nothing_found(q, corpus, docs)
    return b.done("；".join(parts) + "。", "answered" if len(parts) == 1 else "ambiguous")


def count_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    doc = docs[0]
    chunks = corpus.chunks.get(doc.doc_id, [])
    best = facts.best_sentence(chunks, q.question, q.item, _COUNT)
    if best:
        m = _COUNT.search(best.sentence)
        if m:
            best.values = [(Decimal(m.group(1)), m.group(2), m.group(1))]
            v = b.fact_value(best)
            return b.done(f"{who(doc)}共{v.text}{v.unit}（原文：“{best.sentence}”）。")
    return nothing_found(q, corpus, docs)


def argmax_op(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    b = Builder(q.question)
    parts = []
    for doc in docs:
        rows = _ranked_rows(q, corpus, doc)
        if not rows:
            continue
        if _asks_class(q) and all(f.hit.row.code and len(f.hit.row.code) > 3 for f in rows):
            part = _class_extreme(b, q, doc, rows)
            if part:
                parts.append(part)
                continue
        pick = min(rows, key=lambda f: f.cell.value) if q.want_min else max(rows, key=lambda f: f.cell.value)  # type: ignore[arg-type,return-value]
        v = b.cell_value(pick.hit, pick.cell, label=pick.hit.row.label)
        word = "最少" if q.want_min else "最多"
        parts.append(f"{who(doc)}{word}的是“{pick.hit.row.label}”，{v.text}{v.unit}（{pick.hit.table}）")
    if not parts:
        return nothing_found(q, corpus, docs)
    return b.done("；".join(parts) + "。", "answered" if len(parts) == 1 else "ambiguous")


def _asks_class(q: Query) -> bool:
    text = canonical(q.question)
    return "功能" in text or "哪一类" in text or "哪类" in text


def _class_extreme(b: Builder, q: Query, doc: DocumentInfo, rows: list[Found]) -> str | None:
    """The 类 with the largest (smallest) total when the table lists only 款/项 rows: sums by code prefix."""
    names = synonyms()["function_classes"]
    codes = [f.hit.row.code or "" for f in rows]
    # Leaves only: a 款 row and its 项 rows would count the same money twice.
    leaves = [f for f, c in zip(rows, codes) if not any(o != c and o.startswith(c) for o in codes)]
    groups: dict[str, list[Found]] = {}
    for f in leaves:
        groups.setdefault((f.hit.row.code or "")[:3], []).append(f)
    if not groups or any(k not in names for k in groups):
        return None
    totals = {k: sum((f.cell.value or Decimal(0) for f in fs), Decimal(0)) for k, fs in groups.items()}
    key = (min if q.want_min else max)(totals, key=lambda k: totals[k])
    vals = [b.cell_value(f.hit, f.cell, label=f.hit.row.label) for f in groups[key]]
    total = money_text(totals[key])
    formula = " + ".join(v.text for v in vals) + f" = {total}" if len(vals) > 1 else ""
    if formula:
        b.computed(totals[key], vals[0].unit, total, formula, vals, label=names[key])
    word = "最少" if q.want_min else "最多"
    how = f"（{formula}，科目编码以{key}开头的各项之和）" if formula else f"（{groups[key][0].hit.table}）"
    return f"{who(doc)}一般公共预算支出中{word}的一类是“{names[key]}”，{total}{vals[0].unit}{how}"


def _ranked_rows(q: Query, corpus: Corpus, doc: DocumentInfo) -> list[Found]:
    text = canonical(q.question)
    if "基本支出" in text or "经济科目" in text:
        names = synonyms()["economic_tables"]  # 基本支出 by 经济科目
    elif "功能" in text or "哪一类" in text or "哪类" in text:
        names = synonyms()["function_tables"]  # by 功能科目
    else:
        names = synonyms()["project_tables"]
    tables = tables_named(corpus, doc.doc_id, names)
    if not tables:
        return []
    totals = {canonical(t) for t in synonyms()["total_rows"]}
    unit = canonical(doc.unit)
    out = []
    for hit in rows_of_table(corpus, doc.doc_id, tables[0]):
        key = label_key(hit.row.label)
        if key in totals or key == unit or unit in key or hit.row.parent:  # not the unit's own total row
            continue
        cell = default_cell(hit)
        if cell is not None:
            out.append((hit, cell))
    if "功能" in text or "哪一类" in text or "哪类" in text:
        lens = [len(h.row.code) for h, _ in out if h.row.code]
        if lens and min(lens) > 3:  # no 类 rows: all levels go to _class_extreme, which sums the leaves
            return [Found(h, c) for h, c in out if h.row.code]
        keep = min(lens) if lens else None
    else:
        lens = [len(h.row.code) for h, _ in out if h.row.code]
        keep = max(lens) if lens else None
    return [Found(h, c) for h, c in out if keep is None or not h.row.code or len(h.row.code) == keep]


def compare_op(q: Query, corpus: Corpus, groups: list[list[DocumentInfo]]) -> Answer:
    b = Builder(q.question)
    picked = []
    for docs in groups:
        for doc in docs[:1]:
            found = find_rows(corpus, doc, q.item or "收入总计", q.measure)
            if found:
                v = b.cell_value(found[0].hit, found[0].cell, label=doc.unit)
                picked.append((doc, found[0], v))
    if not picked:
        return nothing_found(q, corpus, [d for g in groups for d in g])
    lines = [f"{d.unit}“{f.hit.row.label}”{v.text}{v.unit}（{f.hit.table}）" for d, f, v in picked]
    text = "；".join(lines) + "。"
    if len(picked) >= 2 and q.compare in ("max", "min"):
        best = (min if q.compare == "min" else max)(picked, key=lambda t: t[2].value)
        text += f"{'较低' if q.compare == 'min' else '较高'}的是{best[0].unit}。"
    elif len(picked) >= 2 and q.compare == "difference":
        a, c = picked[0][2], picked[1][2]
        diff = a.value - c.value
        formula = f"{a.text} − {c.text} = {money_text(diff)}"
        b.computed(diff, a.unit, money_text(diff), formula, [a, c])
        text += f"两者相差{money_text(abs(diff))}{a.unit}（{formula}）。"
    return b.done(text)
