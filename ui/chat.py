"""Drawing one answer in the chat: status, values and formulas, cited rows, quotes, and the 原文 pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.models import Answer, Citation, DocumentInfo, Value

from .render import citation_pages
from .runtime import Runtime, page_png
from .tables import citation_frame

MAX_PAGE_IMAGES = 8  # per answer; more citations are listed without pictures
PORTRAIT_WIDTH = 760  # pixels


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG header."""
    if len(png) >= 24 and png[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return 0, 0


def show_page(png: bytes, caption: str) -> None:
    """A page image: landscape pages across the column, portrait pages at a readable width."""
    w, h = _png_size(png)
    st.image(png, caption=caption, width="stretch" if w >= h else min(w, PORTRAIT_WIDTH))


def _number(v: Value) -> str:
    if not v.unit or v.text.endswith(v.unit):
        return v.text
    return f"{v.text}{v.unit}" if v.unit in ("%", "‰") else f"{v.text} {v.unit}"


def _status(answer: Answer) -> None:
    if answer.status == "answered":
        values = answer.values
        if values and all(v.verified for v in values):
            st.success(f"{answer.answer}\n\n**已核验** · 答案中的数值均已与引用的原表或原文核对一致",
                       icon=":material/verified:")
        elif values:
            unverified = "、".join(v.label or v.text for v in values if not v.verified)
            st.info(f"{answer.answer}\n\n**未核验**：{unverified} 未能与原表数值对上，请查看原文。",
                    icon=":material/help:")
        else:
            st.info(answer.answer, icon=":material/description:")
    elif answer.status == "ambiguous":
        st.warning(f"**问题不够明确**　{answer.answer}", icon=":material/alt_route:")
        st.caption("可在问题中写明单位、年度或表名，或在左侧“限定查询范围”中选择文档后再问。")
    else:
        st.warning(f"**未找到**　{answer.answer}", icon=":material/search_off:")
    if answer.notice:
        st.caption(f":material/info: {answer.notice}")


def _values(answer: Answer) -> None:
    computed = [v for v in answer.values if v.formula]
    if not computed:
        return
    lines = []
    for v in computed:
        mark = ":green[:material/verified: 已核验]" if v.verified else ":orange[:material/warning: 未核验]"
        label = f"**{v.label}**：" if v.label else ""
        lines.append(f"- {label}{_number(v)}　{mark}  \n  计算过程：`{v.formula}`")
    st.markdown("**计算**\n\n" + "\n".join(lines))


def _rows(citations: list[Citation]) -> None:
    rows = [c for c in citations if c.kind == "table_row"]
    if not rows:
        return
    groups: dict[tuple[str, str], list[Citation]] = {}
    for c in rows:
        groups.setdefault((c.doc_id or c.doc, c.table or ""), []).append(c)
    st.markdown("**引用的表格行**")
    for group in groups.values():
        st.dataframe(citation_frame(group), hide_index=True, width="stretch")


def _quotes(citations: list[Citation]) -> None:
    texts = [c for c in citations if c.kind != "table_row" and (c.quote or "").strip()]
    if not texts:
        return
    st.markdown("**引用的原文**")
    for c in texts:
        where = " · ".join(x for x in (c.unit, f"{c.year}年" if c.year else "", c.section or "", f"第{c.page}页") if x)
        st.markdown("> " + (c.quote or "").strip().replace("\n", "\n> "))
        st.caption(where)


def _where(c: Citation) -> str:
    what = f"{c.table or ''} · {c.row_label or ''}" if c.kind == "table_row" else (c.section or "正文")
    pages = "、".join(str(p) for p in citation_pages(c))
    return f"{c.unit} · {what} · 第{pages}页"


def _originals(rt: Runtime, answer: Answer, docs: dict[str, DocumentInfo], names: dict[str, str], key: str) -> None:
    if not answer.citations:
        return
    with st.expander("原文（引用所在页面，黄色框为引用位置）", icon=":material/picture_as_pdf:"):
        shown = 0
        for i, c in enumerate(answer.citations, start=1):
            info = docs.get(c.doc_id or "")
            st.markdown(f"**[{i}]** {_where(c)}")
            if info is None or not info.path or not Path(info.path).is_file():
                st.caption("该文档已不在索引中，无法显示原文页面。")
                continue
            for page, boxes in citation_pages(c).items():
                if shown >= MAX_PAGE_IMAGES:
                    st.caption(f"第{page}页（页面较多，此处不再显示图片，可下载原文查看）")
                    continue
                try:
                    png = page_png(rt, info.path, info.doc_id, page, tuple(boxes))
                except Exception as exc:  # noqa: BLE001 - a page that cannot render must not hide the answer
                    st.caption(f"第{page}页无法显示：{exc}")
                    continue
                show_page(png, f"{names.get(info.doc_id) or info.doc} 第{page}页")
                shown += 1
        seen: list[DocumentInfo] = []
        for c in answer.citations:
            info = docs.get(c.doc_id or "")
            if info is not None and info not in seen and info.path and Path(info.path).is_file():
                seen.append(info)
        for j, info in enumerate(seen):
            name = names.get(info.doc_id) or info.doc
            st.download_button(
                f"下载原文PDF：{name}", data=functools.partial(Path(info.path or "").read_bytes),
                file_name=name if name.lower().endswith(".pdf") else f"{name}.pdf", mime="application/pdf",
                key=f"pdf-{key}-{j}", icon=":material/download:", on_click="ignore",
            )


def render_answer(
    rt: Runtime, answer: Answer, docs: dict[str, DocumentInfo], names: dict[str, str], key: str,
    on_suggestion: Callable[[str], None] | None = None,
) -> None:
    """One assistant message: status and text, computations, cited rows and quotes, original pages."""
    _status(answer)
    if answer.suggestions and on_suggestion is not None:
        st.caption("您可以这样问：")
        for j, s in enumerate(answer.suggestions[:5]):
            st.button(s, key=f"sugg-{key}-{j}", on_click=on_suggestion, args=(s,), icon=":material/arrow_forward:")
    _values(answer)
    _rows(answer.citations)
    _quotes(answer.citations)
    _originals(rt, answer, docs, names, key)
    mode = rt.mode_label() if answer.mode == "llm" else "离线规则"
    st.caption(f"回答方式：{mode}")
