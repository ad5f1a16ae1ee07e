"""Which patients make conditions hold: solve DNF alternatives (engine.dnf) over per-fact domains
(engine.domains) and give an example patient, in words for messages and as values for case files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from engine.dnf import Conj, Dnf, Lit, Mode, TooComplex, dnf
from engine.domains import Box, Choice, Interval, Members, range_of, universe
from engine.model import FactDef

__all__ = ["Dnf", "Mode", "Patient", "Solver", "TooComplex", "dnf"]


@dataclass(frozen=True)
class Patient:
    """An example patient: (fact, value as an editor would write it) pairs."""

    values: tuple[tuple[str, str], ...]
    facts: tuple[tuple[str, object], ...] = ()  # concrete values a case file can hold; not-given left out

    def __str__(self) -> str:
        return ", ".join(f"{name}: {value}" for name, value in self.values) or "any patient"


@dataclass(frozen=True)
class Solver:
    """Solves conjunctions against one data dictionary and its value sets."""

    facts: Mapping[str, FactDef]
    valuesets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    max_steps: int = 20_000

    def box(self, conj: Sequence[Lit]) -> Box:
        box = Box(self.facts, self.valuesets)
        for lit in conj:
            box.add(lit)
            if box.clash is not None:
                break
        return box

    def clash(self, conj: Sequence[Lit]) -> str | None:
        """The fact whose constraints contradict each other, or None when the conjunction can hold."""
        return self.box(conj).clash

    def example(self, conj: Sequence[Lit]) -> Patient | None:
        box = self.box(conj)
        return None if box.clash is not None else _example(box)

    def find(self, dnfs: Sequence[Dnf]) -> Patient | TooComplex | None:
        """A patient satisfying one alternative of every DNF; None if none exists; TooComplex if unsure."""
        steps = [0]
        try:
            for conj in self._search(list(dnfs), (), steps):
                return self.example(conj)
        except TooComplex as exc:
            return exc
        return None

    def _search(self, dnfs: list[Dnf], chosen: Conj, steps: list[int]) -> Iterator[Conj]:
        if not dnfs:
            yield chosen
            return
        for term in dnfs[0]:
            steps[0] += 1
            if steps[0] > self.max_steps:
                raise TooComplex("search too long")
            candidate = (*chosen, *term)
            if self.clash(candidate) is None:
                yield from self._search(dnfs[1:], candidate, steps)


def _example(box: Box) -> Patient:
    names = [n for n in box.facts if n in box.given] + sorted(n for n in box.given if n not in box.facts)
    ratios = {k.split("/", 1)[0]: k for k in box.numbers if "/" in k}
    shown: list[tuple[str, str]] = []
    for name in names:
        if not box.given[name]:
            shown.append((name, "not given"))
        elif name in ratios and name not in box.numbers:
            times = _fmt(_pick(box.numbers[ratios[name]], (0.0, math.inf)))
            shown.append((name, f"{times} × {ratios[name].split('/', 1)[1]}"))
        else:
            shown.append((name, _example_value(box, name)))
    return Patient(tuple(shown), tuple(_concrete(box, names, ratios)))


def _concrete(box: Box, names: list[str], ratios: dict[str, str]) -> Iterator[tuple[str, object]]:
    """Typed values for a case file; a ratio's fact is its multiple of the other fact's value."""
    values: dict[str, object] = {}
    for name in names:
        fact = box.facts.get(name)
        if not box.given[name] or fact is None or fact.derived:
            continue
        values[name] = _typed(box, name, fact)
    for name, key in ratios.items():
        of = values.get(key.split("/", 1)[1])
        if isinstance(of, float) and name in values and name not in box.numbers:
            values[name] = round(_pick(box.numbers[key], (0.0, math.inf)) * of, 6)
    yield from values.items()


def _typed(box: Box, name: str, fact: FactDef) -> object:
    bounds = fact.range or (-math.inf, math.inf)
    if fact.type == "number":
        intervals = box.numbers.get(name) or range_of(fact)
        return _pick(intervals, bounds) if name in box.numbers else _middle(intervals[0])
    if fact.type == "list":
        members = box.members.get(name, Members())
        return sorted(members.required | {sorted(g - members.forbidden)[0] for g in members.groups})
    text = _pick_choice(box.choices.get(name), fact)
    return {"true": True, "false": False}.get(text, text) if fact.type == "boolean" else text


def _middle(interval: Interval) -> float:
    lo, _, hi, _ = interval
    if math.isfinite(lo) and math.isfinite(hi):
        return float(round((lo + hi) / 2))
    return lo if math.isfinite(lo) else (hi if math.isfinite(hi) else 1.0)


def _example_value(box: Box, name: str) -> str:
    fact = box.facts.get(name)
    derived = " (derived)" if fact is not None and fact.derived else ""
    bounds = fact.range if fact is not None and fact.range else (-math.inf, math.inf)
    if name in box.numbers:
        return _fmt(_pick(box.numbers[name], bounds)) + derived
    if name in box.members:
        members = box.members[name]
        picks = sorted(members.required | {sorted(g - members.forbidden)[0] for g in members.groups})
        return f"[{', '.join(picks)}]"
    choice = box.choices.get(name)
    if fact is not None and fact.type == "number":
        return "any value" + derived
    if fact is not None and fact.type == "list":
        return "[]"
    return _pick_choice(choice, fact) + derived


def _pick_choice(choice: Choice | None, fact: FactDef | None) -> str:
    everything = universe(fact) if fact is not None else None
    include = (choice.include if choice else None) or everything
    exclude = choice.exclude if choice else set()
    options = [v for v in _ordered(include, fact) if v not in exclude] if include else []
    value = options[0] if options else "any other value"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ordered(values: set[object], fact: FactDef | None) -> list[object]:
    order: list[object] = [True, False, *(fact.value_names if fact else ())]
    return [v for v in order if v in values] + sorted((v for v in values if v not in order), key=str)


def _pick(intervals: list[Interval], bounds: tuple[float, float]) -> float:
    """A readable value inside the first interval, next to a threshold a rule wrote if there is one."""
    lo, lc, hi, hc = intervals[0]
    near_hi = [hi] if hc else [hi - _step(hi), hi - _step(hi) / 10]
    near_lo = [lo] if lc else [lo + _step(lo), lo + _step(lo) / 10]
    candidates = [
        *(near_hi if math.isfinite(hi) and hi not in bounds else []),
        *(near_lo if math.isfinite(lo) and lo not in bounds else []),
        *(near_lo if math.isfinite(lo) else []),
        *(near_hi if math.isfinite(hi) else []),
        0.0,
    ]
    if math.isfinite(lo) and math.isfinite(hi):
        candidates.append((lo + hi) / 2)
    return next((c for c in candidates if _inside(c, intervals[0])), lo if math.isfinite(lo) else hi)


def _step(value: float) -> float:
    text = f"{value:g}"
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return 10.0 ** -decimals


def _inside(value: float, interval: Interval) -> bool:
    lo, lc, hi, hc = interval
    return (lo < value or (lc and lo == value)) and (value < hi or (hc and value == hi))


def _fmt(value: float) -> str:
    return f"{round(value, 6):g}"
