"""Case outcomes -> coverage gates (fires, near-misses, missing facts, both sides of thresholds) and table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.cases import CaseOutcome
from engine.model import COMPARISONS, All, FactDef, GuidelineSet, Multiple, Rule, Test, facts_used, iter_tests
from engine.nnf import nnf
from engine.oracle import leaf_truth
from engine.properties import multiple_of
from engine.result import Result

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


@dataclass(frozen=True)
class Seen:
    """What one evaluated case shows coverage: its facts (given and derived), and which rules fired."""

    facts: Mapping[str, Any]
    fired: frozenset[str]
    needs: frozenset[str]


def seen_from(outcome: CaseOutcome) -> Seen | None:
    if outcome.result is None:
        return None
    result: Result = outcome.result
    fired = {s.rule for s in result.trace if s.outcome == "fired"}
    fired |= {r.rule for r in result.recommendations} | {s.recommendation.rule for s in result.suppressed}
    needs = {fact for need in result.needs_data for fact in need.facts}
    return Seen({**outcome.facts, **result.derived}, frozenset(fired), frozenset(needs))


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


def measure(guidelines: GuidelineSet, outcomes: Sequence[CaseOutcome]) -> Coverage:
    """Coverage of every active rule by the evaluated cases (SKIP and ERROR cases show nothing)."""
    seen = [s for s in map(seen_from, outcomes) if s is not None]
    rules = tuple(_rule_coverage(r, guidelines, seen) for r in sorted(guidelines.active_rules, key=_key))
    return Coverage(rules, tuple(_fact_gaps(guidelines, seen)), len(seen))


def _key(rule: Rule) -> str:
    return rule.id


def reads(rule: Rule, guidelines: GuidelineSet) -> frozenset[str]:
    """The facts a rule's condition reads, and for derived facts the facts they are derived from.

    A rule on a derived fact (severe_cytopenia) is narrowly missed by a case that gives
    the facts behind it (a white cell count that is not low enough).
    """
    producers: dict[str, list[Rule]] = {}
    for other in guidelines.active_rules:
        for fact in other.derives:
            producers.setdefault(fact, []).append(other)
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


def _rule_coverage(rule: Rule, guidelines: GuidelineSet, seen: list[Seen]) -> RuleCoverage:
    fired = sum(rule.id in s.fired for s in seen)
    reads_ = reads(rule, guidelines)
    near = sum(rule.id not in s.fired and partly_holds(rule, s, guidelines) for s in seen)
    points = boundaries(rule, guidelines.facts)
    sides = [{b.side(s.facts) for s in seen} for b in points]
    gaps = [f"{rule.id}: never fires in any case"] if not fired else []
    if not near and isinstance(nnf(rule.when), All):
        gaps.append(f"{rule.id}: no near-miss case (no case meets part of its condition, on "
                    f"{' or '.join(sorted(reads_))}, without the rule firing)")
    elif not near:
        gaps.append(f"{rule.id}: no near-miss case (no case gives {' or '.join(sorted(reads_))} "
                    "without the rule firing)")
    gaps += [f"{rule.id}: threshold {b.text} not tested {b.missing_side_text(side)}"
             for b, found in zip(points, sides, strict=True) for side in ("lower", "upper") if side not in found]
    covered = sum({"lower", "upper"} <= found for found in sides)
    return RuleCoverage(rule.id, rule.title, fired, near, covered, len(points), tuple(gaps))


def _fact_gaps(guidelines: GuidelineSet, seen: list[Seen]) -> Iterator[str]:
    for fact, why in sorted(_facts_needing_absence(guidelines, seen).items()):
        if not any(fact not in s.facts for s in seen):
            yield f"{fact}: no case leaves this fact missing ({why})"


def _facts_needing_absence(guidelines: GuidelineSet, seen: list[Seen]) -> dict[str, str]:
    """Facts a rule tests with known/unknown, or that a result listed as needed data, and why."""
    reasons: dict[str, list[str]] = {}
    for rule in sorted(guidelines.active_rules, key=_key):
        for test in iter_tests(rule.when):
            if test.op in ("known", "unknown") and rule.id not in reasons.get(test.fact, []):
                reasons.setdefault(test.fact, []).append(rule.id)
    tested = {fact: f"{', '.join(ids)} {'tests' if len(ids) == 1 else 'test'} whether it is known"
              for fact, ids in reasons.items()}
    needed = {fact for s in seen for fact in s.needs}
    return {**{f: "listed as needed data in a result" for f in sorted(needed)}, **tested}
