"""The value an evaluation returns: recommendations, derived facts, needs-data, suppressed, trace."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Dose:
    """A computed dose: mg/day range when the weight allows, else what is missing."""

    unit: str                                  # as written in the rule: mg/day or mg/kg/day
    per_kg: tuple[float, float] | None         # mg/kg/day range before any adjustment
    mg_per_day: tuple[float, float] | None     # final range, rounded for 25 mg / 50 mg tablets
    adjust_percent: tuple[float, float] | None
    needs: tuple[str, ...] = ()                # facts needed to compute mg/day (e.g. weight)
    text: str = ""
    exact_mg_per_day: tuple[float, float] | None = None  # before rounding for tablets


@dataclass(frozen=True)
class Recommendation:
    rule: str
    version: str
    action: str
    subject: str
    strength: str
    text: str
    citations: tuple[str, ...]
    dose: Dose | None = None
    permanent: bool = False
    interval: str | None = None
    duration: str | None = None
    with_subject: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.action, self.subject, self.rule)


@dataclass(frozen=True)
class Suppressed:
    recommendation: Recommendation
    by_rule: str
    reason: str


@dataclass(frozen=True)
class NeedsData:
    """A rule that could not be decided, and the missing facts it needs."""

    rule: str
    title: str
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Provisional:
    """A kept recommendation that an undecided rule would set aside if it turned out to apply."""

    rule: str
    action: str
    subject: str
    set_aside_by: tuple[str, ...]              # the undecided rules, each listed in needs_data


@dataclass(frozen=True)
class FactValue:
    name: str
    value: Any
    unit: str | None = None
    derived_by: tuple[str, ...] = ()           # for a derived fact: the rules that set it


@dataclass(frozen=True)
class TraceStep:
    """Why a rule fired (or, with explain, why it did not)."""

    rule: str
    outcome: str                               # fired | not_fired | undecided
    facts: tuple[FactValue, ...]               # the facts its conditions read, with values
    derived: tuple[str, ...] = ()              # facts this firing derived
    failed: tuple[str, ...] = ()               # conditions that failed, in plain words


@dataclass(frozen=True)
class Result:
    case_id: str
    recommendations: tuple[Recommendation, ...]
    derived: dict[str, Any]
    needs_data: tuple[NeedsData, ...]
    suppressed: tuple[Suppressed, ...]
    trace: tuple[TraceStep, ...]
    near_misses: tuple[TraceStep, ...] = field(default=())
    provisional: tuple[Provisional, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """A stable, JSON-ready form (sorted, no floating noise)."""
        cleaned: dict[str, Any] = _clean(self)
        return cleaned


def _clean(value: Any) -> Any:
    """dataclasses.asdict with floats tidied, without its deep copy of every value (results are big)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 6)
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _clean(getattr(value, name)) for name in _field_names(type(value))}
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))
