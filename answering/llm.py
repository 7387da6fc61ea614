"""Optional LLM phrasing through LangChain; the verifier decides whether its text may be shown."""

from __future__ import annotations

import copy
from typing import Any

from core.models import Answer
from core.settings import Settings

from .verify import verify

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
