"""The Streamlit chat (app.py) and the table browser, driven by AppTest over a real index built from data/*.pdf.

Nothing is patched: the app reads the index through BUDGETQA_INDEX_DIR and answers with answering.ask.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.settings import Settings
from core.store import open_store
from retrieval.items import iter_doc_items
from tests.ui_support import ROOT, SYNTHETIC, build_index, offline_env

APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index for the tests that only read it."""
    return build_index(tmp_path_factory.mktemp("shared") / "index").index_dir


@pytest.fixture
def index(shared_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    offline_env(monkeypatch, shared_index, tmp_path / "uploads")
    return Settings()


@pytest.fixture
def own_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh index for a test that uploads, deletes or re-indexes."""
    settings = build_index(tmp_path / "index")
    offline_env(monkeypatch, settings.index_dir, tmp_path / "uploads")
    return Settings()


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:  # noqa: ANN001 - AppTest element lists
    return [str(e.value) for e in elements]


def last_reply(at: AppTest) -> dict[str, list[str]]:
    """The success / warning / info texts of the latest assistant message."""
    msg = at.chat_message[-1]
    assert msg.name == "assistant"
    return {"success": texts(msg.success), "warning": texts(msg.warning), "info": texts(msg.info)}


def vectors(settings: Settings, doc_id: str) -> int:
    """How many items of a document the Chroma collection holds."""
    return len(item_ids(settings, doc_id))


def item_ids(settings: Settings, doc_id: str) -> set[str]:
    """The ids of a document's items in the Chroma collection."""
    from retrieval.vector import VectorIndex

    return set(VectorIndex(settings).item_ids(doc_id))


def red_pixels(png: Path) -> int:
    """How many pixels of a page image belong to the red highlight frame."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    return int(((px[..., 0] > 180) & (px[..., 1] < 90) & (px[..., 2] < 90)).sum())


def page_images(at: AppTest) -> list:
    return list(at.get("image"))


def doc_ids(settings: Settings) -> list[str]:
    store = open_store(settings)
    try:
        return [d.doc_id for d in store.list_documents()]
    finally:
        store.close()


def test_first_load_lists_documents_mode_and_examples(index: Settings) -> None:
    at = start()
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert "离线规则" in sidebar
    assert "淮北市人力资源和社会保障局信息中心" in sidebar and "洛阳市劳动能力鉴定中心" in sidebar
    assert "36页" in sidebar and "19张表" in sidebar
    examples = [b for b in at.button if b.key and b.key.startswith("example-")]
    assert 3 <= len(examples) <= 5
    units = ("淮北市人力资源和社会保障局信息中心", "洛阳市劳动能力鉴定中心")
    assert all(any(u in b.label for u in units) for b in examples)
    assert not at.chat_message


def test_llm_mode_shows_the_model_name_only(index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDGETQA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("BUDGETQA_LLM_MODEL", "qwen-test")
    monkeypatch.setenv("BUDGETQA_LLM_API_KEY", "sk-secret-test")
    at = start()
    shown = " ".join(texts(at.markdown) + texts(at.caption) + [b.label for b in at.button])
    assert "大模型 qwen-test" in shown and "离线规则" not in shown
    assert "sk-secret" not in shown and "127.0.0.1:9" not in shown


def test_example_button_asks_its_question(index: Settings) -> None:
    at = start()
    first = next(b for b in at.button if b.key == "example-0")
    label = first.label
    first.click().run()
    assert not at.exception
    assert at.chat_message[0].markdown[0].value == label
    assert len(at.chat_message) == 2
    assert not [b for b in at.button if b.key and b.key.startswith("example-")]


def test_verified_answer_with_cited_row_and_page_image(index: Settings) -> None:
    at = ask(start(), "金保专网经费是多少？")
    ok = [s for s in texts(at.success) if "57.20" in s]
    assert ok and "已核验" in ok[0]
    frames = [d.value for d in at.dataframe if "项目" in d.value.columns]
    assert frames, "the cited row is shown as a data frame"
    df = frames[0]
    assert list(df.columns[:5]) == ["单位", "年度", "表名", "页码", "项目"]
    row = df.iloc[0]
    assert row["项目"] == "金保专网经费" and "57.20" in row.tolist()
    assert "洛阳市劳动能力鉴定中心" in row["单位"] and row["年度"] == "2026"
    assert row["页码"] == "25"
    assert any(e.label.startswith("原文") for e in at.expander)
    imgs = page_images(at)
    assert imgs and imgs[0].proto.imgs[0].url
    rendered = list((index.index_dir / "pages").rglob("*.png"))
    assert rendered, "page images are cached on disk under index_dir/pages/"
    assert any(red_pixels(p) > 500 for p in rendered), "the cited row is framed in red"
    assert any(b.label.startswith("下载原文PDF") for b in at.download_button)
    assert "离线规则" in " ".join(texts(at.caption))


def test_computed_value_shows_its_formula(index: Settings) -> None:
    at = ask(start(), "淮北市人力资源和社会保障局信息中心人员经费占基本支出的比例是多少？")
    reply = last_reply(at)
    assert any("93.60" in s and "已核验" in s for s in reply["success"]), reply
    calc = [m.value for m in at.chat_message[-1].markdown if "计算过程" in m.value]
    assert calc and "105.38 ÷ 112.58" in calc[0]


def test_ambiguous_and_not_found_answers_are_warnings(index: Settings) -> None:
    at = ask(start(), "基本支出是多少？")
    assert any("问题不够明确" in w for w in texts(at.warning))
    assert not any("已核验" in s for s in texts(at.success))
    at = ask(at, "郑州市人社局信息中心的金保工程保障费是多少")
    warnings = last_reply(at)["warning"]
    assert any("未找到" in w and "郑州" in w for w in warnings)
    assert len(at.chat_message) == 4


def test_restart_clears_the_conversation(index: Settings) -> None:
    at = ask(start(), "金保专网经费是多少？")
    assert at.chat_message
    next(b for b in at.button if b.label == "重新开始").click().run()
    assert not at.chat_message
    assert any(b.key == "example-0" for b in at.button)


def test_multiselect_limits_questions_to_one_document(index: Settings) -> None:
    at = start()
    ids = doc_ids(index)
    store = open_store(index)
    huaibei = next(d.doc_id for d in store.list_documents() if d.unit.startswith("淮北"))
    store.close()
    assert huaibei in ids
    at.multiselect(key="scope").select(huaibei).run()
    assert any("所选的 1 份文档" in c for c in texts(at.caption))
    at = ask(at, "金保专网经费是多少？")
    reply = last_reply(at)
    assert not any("57.20" in s for s in reply["success"]) and reply["warning"]
    assert any("未找到" in w for w in texts(at.warning))
    at.multiselect(key="scope").set_value([]).run()
    at = ask(at, "金保专网经费是多少？")
    assert any("57.20" in s for s in texts(at.success))


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.sidebar.file_uploader[0].set_value((name, data, "application/pdf")).run()
    next(b for b in at.sidebar.button if b.label == "导入所选文件").click().run()
    assert not at.exception, at.exception
    return at


def _synthetic_question(pdf: Path) -> tuple[str, str]:
    """A lookup question about a synthetic PDF that names its unit, with the figure as printed."""
    qa = pdf.with_name(pdf.name.replace(".pdf", ".qa.jsonl"))
    for line in qa.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        q = item.get("question") or ""
        if (item.get("type") == "lookup" and item.get("answerable") and item.get("source_type") == "table"
                and item.get("unit_name") and item["unit_name"] in q and item.get("source_text")):
            return q, str(item["source_text"])
    raise AssertionError(f"no lookup question in {qa}")


def test_uploaded_pdf_is_answerable_right_after(own_index: Settings, tmp_path: Path) -> None:
    at = start()
    before = set(doc_ids(own_index))
    pdf = sorted(SYNTHETIC.glob("*.pdf"))[0]
    original = "上传的 预算公开（测试）.pdf"
    at = _upload(at, original, pdf.read_bytes())
    assert any(original in s and "已导入" in s for s in texts(at.sidebar.success)), texts(at.sidebar.error)
    new = set(doc_ids(own_index)) - before
    assert len(new) == 1
    info = open_store(own_index).get_info(new.pop())
    assert info.doc == original  # stored and cited under its own name …
    assert info.path == str(own_index.pdf_dir / f"{info.doc_id}.pdf")  # … which is never a path
    assert sorted(p.name for p in own_index.index_dir.rglob("*预算公开*")) == []
    assert not list((tmp_path / "uploads").iterdir())  # the temporary copy is gone
    assert original in " ".join(texts(at.sidebar.markdown))  # shown under its own name
    assert vectors(own_index, info.doc_id) > 0  # in the vector index too
    question, expected = _synthetic_question(pdf)
    at = ask(at, question)
    verified = [s for s in last_reply(at)["success"] if "已核验" in s]
    assert verified and expected in verified[0] and info.unit in verified[0], texts(at.warning)
    answer = at.session_state["messages"][-1]["answer"]
    assert {c.doc for c in answer.citations if c.doc_id == info.doc_id} == {original}
    assert any(b.label == f"下载原文PDF：{original}" for b in at.download_button)


def test_same_name_uploads_are_two_documents(own_index: Settings) -> None:
    at = start()
    first, second = sorted(SYNTHETIC.glob("*.pdf"))[1:3]
    at = _upload(at, "单位预算公开.pdf", first.read_bytes())
    at = _upload(at, "单位预算公开.pdf", second.read_bytes())
    assert any("单位预算公开 (2).pdf" in s for s in texts(at.sidebar.success)), texts(at.sidebar.error)
    store = open_store(own_index)
    names = sorted(d.doc for d in store.list_documents())
    store.close()
    assert names[-2:] == ["单位预算公开 (2).pdf", "单位预算公开.pdf"]
    at = _upload(at, "again.pdf", second.read_bytes())
    assert any("未重复导入" in w and "单位预算公开 (2).pdf" in w for w in texts(at.sidebar.warning))


def test_damaged_upload_shows_reason_and_changes_nothing(own_index: Settings, tmp_path: Path) -> None:
    at = start()
    before = doc_ids(own_index)
    at = _upload(at, "x.pdf", os.urandom(4096))
    errors = texts(at.sidebar.error)
    assert any("x.pdf" in e and "不是PDF" in e for e in errors), errors
    assert doc_ids(own_index) == before
    assert not list((tmp_path / "uploads").iterdir())


def test_delete_document_removes_it_everywhere(own_index: Settings) -> None:
    at = ask(start(), "金保专网经费是多少？")
    store = open_store(own_index)
    luoyang = next(d for d in store.list_documents() if d.unit.startswith("洛阳"))
    store.close()
    pages = own_index.index_dir / "pages" / luoyang.doc_id
    assert pages.is_dir()
    assert vectors(own_index, luoyang.doc_id) > 0
    at.sidebar.selectbox[0].select(luoyang.doc_id).run()
    next(c for c in at.sidebar.checkbox if c.label.startswith("确认删除")).check().run()
    next(b for b in at.sidebar.button if b.label == "删除").click().run()
    assert not at.exception
    assert any("已删除" in s for s in texts(at.sidebar.success))
    assert luoyang.doc_id not in doc_ids(own_index)
    assert not pages.exists()
    assert vectors(own_index, luoyang.doc_id) == 0
    assert not Path(luoyang.path or "").exists()
    assert "洛阳市劳动能力鉴定中心" not in " ".join(texts(at.sidebar.markdown))
    at = ask(at, "金保专网经费是多少？")
    reply = last_reply(at)
    assert not any("57.20" in s for s in reply["success"]) and reply["warning"]


def test_reindex_keeps_every_document(own_index: Settings) -> None:
    at = start()
    before = doc_ids(own_index)
    # what an older parser stored and embedded for one document: same hash, same number of items, other ids
    store = open_store(own_index)
    luoyang = next(d for d in store.list_documents() if d.unit.startswith("洛阳"))
    old = store.load_document(luoyang.doc_id)
    old.chunks = old.chunks[:-1]
    extra = copy.deepcopy(old.tables[-1].rows[-1])
    extra.index += 1
    old.tables[-1].rows.append(extra)
    store.save_document(old)
    from retrieval.vector import VectorIndex

    VectorIndex(own_index, store).index_document(luoyang.doc_id)
    next(b for b in at.sidebar.button if b.label == "重新索引全部文档").click().run()
    assert not at.exception
    assert any("已重新索引 2 个文档" in s for s in texts(at.sidebar.success))
    assert doc_ids(own_index) == before
    for doc_id in before:  # Chroma holds exactly the re-parsed items: nothing stale, nothing missing
        assert item_ids(own_index, doc_id) == {it.id for _, items in iter_doc_items(store, [doc_id]) for it in items}
    store.close()
    at = ask(at, "金保专网经费是多少？")
    assert any("57.20" in s for s in texts(at.success))


def test_table_browser_shows_table_page_and_downloads(index: Settings) -> None:
    at = start()
    at.switch_page("pages/1_表格浏览.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="browse_doc").value in doc_ids(index)
    frames = [d.value for d in at.dataframe]
    assert frames and "项目" in frames[0].columns
    assert any(" / " in c for f in frames for c in f.columns) or len(frames[0].columns) > 2
    assert page_images(at)
    labels = [b.label for b in at.download_button]
    assert "下载 CSV" in labels and "下载 Excel" in labels
    # the table holding 金保专网经费 in the Luoyang document
    store = open_store(index)
    luoyang = next(d for d in store.list_documents() if d.unit.startswith("洛阳"))
    doc = store.load_document(luoyang.doc_id)
    store.close()
    t_idx = next(i for i, t in enumerate(doc.tables) if "项目支出" in t.name)
    at.selectbox(key="browse_doc").select(luoyang.doc_id).run()
    at.selectbox(key=f"browse_table_{luoyang.doc_id}").select(t_idx).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert "金保专网经费" in df["项目"].tolist()
    assert "本年拨款 / 一般公共预算" in df.columns
