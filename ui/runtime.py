"""Streamlit-cached startup and reads: settings, the store, the document list, page images, examples.

Everything is keyed by the index the settings point at, so two indexes in one process (tests) never
share a cache, and the document list is keyed by the store's generation, so it refreshes after
every upload, deletion or re-index.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.models import BBox, DocumentInfo
from core.settings import Settings
from core.store import SqlStore, open_store

from .docs import ingest_bundled, load_names, open_search
from .examples import example_questions
from .render import render_page

log = logging.getLogger("budgetqa.ui")


@dataclass
class Runtime:
    settings: Settings
    store: SqlStore
    key: str  # identifies the index in cache keys
    search: Any | None = None  # retrieval.hybrid.HybridSearch, kept in step with the store

    def mode_label(self) -> str:
        """The answering mode as shown to users: the LLM's model name, never its key or address."""
        if self.settings.llm_enabled:
            return f"大模型 {self.settings.llm_model}"
        return "离线规则"


@st.cache_resource(show_spinner="正在打开索引……")
def _runtime(key: str, _settings: Settings) -> Runtime:
    store = open_store(_settings)
    added = ingest_bundled(_settings, store)
    if added:
        log.info("ingested %d bundled documents into %s", added, _settings.index_dir)
    search = open_search(_settings, store)
    _warm_up(_settings)
    return Runtime(_settings, store, key, search)


def _warm_up(settings: Settings) -> None:
    """Import answering once at startup so the first question does not pay for it."""
    try:
        import answering  # noqa: F401
    except ImportError as exc:
        log.warning("answering not importable yet: %s", exc)


def get_runtime() -> Runtime:
    settings = Settings()
    # every setting is in the key: an index or LLM configured differently is another runtime
    key = hashlib.sha256(f"{settings.index_dir.resolve()}|{settings.model_dump_json()}".encode()).hexdigest()[:24]
    return _runtime(key, settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _documents(key: str, generation: str, _store: SqlStore) -> list[DocumentInfo]:
    return _store.list_documents()


def documents(rt: Runtime) -> list[DocumentInfo]:
    """The indexed documents (cached until the index changes)."""
    return _documents(rt.key, rt.store.generation(), rt.store)


def names(rt: Runtime) -> dict[str, str]:
    """Display names of uploaded documents."""
    return load_names(rt.settings)


def _rules_check(settings: Settings) -> Callable[[str], bool] | None:
    """A test that the offline rules answer a question outright (no LLM call), or None when unavailable."""
    try:
        from answering import answer_with_corpus
        from retrieval.rows import load_corpus

        corpus = load_corpus(settings)
    except Exception as exc:  # noqa: BLE001 - examples are a convenience; show them unchecked
        log.warning("cannot check example questions: %s", exc)
        return None

    def answerable(question: str) -> bool:
        try:
            return answer_with_corpus(question, corpus, list(corpus.docs)).status == "answered"
        except Exception:  # noqa: BLE001
            return False

    return answerable


@st.cache_data(show_spinner=False, max_entries=64)
def _examples(key: str, generation: str, _store: SqlStore, _settings: Settings, limit: int) -> list[str]:
    infos = _store.list_documents()[:6]
    docs = [_store.load_document(i.doc_id) for i in infos]
    return example_questions(docs, limit, _rules_check(_settings))


def examples(rt: Runtime, limit: int = 4) -> list[str]:
    """Example questions made from the indexed documents."""
    return _examples(rt.key, rt.store.generation(), rt.store, rt.settings, limit)


@st.cache_data(show_spinner=False, max_entries=256)
def _page_png(key: str, pdf_path: str, doc_id: str, page: int, boxes: tuple[BBox, ...], resolution: int,
              style: str, _settings: Settings) -> bytes:
    return render_page(_settings, pdf_path, doc_id, page, boxes, resolution, style).read_bytes()


def page_png(rt: Runtime, pdf_path: str, doc_id: str, page: int, boxes: tuple[BBox, ...] = (),
             style: str = "fill") -> bytes:
    """PNG bytes of a page with `boxes` highlighted (rendered once: memory, then disk under index_dir/pages/)."""
    res = int(rt.settings.render_resolution)
    return _page_png(rt.key, pdf_path, doc_id, page, tuple(boxes), res, style, rt.settings)


def clear_caches() -> None:
    """Forget cached reads after the index changed under us (page images are keyed by content anyway)."""
    _documents.clear()
    _examples.clear()


def use_app_navigation() -> None:
    """Run a page through app.py's st.navigation even when the first visit of the process lands on it.

    Streamlit treats a ``pages/`` folder the old way (pages run alone, main page labelled "app", no
    set_page_config of app.py) until some run has called st.navigation; a page that finds itself run
    that way switches the process to app.py's navigation and reruns, landing on the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it: nothing to fix
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
