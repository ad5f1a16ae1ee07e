"""What one conjunction of literals allows for each fact: intervals, sets, list members, given or not."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from engine.dnf import Given, Lit, facts_of
from engine.model import FactDef, Multiple, Test, ValueSetRef, normalize_term

Interval: TypeAlias = tuple[float, bool, float, bool]  # low, low included, high, high included
EVERYTHING: list[Interval] = [(-math.inf, False, math.inf, False)]


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo1, lc1, hi1, hc1 in a:
        for lo2, lc2, hi2, hc2 in b:
            lo, lc = max((lo1, lc1), (lo2, lc2), key=lambda x: (x[0], not x[1]))
            hi, hc = min((hi1, hc1), (hi2, hc2), key=lambda x: (x[0], x[1]))
            if lo < hi or (lo == hi and lc and hc):
                out.append((lo, lc, hi, hc))
    return out


def _complement(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = list(EVERYTHING)
    for lo, lc, hi, hc in intervals:
        out = _intersect(out, [(-math.inf, False, lo, not lc), (hi, not hc, math.inf, False)])
    return out


def _interval_of(op: str, value: object) -> list[Interval]:
    if op == "between" and isinstance(value, tuple):
        return [(float(value[0]), True, float(value[1]), True)]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return list(EVERYTHING)  # not a number: cannot constrain, so never claims impossibility
    v = float(value)
    shapes: dict[str, list[Interval]] = {
        "below": [(-math.inf, False, v, False)], "at_most": [(-math.inf, False, v, True)],
        "above": [(v, False, math.inf, False)], "at_least": [(v, True, math.inf, False)],
        "equals": [(v, True, v, True)], "not_equals": _complement([(v, True, v, True)]),
    }
    return shapes.get(op, list(EVERYTHING))


@dataclass
class Choice:
    """Allowed values of a category, boolean or opaque fact: `include` None means any not excluded."""

    include: set[object] | None
    exclude: set[object] = field(default_factory=set)

    def empty(self) -> bool:
        return self.include is not None and not (self.include - self.exclude)


@dataclass
class Members:
    """A list fact: members it must hold, must not hold, and groups it needs one member of."""

    required: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    groups: list[frozenset[str]] = field(default_factory=list)

    def empty(self) -> bool:
        return bool(self.required & self.forbidden) or any(not (g - self.forbidden) for g in self.groups)


@dataclass
class Box:
    """The constraints a conjunction puts on each fact (and on each ratio of two facts)."""

    facts: Mapping[str, FactDef]
    valuesets: Mapping[str, tuple[str, ...]]
    given: dict[str, bool] = field(default_factory=dict)
    numbers: dict[str, list[Interval]] = field(default_factory=dict)
    choices: dict[str, Choice] = field(default_factory=dict)
    members: dict[str, Members] = field(default_factory=dict)
    clash: str | None = None

    def add(self, lit: Lit) -> None:
        if isinstance(lit, Given):
            self._given(lit.fact, lit.given)
            return
        for name in facts_of(lit.test):
            self._given(name, True)
        self._value(lit.test, lit.holds)

    def _given(self, name: str, given: bool) -> None:
        if self.given.setdefault(name, given) != given:
            self.clash = name

    def _value(self, test: Test, holds: bool) -> None:
        fact = self.facts.get(test.fact)
        if isinstance(test.value, Multiple):
            self._number(f"{test.fact}/{test.value.of}", _interval_of(test.op, test.value.times), holds,
                         [(0.0, True, math.inf, False)])
        elif fact is not None and fact.type == "number":
            self._number(test.fact, _interval_of(test.op, test.value), holds, range_of(fact))
        elif fact is not None and fact.type == "list" and test.op == "contains":
            self._member(test, holds)
        elif fact is not None and fact.type in ("boolean", "category"):
            inside = holds != (test.op == "not_equals")  # `not_equals v` holds when the value is outside {v}
            self._choice(test.fact, _chosen(test), inside, universe(fact))
        else:  # a fact or test we cannot reason about: an opaque yes/no of its own
            self._choice(f"{test.fact}?{test.op}={test.value!r}", {True}, holds, {True, False})

    def _number(self, key: str, allowed: list[Interval], holds: bool, start: list[Interval]) -> None:
        current = self.numbers.setdefault(key, start)
        self.numbers[key] = _intersect(current, allowed if holds else _complement(allowed))
        if not self.numbers[key]:
            self.clash = key.split("/")[0]

    def _choice(self, key: str, values: set[object], holds: bool, universe: set[object] | None) -> None:
        choice = self.choices.setdefault(key, Choice(None if universe is None else set(universe)))
        if holds:
            choice.include = values if choice.include is None else choice.include & values
        else:
            choice.exclude |= values
        if choice.empty():
            self.clash = key.split("?")[0]

    def _member(self, test: Test, holds: bool) -> None:
        members = self.members.setdefault(test.fact, Members())
        if isinstance(test.value, ValueSetRef):
            group = frozenset(normalize_term(v) for v in self.valuesets.get(test.value.name, (f"<{test.value.name}>",)))
            if holds:
                members.groups.append(group)
            else:
                members.forbidden.update(group)
        else:
            (members.required if holds else members.forbidden).add(normalize_term(str(test.value)))
        if members.empty():
            self.clash = test.fact


def range_of(fact: FactDef) -> list[Interval]:
    if fact.range is None:
        return list(EVERYTHING)
    return [(fact.range[0], True, fact.range[1], True)]


def universe(fact: FactDef) -> set[object] | None:
    if fact.type == "boolean":
        return {True, False}
    return set(fact.value_names) or None


def _chosen(test: Test) -> set[object]:
    if test.op == "one_of" and isinstance(test.value, tuple):
        return set(test.value)
    return {test.value}
