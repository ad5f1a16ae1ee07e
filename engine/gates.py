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

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import All, AnyOf, Condition, Multiple, Test

Allowed = frozenset[Any]  # the values for which the gate holds (strings, booleans or numbers)
CACHE_LIMIT = 256  # (fact, value) pairs remembered, each a set of up to all the rules
#: A fact gating this share of the rules or more is indexed value by value (see GateIndex).
SELECTIVE_SHARE = 0.1


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
    """Rules by the gates they pass through, so that a case's known values rule them out in bulk.

    A few facts gate a large share of the rules (indication, treatment status): for each of their
    values the index keeps the rules that pass, and a case's possible rules are the intersection of
    those sets, which costs what the smallest holds rather than what the repository holds. Every
    other gate of a rule (a rarer fact, or a derived one known only after a stratum) is its residue,
    checked rule by rule when its ruleset is about to run.
    """

    def __init__(self, gated: Mapping[str, frozenset[Gate]], derived: Container[str] = frozenset()) -> None:
        self._everyone = frozenset(gated)
        self._selective = _selective_facts(gated, derived)
        self._blocks: dict[str, list[tuple[str, Allowed]]] = {fact: [] for fact in self._selective}
        self._residue: dict[str, tuple[tuple[str, Allowed], ...]] = {}
        for rule_id in sorted(gated):
            ordered = sorted(gated[rule_id], key=lambda g: (g.fact, sorted(map(repr, g.allowed))))
            for gate in ordered:
                if gate.fact in self._blocks:
                    self._blocks[gate.fact].append((rule_id, gate.allowed))
            self._residue[rule_id] = tuple((g.fact, g.allowed) for g in ordered if g.fact not in self._blocks)
        self._cache: dict[tuple[str, Any], frozenset[str]] = {}

    @property
    def selective(self) -> tuple[str, ...]:
        """The facts `possible` reads: it is a function of their values alone."""
        return self._selective

    def possible(self, known: Mapping[str, Any]) -> set[str]:
        """The rules no known value of a selective fact rules out (their residues still to check)."""
        passing = sorted((self._passing(fact, known[fact]) for fact in self._selective if fact in known), key=len)
        if not passing:
            return set(self._everyone)
        found = set(passing[0])
        for more in passing[1:]:
            found &= more  # walks the smaller side: the cost of the most selective gate
        return found

    def passes(self, rule_id: str, known: Mapping[str, Any]) -> bool:
        """Whether the rule's residual gates let it through the known values (absent facts do)."""
        residue = self._residue[rule_id]
        return not residue or all(fact not in known or known[fact] in allowed for fact, allowed in residue)

    def residual_rules(self) -> frozenset[str]:
        """The rules with residual gates (for the others `passes` is always true)."""
        return frozenset(rule_id for rule_id, residue in self._residue.items() if residue)

    def _passing(self, fact: str, value: Any) -> frozenset[str]:
        # Selective facts are categories and yes/no answers: few values, each worked out once.
        key = (fact, value)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._everyone.difference(
                rule_id for rule_id, allowed in self._blocks[fact] if value not in allowed)
            if len(self._cache) < CACHE_LIMIT:
                self._cache[key] = cached
        return cached


def _selective_facts(gated: Mapping[str, frozenset[Gate]], derived: Container[str]) -> tuple[str, ...]:
    """The given (not derived) facts that gate at least SELECTIVE_SHARE of the rules."""
    counts: dict[str, int] = {}
    for found in gated.values():
        for fact in {gate.fact for gate in found}:
            counts[fact] = counts.get(fact, 0) + 1
    return tuple(sorted(fact for fact, count in counts.items()
                        if fact not in derived and count >= SELECTIVE_SHARE * len(gated)))
