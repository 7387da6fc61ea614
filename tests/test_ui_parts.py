"""The Streamlit-free parts of ui/: data frames and downloads, page images, upload names, example questions."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from core.models import Cell, Citation, Row, Table
from core.settings import Settings
from ingest.cli import clean_name
from tests.ui_support import DATA_PDFS
from ui.docs import write_upload
from ui.examples import short_unit
from ui.render import image_path, remove_page_images, render_page, spans_by_page
from ui.tables import citation_frame, csv_bytes, excel_bytes, safe_file_stem, table_frame


def _cell(column: list[str], text: str) -> Cell:
    value = Decimal(text) if text.replace(".", "").isdigit() else None
    return Cell(column=column, text=text, value=value)


def test_table_frame_uses_header_paths_and_keeps_codes() -> None:
    t = Table(index=0, title="支出总表", name="支出总表", unit_of_measure="万元", pages=[9],
              columns=[["科目编码"], ["科目名称"], ["合计"], ["基本支出", "小计"], ["基本支出", "人员经费"]],
              rows=[Row(index=0, label="合计", cells=[_cell(["合计"], "361.68"), _cell(["基本支出", "小计"], "112.58")]),
                    Row(index=1, label="教育支出", code="205",
                        cells=[_cell(["合计"], "1.71"), _cell(["基本支出", "人员经费"], "0.71")])])
    df = table_frame(t)
    assert list(df.columns) == ["编码", "项目", "合计", "基本支出 / 小计", "基本支出 / 人员经费"]
    assert df.iloc[1].tolist() == ["205", "教育支出", "1.71", "", "0.71"]


def test_form_frame_for_tables_without_headers() -> None:
    t = Table(index=0, title="项目支出绩效目标表", name="项目支出绩效目标表", unit_of_measure=None, pages=[24],
              columns=[], rows=[
                  Row(index=0, label="项目名称", cells=[_cell(["项目名称"], "金保工程保障费")]),
                  Row(index=1, label="主管部门及代码", cells=[_cell(["主管部门及代码"], "[104]人社局"),
                                                          _cell(["主管部门及代码"], "实施单位")]),
                  Row(index=2, label="年度资金总额", parent="项目资金(万元)",
                      cells=[_cell(["项目资金(万元)", "年度资金总额"], "236.00")]),
              ])
    df = table_frame(t)
    assert list(df.columns) == ["上级", "项目", "内容"]
    assert df["内容"].tolist() == ["金保工程保障费", "[104]人社局；实施单位", "236.00"]


def test_citation_frame_columns() -> None:
    c = Citation(doc="a.pdf", unit="洛阳市劳动能力鉴定中心", year=2026, kind="table_row", page=25,
                 bbox=(0, 0, 1, 1), table="2026年项目支出预算表", row_label="金保专网经费",
                 cells={"合计": "57.20", "本年拨款/一般公共预算": "57.20"}, spans=[(25, (0, 0, 1, 1)), (26, (0, 0, 1, 1))])
    df = citation_frame([c])
    assert list(df.columns) == ["单位", "年度", "表名", "页码", "项目", "合计", "本年拨款/一般公共预算"]
    assert df.iloc[0]["页码"] == "25、26"


def test_csv_and_excel_downloads_read_back() -> None:
    import pandas as pd

    df = pd.DataFrame([{"项目": "金保专网经费", "合计": "57.20"}])
    data = csv_bytes(df)
    assert data.startswith(b"\xef\xbb\xbf") and "金保专网经费".encode() in data
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes(df, "项目支出表/2026", note="洛阳 2026")))
    ws = wb.active
    assert ws.title == "项目支出表2026"
    assert ws["A1"].value == "洛阳 2026" and ws["A3"].value == "项目" and ws["B4"].value == "57.20"
    assert safe_file_stem('a/b:c*?"<>|') == "a_b_c"


def test_uploaded_names_are_cleaned_and_never_paths(tmp_path: Path) -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\x\\预算.pdf") == "预算.pdf"
    assert clean_name("a\x00b.pdf") == "ab.pdf"
    assert clean_name("") == "未命名.pdf"
    settings = Settings(index_dir=tmp_path / "index", upload_dir=tmp_path / "up")
    p = write_upload(settings, b"%PDF-")
    assert p.parent == tmp_path / "up" and p.name.startswith("upload-") and p.read_bytes() == b"%PDF-"


def test_short_unit_drops_the_bracketed_second_name() -> None:
    assert short_unit("洛阳市劳动能力鉴定中心（洛阳市社会保障卡管理中心）") == "洛阳市劳动能力鉴定中心"
    assert short_unit("淮北市人力资源和社会保障局信息中心") == "淮北市人力资源和社会保障局信息中心"


def test_spans_by_page_groups_boxes() -> None:
    box = (1.0, 2.0, 3.0, 4.0)
    assert spans_by_page(5, box, []) == {5: [box]}
    assert spans_by_page(5, box, [(7, box), (6, box), (7, box)]) == {6: [box], 7: [box, box]}


def test_page_image_renders_once_and_is_removed(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", render_resolution=60)
    box = (56.9, 270.25, 785.1, 296.65)
    out = render_page(settings, DATA_PDFS[-1], "abc123", 26, [box])
    assert out == image_path(settings, "abc123", 26, [box], 60) and out.is_file()
    assert out.is_relative_to(settings.index_dir / "pages" / "abc123")
    stamp = out.stat().st_mtime_ns
    assert render_page(settings, DATA_PDFS[-1], "abc123", 26, [box]) == out
    assert out.stat().st_mtime_ns == stamp  # read from disk, not rendered again
    outline = render_page(settings, DATA_PDFS[-1], "abc123", 26, [box], style="outline")
    assert outline != out and outline.is_file()
    with pytest.raises(ValueError):
        render_page(settings, DATA_PDFS[-1], "abc123", 999, [])
    remove_page_images(settings, "abc123")
    assert not (settings.index_dir / "pages" / "abc123").exists()
