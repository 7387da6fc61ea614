"""Optional LLM phrasing through LangChain; the verifier decides whether its text may be shown."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from core.models import Answer
from core.settings import Settings

from .query import Query, parse
from .verify import verify

OPS = ("lookup", "total", "sum", "share", "yoy", "why", "count", "argmax")
UNDERSTAND = (
    "把用户关于政府预算公开的问题转写成JSON，只输出JSON，不要解释，不要给出任何数字答案。\n"
    "字段：op（lookup查金额、total查合计、sum几项相加、share占比、yoy与上年比较、why原因、count个数、argmax最多/最少）、"
    "item（表格行名或说明中的名词，用公开文件的规范说法，例如“基本支出”“公务接待费”“机构运转经费”）、"
    "items（sum时的各项，share时为分母）、measure（列名，可为空）、want_min（argmax求最少时为true）。\n"
    "问题（已去掉单位名称）：{rest}\nJSON："
)

PROMPT = (
    "你是政府预算公开问答助手。请把下面的答案改写成一到两句通顺的中文，只能使用答案和引用中已有的数字，"
    "不得增加、修改或推算任何数字，不要编造。\n问题：{question}\n答案：{answer}\n引用：{citations}\n改写："
)


def chat_model(settings: Settings) -> Any:
    """ChatOpenAI against any OpenAI-compatible endpoint (DeepSeek, Qwen, Ollama, vLLM)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=settings.llm_base_url, api_key=settings.llm_api_key or "none",
                      model=settings.llm_model, timeout=settings.llm_timeout, temperature=0)


def rephrase_with_llm(answer: Answer, settings: Settings, model: Any = None) -> Answer:
    """The LLM's wording when every number in it is backed; otherwise the rule answer with a notice."""
    if answer.status == "not_found" or not answer.citations:
        return answer
    cites = "；".join(f"{c.table or c.section}：{c.row_label or ''} {c.cells or c.quote}" for c in answer.citations)
    try:
        model = model or chat_model(settings)
        reply = model.invoke(PROMPT.format(question=answer.question, answer=answer.answer, citations=cites))
        text = str(getattr(reply, "content", reply)).strip()
    except Exception as exc:  # the endpoint is optional: any failure falls back to the rule answer
        answer.notice = f"大模型不可用，已显示规则答案（{type(exc).__name__}）"
        return answer
    candidate = copy.deepcopy(answer)
    candidate.answer = text
    unbacked = verify(candidate)
    if unbacked or not text:
        answer.notice = "大模型的表述含有无法核实的数字（" + "、".join(unbacked) + "），已改为显示规则生成的答案"
        return answer
    candidate.mode = "llm"
    return candidate


def understand_with_llm(question: str, rest: str, settings: Settings, model: Any = None) -> Query | None:
    """The structured query an LLM reads from a question the rules could not answer (None if it gives none)."""
    try:
        model = model or chat_model(settings)
        reply = model.invoke(UNDERSTAND.format(rest=rest))
        text = str(getattr(reply, "content", reply))
        m = re.search(r"\{.*\}", text, re.S)
        data = json.loads(m.group(0)) if m else None
    except Exception:  # the endpoint is optional and its reply is untrusted: no query, the rule answer stands
        return None
    if not isinstance(data, dict) or data.get("op") not in OPS or not isinstance(data.get("item"), str):
        return None
    q = parse(question, rest)
    q.op, q.item = data["op"], data["item"].strip()
    items = data.get("items") or []
    q.items = [str(i) for i in items] if isinstance(items, list) else []
    measure = data.get("measure")
    q.measure = measure if isinstance(measure, str) and measure else q.measure
    q.want_min = bool(data.get("want_min", q.want_min))
    return q if q.item else None
