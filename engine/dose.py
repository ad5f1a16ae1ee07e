"""Dose actions -> mg/day ranges a prescriber can give with 25 mg and 50 mg tablets."""

from __future__ import annotations

import math

from engine.model import Action
from engine.result import Dose

TABLET_STEP_MG = 25.0


def compute_dose(action: Action, weight_kg: float | None) -> Dose | None:
    """The dose of a `dose` action for this patient; None for any other action."""
    spec = action.dose
    if spec is None:
        return None
    adjust = (action.adjust_percent.min, action.adjust_percent.max) if action.adjust_percent else None
    if spec.unit == "mg/day":
        return _daily(spec.min, spec.max, adjust)
    per_kg = (spec.min, spec.max)
    if weight_kg is None:
        text = f"{_range(per_kg)} mg/kg/day{_adjust_words(adjust)}; the body weight is needed to give mg/day"
        return Dose(spec.unit, per_kg, None, adjust, needs=("weight",), text=text)
    exact = _adjusted((per_kg[0] * weight_kg, per_kg[1] * weight_kg), adjust)
    steps = [f"{_range(per_kg)} mg/kg/day × {_num(weight_kg)} kg = "
             f"{_range((per_kg[0] * weight_kg, per_kg[1] * weight_kg))} mg/day"]
    return _rounded(spec.unit, per_kg, adjust, exact, steps)


def _daily(low: float, high: float, adjust: tuple[float, float] | None) -> Dose:
    if adjust is None:
        return Dose("mg/day", None, (low, high), None, exact_mg_per_day=(low, high),
                    text=f"{_range((low, high))} mg/day")
    steps = [f"{_range((low, high))} mg/day"]
    return _rounded("mg/day", None, adjust, _adjusted((low, high), adjust), steps)


def _adjusted(mg: tuple[float, float], adjust: tuple[float, float] | None) -> tuple[float, float]:
    if adjust is None:
        return mg
    return (mg[0] * adjust[0] / 100, mg[1] * adjust[1] / 100)


def _rounded(
    unit: str, per_kg: tuple[float, float] | None, adjust: tuple[float, float] | None,
    exact: tuple[float, float], steps: list[str],
) -> Dose:
    if adjust is not None:
        steps.append(f"{_range(adjust)}% of that = {_range(exact)} mg/day")
    low, high = round_to_tablets(exact)
    if low > high:
        return _below_range(unit, per_kg, adjust, exact, steps)
    if (low, high) != exact:
        steps.append(f"rounded to whole {_num(TABLET_STEP_MG)} mg steps (25 mg and 50 mg tablets), "
                     f"low end up and high end down: {_range((low, high))} mg/day")
    return Dose(unit, per_kg, (low, high), adjust, exact_mg_per_day=exact, text="; ".join(steps))


def round_to_tablets(exact: tuple[float, float]) -> tuple[float, float]:
    """Low end up, high end down, to multiples of 25 mg; never down to 0 mg (that is no dose)."""
    # A tiny tolerance keeps 2 × 62.5 = 125.00000000000001 from rounding up to 150.
    low = TABLET_STEP_MG * math.ceil(round(exact[0] / TABLET_STEP_MG, 9))
    high = TABLET_STEP_MG * math.floor(round(exact[1] / TABLET_STEP_MG, 9))
    return max(low, TABLET_STEP_MG), high


def _below_range(
    unit: str, per_kg: tuple[float, float] | None, adjust: tuple[float, float] | None,
    exact: tuple[float, float], steps: list[str],
) -> Dose:
    """No 25 mg step lies inside a narrow or single-value range (2 mg/kg/day × 62 kg = 124 mg).

    The dose is rounded down, never up: every dose rule here is a target or a ceiling ("at most
    1–1.5 mg/kg/day"), so going over it is the unsafe direction. Below one tablet, no dose is given.
    """
    step = TABLET_STEP_MG * math.floor(round(exact[1] / TABLET_STEP_MG, 9))
    if step < TABLET_STEP_MG:
        steps.append(f"no whole {_num(TABLET_STEP_MG)} mg step fits at or below {_num(exact[1])} mg/day; "
                     "decide the dose by hand")
        return Dose(unit, per_kg, None, adjust, exact_mg_per_day=exact, text="; ".join(steps))
    steps.append(f"no whole {_num(TABLET_STEP_MG)} mg step lies in {_range(exact)} mg/day: rounded down "
                 f"(never above the range) to {_num(step)} mg/day")
    return Dose(unit, per_kg, (step, step), adjust, exact_mg_per_day=exact, text="; ".join(steps))


def _range(pair: tuple[float, float]) -> str:
    return _num(pair[0]) if pair[0] == pair[1] else f"{_num(pair[0])}–{_num(pair[1])}"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _adjust_words(adjust: tuple[float, float] | None) -> str:
    return "" if adjust is None else f", reduced to {_range(adjust)}% of that"
