"""The verifier: every number in an answer's text must be backed by its citations or a formula."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from core.models import Answer, Citation, Value

from .facts import NO_CHANGE, SAME

_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
CONSTANTS = {Decimal(100), Decimal(10000)}  # ×100% and 万元 → 元 in formulas


def _plain(n: Decimal) -> Decimal:
    """120 and 120.00 compare equal and print as 120 (normalize() alone prints 1.2E+2)."""
    n = n.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def numbers_in(text: str) -> list[Decimal]:
    out = []
    for m in _NUM.finditer(text or ""):
        try:
            out.append(_plain(Decimal(m.group(0).replace(",", ""))))
        except InvalidOperation:
            continue
    return out


def citation_numbers(c: Citation) -> set[Decimal]:
    nums = set(numbers_in(c.quote or "")) | set(numbers_in(c.table or "")) | set(numbers_in(c.row_label or ""))
    nums |= set(numbers_in(c.unit)) | set(numbers_in(c.section or ""))
    for k, v in c.cells.items():
        nums |= set(numbers_in(v)) | set(numbers_in(k))
    if c.year:
        nums.add(Decimal(c.year))
    return nums


def value_backed(v: Value, answer: Answer) -> bool:
    """A read value appears in its citation; a computed one has all its operands' citations."""
    if v.formula:
        return bool(v.citations) and all(0 <= i < len(answer.citations) for i in v.citations)
    if v.citation is None or not 0 <= v.citation < len(answer.citations):
        return False
    cited = answer.citations[v.citation]
    if v.value == 0 and v.text == NO_CHANGE:  # "与上年持平": a change of zero the quote states in words
        return bool(SAME.search(cited.quote or ""))
    nums = numbers_in(v.text)
    return bool(nums) and nums[0] in citation_numbers(cited)


def verify(answer: Answer) -> list[str]:
    """Mark each value verified or not; return the numbers of the text that nothing backs."""
    backed: set[Decimal] = set(CONSTANTS)
    for c in answer.citations:
        backed |= citation_numbers(c)
    for v in answer.values:
        v.verified = value_backed(v, answer)
        if v.verified:
            backed |= set(numbers_in(v.text)) | set(numbers_in(v.formula or ""))
            backed.add(_plain(abs(v.value)))
    if answer.status == "not_found":  # echoing what was asked (a number in an item's name) claims nothing
        backed |= set(numbers_in(answer.question))
    unbacked = [f"{n:f}" for n in numbers_in(answer.answer) if n not in backed]
    return unbacked


def check(answer: Answer) -> Answer:
    """Verify a deterministic answer; anything unbacked is flagged in a notice, never shown as verified."""
    unbacked = verify(answer)
    if unbacked:
        answer.notice = "以下数字未能在引用中核实：" + "、".join(unbacked)
        for v in answer.values:
            if f"{_plain(v.value)}" in unbacked:
                v.verified = False
    return answer
