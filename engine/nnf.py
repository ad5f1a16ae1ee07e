"""Negation normal form of conditions, and how many alternatives durable_rules makes of one.

In NNF every `not` is pushed down to the leaves and removed, so a condition is monotone: that
is what lets durable's "absent means false" read as Kleene's "unknown" (see compiler.py).
"""

from __future__ import annotations

from math import prod

from engine.model import All, AnyOf, Condition, Not, Test

_NEGATED = {
    "below": "at_least", "at_least": "below", "at_most": "above", "above": "at_most",
    "equals": "not_equals", "not_equals": "equals", "contains": "not_contains",
    "not_contains": "contains", "known": "unknown", "unknown": "known",
}


def nnf(condition: Condition, negate: bool = False) -> Condition:
    """The same condition with every `not` pushed down to the leaves (and removed)."""
    if isinstance(condition, Not):
        return nnf(condition.item, not negate)
    if isinstance(condition, (All, AnyOf)):
        items = tuple(nnf(c, negate) for c in condition.items)
        keep_kind = isinstance(condition, All) != negate
        return All(items) if keep_kind else AnyOf(items)
    return _negate_leaf(condition) if negate else condition


def _negate_leaf(test: Test) -> Condition:
    if test.op == "one_of" and isinstance(test.value, tuple):
        return All(tuple(Test(test.fact, "not_equals", v, test.unit, test.path) for v in test.value))
    if test.op == "between" and isinstance(test.value, tuple):
        low, high = test.value
        return AnyOf((Test(test.fact, "below", low, test.unit, test.path),
                      Test(test.fact, "above", high, test.unit, test.path)))
    return Test(test.fact, _NEGATED[test.op], test.value, test.unit, test.path)


def alternatives(condition: Condition) -> int:
    """How many conditions durable creates for an NNF condition: its number of DNF terms."""
    if isinstance(condition, Test):
        return len(condition.value) if condition.op == "one_of" and isinstance(condition.value, tuple) else 1
    if isinstance(condition, All):
        return prod(alternatives(c) for c in condition.items)
    if isinstance(condition, AnyOf):
        return max(1, sum(alternatives(c) for c in condition.items))
    return alternatives(nnf(condition))
