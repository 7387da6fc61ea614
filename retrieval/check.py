"""Drift between the SQL store and the Chroma index: what is missing, extra or incomplete, and its repair."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.models import DocumentInfo
from core.settings import Settings
from core.store import TableStore, open_store

from .vector import VectorIndex


@dataclass
class Drift:
    """How Chroma differs from SQL; `counts` maps every document of either side to (SQL items, Chroma items)."""

    missing: list[str] = field(default_factory=list)  # in SQL, not in Chroma
    extra: list[str] = field(default_factory=list)  # in Chroma, not in SQL
    incomplete: list[str] = field(default_factory=list)  # in both, with different item counts
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # doc_id -> file name, for SQL documents

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.incomplete)

    def to_reindex(self) -> list[str]:
        """Documents whose vectors must be (re)written."""
        return self.missing + self.incomplete

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return {"clean": self.clean, "missing": self.missing, "extra": self.extra, "incomplete": self.incomplete,
                "counts": {d: {"sql": s, "chroma": c} for d, (s, c) in sorted(self.counts.items())}}

    def lines(self, verbose: bool = False) -> list[str]:
        """A human report: one line per drifting document (per document too with `verbose`)."""
        sql_total = sum(s for s, _ in self.counts.values())
        chroma_total = sum(c for _, c in self.counts.values())
        out = [f"documents: {len(self.names)} in SQL, {sum(1 for _, c in self.counts.values() if c)} in Chroma; "
               f"items: {sql_total} in SQL, {chroma_total} in Chroma"]
        for label, ids in (("missing in Chroma", self.missing), ("extra in Chroma", self.extra),
                           ("incomplete in Chroma", self.incomplete)):
            for d in ids:
                s, c = self.counts[d]
                out.append(f"{label:<21} {d} {self.names.get(d, '')}: SQL {s} items, Chroma {c}")
        if verbose:
            for d, (s, c) in sorted(self.counts.items()):
                out.append(f"{'ok' if s == c else 'DRIFT':<6} {d} {self.names.get(d, '')}: SQL {s}, Chroma {c}")
        out.append("in sync" if self.clean else
                   f"drift: {len(self.missing)} missing, {len(self.extra)} extra, {len(self.incomplete)} incomplete")
        return out


def find_drift(store: TableStore, vector: VectorIndex, only: Iterable[str] | None = None,
               infos: dict[str, DocumentInfo] | None = None) -> Drift:
    """Compare per-document item counts of SQL (chunks + rows) with the vectors Chroma holds.

    With `only`, just those documents are compared (one Chroma lookup each) instead of listing every id.
    """
    if infos is None:
        infos = {i.doc_id: i for i in store.list_documents()}
    if only is None:
        chroma = vector.doc_counts()
    else:
        wanted = set(only)
        chroma = {d: n for d in sorted(wanted) if (n := len(vector.item_ids(d)))}
        infos = {d: i for d, i in infos.items() if d in wanted}
    drift = Drift(names={d: i.doc for d, i in infos.items()})
    for doc_id, info in infos.items():
        want, have = info.n_chunks + info.n_rows, chroma.get(doc_id, 0)
        drift.counts[doc_id] = (want, have)
        if have == 0 and want > 0:
            drift.missing.append(doc_id)
        elif have != want:
            drift.incomplete.append(doc_id)
    for doc_id, have in chroma.items():
        if doc_id not in infos:
            drift.counts[doc_id] = (0, have)
            drift.extra.append(doc_id)
    drift.missing.sort()
    drift.extra.sort()
    drift.incomplete.sort()
    return drift


def repair(drift: Drift, vector: VectorIndex) -> int:
    """Index missing and incomplete documents and delete extra ones; returns how many items were written."""
    for doc_id in drift.extra:
        vector.delete_document(doc_id)
    return vector.index_documents(drift.to_reindex()) if drift.to_reindex() else 0


def run_check(settings: Settings | None = None, fix: bool = False) -> tuple[Drift, Drift | None]:
    """The drift between the settings' SQL store and Chroma, and with `fix` the drift left after repairing it."""
    store = open_store(settings)
    try:
        vector = VectorIndex(settings, store)
        drift = find_drift(store, vector)
        if not fix or drift.clean:
            return drift, None
        repair(drift, vector)
        return drift, find_drift(store, vector)
    finally:
        store.close()
