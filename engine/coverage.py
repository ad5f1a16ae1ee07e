"""Case outcomes -> coverage gates (fires, near-misses, missing facts, both sides of thresholds) and table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.cases import CaseOutcome, Seen, seen_in
from engine.model import COMPARISONS, All, FactDef, GuidelineSet, Multiple, Rule, Test, facts_used, iter_tests
from engine.nnf import nnf
from engine.oracle import leaf_truth
from engine.properties import multiple_of

#: For each comparison: does the side below the threshold include the threshold itself?
_LOWER_INCLUDES = {"below": False, "at_least": False, "at_most": True, "above": True}


@dataclass(frozen=True)
class Boundary:
    """One threshold point of one rule; both sides must be seen in some case."""

    fact: str
    point: float | Multiple
    lower_includes: bool       # True: the sides are `<= point` and `> point`
    text: str                  # the test as written, for messages: "wbc below 2.5 ×10⁹/L"

    def side(self, facts: Mapping[str, Any]) -> str | None:
        """'lower' or 'upper' for a case's facts, or None when the case cannot tell."""
        if isinstance(self.point, Multiple):  # compared as the engine does: with times × the other fact
            value, limit = _number(facts.get(self.fact)), multiple_of(facts, self.point.times, self.point.of)
        else:
            value, limit = _number(facts.get(self.fact)), self.point
        if value is None or limit is None:
            return None
        lower = value <= limit if self.lower_includes else value < limit
        return "lower" if lower else "upper"

    def missing_side_text(self, side: str) -> str:
        shown = _point_text(self.point)
        if side == "lower":
            return f"at or below {shown}" if self.lower_includes else f"below {shown}"
        return f"above {shown}" if self.lower_includes else f"at or above {shown}"


def _number(value: object) -> float | None:
    """The value as a number, or None for anything else (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _point_text(point: float | Multiple) -> str:
    return f"{point.times:g} × {point.of}" if isinstance(point, Multiple) else f"{point:g}"


def boundaries(rule: Rule, facts: Mapping[str, FactDef]) -> list[Boundary]:
    """Every numeric threshold of a rule's condition; `between` gives two."""
    found: list[Boundary] = []
    for test in iter_tests(rule.when):
        text = _test_text(test, facts.get(test.fact))
        if test.op in COMPARISONS and isinstance(test.value, (int, float, Multiple)):
            found.append(Boundary(test.fact, test.value, _LOWER_INCLUDES[test.op], text))
        elif test.op == "between" and isinstance(test.value, tuple) and len(test.value) == 2:
            low, high = test.value
            found += [Boundary(test.fact, float(low), False, text), Boundary(test.fact, float(high), True, text)]
    return found


def _test_text(test: Test, fact: FactDef | None) -> str:
    unit = (fact.display_unit or fact.unit or "") if fact else ""
    if isinstance(test.value, tuple):
        shown = "–".join(f"{v:g}" if isinstance(v, float) else str(v) for v in test.value)
    elif isinstance(test.value, (Multiple, float)):
        shown = _point_text(test.value)
        unit = "" if isinstance(test.value, Multiple) else unit
    else:
        shown = str(test.value)
    return f"{test.fact} {test.op.replace('_', ' ')} {shown} {unit}".rstrip()


def seen_from(outcome: CaseOutcome) -> Seen | None:
    """What an outcome shows coverage: its kept view, else made from its kept result (None: not evaluated)."""
    if outcome.seen is not None:
        return outcome.seen
    if outcome.result is None:
        return None
    return seen_in(outcome.result, outcome.facts)


@dataclass(frozen=True)
class RuleCoverage:
    rule: str
    title: str
    fired: int
    near_missed: int
    boundaries_covered: int
    boundaries_total: int
    gaps: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "fired": self.fired, "near_missed": self.near_missed,
                "boundaries": {"covered": self.boundaries_covered, "total": self.boundaries_total},
                "gaps": list(self.gaps)}


@dataclass(frozen=True)
class Coverage:
    """Per-rule coverage and every gate that is broken, one line each (empty: all gates pass)."""

    rules: tuple[RuleCoverage, ...]
    fact_gaps: tuple[str, ...]
    cases: int

    @property
    def gaps(self) -> tuple[str, ...]:
        return (*(g for r in self.rules for g in r.gaps), *self.fact_gaps)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "pass" if not self.gaps else "fail", "cases": self.cases,
                "rules": [r.as_dict() for r in self.rules], "fact_gaps": list(self.fact_gaps),
                "gaps": list(self.gaps)}


def measure(guidelines: GuidelineSet, outcomes: Iterable[CaseOutcome]) -> Coverage:
    """Coverage of every active rule by the evaluated cases (SKIP and ERROR cases show nothing)."""
    tally = Tally(guidelines)
    for outcome in outcomes:
        seen = seen_from(outcome)
        if seen is not None:
            tally.add(seen)
    return tally.coverage()


def _key(rule: Rule) -> str:
    return rule.id


@dataclass
class _Watch:
    """One rule's coverage so far; what depends only on the rule is worked out once."""

    rule: Rule
    conjunctive: bool                  # all-of: a near miss meets part of it
    tests: list[Test]
    used: frozenset[str]
    points: list[Boundary]
    fired: int = 0
    near: int = 0
    sides: list[set[str]] = field(default_factory=list)

    @classmethod
    def of(cls, rule: Rule, facts: Mapping[str, FactDef]) -> _Watch:
        condition = nnf(rule.when)
        points = boundaries(rule, facts)
        return cls(rule, isinstance(condition, All), iter_tests(condition), facts_used(condition), points,
                   sides=[set() for _ in points])

    def add(self, seen: Seen, guidelines: GuidelineSet) -> None:
        if self.rule.id in seen.fired:
            self.fired += 1
        elif self._partly_holds(seen, guidelines):
            self.near += 1
        for point, found in zip(self.points, self.sides, strict=True):
            if len(found) < 2:  # both sides seen: nothing left to learn from this threshold
                side = point.side(seen.facts)
                if side is not None:
                    found.add(side)

    def _partly_holds(self, seen: Seen, guidelines: GuidelineSet) -> bool:
        """partly_holds, with the rule's normal form computed once."""
        if not self.conjunctive:
            return bool(self.used & seen.facts.keys())
        return any(leaf_truth(t, seen.facts, guidelines.valuesets) is True for t in self.tests)


class Tally:
    """Coverage counted one case at a time, so that a run keeps no case's facts: add, then coverage()."""

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.guidelines = guidelines
        self._watches = [_Watch.of(r, guidelines.facts) for r in sorted(guidelines.active_rules, key=_key)]
        self._cases = 0
        self._needed: set[str] = set()
        self._never_missing: set[str] | None = None  # facts every case so far had (None: no case yet)

    def add(self, seen: Seen) -> None:
        self._cases += 1
        self._needed |= seen.needs
        if self._never_missing is None:
            self._never_missing = set(seen.facts)
        else:
            self._never_missing.intersection_update(seen.facts.keys())
        for watch in self._watches:
            watch.add(seen, self.guidelines)

    def coverage(self) -> Coverage:
        producers = _producers(self.guidelines)
        rules = tuple(_rule_coverage(w, reads(w.rule, self.guidelines, producers)) for w in self._watches)
        return Coverage(rules, tuple(self._fact_gaps()), self._cases)

    def _fact_gaps(self) -> Iterator[str]:
        for fact, why in sorted(_facts_needing_absence(self.guidelines, self._needed).items()):
            if self._never_missing is None or fact in self._never_missing:
                yield f"{fact}: no case leaves this fact missing ({why})"


def _producers(guidelines: GuidelineSet) -> dict[str, list[Rule]]:
    producers: dict[str, list[Rule]] = {}
    for other in guidelines.active_rules:
        for fact in other.derives:
            producers.setdefault(fact, []).append(other)
    return producers


def reads(rule: Rule, guidelines: GuidelineSet,
          producers: Mapping[str, list[Rule]] | None = None) -> frozenset[str]:
    """The facts a rule's condition reads, and for derived facts the facts they are derived from.

    A rule on a derived fact (severe_cytopenia) is narrowly missed by a case that gives
    the facts behind it (a white cell count that is not low enough).
    """
    producers = _producers(guidelines) if producers is None else producers
    found: set[str] = set()
    todo = list(facts_used(rule.when))
    while todo:
        fact = todo.pop()
        if fact not in found:
            found.add(fact)
            todo += [f for producer in producers.get(fact, []) for f in facts_used(producer.when)]
    return frozenset(found)


def partly_holds(rule: Rule, seen: Seen, guidelines: GuidelineSet) -> bool:
    """A near miss: the rule needs all of several tests and some of them hold for the case; for a
    rule of one test or of any-of, the case gives one of its facts (all on the wrong side).

    "Some fact it reads is given" would count nearly every case (most give azathioprine_status);
    a near miss should be a patient who meets part of the rule, so that the case shows which
    remaining part keeps it from firing.
    """
    condition = nnf(rule.when)
    if not isinstance(condition, All):  # one test, or any-of: no part can hold without firing it
        return bool(facts_used(condition) & seen.facts.keys())
    return any(leaf_truth(t, seen.facts, guidelines.valuesets) is True for t in iter_tests(condition))


def _rule_coverage(watch: _Watch, reads_: frozenset[str]) -> RuleCoverage:
    rule, fired, near = watch.rule, watch.fired, watch.near
    gaps = [f"{rule.id}: never fires in any case"] if not fired else []
    if not near and watch.conjunctive:
        gaps.append(f"{rule.id}: no near-miss case (no case meets part of its condition, on "
                    f"{' or '.join(sorted(reads_))}, without the rule firing)")
    elif not near:
        gaps.append(f"{rule.id}: no near-miss case (no case gives {' or '.join(sorted(reads_))} "
                    "without the rule firing)")
    gaps += [f"{rule.id}: threshold {b.text} not tested {b.missing_side_text(side)}"
             for b, found in zip(watch.points, watch.sides, strict=True)
             for side in ("lower", "upper") if side not in found]
    covered = sum({"lower", "upper"} <= found for found in watch.sides)
    return RuleCoverage(rule.id, rule.title, fired, near, covered, len(watch.points), tuple(gaps))


def _facts_needing_absence(guidelines: GuidelineSet, needed: set[str]) -> dict[str, str]:
    """Facts a rule tests with known/unknown, or that a result listed as needed data, and why."""
    reasons: dict[str, list[str]] = {}
    for rule in sorted(guidelines.active_rules, key=_key):
        for test in iter_tests(rule.when):
            if test.op in ("known", "unknown") and rule.id not in reasons.get(test.fact, []):
                reasons.setdefault(test.fact, []).append(rule.id)
    tested = {fact: f"{', '.join(ids)} {'tests' if len(ids) == 1 else 'test'} whether it is known"
              for fact, ids in reasons.items()}
    return {**{f: "listed as needed data in a result" for f in sorted(needed)}, **tested}
