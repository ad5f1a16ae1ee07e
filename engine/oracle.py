"""Three-valued (Kleene) evaluation of conditions in plain Python.

Not a second engine: durable_rules decides what fires. This module is the test oracle the
engine is checked against, and it answers the questions durable cannot: which missing facts
could change an undecided rule, and which leaf tests failed (for explanations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.model import All, AnyOf, Condition, Multiple, Not, Test, ValueSet, ValueSetRef, normalize_term
from engine.properties import members_present, multiple_of

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
        found = members_present(values, test.fact, _members(test, valuesets))
        return None if found is None else found == (test.op == "contains")
    if isinstance(test.value, Multiple):
        value, limit = values.get(test.fact), multiple_of(values, test.value.times, test.value.of)
        return None if value is None or limit is None else _compare(test.op, value, limit)
    value = values.get(test.fact)
    return None if value is None else _compare(test.op, value, test.value)


def _members(test: Test, valuesets: Mapping[str, ValueSet]) -> tuple[str, ...]:
    if isinstance(test.value, ValueSetRef):
        found = valuesets.get(test.value.name)
        return tuple(normalize_term(m) for m in found.values) if found else ()
    return (normalize_term(str(test.value)),)


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
    if truth(condition, values, valuesets) is not None:
        return set()
    if isinstance(condition, Test):
        names = {condition.fact, *([condition.value.of] if isinstance(condition.value, Multiple) else [])}
        absent = {n for n in names if n not in values}
        # Both known yet undecided: the reference value is 0, so it must be measured again.
        return absent or {n for n in names if n != condition.fact}
    if isinstance(condition, Not):
        return missing(condition.item, values, valuesets)
    return set().union(*(missing(c, values, valuesets) for c in condition.items))


def false_leaves(condition: Condition, values: Mapping[str, Any], valuesets: Mapping[str, ValueSet]) -> list[Test]:
    """For a definitely false NNF condition: the leaf tests that make it false."""
    if truth(condition, values, valuesets) is not False:
        return []
    if isinstance(condition, Test):
        return [condition]
    if isinstance(condition, (All, AnyOf)):
        return [t for c in condition.items for t in false_leaves(c, values, valuesets)]
    return []  # NNF has no `not`
