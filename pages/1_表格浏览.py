"""表格浏览: one parsed table of one document beside the page it came from, with CSV / Excel downloads."""

from __future__ import annotations

import streamlit as st

from core.errors import DocumentNotFoundError
from core.models import Document, Table
from ui.docs import display_name, doc_label, load_names
from ui.runtime import Runtime, documents, get_runtime, page_png, use_app_navigation
from ui.tables import csv_bytes, excel_bytes, safe_file_stem, table_frame


@st.cache_data(show_spinner="正在读取文档……", max_entries=16)
def _load(key: str, generation: str, doc_id: str, _rt: Runtime) -> Document:
    return _rt.store.load_document(doc_id)


def _table_label(t: Table) -> str:
    pages = "、".join(str(p) for p in t.pages)
    number = f"{t.number} " if t.number else ""
    return f"{number}{t.title or t.name or '（无标题表格）'}（第{pages}页，{len(t.rows)}行）"


def _page_boxes(t: Table, page: int) -> tuple:
    boxes = tuple(box for p, box in t.spans if p == page)
    if boxes:
        return boxes
    return tuple(r.bbox for r in t.rows if r.page == page)


use_app_navigation()
rt = get_runtime()
docs = documents(rt)
names = load_names(rt.settings)
st.title("表格浏览", anchor=False)
st.caption("查看每份文档解析出的表格，与原文页面对照；可下载为 CSV 或 Excel。")
if not docs:
    st.info("索引中还没有文档。请先在“预算问答”页的侧栏上传预算公开PDF。")
    st.stop()

by_id = {d.doc_id: d for d in docs}
left, right = st.columns([1, 1])
with left:
    doc_id = st.selectbox("文档", options=list(by_id), key="browse_doc",
                          format_func=lambda i: f"{doc_label(by_id[i])}（{display_name(by_id[i], names)}）")
try:
    doc = _load(rt.key, rt.store.generation(), doc_id, rt)
except DocumentNotFoundError:
    st.warning("该文档已从索引中删除。")
    st.stop()
if not doc.tables:
    st.info("这份文档中没有解析出表格。")
    st.stop()
with right:
    t_idx = st.selectbox("表格", options=list(range(len(doc.tables))), key=f"browse_table_{doc_id}",
                         format_func=lambda i: _table_label(doc.tables[i]))
table = doc.tables[t_idx]
df = table_frame(table)

meta = [f"单位：{doc.unit}", f"年度：{doc.year or '—'}", f"计量单位：{table.unit_of_measure or '—'}",
        f"{len(df)} 行 × {len(df.columns)} 列"]
st.markdown("　|　".join(meta))

data_col, page_col = st.columns([1, 1], gap="medium")
with data_col:
    st.subheader(table.title or table.name or "表格", anchor=False)
    if df.empty:
        st.info("该表没有数据行（原表为空表）。")
    else:
        st.dataframe(df, hide_index=True, width="stretch", height=min(640, 38 + 35 * len(df)))
    if table.note:
        st.caption(f"注：{table.note}")
    stem = safe_file_stem(f"{doc.unit}{doc.year or ''}_{table.name or table.title or '表格'}")
    note = f"{doc.unit} {doc.year or ''} {table.title}（{table.unit_of_measure or ''}，第{table.pages}页）"
    b1, b2 = st.columns(2)
    b1.download_button("下载 CSV", data=csv_bytes(df), file_name=f"{stem}.csv", mime="text/csv",
                       icon=":material/download:", width="stretch", on_click="ignore")
    b2.download_button("下载 Excel", data=excel_bytes(df, table.name or table.title, note), file_name=f"{stem}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", width="stretch", on_click="ignore")
with page_col:
    pages = table.pages or sorted({r.page for r in table.rows})
    if not pages:
        st.caption("没有页码信息。")
    else:
        page = pages[0]
        if len(pages) > 1:
            page = st.radio("原文页面", pages, horizontal=True, format_func=lambda p: f"第{p}页",
                            key=f"browse_page_{doc_id}_{t_idx}")
        info = by_id[doc_id]
        if info.path:
            try:
                png = page_png(rt, info.path, doc_id, int(page), _page_boxes(table, int(page)), style="outline")
                st.image(png, caption=f"{display_name(info, names)} 第{page}页（框内为该表）", width="stretch")
            except Exception as exc:  # noqa: BLE001 - a page that cannot render must not hide the table
                st.warning(f"第{page}页无法显示：{exc}")
        else:
            st.caption("原始PDF不在索引中，无法显示页面。")
