"""Three-valued (Kleene) evaluation of conditions in plain Python.

Not a second engine: durable_rules decides what fires, and engine/kleene.py (closures compiled
once) tells false from undecided beside it. This tree walk is kept deliberately simple: it is
the test oracle both are checked against, and it explains which leaf tests failed (explain.py)
and which tests a case meets (coverage.py), where speed does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.model import All, AnyOf, Condition, Multiple, Not, Test, ValueSet
from engine.properties import list_members, members_present, multiple_of

Truth = bool | None  # None: cannot be decided from what is known


def truth(condition: Condition, values: Mapping[str, Any], valuesets: Mapping[str, ValueSet]) -> Truth:
    """True, False, or None (unknown), with `and`/`or`/`not` as in Kleene's logic."""
    if isinstance(condition, Test):
        return leaf_truth(condition, values, valuesets)
    if isinstance(condition, Not):
        inner = truth(condition.item, values, valuesets)
        return None if inner is None else not inner
    results = [truth(c, values, valuesets) for c in condition.items]
    decisive = isinstance(condition, AnyOf)  # `any` is decided by a True, `all` by a False
    if decisive in results:
        return decisive
    return None if None in results else not decisive


def leaf_truth(test: Test, values: Mapping[str, Any], valuesets: Mapping[str, ValueSet]) -> Truth:
    if test.op in ("known", "unknown"):
        return (test.fact in values) == (test.op == "known")
    if test.op in ("contains", "not_contains"):
        found = members_present(values, test.fact, list_members(test, valuesets))
        return None if found is None else found == (test.op == "contains")
    if isinstance(test.value, Multiple):
        value, limit = values.get(test.fact), multiple_of(values, test.value.times, test.value.of)
        return None if value is None or limit is None else _compare(test.op, value, limit)
    value = values.get(test.fact)
    return None if value is None else _compare(test.op, value, test.value)


def _compare(op: str, value: Any, wanted: Any) -> bool:
    if op == "equals":
        return bool(value == wanted)
    if op == "not_equals":
        return bool(value != wanted)
    if op == "one_of":
        return value in wanted
    if op == "between":
        return bool(wanted[0] <= value <= wanted[1])
    return bool(_ORDER[op](value, wanted))


_ORDER = {
    "below": lambda a, b: a < b,
    "at_most": lambda a, b: a <= b,
    "above": lambda a, b: a > b,
    "at_least": lambda a, b: a >= b,
}


def missing(condition: Condition, values: Mapping[str, Any], valuesets: Mapping[str, ValueSet]) -> set[str]:
    """The absent facts that keep an undecided condition undecided (empty if it is decided)."""
    return _truth_and_missing(condition, values, valuesets)[1]


def _truth_and_missing(condition: Condition, values: Mapping[str, Any],
                       valuesets: Mapping[str, ValueSet]) -> tuple[Truth, set[str]]:
    # One walk for both answers: asking `truth` again at every level would be quadratic in depth.
    if isinstance(condition, Test):
        found = leaf_truth(condition, values, valuesets)
        return found, (set() if found is not None else _absent(condition, values))
    if isinstance(condition, Not):
        inner, names = _truth_and_missing(condition.item, values, valuesets)
        return (None if inner is None else not inner), names
    parts = [_truth_and_missing(c, values, valuesets) for c in condition.items]
    results = [t for t, _ in parts]
    decisive = isinstance(condition, AnyOf)
    if decisive in results:
        return decisive, set()
    if None not in results:
        return not decisive, set()
    return None, set().union(*(names for _, names in parts))


def _absent(test: Test, values: Mapping[str, Any]) -> set[str]:
    names = {test.fact, *([test.value.of] if isinstance(test.value, Multiple) else [])}
    # Both known yet undecided (a value of the wrong kind): the reference must be measured again.
    return {n for n in names if n not in values} or {n for n in names if n != test.fact}


def false_leaves(condition: Condition, values: Mapping[str, Any], valuesets: Mapping[str, ValueSet]) -> list[Test]:
    """For a definitely false NNF condition: the leaf tests that make it false."""
    if truth(condition, values, valuesets) is not False:
        return []
    if isinstance(condition, Test):
        return [condition]
    if isinstance(condition, (All, AnyOf)):
        return [t for c in condition.items for t in false_leaves(c, values, valuesets)]
    return []  # NNF has no `not`
