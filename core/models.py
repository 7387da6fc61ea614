"""The one set of domain types: Document, Table, Row, Cell, Chunk, Citation, Value, Answer.

Plain dataclasses holding plain data. Every row, cell and chunk carries its page and bounding box,
and rows/chunks are stored with their document, so a citation needs no extra lookup.
Bounding boxes are pdfplumber's: (x0, top, x1, bottom) in PDF points, origin at the page's top left.
Pages are 1-based PDF page indices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

BBox = tuple[float, float, float, float]


@dataclass
class Cell:
    """One body cell: its column's header path, printed text and numeric value (None when not a number)."""

    column: list[str]
    text: str
    value: Decimal | None = None
    comparator: str | None = None  # "≤", "≥", "<", ">", "=" when the text states a bound
    unit: str | None = None  # unit of `value`: the table's 万元/元, "%", or a count word
    page: int = 0
    bbox: BBox = (0.0, 0.0, 0.0, 0.0)


@dataclass
class Row:
    """One logical body row. Side-by-side tables (收入 | 支出) give one Row per side, with `group` set."""

    index: int
    label: str
    cells: list[Cell]
    code: str | None = None
    group: str | None = None
    page: int = 0
    bbox: BBox = (0.0, 0.0, 0.0, 0.0)
    spans: list[tuple[int, BBox]] = field(default_factory=list)  # (page, bbox) per page the row covers
    parent: str | None = None  # label of the enclosing row (key/value forms, indented items)

    def cell(self, *path: str) -> Cell | None:
        """The first cell whose header path ends with `path` (whitespace-insensitive)."""
        want = [squash(p) for p in path]
        for c in self.cells:
            have = [squash(p) for p in c.column]
            if have[-len(want):] == want:
                return c
        return None


@dataclass
class Table:
    index: int
    title: str  # as printed above the table
    name: str  # normalised: without unit name, year and 单位公开表N
    unit_of_measure: str | None  # "万元" | "元" | None
    pages: list[int]
    columns: list[list[str]]
    rows: list[Row]
    note: str | None = None
    number: str | None = None  # "单位公开表9", "附件12" …
    spans: list[tuple[int, BBox]] = field(default_factory=list)  # (page, bbox) of each piece


@dataclass
class Chunk:
    """A passage of the narrative under its section path (第一部分 › 一、… › （一）…)."""

    index: int
    section: list[str]
    text: str
    page: int
    bbox: BBox = (0.0, 0.0, 0.0, 0.0)
    spans: list[tuple[int, BBox]] = field(default_factory=list)


@dataclass
class Document:
    doc: str  # file name as ingested
    sha256: str
    unit: str
    year: int | None
    kind: str | None  # 单位预算 | 部门预算 | 决算
    pages: int
    tables: list[Table] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    city: str | None = None
    title: str = ""
    path: str | None = None  # where the original PDF is kept, for page images and download

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.sha256)


@dataclass
class DocumentInfo:
    """A document's identity and size, without its tables (what lists and resolution need)."""

    doc_id: str
    doc: str
    sha256: str
    unit: str
    year: int | None
    kind: str | None
    city: str | None
    title: str
    pages: int
    n_tables: int
    n_rows: int
    n_chunks: int
    path: str | None = None
    ingested_at: str | None = None  # when this parse was stored: a re-parse of the same file changes it


@dataclass
class RowHit:
    """A row found in the store, with everything a citation needs."""

    doc: DocumentInfo
    table: str  # table title as printed
    table_name: str  # normalised table name
    table_index: int
    unit_of_measure: str | None
    columns: list[list[str]]
    row: Row
    score: float = 0.0
    why: str = ""


@dataclass
class ChunkHit:
    doc: DocumentInfo
    chunk: Chunk
    score: float = 0.0


@dataclass
class Citation:
    doc: str
    unit: str
    year: int | None
    kind: str  # "table_row" | "text"
    page: int
    bbox: BBox
    table: str | None = None
    row_label: str | None = None
    cells: dict[str, str] = field(default_factory=dict)
    section: str | None = None
    quote: str | None = None
    doc_id: str | None = None
    spans: list[tuple[int, BBox]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc": self.doc, "unit": self.unit, "year": self.year, "kind": self.kind,
            "page": self.page, "bbox": [round(x, 1) for x in self.bbox],
        }
        if self.kind == "table_row":
            out.update(table=self.table, row_label=self.row_label, cells=self.cells)
        else:
            out.update(section=self.section, quote=self.quote)
        out["pages"] = sorted({p for p, _ in self.spans} or {self.page})
        return out


@dataclass
class Value:
    value: Decimal
    unit: str
    text: str
    verified: bool
    citation: int | None
    formula: str | None = None
    citations: list[int] = field(default_factory=list)
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": float(self.value), "unit": self.unit, "text": self.text,
            "verified": self.verified, "citation": self.citation,
        }
        if self.formula:
            out["formula"] = self.formula
        if self.citations:
            out["citations"] = self.citations
        if self.label:
            out["label"] = self.label
        return out


@dataclass
class Answer:
    question: str
    status: str  # answered | ambiguous | not_found
    answer: str
    values: list[Value] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    notice: str | None = None
    mode: str = "rules"  # rules | llm
    query: dict[str, Any] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question, "status": self.status, "answer": self.answer,
            "values": [v.to_json() for v in self.values],
            "citations": [c.to_json() for c in self.citations],
        }
        if self.notice:
            out["notice"] = self.notice
        if self.suggestions:
            out["suggestions"] = self.suggestions
        out["mode"] = self.mode
        return out


def doc_id_for(sha256: str) -> str:
    """Stable id of a document version: a prefix of its content hash."""
    return sha256[:16]


def squash(text: str) -> str:
    """Text without any whitespace, for comparisons that ignore line wraps and letter spacing."""
    return "".join(text.split())


def to_plain(obj: Any) -> Any:
    """A dataclass tree as JSON-ready data (Decimal → str, tuples → lists)."""
    if hasattr(obj, "__dataclass_fields__"):
        return to_plain(asdict(obj))
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    return obj
