"""Citations and values: what every number of an answer points back to."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from core.models import Answer, Cell, ChunkHit, Citation, RowHit, Value

from .facts import NO_CHANGE, Fact

TO_YUAN = Decimal(10000)


def row_citation(hit: RowHit) -> Citation:
    cells = {"/".join(c.column) or "值": c.text for c in hit.row.cells if c.text}
    return Citation(
        doc=hit.doc.doc, unit=hit.doc.unit, year=hit.doc.year, kind="table_row", page=hit.row.page,
        bbox=hit.row.bbox, table=hit.table, row_label=hit.row.label, cells=cells, doc_id=hit.doc.doc_id,
        spans=list(hit.row.spans) or [(hit.row.page, hit.row.bbox)],
    )


def text_citation(chunk: ChunkHit, quote: str) -> Citation:
    c = chunk.chunk
    return Citation(
        doc=chunk.doc.doc, unit=chunk.doc.unit, year=chunk.doc.year, kind="text", page=c.page, bbox=c.bbox,
        section=" › ".join(c.section), quote=quote, doc_id=chunk.doc.doc_id, spans=list(c.spans) or [(c.page, c.bbox)],
    )


def money_text(value: Decimal) -> str:
    """Amounts as disclosures print them: two decimals."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}".replace(",", "")


def pct_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


class Builder:
    """Collects citations and values while an answer is composed."""

    def __init__(self, question: str) -> None:
        self.answer = Answer(question=question, status="answered", answer="")

    def cite(self, citation: Citation) -> int:
        for i, c in enumerate(self.answer.citations):
            if c.kind == citation.kind and c.doc_id == citation.doc_id and c.page == citation.page \
                    and c.row_label == citation.row_label and c.quote == citation.quote and c.table == citation.table:
                return i
        self.answer.citations.append(citation)
        return len(self.answer.citations) - 1

    def cell_value(self, hit: RowHit, cell: Cell, yuan: bool = False, label: str | None = None) -> Value:
        """A value read from a cell (converted to 元 in code when asked, with the formula shown)."""
        i = self.cite(row_citation(hit))
        unit = cell.unit or hit.unit_of_measure or "万元"
        assert cell.value is not None
        if yuan and unit == "万元":
            v = cell.value * TO_YUAN
            text = f"{v.normalize():f}"
            val = Value(v, "元", text, True, i, formula=f"{cell.text} 万元 × 10000 = {text} 元", citations=[i],
                        label=label)
        else:
            val = Value(cell.value, unit, cell.text, True, i, label=label)
        self.answer.values.append(val)
        return val

    def fact_value(self, fact: Fact, k: int = 0, label: str | None = None) -> Value:
        i = self.cite(text_citation(fact.chunk, fact.sentence))
        v, unit, text = fact.values[k]
        num = text if text == NO_CHANGE else re.sub(r"^(增加|减少|增长|下降|上升|降低)", "", text).rstrip("%")
        val = Value(v, unit, num, True, i, label=label)
        self.answer.values.append(val)
        return val

    def computed(self, value: Decimal, unit: str, text: str, formula: str, operands: list[Value],
                 label: str | None = None) -> Value:
        cites = sorted({o.citation for o in operands if o.citation is not None})
        val = Value(value, unit, text, True, cites[0] if cites else None, formula=formula, citations=cites, label=label)
        self.answer.values.append(val)
        return val

    def done(self, text: str, status: str = "answered") -> Answer:
        self.answer.answer = text
        self.answer.status = status
        return self.answer


def not_found(question: str, text: str, suggestions: list[str] | None = None) -> Answer:
    return Answer(question=question, status="not_found", answer=text, suggestions=suggestions or [])
