"""The properties the engine asserts about a patient: facts, ratios and list flags, named and computed.

durable_rules compares one property with a constant reliably and little else (see
/work/shared/DURABLE_RULES.md): a reference to an absent property matches anything, and
`$iall` never matches an empty list. So relative thresholds and list tests are turned into
plain properties here, computed only when every fact they need is known.

A relative threshold (`alt at_least 3 × alt_baseline`) becomes the sign of `alt - 3 × alt_baseline`
(-1, 0 or 1), compared with 0. Not a ratio: a ratio is undefined for a zero baseline and can be
a tiny float, which Python writes as `1e-05`, a JSON form durable_rules' parser refuses (error 204).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from engine.model import Multiple, Test, ValueSet, ValueSetRef, normalize_term

_PLAIN = re.compile(r"^[a-z0-9_-]{1,60}$")

Scalar: TypeAlias = bool | float | str


@dataclass(frozen=True)
class Excess:
    """The sign of `fact - times × of`: -1.0, 0.0 or 1.0; known only when both facts are known."""

    name: str
    fact: str
    times: float
    of: str


@dataclass(frozen=True)
class Membership:
    """True when the list fact holds any of `members`; known only when the list is given."""

    name: str
    fact: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class ListSize:
    """How many items a list fact holds; present exactly when the list is given."""

    name: str
    fact: str


Spec: TypeAlias = Excess | Membership | ListSize


def property_for(test: Test, valuesets: Mapping[str, ValueSet], list_facts: Iterable[str]) -> tuple[str, Spec | None]:
    """The property a leaf test reads, and how to compute it when it is not a plain fact."""
    if isinstance(test.value, Multiple):
        return _excess(test.fact, test.value)
    if test.op in ("contains", "not_contains"):
        return _membership(test, valuesets)
    if test.op in ("known", "unknown") and test.fact in set(list_facts):
        name = f"{test.fact}__n"
        return name, ListSize(name, test.fact)
    return test.fact, None


def _excess(fact: str, multiple: Multiple) -> tuple[str, Spec]:
    times = f"{multiple.times:g}".replace(".", "_").replace("-", "m").replace("+", "")
    name = f"{fact}__vs__{times}x__{multiple.of}"
    return name, Excess(name, fact, multiple.times, multiple.of)


def _membership(test: Test, valuesets: Mapping[str, ValueSet]) -> tuple[str, Spec]:
    if isinstance(test.value, ValueSetRef):
        name = f"{test.fact}__any__{_slug(test.value.name)}"
    else:
        name = f"{test.fact}__has__{_slug(str(test.value))}"
    return name, Membership(name, test.fact, list_members(test, valuesets))


def list_members(test: Test, valuesets: Mapping[str, ValueSet]) -> tuple[str, ...]:
    """The words a `contains` test looks for, spelt as normalize_term spells them (an unknown value
    set holds none)."""
    if isinstance(test.value, ValueSetRef):
        found = valuesets.get(test.value.name)
        return _normalized(found.values if found else ())
    return _normalized((str(test.value),))


@lru_cache(maxsize=4096)
def _normalized(words: tuple[str, ...]) -> tuple[str, ...]:
    # Value sets are read by every list test of every case: spell them once.
    return tuple(sorted({normalize_term(w) for w in words}))


def _slug(word: str) -> str:
    # A '.' would be read by durable_rules as a nested name; odd words get a stable hash instead.
    lowered = normalize_term(word)
    return lowered if _PLAIN.match(lowered) else "h" + hashlib.sha256(lowered.encode()).hexdigest()[:12]


def multiple_of(values: Mapping[str, Any], times: float, of: str) -> float | None:
    """`times × of`, the number a relative threshold compares with, or None when `of` is unknown."""
    bottom = values.get(of)
    if isinstance(bottom, bool) or not isinstance(bottom, (int, float)):
        return None
    return times * float(bottom)


def excess_sign(values: Mapping[str, Any], fact: str, times: float, of: str) -> float | None:
    """-1.0, 0.0 or 1.0 as `fact` is below, at or above `times × of`; None when either is unknown."""
    top, limit = values.get(fact), multiple_of(values, times, of)
    if not isinstance(top, float) or limit is None:
        return None
    return float((top > limit) - (top < limit))


def members_present(values: Mapping[str, Any], fact: str, members: tuple[str, ...]) -> bool | None:
    items = values.get(fact)
    if not isinstance(items, tuple):
        return None
    return any(m in items for m in members)


def compute(values: Mapping[str, Any], specs: Iterable[Spec]) -> dict[str, Scalar]:
    """Every scalar fact as it is, plus each computed property that can be known."""
    out: dict[str, Scalar] = {k: v for k, v in values.items() if isinstance(v, (bool, float, str))}
    out.update(computed(values, specs))
    return out


def computed(values: Mapping[str, Any], specs: Iterable[Spec]) -> dict[str, Scalar]:
    """Each computed property that can be known from `values`."""
    out: dict[str, Scalar] = {}
    for spec in specs:
        value = _computed(values, spec)
        if value is not None:
            out[spec.name] = value
    return out


def spec_inputs(spec: Spec) -> frozenset[str]:
    """The facts a computed property is computed from."""
    return frozenset({spec.fact, spec.of}) if isinstance(spec, Excess) else frozenset({spec.fact})


def _computed(values: Mapping[str, Any], spec: Spec) -> Scalar | None:
    if isinstance(spec, Excess):
        return excess_sign(values, spec.fact, spec.times, spec.of)
    if isinstance(spec, Membership):
        return members_present(values, spec.fact, spec.members)
    items = values.get(spec.fact)
    return float(len(items)) if isinstance(items, tuple) else None
