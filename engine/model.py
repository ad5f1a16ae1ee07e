"""Frozen dataclasses for everything under guidelines/ and tests/cases/, built from schema-valid data."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeAlias

FactType = Literal["boolean", "number", "category", "list"]
Status = Literal["draft", "active", "deprecated", "retired"]
Strength = Literal["strong", "conditional", "not_graded"]

COMPARISONS = ("below", "at_most", "above", "at_least")
TESTS = ("equals", "not_equals", "one_of", *COMPARISONS, "between", "contains", "known", "unknown")
#: Actions that stop or block a subject, and the actions of the same subject they suppress.
BLOCKING_ACTIONS = frozenset({"stop", "avoid", "hold"})
BLOCKED_ACTIONS = frozenset({"start", "continue", "dose", "combine_with"})
#: The fact the engine reads to turn mg/kg/day into mg/day (not read by any condition).
WEIGHT_FACT = "weight"
#: Words that may follow a medicine's name, saying how often or how it is taken: not part of the name.
_DOSING_WORDS = frozenset({"od", "bd", "bid", "tds", "tid", "qds", "qid", "daily", "nocte", "mane",
                           "prn", "weekly", "oral", "orally", "po", "tablet", "tablets"})


def normalize_term(word: str) -> str:
    """One spelling for a medicine or symptom word, used on both sides of every list test.

    Lower case, spaces and underscores as single hyphens, and what follows the name dropped:
    from the first later word that starts with a digit or a bracket (a dose: "300 mg",
    "(300 mg)", "100mg od"), and how often or how it is taken ("daily", "bd") at the end. So
    "Allopurinol 100mg od", "allopurinol (300 mg)" and "mycophenolate mofetil" match the
    value sets' "allopurinol" and "mycophenolate-mofetil"; a name that starts with a digit
    ("5-ASA") keeps it.
    """
    words = word.lower().replace("_", " ").replace("(", " (").split()
    if not words:
        return ""
    name = words[:1]
    for later in words[1:]:
        if later[0].isdigit() or later[0] == "(":
            break
        name.append(later)
    while len(name) > 1 and name[-1] in _DOSING_WORDS:
        name.pop()
    return "-".join(name)


#: Reading order for people: what must not happen comes first.
ACTION_ORDER = (
    "stop", "avoid", "hold", "caution", "start", "continue", "dose", "combine_with",
    "order_test", "monitor", "consider", "counsel",
)


@dataclass(frozen=True)
class Multiple:
    """A threshold that is a multiple of another fact, such as 3 × ALT at baseline."""

    times: float
    of: str


@dataclass(frozen=True)
class ValueSetRef:
    """`contains: {valueset: name}`: the list holds any member of the value set."""

    name: str


Scalar: TypeAlias = bool | int | float | str
TestValue: TypeAlias = Scalar | tuple[str, ...] | tuple[float, float] | Multiple | ValueSetRef | None


@dataclass(frozen=True)
class Test:
    """A leaf condition: one test on one fact."""

    fact: str
    op: str
    value: TestValue
    unit: str | None = None
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition: TypeAlias = All | AnyOf | Not | Test


@dataclass(frozen=True)
class DoseSpec:
    min: float
    max: float
    unit: Literal["mg/day", "mg/kg/day"]


@dataclass(frozen=True)
class PercentRange:
    min: float
    max: float


@dataclass(frozen=True)
class Action:
    """One thing a rule recommends (or, for `derive`, a fact it sets)."""

    kind: str
    subject: str = ""
    strength: Strength = "not_graded"
    text: str = ""
    permanent: bool = False
    dose: DoseSpec | None = None
    adjust_percent: PercentRange | None = None
    interval: str | None = None
    duration: str | None = None
    with_subject: str | None = None
    fact: str | None = None
    value: bool | str = True


@dataclass(frozen=True)
class Citation:
    ref: str
    locator: str
    note: str | None = None


@dataclass(frozen=True)
class ChangeEntry:
    version: str
    date: str
    change: str


@dataclass(frozen=True)
class Review:
    authors: tuple[str, ...]
    approved: str
    next_review: str


@dataclass(frozen=True)
class Rule:
    """One recommendation, as written in guidelines/rules/<topic>/<id>.yaml."""

    id: str
    version: str
    status: Status
    title: str
    topic: str
    when: Condition
    then: tuple[Action, ...]
    rationale: str
    citations: tuple[Citation, ...]
    certainty: str
    evidence_scheme: str
    review: Review
    changelog: tuple[ChangeEntry, ...]
    overrides: tuple[str, ...] = ()
    reason: str | None = None
    replaced_by: tuple[str, ...] = ()
    path: str = ""

    @property
    def derives(self) -> tuple[str, ...]:
        return tuple(a.fact for a in self.then if a.kind == "derive" and a.fact)

    @property
    def recommendations(self) -> tuple[Action, ...]:
        return tuple(a for a in self.then if a.kind != "derive")


@dataclass(frozen=True)
class Conversion:
    unit: str
    factor: float
    offset: float = 0.0


@dataclass(frozen=True)
class FactDef:
    """One entry of the data dictionary."""

    name: str
    label: str
    type: FactType
    description: str
    unit: str | None = None
    display_unit: str | None = None
    range: tuple[float, float] | None = None
    values: tuple[tuple[str, str], ...] = ()
    conversions: tuple[Conversion, ...] = ()
    code: tuple[str, str] | None = None
    valueset: str | None = None
    derived: bool = False

    @cached_property
    def value_names(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.values)  # checked for every case: worked out once


@dataclass(frozen=True)
class ValueSet:
    name: str
    title: str
    description: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Expected:
    """A recommendation a case expects (or forbids), matched on the fields it gives."""

    action: str
    subject: str
    rule: str | None = None
    strength: str | None = None
    dose_mg: tuple[float, float] | None = None


@dataclass(frozen=True)
class Expectations:
    present: tuple[Expected, ...] = ()
    absent: tuple[Expected, ...] = ()
    suppressed: tuple[Expected, ...] = ()
    needs_data: tuple[str, ...] = ()
    exactly: bool = False


@dataclass(frozen=True, slots=True)  # slots: a big test suite holds millions of these
class FactInput:
    """A fact as a case gives it: the value and, optionally, the unit it was measured in."""

    value: Any
    unit: str | None = None

    def __reduce__(self) -> tuple[type[FactInput], tuple[Any, str | None]]:
        # Cases cross process boundaries by the thousand; the default for a frozen slotted
        # dataclass pickles a state dict per fact, twice the cost of these two fields.
        return FactInput, (self.value, self.unit)


@dataclass(frozen=True)
class Case:
    """A patient case: facts, and for fixtures what must and must not be recommended."""

    id: str
    title: str
    facts: Mapping[str, FactInput]
    story: str = ""
    topic: str = ""
    expect: Expectations = field(default_factory=Expectations)
    skip: str | None = None
    path: str = ""


# ---------------------------------------------------------------- builders
# Builders run only on data that passed the JSON Schema, so they index freely.


def condition_from(data: Mapping[str, Any], path: tuple[str | int, ...] = ("when",)) -> Condition:
    if "all" in data:
        return All(tuple(condition_from(c, (*path, "all", i)) for i, c in enumerate(data["all"])))
    if "any" in data:
        return AnyOf(tuple(condition_from(c, (*path, "any", i)) for i, c in enumerate(data["any"])))
    if "not" in data:
        return Not(condition_from(data["not"], (*path, "not")))
    op = next(t for t in TESTS if t in data)
    return Test(data["fact"], op, _test_value(op, data[op]), data.get("unit"), path)


def _test_value(op: str, raw: Any) -> TestValue:
    if isinstance(raw, dict) and "times" in raw:
        return Multiple(float(raw["times"]), raw["of"])
    if isinstance(raw, dict) and "valueset" in raw:
        return ValueSetRef(raw["valueset"])
    if op == "one_of":
        return tuple(raw)
    if op == "between":
        return (float(raw[0]), float(raw[1]))
    if op in COMPARISONS:
        return float(raw)
    if isinstance(raw, (bool, str)):
        return raw
    if isinstance(raw, (int, float)):
        return float(raw)
    return None


def action_from(data: Mapping[str, Any]) -> Action:
    dose = data.get("dose")
    adjust = data.get("adjust_percent")
    return Action(
        kind=data["action"],
        subject=data.get("subject", ""),
        strength=data.get("strength", "not_graded"),
        text=data.get("text", ""),
        permanent=bool(data.get("permanent", False)),
        dose=DoseSpec(float(dose["min"]), float(dose["max"]), dose["unit"]) if dose else None,
        adjust_percent=PercentRange(float(adjust["min"]), float(adjust["max"])) if adjust else None,
        interval=data.get("interval"),
        duration=data.get("duration"),
        with_subject=data.get("with"),
        fact=data.get("fact"),
        value=data.get("value", True),
    )


def rule_from(data: Mapping[str, Any], path: str = "") -> Rule:
    review = data["review"]
    return Rule(
        id=data["id"],
        version=data["version"],
        status=data["status"],
        title=data["title"],
        topic=data["topic"],
        when=condition_from(data["when"]),
        then=tuple(action_from(a) for a in data["then"]),
        rationale=data["rationale"],
        citations=tuple(Citation(c["ref"], c["locator"], c.get("note")) for c in data["citations"]),
        certainty=data["evidence"]["certainty"],
        evidence_scheme=data["evidence"]["scheme"],
        review=Review(tuple(review["authors"]), review["approved"], review["next_review"]),
        changelog=tuple(ChangeEntry(c["version"], c["date"], c["change"]) for c in data["changelog"]),
        overrides=tuple(data.get("overrides", ())),
        reason=data.get("reason"),
        replaced_by=tuple(data.get("replaced_by", ())),
        path=path,
    )


def fact_from(name: str, data: Mapping[str, Any]) -> FactDef:
    rng = data.get("range")
    code = data.get("code")
    return FactDef(
        name=name,
        label=data["label"],
        type=data["type"],
        description=data["description"],
        unit=data.get("unit"),
        display_unit=data.get("display_unit"),
        range=(float(rng["min"]), float(rng["max"])) if rng else None,
        values=tuple((str(k), str(v)) for k, v in data.get("values", {}).items()),
        conversions=tuple(
            Conversion(c["unit"], float(c["factor"]), float(c.get("offset", 0.0)))
            for c in data.get("conversions", ())
        ),
        code=(code["system"], code["code"]) if code else None,
        valueset=data.get("valueset"),
        derived=bool(data.get("derived", False)),
    )


def valueset_from(data: Mapping[str, Any]) -> ValueSet:
    return ValueSet(data["name"], data["title"], data["description"], tuple(data["values"]))


def _expected_from(data: Mapping[str, Any]) -> Expected:
    dose = data.get("dose_mg")
    return Expected(
        action=data["action"],
        subject=data["subject"],
        rule=data.get("rule"),
        strength=data.get("strength"),
        dose_mg=(float(dose["min"]), float(dose["max"])) if dose else None,
    )


def case_from(data: Mapping[str, Any], path: str = "", topic: str = "") -> Case:
    expect = data.get("expect", {})
    return Case(
        id=data["id"],
        title=data["title"],
        story=data.get("story", ""),
        topic=topic,
        facts={sys.intern(name): _fact_input(raw) for name, raw in data["facts"].items()},
        expect=Expectations(
            present=tuple(_expected_from(e) for e in expect.get("present", ())),
            absent=tuple(_expected_from(e) for e in expect.get("absent", ())),
            suppressed=tuple(_expected_from(e) for e in expect.get("suppressed", ())),
            needs_data=tuple(expect.get("needs_data", ())),
            exactly=bool(expect.get("exactly", False)),
        ),
        skip=data.get("skip"),
        path=path,
    )


def _fact_input(raw: Any) -> FactInput:
    kind = type(raw)
    if kind in _SHARED_KINDS and raw == raw and not (kind is float and raw == 0):  # not NaN, not -0.0 as 0.0
        return _plain_input(raw)
    if isinstance(raw, dict):
        return FactInput(raw["value"], raw["unit"])
    if isinstance(raw, list):
        return FactInput(tuple(raw))
    return FactInput(raw)


#: One FactInput per value met (true, false, a word, a number), shared by every case (they are
#: frozen): at 50,000 cases of 200 facts, one object per fact was a gigabyte. Bounded, as values are unbounded.
_SHARED_INPUTS: dict[tuple[type, Any], FactInput] = {}
_SHARED_MAX = 10_000
_SHARED_KINDS = frozenset({bool, str, int, float})


def _plain_input(value: bool | str | int | float) -> FactInput:
    key = (type(value), value)  # the type too: True == 1 == 1.0 must not share one input
    found = _SHARED_INPUTS.get(key)
    if found is None:
        found = FactInput(sys.intern(value) if isinstance(value, str) else value)
        if len(_SHARED_INPUTS) < _SHARED_MAX:
            _SHARED_INPUTS[key] = found
    return found


def iter_tests(condition: Condition) -> list[Test]:
    """Every leaf test of a condition tree, in the order written."""
    if isinstance(condition, Test):
        return [condition]
    if isinstance(condition, Not):
        return iter_tests(condition.item)
    return [t for item in condition.items for t in iter_tests(item)]


def facts_used(condition: Condition) -> frozenset[str]:
    """Every fact a condition reads, including the facts that thresholds are multiples of."""
    names: set[str] = set()
    for test in iter_tests(condition):
        names.add(test.fact)
        if isinstance(test.value, Multiple):
            names.add(test.value.of)
    return frozenset(names)


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    kind: str
    description: str = ""


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    description: str


@dataclass(frozen=True)
class Reference:
    key: str
    kind: str
    title: str
    authors: tuple[str, ...]
    year: int
    journal: str | None = None
    publisher: str | None = None
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Position:
    ref: str
    says: str


@dataclass(frozen=True)
class Disagreement:
    id: str
    question: str
    positions: tuple[Position, ...]
    winner: str
    rules: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Statement:
    id: str
    says: str
    section: str = ""
    rules: tuple[str, ...] = ()
    not_encoded_reason: str | None = None
    not_encoded_note: str | None = None


@dataclass(frozen=True)
class SourceTrace:
    ref: str
    statements: tuple[Statement, ...]
    path: str = ""


@dataclass(frozen=True)
class GuidelineSet:
    """Everything under guidelines/, as one immutable value."""

    facts: Mapping[str, FactDef]
    rules: tuple[Rule, ...]
    valuesets: Mapping[str, ValueSet] = field(default_factory=dict)
    subjects: Mapping[str, Subject] = field(default_factory=dict)
    topics: Mapping[str, Topic] = field(default_factory=dict)
    references: Mapping[str, Reference] = field(default_factory=dict)
    disagreements: tuple[Disagreement, ...] = ()
    sources: tuple[SourceTrace, ...] = ()

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.status == "active")

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def reference_from(key: str, data: Mapping[str, Any]) -> Reference:
    return Reference(
        key=key,
        kind=data["kind"],
        title=data["title"],
        authors=tuple(data["authors"]),
        year=int(data["year"]),
        journal=data.get("journal"),
        publisher=data.get("publisher"),
        doi=data.get("doi"),
        pmid=data.get("pmid"),
        url=data.get("url"),
        note=data.get("note"),
    )


def disagreement_from(data: Mapping[str, Any]) -> Disagreement:
    return Disagreement(
        id=data["id"],
        question=data["question"],
        positions=tuple(Position(p["ref"], p["says"]) for p in data["positions"]),
        winner=data["winner"],
        rules=tuple(data["rules"]),
        why=data["why"],
    )


def source_from(data: Mapping[str, Any], path: str = "") -> SourceTrace:
    statements = []
    for s in data["statements"]:
        skipped = s.get("not_encoded") or {}
        statements.append(
            Statement(
                id=s["id"],
                says=s["says"],
                section=s.get("section", ""),
                rules=tuple(s.get("rules", ())),
                not_encoded_reason=skipped.get("reason"),
                not_encoded_note=skipped.get("note"),
            )
        )
    return SourceTrace(data["source"], tuple(statements), path)
