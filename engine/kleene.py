"""Conditions compiled once into plain-Python three-valued functions, for what durable cannot answer.

durable_rules decides which rules hold (engine/runtime.py). For a rule that did not fire, the
evaluator must still tell "definitely false" from "undecided for want of data", and name the
absent facts that keep it undecided. durable reads an absent fact as false, so it cannot; this
module does, beside it. Each condition becomes a tree of closures once, so a case costs no
dispatch on node types; engine/oracle.py, the tree-walking evaluator, stays the independent test
oracle these functions are checked against.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.model import All, AnyOf, Condition, Multiple, Not, Test, ValueSet
from engine.properties import list_members, members_present, multiple_of

Truth = bool | None
#: The truth of a condition and, when it is undecided, the absent facts that keep it so.
Decision = tuple[Truth, frozenset[str]]
Decide = Callable[[Mapping[str, Any]], Decision]

_DECIDED: frozenset[str] = frozenset()

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "below": operator.lt, "at_most": operator.le, "above": operator.gt, "at_least": operator.ge,
    "equals": operator.eq, "not_equals": operator.ne,
    "one_of": lambda value, wanted: value in wanted,
    "between": lambda value, wanted: wanted[0] <= value <= wanted[1],
}


def compile_decision(condition: Condition, valuesets: Mapping[str, ValueSet]) -> Decide:
    """A function of the known facts giving the condition's Kleene truth and what it lacks."""
    if isinstance(condition, Test):
        return _leaf(condition, valuesets)
    if isinstance(condition, Not):
        return _negated(compile_decision(condition.item, valuesets))
    if isinstance(condition, (All, AnyOf)):
        plain = tuple(found for c in condition.items if (found := _plain(c)) is not None)
        parts = tuple(compile_decision(c, valuesets) for c in condition.items if _plain(c) is None)
        return _combined(plain, parts, decisive=isinstance(condition, AnyOf))
    raise TypeError(f"not a condition: {condition!r}")


def remembered(decide: Decide, reads: frozenset[str], size: int = 128) -> Decide:
    """The same decision, remembered for the last `size` distinct values of the facts it reads.

    Patients share most of what one rule reads (mostly: nothing at all), so nine decisions in ten
    repeat an earlier one. On a miss the decision is made from the remembered facts alone, so
    what is remembered can only be what those values give. Values of one fact are all of one
    type (facts.py normalises inputs; derived facts are booleans or text), so no two different
    values share a key, as True and 1.0 would."""
    names = tuple(sorted(reads))
    absent = (_ABSENT,) * len(names)

    @functools.lru_cache(maxsize=size)
    def by_values(key: tuple[Any, ...]) -> Decision:
        return decide({name: value for name, value in zip(names, key, strict=True) if value is not _ABSENT})

    def decision(values: Mapping[str, Any]) -> Decision:
        return by_values(tuple(map(values.get, names, absent)))
    return decision


_ABSENT = object()


def _negated(inner: Decide) -> Decide:
    def decide(values: Mapping[str, Any]) -> Decision:
        found, lacking = inner(values)
        return (None if found is None else not found), lacking
    return decide


Plain = tuple[str, Callable[[Any, Any], Any], Any]  # a fact compared with a constant: (fact, compare, constant)


def _plain(condition: Condition) -> Plain | None:
    """A leaf comparing a fact with a constant, which `_combined` tests inline (most leaves are)."""
    if not isinstance(condition, Test) or isinstance(condition.value, Multiple) or condition.op not in _COMPARE:
        return None
    return condition.fact, _COMPARE[condition.op], condition.value


def _combined(plain: tuple[Plain, ...], parts: tuple[Decide, ...], decisive: bool) -> Decide:
    """`any` is decided by one true part, `all` by one false part; otherwise undecided if a part is.
    Plain leaves are tested in the loop itself: a function call less for each."""
    def decide(values: Mapping[str, Any]) -> Decision:
        gaps: set[str] | None = None
        for fact, compare, wanted in plain:
            value = values.get(fact)
            if value is None:
                gaps = {fact} if gaps is None else gaps | {fact}
            elif bool(compare(value, wanted)) is decisive:
                return decisive, _DECIDED
        for part in parts:
            found, lacking = part(values)
            if found is decisive:
                return decisive, _DECIDED
            if found is None:
                gaps = set(lacking) if gaps is None else gaps | lacking
        if gaps is None:
            return not decisive, _DECIDED
        return None, frozenset(gaps)
    return decide


def _leaf(test: Test, valuesets: Mapping[str, ValueSet]) -> Decide:
    fact = test.fact
    if test.op in ("known", "unknown"):
        wanted = test.op == "known"
        return lambda values: ((fact in values) == wanted, _DECIDED)
    if test.op in ("contains", "not_contains"):
        return _membership(fact, list_members(test, valuesets), test.op == "contains")
    if isinstance(test.value, Multiple):
        return _relative(fact, test.value, _COMPARE[test.op])
    return _absolute(fact, test.value, _COMPARE[test.op])


def _membership(fact: str, members: tuple[str, ...], wanted: bool) -> Decide:
    lacking = frozenset({fact})

    def decide(values: Mapping[str, Any]) -> Decision:
        found = members_present(values, fact, members)
        if found is None:
            return None, (lacking if fact not in values else _DECIDED)
        return found == wanted, _DECIDED
    return decide


def _relative(fact: str, multiple: Multiple, compare: Callable[[Any, Any], Any]) -> Decide:
    names = frozenset({fact, multiple.of})
    references = names - {fact}

    def decide(values: Mapping[str, Any]) -> Decision:
        value, limit = values.get(fact), multiple_of(values, multiple.times, multiple.of)
        if value is None or limit is None:
            absent = frozenset(n for n in names if n not in values)
            # Both given yet undecided (a reference of the wrong kind): the reference must be measured again.
            return None, absent or references
        return bool(compare(value, limit)), _DECIDED
    return decide


def _absolute(fact: str, wanted: Any, compare: Callable[[Any, Any], Any]) -> Decide:
    lacking = frozenset({fact})

    def decide(values: Mapping[str, Any]) -> Decision:
        value = values.get(fact)
        if value is None:
            return None, lacking
        return bool(compare(value, wanted)), _DECIDED
    return decide
