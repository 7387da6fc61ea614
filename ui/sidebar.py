"""The chat page's sidebar: indexed documents, the question scope, the answering mode, document management."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import BudgetQAError
from core.models import DocumentInfo
from ingest.cli import PageProgress

from .docs import delete_document, display_name, doc_label, ingest_uploads, reindex_all
from .runtime import Runtime, clear_caches

SCOPE_KEY = "scope"


def documents_frame(docs: list[DocumentInfo], names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"单位": d.unit or "（未识别）", "年度": str(d.year or ""), "类型": d.kind or "", "页数": d.pages,
          "表格": d.n_tables, "文件": display_name(d, names)} for d in docs],
        columns=["单位", "年度", "类型", "页数", "表格", "文件"],
    )


def scope(docs: list[DocumentInfo], names: dict[str, str]) -> list[str] | None:
    """The multiselect limiting questions to some documents; None means all of them."""
    by_id = {d.doc_id: d for d in docs}
    if SCOPE_KEY in st.session_state:  # forget documents deleted since
        st.session_state[SCOPE_KEY] = [i for i in st.session_state[SCOPE_KEY] if i in by_id]
    chosen = st.multiselect(
        "限定查询范围", options=list(by_id), key=SCOPE_KEY,
        format_func=lambda i: f"{doc_label(by_id[i])}（{display_name(by_id[i], names)}）",
        placeholder="全部文档", help="不选表示在全部文档中查询；选中后只在所选文档中查找答案。",
    )
    return list(chosen) or None


def _flash() -> None:
    for kind, text in st.session_state.pop("manage_messages", []):
        {"ok": st.success, "warn": st.warning, "err": st.error}[kind](text)


def _uploads(rt: Runtime) -> None:
    n = st.session_state.get("manage_n", 0)
    files = st.file_uploader("上传预算公开PDF", type=["pdf"], accept_multiple_files=True, key=f"uploader-{n}",
                             help="可一次选择多个文件；导入后即可提问。")
    if not files or not st.button("导入所选文件", type="primary", icon=":material/upload:", width="stretch",
                                  key=f"import-{n}"):
        return
    bar = st.progress(0.0, text="准备导入……")

    def step(p: PageProgress) -> None:
        done = (p.file - 1 + p.done / max(p.pages, 1)) / max(p.files, 1)
        bar.progress(min(done, 1.0), text=f"正在解析 {p.name}：第 {p.done}/{p.pages} 页（第 {p.file}/{p.files} 个文件）")

    results = ingest_uploads(rt.settings, rt.store, [(f.name, f.getvalue()) for f in files], rt.search, on_page=step)
    messages = []
    for r in results:
        kind = "err" if not r.ok else ("warn" if r.status == "unchanged" else "ok")
        messages.append((kind, f"{r.name}：{r.message}" if r.ok else f"{r.name} 未导入：{r.message}"))
    bar.progress(1.0, text="导入完成")
    st.session_state["manage_messages"] = messages
    _done()  # a fresh uploader too, so the same files are not imported twice


def _done() -> None:
    """After an action: new keys for the management widgets (so nothing fires twice), then draw afresh."""
    st.session_state["manage_n"] = st.session_state.get("manage_n", 0) + 1
    clear_caches()
    st.rerun()


def _delete(rt: Runtime, docs: list[DocumentInfo], names: dict[str, str]) -> None:
    if not docs:
        return
    n = st.session_state.get("manage_n", 0)
    by_id = {d.doc_id: d for d in docs}
    target = st.selectbox("删除文档", options=list(by_id), index=None, placeholder="选择要删除的文档",
                          format_func=lambda i: f"{doc_label(by_id[i])}（{display_name(by_id[i], names)}）",
                          key=f"delete_target-{n}")
    sure = st.checkbox("确认删除（同时删除其索引和页面图片）", key=f"confirm_delete-{n}", disabled=target is None)
    if st.button("删除", icon=":material/delete:", disabled=not (target and sure), width="stretch",
                 key=f"delete-{n}") and target:
        info = by_id[target]
        try:
            delete_document(rt.settings, rt.store, target, rt.search)
            msg = ("ok", f"已删除：{doc_label(info)}（{display_name(info, names)}）")
        except BudgetQAError as exc:
            msg = ("err", f"删除失败：{exc}")
        st.session_state["manage_messages"] = [msg]
        _done()


def _reindex(rt: Runtime, docs: list[DocumentInfo]) -> None:
    n = st.session_state.get("manage_n", 0)
    if not docs or not st.button("重新索引全部文档", icon=":material/refresh:", width="stretch", key=f"reindex-{n}",
                                 help="用当前解析程序重新解析所有已导入的PDF，并重建检索索引。"):
        return
    bar = st.progress(0.0, text="重新索引……")

    def step(i: int, n: int, name: str) -> None:
        bar.progress(i / max(n, 1), text=f"正在解析 {name}（{i + 1}/{n}）" if name else "正在重建检索索引……")

    try:
        problems = reindex_all(rt.settings, rt.store, step, rt.search)
        msgs = [("ok", f"已重新索引 {len(docs) - len(problems)} 个文档")]
        msgs += [("err", f"{name} 保留原索引：{why}") for name, why in problems]
    except BudgetQAError as exc:
        msgs = [("err", f"重新索引失败：{exc}")]
    st.session_state["manage_messages"] = msgs
    _done()


def sidebar(rt: Runtime, docs: list[DocumentInfo], names: dict[str, str]) -> list[str] | None:
    """Draw the sidebar; returns the doc_ids questions are limited to (None = all)."""
    with st.sidebar:
        st.markdown(f"**回答模式**：{rt.mode_label()}")
        st.markdown(f"**已索引文档**（{len(docs)}）")
        if docs:
            with st.container(height=420 if len(docs) > 4 else "content", border=False):
                for d in docs:
                    facts = " · ".join(x for x in (f"{d.year}年" if d.year else "", d.kind or "",
                                                   f"{d.pages}页", f"{d.n_tables}张表") if x)
                    st.markdown(f"**{d.unit or '（未识别单位）'}**  \n{facts}  \n"
                                f":gray[:material/description: {display_name(d, names)}]")
        else:
            st.info("索引中还没有文档，请在下方上传预算公开PDF。")
        chosen = scope(docs, names)
        news = bool(st.session_state.get("manage_messages"))
        with st.expander("文档管理", icon=":material/folder_managed:", expanded=not docs or news):
            _flash()
            _uploads(rt)
            st.divider()
            _delete(rt, docs, names)
            st.divider()
            _reindex(rt, docs)
    return chosen
