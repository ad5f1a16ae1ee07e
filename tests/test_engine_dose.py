"""Doses: mg/kg/day × weight, percent adjustments, rounding for 25 mg and 50 mg tablets."""

from __future__ import annotations

import pytest
from engine_kit import act, case, fact, guidelines, rule

from engine.dose import compute_dose, round_to_tablets
from engine.evaluate import Evaluator
from engine.model import Action, DoseSpec, PercentRange


def dose_action(low: float, high: float, unit: str = "mg/kg/day", adjust: tuple[float, float] | None = None) -> Action:
    return Action("dose", "azathioprine", dose=DoseSpec(low, high, unit),  # type: ignore[arg-type]
                  adjust_percent=PercentRange(*adjust) if adjust else None)


def test_weight_based_dose_is_rounded_inward_to_whole_tablets() -> None:
    dose = compute_dose(dose_action(2, 2.5), 70.0)
    assert dose is not None
    assert dose.exact_mg_per_day == (140.0, 175.0)
    assert dose.mg_per_day == (150.0, 175.0)  # 140 rounds up to 150; 175 is already a 25 mg step
    assert "2–2.5 mg/kg/day × 70 kg = 140–175 mg/day" in dose.text
    assert "rounded" in dose.text and dose.needs == ()


def test_without_weight_the_dose_says_weight_is_needed() -> None:
    dose = compute_dose(dose_action(2, 2.5), None)
    assert dose is not None
    assert (dose.mg_per_day, dose.needs, dose.per_kg) == (None, ("weight",), (2.0, 2.5))
    assert "weight is needed" in dose.text


def test_adjust_percent_scales_the_low_and_high_ends() -> None:
    dose = compute_dose(dose_action(2, 3, adjust=(30, 70)), 80.0)  # 160–240 mg -> 48–168 mg
    assert dose is not None
    assert dose.exact_mg_per_day == pytest.approx((48.0, 168.0))
    assert dose.mg_per_day == (50.0, 150.0)
    assert "30–70% of that" in dose.text


def test_mg_per_day_doses_are_shown_as_given() -> None:
    dose = compute_dose(dose_action(50, 60, unit="mg/day"), None)
    assert dose is not None
    assert (dose.mg_per_day, dose.needs, dose.per_kg) == ((50.0, 60.0), (), None)


def test_adjusted_mg_per_day_dose_is_rounded_and_explained() -> None:
    dose = compute_dose(dose_action(100, 150, unit="mg/day", adjust=(50, 50)), None)
    assert dose is not None
    assert dose.exact_mg_per_day == (50.0, 75.0) and dose.mg_per_day == (50.0, 75.0)


def test_rounding_never_gives_zero_and_says_when_no_step_fits_the_range() -> None:
    assert round_to_tablets((5.0, 60.0)) == (25.0, 50.0)  # the low end never rounds to 0 mg
    dose = compute_dose(dose_action(1, 1.2), 30.0)  # 30–36 mg: no 25 mg step inside
    assert dose is not None
    assert dose.exact_mg_per_day == (30.0, 36.0)
    assert dose.mg_per_day == (25.0, 25.0)  # rounded down, never above the range, said in the text
    assert "rounded down (never above the range)" in dose.text
    tiny = compute_dose(dose_action(1.5, 2.5), 8.0)  # 12–20 mg: not even one 25 mg step fits
    assert tiny is not None and tiny.mg_per_day is None and "decide the dose by hand" in tiny.text


def test_a_single_value_dose_rounds_down_to_a_tablet_step_never_above_it() -> None:
    dose = compute_dose(dose_action(2, 2), 62.0)  # 124 mg: 125 mg would exceed the 2 mg/kg target
    assert dose is not None and dose.mg_per_day == (100.0, 100.0)
    tie = compute_dose(dose_action(2, 2), 56.25)  # exactly 112.5 mg: still down, not up
    assert tie is not None and tie.mg_per_day == (100.0, 100.0)


def test_rounding_is_not_fooled_by_floating_point_noise() -> None:
    assert round_to_tablets((2 * 62.5, 2.5 * 62.5)) == (125.0, 150.0)


def test_a_dose_without_weight_is_listed_as_needing_weight() -> None:
    dosing = rule("AZA-DOSE-001", fact("tpmt_status", equals="normal"),
                  act("dose", dose={"min": 2, "max": 2.5, "unit": "mg/kg/day"}))
    result = Evaluator(guidelines(dosing)).evaluate(case(tpmt_status="normal"))
    (rec,) = result.recommendations
    assert rec.dose is not None and rec.dose.mg_per_day is None
    assert [(n.rule, n.facts) for n in result.needs_data] == [("AZA-DOSE-001", ("weight",))]


def test_weight_in_pounds_is_converted_before_dosing() -> None:
    dosing = rule("AZA-DOSE-001", fact("tpmt_status", equals="normal"),
                  act("dose", dose={"min": 2, "max": 2.5, "unit": "mg/kg/day"}))
    result = Evaluator(guidelines(dosing)).evaluate(case(tpmt_status="normal", weight=(200, "[lb_av]")))
    (rec,) = result.recommendations
    assert rec.dose is not None and rec.dose.mg_per_day == (200.0, 225.0)  # 90.7 kg: 181.4–226.8 mg
    assert result.needs_data == ()
