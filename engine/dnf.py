"""Conditions -> DNF under the evaluator's three-valued logic: when a condition is T, F, NT or NF.

A test on a fact the case does not give is *unknown*, never false, and a rule
fires only when its condition is true. So a condition has four DNFs (sets of
conjunctions of literals): true (T), false (F), not true (NT: false or
unknown) and not false (NF). A rule that does not fire is NT, which is what
the conflict analysis needs for "the rule that would suppress it does not apply".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal as TypeLiteral
from typing import TypeAlias

from engine.model import All, Condition, Multiple, Not, Test

Mode = TypeLiteral["T", "F", "NT", "NF"]
MAX_TERMS = 1024
_FLIP: dict[str, Mode] = {"T": "F", "F": "T", "NT": "NF", "NF": "NT"}


@dataclass(frozen=True)
class Holds:
    """The facts of `test` are given and the test holds (`holds`) or fails (not `holds`)."""

    test: Test
    holds: bool


@dataclass(frozen=True)
class Given:
    """The fact is given (`given`) or not given."""

    fact: str
    given: bool


Lit: TypeAlias = Holds | Given
Conj: TypeAlias = tuple[Lit, ...]
Dnf: TypeAlias = tuple[Conj, ...]


class TooComplex(Exception):
    """Raised by `dnf` when a condition expands to more than MAX_TERMS alternatives."""


def dnf(condition: Condition, mode: Mode = "T") -> Dnf:
    """The alternatives (each a conjunction of literals) that make `condition` T, F, NT or NF."""
    if isinstance(condition, Test):
        return _leaf(condition, mode)
    if isinstance(condition, Not):
        return dnf(condition.item, _FLIP[mode])
    parts = [dnf(item, mode) for item in condition.items]
    conjunctive = (mode in ("T", "NF")) == isinstance(condition, All)
    return _product(parts) if conjunctive else _union(parts)


def _leaf(test: Test, mode: Mode) -> Dnf:
    if test.op in ("known", "unknown"):
        given = (test.op == "known") == (mode in ("T", "NF"))
        return ((Given(test.fact, given),),)
    holds = mode in ("T", "NF")
    exact: Dnf = ((Holds(test, holds),),)
    if mode in ("T", "F"):
        return exact
    missing = tuple((Given(name, False),) for name in facts_of(test))
    return (*missing, *exact)


def facts_of(test: Test) -> tuple[str, ...]:
    return (test.fact, test.value.of) if isinstance(test.value, Multiple) else (test.fact,)


def _union(parts: Sequence[Dnf]) -> Dnf:
    return _capped(t for part in parts for t in part)


def _product(parts: Sequence[Dnf]) -> Dnf:
    terms: Dnf = ((),)
    for part in parts:
        terms = _capped(tuple(dict.fromkeys((*a, *b))) for a, b in product(terms, part))
    return terms


def _capped(terms: Iterable[Conj]) -> Dnf:
    """Alternatives without plain contradictions or repeats; TooComplex past MAX_TERMS."""
    kept: dict[frozenset[Lit], Conj] = {}
    for term in terms:
        if _consistent(term):
            kept.setdefault(frozenset(term), term)
        if len(kept) > MAX_TERMS:
            raise TooComplex(f"more than {MAX_TERMS} alternatives")
    return tuple(kept.values())


def _consistent(term: Conj) -> bool:
    """False when the literals alone contradict: a fact both given and not, or a test both holding and not."""
    missing = {lit.fact for lit in term if isinstance(lit, Given) and not lit.given}
    given = {lit.fact for lit in term if isinstance(lit, Given) and lit.given}
    tests = [lit for lit in term if isinstance(lit, Holds)]
    given.update(name for lit in tests for name in facts_of(lit.test))
    held = {(lit.test, lit.holds) for lit in tests}
    return not (missing & given) and not any((test, not holds) in held for test, holds in held)
