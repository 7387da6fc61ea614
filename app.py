"""预算公开问答: the Streamlit chat over the indexed budget disclosure PDFs.

Run with ``streamlit run app.py``. The index is the one the settings point at (BUDGETQA_INDEX_DIR);
on first start with an empty index the bundled PDFs of ``data_dir`` are ingested.
"""

from __future__ import annotations

import logging

import streamlit as st

from core.errors import BudgetQAError
from core.models import Answer
from ui.chat import render_answer
from ui.docs import load_names
from ui.runtime import Runtime, documents, examples, get_runtime
from ui.sidebar import sidebar

log = logging.getLogger("budgetqa.ui")

st.set_page_config(page_title="预算公开问答", page_icon=":material/account_balance:", layout="wide")

PLACEHOLDER = "请输入问题，例如：某单位的某项目经费是多少？"


def _ask_later(question: str) -> None:
    st.session_state["pending"] = question


def _restart() -> None:
    st.session_state["messages"] = []
    st.session_state.pop("pending", None)


def _ask(rt: Runtime, question: str, documents_: list[str] | None) -> Answer | str:
    """The answer, or a message saying why there is none."""
    from answering import ask

    try:
        return ask(question, settings=rt.settings, documents=documents_)
    except BudgetQAError as exc:
        return f"无法回答：{exc}"
    except Exception:  # noqa: BLE001 - the chat must survive a failing question
        log.exception("answering failed for %r", question)
        return "系统处理该问题时出错，请换个问法或稍后再试。"


def _show(rt: Runtime, msg: dict, key: str, docs_by_id: dict, names: dict[str, str]) -> None:
    if msg["role"] == "user":
        st.markdown(msg["content"])
    elif isinstance(msg.get("answer"), Answer):
        render_answer(rt, msg["answer"], docs_by_id, names, key, on_suggestion=_ask_later)
    else:
        st.error(msg.get("content") or "没有回答")


def _header(n_docs: int) -> None:
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    with left:
        st.title("预算公开问答", anchor=False)
        st.caption(f"依据已索引的 {n_docs} 份单位预算公开文件作答。每个数字都注明出处表格与页码，"
                   "可展开“原文”核对页面。")
    with right:
        st.button("重新开始", on_click=_restart, icon=":material/restart_alt:", width="stretch")


def _examples(rt: Runtime) -> None:
    qs = examples(rt)
    if not qs:
        return
    st.markdown("**试试这些问题**")
    cols = st.columns(2)
    for i, q in enumerate(qs):
        with cols[i % 2]:
            st.button(q, key=f"example-{i}", on_click=_ask_later, args=(q,), width="stretch",
                      icon=":material/chat_bubble:")


def chat_page() -> None:
    rt = get_runtime()
    docs = documents(rt)
    names = load_names(rt.settings)
    docs_by_id = {d.doc_id: d for d in docs}
    chosen = sidebar(rt, docs, names)
    _header(len(docs))

    messages: list[dict] = st.session_state.setdefault("messages", [])
    pending = st.session_state.pop("pending", None)
    typed = st.chat_input(PLACEHOLDER, disabled=not docs)
    question = (typed or pending or "").strip()
    for i, msg in enumerate(messages):
        with st.chat_message(msg["role"]):
            _show(rt, msg, str(i), docs_by_id, names)
    if not messages and not question and docs:
        _examples(rt)
    if chosen:
        st.caption(f":material/filter_alt: 当前只在所选的 {len(chosen)} 份文档中查询")
    if not question:
        return
    messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        with st.spinner("正在查找并核对……"):
            result = _ask(rt, question, chosen)
        msg = {"role": "assistant", "answer": result} if isinstance(result, Answer) else \
            {"role": "assistant", "content": result}
        messages.append(msg)
        _show(rt, msg, str(len(messages) - 1), docs_by_id, names)


st.navigation([
    st.Page(chat_page, title="预算问答", icon=":material/forum:", default=True),
    st.Page("pages/1_表格浏览.py", title="表格浏览", icon=":material/table_view:"),
]).run()
