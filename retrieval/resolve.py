"""Which documents a question is about: units (with abbreviations), cities, years and kinds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from core.models import DocumentInfo

from .vocab import canonical, is_subsequence, synonyms

_YEAR = re.compile(r"(20\d{2})\s*年")
_COMPARE_BEFORE = ("比", "较", "与", "和", "同", "对比")
_CITY_MENTION = re.compile(r"([\u4e00-\u9fa5]{2,4}?)(?:市|县|州)")


@dataclass
class Resolution:
    docs: list[DocumentInfo]
    named: bool  # the question names a unit or city
    mentions: list[tuple[int, int]] = field(default_factory=list)  # spans of the question naming units
    year: int | None = None  # the year asked about, if stated
    problem: str | None = None  # why nothing can answer (unknown unit, year, kind)
    per_unit: list[list[DocumentInfo]] = field(default_factory=list)  # one list per unit named, in order


@lru_cache(maxsize=10_000)
def city_base(city: str | None) -> str:
    """"柳州市" → "柳州": one trailing 市/县/区 off (rstrip of a character set would eat the 州 too)."""
    name = canonical(city or "")
    return name[:-1] if len(name) > 2 and name[-1] in "市县区" else name


def doc_aliases(doc: DocumentInfo) -> list[str]:
    """The unit's full name, its bracketed second name, and both without the city."""
    return list(_aliases(doc.unit, doc.city))


@lru_cache(maxsize=100_000)
def _aliases(unit_name: str, city_name: str | None) -> tuple[str, ...]:
    unit = canonical(unit_name)
    names = [unit]
    m = re.match(r"^(.*?)（(.+)）$", unit)
    if m:
        names = [m.group(1), m.group(2), unit]
    city = canonical(city_name or "")
    out = []
    for n in names:
        out.append(n)
        if city and n.startswith(city) and len(n) > len(city) + 1:
            out.append(n[len(city):])
    return tuple(out)


def _mention(q: str, alias: str, city_base: str) -> tuple[int, int, int]:
    """Best (score, start, end) of a question span that abbreviates `alias` (its characters in order)."""
    best = (0, 0, 0)
    ends = [j for j in range(len(q), 0, -1) if q[j - 1] == alias[-1]]  # a span ends where the alias ends
    for i in range(len(q)):
        if q[i] != alias[0] and not (city_base and q.startswith(city_base, i)):
            continue
        for j in ends:
            if j - i < 2 or j - i <= best[0]:
                break
            if is_subsequence(q[i:j], alias):
                best = (j - i, i, j)
                break
    return best


@dataclass
class _Corpus:
    """Positions in a document list, arranged so a question looks only at the documents that could match it.

    Only positions: equal lists of fresh DocumentInfo objects share one _Corpus, and callers compare their
    own objects by identity.
    """

    by_ends: dict[tuple[str, str], list[int]]  # (first, last) character of an alias -> document positions
    by_city: dict[str, list[int]]  # city base -> document positions
    known: set[str]  # every document's city base
    order: dict[str, int] = field(init=False)  # city base -> its place in by_city
    lengths: set[int] = field(init=False)  # of the city bases

    def __post_init__(self) -> None:
        self.order = {b: n for n, b in enumerate(self.by_city)}
        self.lengths = {len(b) for b in self.by_city}

    def cities_in(self, q: str) -> list[str]:
        """The city bases q contains, in by_city's order, by looking up q's substrings (not every city)."""
        found = {q[i:i + n] for n in self.lengths for i in range(len(q) - n + 1)} & self.order.keys()
        return sorted(found, key=self.order.__getitem__)

    def candidates(self, q: str) -> list[int]:
        """Positions of documents with an alias whose first (or city) and last character are in q, in order."""
        chars = set(q)
        found: set[int] = set()
        for a in chars:
            for b in chars:
                found.update(self.by_ends.get((a, b), ()))
        for base in self.cities_in(q):
            found.update(self.by_city[base])
        return sorted(found)


_corpora: dict[tuple[tuple[str, str], ...], _Corpus] = {}
# the last list seen, by identity: a caller asking again with the same list skips building the key (O(documents))
_last: list[tuple[list[DocumentInfo], _Corpus]] = []


def _corpus(docs: list[DocumentInfo]) -> _Corpus:
    """The corpus index of a document list; callers must not change a list after passing it."""
    if _last and _last[0][0] is docs:
        return _last[0][1]
    key = tuple((d.doc_id, d.ingested_at or "") for d in docs)
    got = _corpora.get(key)
    if got is None:
        by_ends: dict[tuple[str, str], list[int]] = {}
        by_city: dict[str, list[int]] = {}
        for n, d in enumerate(docs):
            for a in {(x[0], x[-1]) for x in _aliases(d.unit, d.city) if x}:
                by_ends.setdefault(a, []).append(n)
            base = city_base(d.city)
            if base:
                by_city.setdefault(base, []).append(n)
        got = _Corpus(by_ends, by_city, {city_base(d.city) for d in docs})
        if len(_corpora) > 8:  # a few document sets at once (the index, a test's own); not one per change
            _corpora.clear()
        _corpora[key] = got
    _last[:] = [(docs, got)]
    return got


def resolve(question: str, docs: list[DocumentInfo]) -> Resolution:
    q = canonical(question)
    year = _asked_year(q)
    hits: list[tuple[int, int, int, DocumentInfo]] = []
    chars = set(q)
    corpus = _corpus(docs)
    seen: dict[tuple[str, str], tuple[int, int, int]] = {}  # (alias, city base if in q) -> _mention
    for n in corpus.candidates(q):
        d = docs[n]
        base = city_base(d.city)
        # A mention starts with the alias's first character (or the city) and ends with its last: the corpus
        # picked documents with such an alias; here their other aliases are dropped before any subsequence search.
        aliases = [a for a in _aliases(d.unit, d.city)
                   if a and a[-1] in chars and (a[0] in chars or (base and base in q))]
        if not aliases:
            continue
        # units of one kind in many cities share their aliases without the city: each is searched once
        in_q = base if base and base in q else ""
        for a in aliases:
            if (a, in_q) not in seen:
                seen[(a, in_q)] = _mention(q, a, in_q)
        score, s, e = max(seen[(a, in_q)] for a in aliases)
        unit_len = len(canonical(d.unit))
        if _other_city_before(q, s, base):
            continue
        if score >= 4 and (score >= min(8, unit_len * 0.4) or q[s:e].startswith(base) and score >= 5):
            if not _quoted(q, s, e):
                hits.append((score, s, e, d))
    if hits:  # a weak abbreviation elsewhere does not stand beside a unit named in full
        top = max(h[0] for h in hits)
        hits = [h for h in hits if top < 8 or h[0] * 2 > top]
    city_hits = _city_only(q, docs, corpus, {id(h[3]) for h in hits})
    named_unknown = _unknown_unit(q, corpus.known, hits)
    res = Resolution(docs, False, year=year)
    if hits or city_hits:
        res.named = True
        groups: dict[tuple[int, int], list[DocumentInfo]] = {}
        for _score, s, e, d in sorted(hits, key=lambda h: (-h[0], h[1])):
            if any(s < ee and ss < e for (ss, ee) in groups if (ss, ee) != (s, e)):
                continue
            groups.setdefault((s, e), []).append(d)
        for span, ds in city_hits.items():
            groups.setdefault(span, []).extend(ds)
        spans = sorted(groups)
        res.mentions = spans
        res.per_unit = [groups[s] for s in spans]
        res.docs = [d for s in spans for d in groups[s]]
    elif named_unknown:
        res.named, res.docs, res.problem = True, [], f"索引中没有“{named_unknown}”的公开文件"
    if year and res.docs:
        kept = [d for d in res.docs if d.year == year]
        if not kept:
            have = "、".join(sorted({str(d.year) for d in res.docs if d.year}))
            res.problem = f"索引中没有{year}年的公开文件（现有年度：{have}）"
        res.docs = kept
        res.per_unit = [[d for d in g if d.year == year] for g in res.per_unit]
    if "决算" in q and res.docs and not any(d.kind == "决算" for d in res.docs):
        res.problem, res.docs = "索引中只有预算公开文件，没有决算数据", []
    return res


def _quoted(q: str, s: int, e: int) -> bool:
    """The span lies inside quotation marks: an item's name ("“特殊学校教育”"), not a unit."""
    return q.rfind("“", 0, s) > q.rfind("”", 0, s) and q.find("”", e) >= 0


def _other_city_before(q: str, start: int, base: str) -> bool:
    """The span is preceded by the name of another city ("郑州市" + a unit type the index has elsewhere)."""
    m = re.search(r"([\u4e00-\u9fa5]{2,3}?)(?:市|县)$", q[:start])
    if m is None or not base:
        return False
    return m.group(1) != base and not q[:start].startswith(base)


def _asked_year(q: str) -> int | None:
    for m in _YEAR.finditer(q):
        before = q[max(0, m.start() - 2):m.start()]
        after = q[m.end():m.end() + 3]
        if any(before.endswith(w) for w in _COMPARE_BEFORE) or after.startswith(("相比", "比较", "预算相比")):
            continue
        if after.startswith(("底", "末", "12月")):
            continue  # a date inside the question ("截至2024年底"), not the disclosure's year
        return int(m.group(1))
    return None


def _city_only(q: str, docs: list[DocumentInfo], corpus: _Corpus,
               taken: set[int]) -> dict[tuple[int, int], list[DocumentInfo]]:
    """Cities named on their own ("甲市和乙市的…"): every untaken document of that city."""
    out: dict[tuple[int, int], list[DocumentInfo]] = {}
    for base in corpus.cities_in(q):
        if len(base) < 2:
            continue
        ds = [docs[n] for n in corpus.by_city[base]]
        for m in re.finditer(re.escape(base), q):
            rest = [d for d in ds if id(d) not in taken]
            if rest and not taken.intersection(id(d) for d in ds):
                end, rest = _narrow(q, m.end(), rest)
                out[(m.start(), end)] = rest
    return out


def _narrow(q: str, start: int, docs: list[DocumentInfo]) -> tuple[int, list[DocumentInfo]]:
    """After a city, a short form of one of its units ("某城一高" for 某城市第一高级中学): the longest run of
    characters that abbreviates some of the city's units narrows the mention to them."""
    for end in range(min(len(q), start + 8), start + 1, -1):
        span = q[start:end]
        core = re.sub(r"\d", "", span)  # "120急救中心": a service number people put in the name
        if len(core) < 2 or span[-1].isdigit():
            continue
        matching = [d for d in docs if any(core[0] in a[:3] and is_subsequence(core, a) for a in doc_aliases(d))]
        if matching and (len(matching) < len(docs) or len(core) >= 2):
            return end, matching
    return start, docs


def _unknown_unit(q: str, known: set[str], hits: list) -> str | None:
    """A unit named in the question that no indexed document matches ("某市某局…"); `known`: the cities indexed."""
    if hits:
        return None
    suffixes = "|".join(sorted(synonyms()["org_suffixes"], key=len, reverse=True))
    m = re.search(rf"([\u4e00-\u9fa5]{{2,4}}?(?:市|县|区|州))[\u4e00-\u9fa5（）]{{0,20}}?(?:{suffixes})", q)
    if m and city_base(m.group(1)) not in known:
        return m.group(0)
    m = _CITY_MENTION.match(q)
    if m and m.group(1) not in known and len(m.group(1)) >= 2 and re.search(rf"(?:{suffixes})", q[m.end():m.end() + 20]):
        return m.group(0)
    return None
