"""Answering: Chinese questions → answers whose every number is cited and verified."""

from __future__ import annotations

from core.models import Answer, DocumentInfo
from core.settings import Settings, get_settings
from retrieval.resolve import resolve
from retrieval.rows import Corpus, load_corpus
from retrieval.vocab import canonical

from . import ops
from .cite import not_found
from .query import normalise_question, parse
from .verify import check

__all__ = ["ask", "answer_with_corpus"]


def _scope(corpus: Corpus, documents: list[str] | None) -> list[DocumentInfo]:
    """Documents the question may use: all, or those named by doc id / file name / file stem."""
    if not documents:
        return list(corpus.docs)
    wanted = set(documents)
    return [d for d in corpus.docs if d.doc_id in wanted or d.doc in wanted or d.doc.rsplit(".", 1)[0] in wanted]


def ask(question: str, settings: Settings | None = None, documents: list[str] | None = None) -> Answer:
    """Answer one question over the index (optionally limited to some documents)."""
    settings = get_settings(settings)
    corpus = load_corpus(settings)
    answer = answer_with_corpus(question, corpus, _scope(corpus, documents))
    if settings.llm_enabled:
        from .llm import rephrase_with_llm

        answer = rephrase_with_llm(answer, settings)
    return answer


def answer_with_corpus(question: str, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    text = normalise_question(question)
    if not docs:
        return not_found(question, "索引中还没有任何公开文件，请先上传或导入PDF。")
    res = resolve(text, docs)
    if res.problem or not res.docs:
        return not_found(question, (res.problem or "没有找到相关单位的公开文件") + "，无法回答该问题。")
    rest = canonical(text)  # mention spans are positions in the canonical text
    for s, e in sorted(res.mentions, reverse=True):
        rest = rest[:s] + rest[e:]
    q = parse(question, rest)
    groups = [g for g in res.per_unit if g]
    if len(groups) >= 2:
        q.op = "compare"
        answer = ops.compare_op(q, corpus, groups)
    elif q.op == "month":
        answer = not_found(question, "公开文件只有全年预算数，没有按月份或季度的数据。")
    else:
        run = {"lookup": ops.lookup_op, "total": ops.lookup_op, "sum": ops.sum_op, "share": ops.share_op,
               "yoy": ops.yoy_op, "why": ops.why_op, "count": ops.count_op, "argmax": ops.argmax_op}[q.op]
        answer = run(q, corpus, res.docs)
    answer.query = q.to_json() | {"documents": [d.doc for d in res.docs], "unit_named": res.named}
    return check(answer)
