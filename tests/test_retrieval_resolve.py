"""Document resolution: which documents a question names, the same whichever list objects hold them."""

from __future__ import annotations

import copy

from core.models import DocumentInfo
from retrieval.resolve import resolve


def info(n: int, unit: str, city: str) -> DocumentInfo:
    return DocumentInfo(doc_id=f"d{n}", doc=f"d{n}.pdf", sha256=f"{n:064d}", unit=unit, year=2026, kind="单位预算",
                        city=city, title=f"{unit}2026年单位预算", pages=30, n_tables=10, n_rows=100, n_chunks=20)


DOCS = [info(1, "甲城市人力资源和社会保障局信息中心", "甲城市"), info(2, "乙川市劳动能力鉴定中心", "乙川市"),
        info(3, "甲城市第一高级中学", "甲城市")]


def test_a_fresh_list_of_the_same_documents_resolves_the_same() -> None:
    """Was wrong: a second list of equal documents (as list_documents() returns) named the unit twice,
    once as the unit and once as "its city on its own", because the city lookup held the first list's objects."""
    question = "甲城人社局信息中心的人员经费是多少"
    first = resolve(question, DOCS)
    again = resolve(question, copy.deepcopy(DOCS))
    assert [d.doc_id for d in first.docs] == ["d1"] and len(first.mentions) == 1
    assert [d.doc_id for d in again.docs] == ["d1"] and again.mentions == first.mentions
    assert [[d.doc_id for d in g] for g in again.per_unit] == [["d1"]]


def test_a_city_on_its_own_names_its_documents_and_an_unknown_unit_is_reported() -> None:
    both = resolve("甲城和乙川的收入总计分别是多少", copy.deepcopy(DOCS))
    assert both.named and sorted(d.doc_id for d in both.docs) == ["d1", "d2", "d3"]
    nothing = resolve("丙山市财政局的收入总计是多少", DOCS)
    assert nothing.named and nothing.docs == [] and nothing.problem and "丙山市财政局" in nothing.problem
    assert not resolve("收入总计是多少", DOCS).named


def test_cities_are_found_by_the_question_s_substrings_in_list_order() -> None:
    from retrieval.resolve import _corpus

    names = "子丑寅卯辰巳午未申酉戌亥春夏秋冬金木水火土梅兰竹菊松柏桃李杏"
    many = DOCS + [info(10 + n, f"丁{c}县财政局", f"丁{c}县") for n, c in enumerate(names)]
    corpus = _corpus(many)
    assert corpus.cities_in("乙川和甲城的收入，丁卯县呢") == ["甲城", "乙川", "丁卯"]
    assert corpus.cities_in("没有城市") == [] and _corpus(many) is corpus  # the same list: the same index
    assert [d.doc_id for d in resolve("丁卯县财政局的收入", many).docs] == ["d13"]


def test_units_of_one_kind_in_many_cities_resolve_to_the_city_named() -> None:
    """Their aliases without the city are matched once per question; the city still decides."""
    kinds = [info(20 + n, f"{c}市人力资源和社会保障局信息中心", f"{c}市") for n, c in enumerate(["甲城", "乙川", "丙山"])]
    for city, want in (("乙川", "d21"), ("丙山市", "d22"), ("甲城", "d20")):
        res = resolve(f"{city}人社局信息中心的人员经费是多少", kinds)
        assert [d.doc_id for d in res.docs] == [want], city
    assert sorted(d.doc_id for d in resolve("各地人力资源和社会保障局信息中心的人员经费", kinds).docs) == \
        ["d20", "d21", "d22"]
