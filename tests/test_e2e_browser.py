"""The chat in a real browser: `streamlit run app.py` on a free port, headless Debian Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.ui_support import ROOT, build_index

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
OUT_DIR = ROOT / "test-output"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit did not serve within {timeout}s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    index = tmp_path / "index"
    build_index(index)
    port = _free_port()
    env = dict(os.environ, BUDGETQA_INDEX_DIR=str(index), BUDGETQA_UPLOAD_DIR=str(tmp_path / "uploads"),
               BUDGETQA_LLM_BASE_URL="", BUDGETQA_LLM_MODEL="", BUDGETQA_DATA_DIR=str(tmp_path / "no-data"),
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = tmp_path / "streamlit.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def browser():
    assert Path(CHROMIUM).is_file(), "Debian chromium is needed: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_table_browser_opened_directly_shows_table_and_page(server: str, browser) -> None:  # noqa: ANN001
    """The first visit of the server lands on the table page (a bookmark): it still gets the app's navigation."""
    OUT_DIR.mkdir(exist_ok=True)
    shot = OUT_DIR / "e2e-table.png"
    page = browser.new_page(viewport={"width": 1440, "height": 1300}, locale="zh-CN")
    page.goto(f"{server}/表格浏览", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="表格浏览")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stImage"] img').first).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="下载 Excel")).to_be_visible()
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav).to_contain_text("预算问答", timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")


def test_chat_in_browser_shows_verified_answer_and_highlighted_page(server: str, browser) -> None:  # noqa: ANN001
    OUT_DIR.mkdir(exist_ok=True)
    shot = OUT_DIR / "e2e-chat.png"
    page = browser.new_page(viewport={"width": 1440, "height": 2600}, locale="zh-CN")
    page.goto(server, wait_until="domcontentloaded")
    box = page.locator('[data-testid="stChatInputTextArea"]')
    expect(box).to_be_visible(timeout=60_000)
    expect(page.get_by_text("试试这些问题")).to_be_visible(timeout=60_000)
    box.fill("金保专网经费是多少？")
    box.press("Enter")

    verified = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="57.20")
    expect(verified).to_be_visible(timeout=60_000)
    expect(verified).to_contain_text("已核验")
    expect(page.locator('[data-testid="stDataFrame"]').last).to_be_visible()

    expander = page.locator('[data-testid="stExpander"]').filter(has_text="原文")
    expander.locator("summary").click()
    img = expander.locator("img").first
    expect(img).to_be_visible(timeout=60_000)
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle(),
                           timeout=30_000)
    assert img.evaluate("el => el.naturalWidth") > 500
    expect(expander.get_by_role("button", name="下载原文PDF")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
