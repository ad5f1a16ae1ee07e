"""Explanations in plain words: the facts a rule read, and for near misses which tests failed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.model import FactDef, GuidelineSet, Multiple, Rule, Test, ValueSetRef
from engine.nnf import nnf
from engine.oracle import false_leaves
from engine.result import FactValue

_PHRASE = {"below": "below", "at_most": "at most", "above": "above", "at_least": "at least"}


Named = tuple[tuple[str, str | None], ...]  # fact names with the unit each is shown in


def with_units(names: Iterable[str], g: GuidelineSet) -> Named:
    """Fact names paired with their display units, worked out once per rule."""
    found = []
    for name in names:
        fact = g.facts.get(name)
        found.append((name, fact.display_unit or fact.unit if fact else None))
    return tuple(found)


Reader = Callable[[Mapping[str, Any], Mapping[str, tuple[str, ...]]], tuple[FactValue, ...]]


def value_reader(named: Named, size: int = 128) -> Reader:
    """`read_values` for one rule's facts, remembered for the last `size` distinct readings: most
    patients give a rule the same few values, and the FactValues are immutable, so shared."""
    names = tuple(name for name, _ in named)

    @functools.lru_cache(maxsize=size)
    def by_reading(given: tuple[Any, ...], setters: tuple[Any, ...]) -> tuple[FactValue, ...]:
        setters_of = {name: setter for name, setter in zip(names, setters, strict=True) if setter is not None}
        return read_values(named, dict(zip(names, given, strict=True)), setters_of)

    def read(values: Mapping[str, Any], derived_by: Mapping[str, tuple[str, ...]]) -> tuple[FactValue, ...]:
        return by_reading(tuple(map(values.get, names)), tuple(map(derived_by.get, names)))
    return read


def read_values(named: Named, values: Mapping[str, Any], derived_by: Mapping[str, tuple[str, ...]]
                ) -> tuple[FactValue, ...]:
    """Each named fact with its value in this case (None: not known) and, if derived, who set it."""
    return tuple(FactValue(name, values.get(name), unit, derived_by.get(name, ())) for name, unit in named)


def failed_tests(rule: Rule, values: Mapping[str, Any], g: GuidelineSet) -> tuple[str, ...]:
    """Why a definitely false rule did not fire: each failing test, in plain words."""
    leaves = false_leaves(nnf(rule.when), values, g.valuesets)
    return tuple(dict.fromkeys(describe_failure(t, values, g) for t in leaves))


def describe_failure(test: Test, values: Mapping[str, Any], g: GuidelineSet) -> str:
    fact = g.facts.get(test.fact)
    label = fact.label if fact else test.fact
    value = values.get(test.fact)
    if test.op == "known":
        return f"{label} is not given"
    if test.op == "unknown":
        return f"{label} is given ({_shown(value, fact)})"
    if test.op in ("contains", "not_contains"):
        verb = "does not include" if test.op == "contains" else "includes"
        return f"{label} {verb} {_wanted(test, g)}"
    if test.op in ("equals", "one_of"):
        return f"{label} is {_shown(value, fact)}, not {_wanted(test, g)}"
    if test.op == "not_equals":
        return f"{label} is {_shown(value, fact)}"
    return f"{label} {_shown(value, fact)} is not {_threshold(test, values, g)}"


def _threshold(test: Test, values: Mapping[str, Any], g: GuidelineSet) -> str:
    if test.op == "between" and isinstance(test.value, tuple):
        low, high = test.value
        return f"between {_word(low)} and {_word(high)}"
    if isinstance(test.value, Multiple):
        other = g.facts.get(test.value.of)
        other_label = other.label if other else test.value.of
        base = _shown(values.get(test.value.of), other)
        return f"{_PHRASE[test.op]} {_num(test.value.times)} × {other_label} ({base})"
    return f"{_PHRASE.get(test.op, test.op)} {_num(test.value)}"  # type: ignore[arg-type]


def _wanted(test: Test, g: GuidelineSet) -> str:
    if isinstance(test.value, ValueSetRef):
        found = g.valuesets.get(test.value.name)
        return f"any of {found.title if found else test.value.name}"
    if isinstance(test.value, tuple):
        return "one of " + ", ".join(_word(v) for v in test.value)
    return _word(test.value)


def _shown(value: Any, fact: FactDef | None) -> str:
    if value is None:
        return "not given"
    if isinstance(value, tuple):
        return ", ".join(value) if value else "none"
    if isinstance(value, float):
        unit = (fact.display_unit or fact.unit) if fact else None
        return f"{_num(value)} {unit}" if unit else _num(value)
    return _word(value)


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _num(value)
    return str(value).replace("_", " ")


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")
