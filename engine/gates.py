"""Gates: the equality tests every alternative of a rule needs, indexed by fact, to skip work per case.

A gate is a leaf test found in every alternative of a rule's condition in negation normal form,
such as `indication one_of [...]` or `azathioprine_status equals taking`. Kleene logic is
distributive, so a condition equals the `any` of its alternatives; when a gate is known to fail,
each alternative holds a false test and the whole rule is definitely false. Guidelines gate most
rules by indication, treatment status or the like, so one patient's known values rule out whole
groups of rules at once: the evaluator then needs neither a durable_rules session for a ruleset
all of whose rules are ruled out, nor a rule-by-rule decision for them. (A Rete network hashes
its constant tests for the same reason.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import All, AnyOf, Condition, Multiple, Test

Allowed = frozenset[Any]  # the values for which the gate holds (strings, booleans or numbers)
CACHE_LIMIT = 4096  # (fact, value) pairs remembered; numbers tested for equality could be many


@dataclass(frozen=True)
class Gate:
    fact: str
    allowed: Allowed


def gates(condition: Condition, list_facts: frozenset[str]) -> frozenset[Gate]:
    """The gates of an NNF condition: equality tests that every one of its alternatives contains."""
    if isinstance(condition, Test):
        gate = _gate(condition, list_facts)
        return frozenset({gate}) if gate else frozenset()
    if not isinstance(condition, (All, AnyOf)) or not condition.items:
        return frozenset()
    parts = [gates(c, list_facts) for c in condition.items]
    return frozenset.intersection(*parts) if isinstance(condition, AnyOf) else frozenset().union(*parts)


def _gate(test: Test, list_facts: frozenset[str]) -> Gate | None:
    if test.fact in list_facts or isinstance(test.value, Multiple):
        return None
    if test.op == "equals" and isinstance(test.value, (bool, str, int, float)):
        return Gate(test.fact, frozenset({test.value}))
    if test.op == "one_of" and isinstance(test.value, tuple):
        return Gate(test.fact, frozenset(test.value))
    return None


class GateIndex:
    """Rule ids by the gates they pass through, so that a case's known values rule them out in bulk."""

    def __init__(self, gated: Mapping[str, frozenset[Gate]]) -> None:
        by_gate: dict[Gate, list[str]] = {}
        for rule_id in sorted(gated):
            for gate in gated[rule_id]:
                by_gate.setdefault(gate, []).append(rule_id)
        self._cache: dict[tuple[str, Any], frozenset[str]] = {}
        self._by_fact: dict[str, list[tuple[Allowed, tuple[str, ...]]]] = {}
        for gate in sorted(by_gate, key=lambda g: (g.fact, sorted(map(repr, g.allowed)))):
            self._by_fact.setdefault(gate.fact, []).append((gate.allowed, tuple(by_gate[gate])))

    def ruled_out(self, known: Mapping[str, Any]) -> set[str]:
        """The rules some known value makes definitely false."""
        found: set[str] = set()
        for fact in self._by_fact.keys() & known.keys():
            found |= self._ruled_out_by(fact, known[fact])
        return found

    def _ruled_out_by(self, fact: str, value: Any) -> frozenset[str]:
        # Gated facts are categories and yes/no answers: few values, each worked out once.
        key = (fact, value)
        cached = self._cache.get(key)
        if cached is None:
            cached = frozenset(rule_id for allowed, rule_ids in self._by_fact[fact] if value not in allowed
                               for rule_id in rule_ids)
            if len(self._cache) < CACHE_LIMIT:
                self._cache[key] = cached
        return cached

    @property
    def facts(self) -> Iterable[str]:
        return self._by_fact.keys()
