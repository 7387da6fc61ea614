"""Answering: Chinese questions → answers whose every number is cited and verified."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.models import Answer, DocumentInfo
from core.settings import Settings, get_settings
from retrieval.resolve import resolve
from retrieval.rows import Corpus, load_corpus
from retrieval.vocab import canonical

from . import change, ops
from .cite import not_found
from .query import Query, normalise_question, parse
from .verify import check

__all__ = ["ask", "answer_with_corpus"]


def _scope(corpus: Corpus, documents: list[str] | None) -> list[DocumentInfo]:
    """Documents the question may use: all, or those named by doc id / file name / file stem."""
    if not documents:
        return list(corpus.docs)
    wanted = set(documents)
    return [d for d in corpus.docs if d.doc_id in wanted or d.doc in wanted or d.doc.rsplit(".", 1)[0] in wanted]


def ask(question: str, settings: Settings | None = None, documents: list[str] | None = None,
        llm: Any = None) -> Answer:
    """Answer one question over the index (optionally limited to some documents).

    With an LLM (configured in settings, or a LangChain chat model passed as `llm`) a question the rules cannot
    answer is turned into a structured query by the LLM, and the answer's wording may be the LLM's; numbers still
    come only from cited cells and sentences, and the verifier has the last word.
    """
    settings = get_settings(settings)
    corpus = load_corpus(settings)
    understand = None
    if llm is not None or settings.llm_enabled:
        from .llm import understand_with_llm

        def understand(q: str, rest: str) -> Query | None:
            return understand_with_llm(q, rest, settings, llm)

    answer = answer_with_corpus(question, corpus, _scope(corpus, documents), understand)
    if llm is not None or settings.llm_enabled:
        from .llm import rephrase_with_llm

        answer = rephrase_with_llm(answer, settings, llm)
    return answer


def _run(q: Query, corpus: Corpus, docs: list[DocumentInfo]) -> Answer:
    run = {"lookup": ops.lookup_op, "total": ops.lookup_op, "sum": ops.sum_op, "share": ops.share_op,
           "yoy": change.yoy_op, "why": ops.why_op, "count": ops.count_op, "argmax": ops.argmax_op}[q.op]
    return run(q, corpus, docs)


def answer_with_corpus(question: str, corpus: Corpus, docs: list[DocumentInfo],
                       understand: Callable[[str, str], Query | None] | None = None) -> Answer:
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
        answer = _run(q, corpus, res.docs)
        if answer.status == "not_found" and understand is not None:
            q2 = understand(question, rest)
            if q2 is not None:
                second = _run(q2, corpus, res.docs)
                if second.status != "not_found":
                    q, answer = q2, second
                    answer.notice = f"问题由大模型理解为：{q.op}“{q.item}”；数字均取自公开文件并已核验。"
    answer.query = q.to_json() | {"documents": [d.doc for d in res.docs], "unit_named": res.named}
    return check(answer)
