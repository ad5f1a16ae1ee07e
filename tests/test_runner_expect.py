"""How a case's expectations are matched against a result, and how a failure reads."""

from __future__ import annotations

from engine.expect import matches, render_diff, rules_involved, unmet
from engine.model import Case, Expectations, Expected, GuidelineSet
from engine.result import Dose, FactValue, NeedsData, Recommendation, Result, Suppressed, TraceStep


def rec(action: str = "avoid", subject: str = "azathioprine", rule: str = "AZA-TPMT-002",
        strength: str = "strong", mg: tuple[float, float] | None = None) -> Recommendation:
    dose = Dose("mg/kg/day", (1.0, 2.0), mg, None) if mg else None
    return Recommendation(rule, "1.0.0", action, subject, strength, "text", (), dose)


def result(*recs: Recommendation, suppressed: tuple[Suppressed, ...] = (),
           needs: tuple[NeedsData, ...] = (), trace: tuple[TraceStep, ...] = ()) -> Result:
    return Result("c", tuple(recs), {}, needs, suppressed, trace)


def test_an_expectation_matches_on_the_fields_it_gives_only() -> None:
    assert matches(Expected("avoid", "azathioprine"), rec())
    assert matches(Expected("avoid", "azathioprine", rule="AZA-TPMT-002", strength="strong"), rec())
    assert not matches(Expected("avoid", "azathioprine", rule="AZA-TPMT-001"), rec())
    assert not matches(Expected("avoid", "azathioprine", strength="conditional"), rec())
    assert not matches(Expected("stop", "azathioprine"), rec())
    assert not matches(Expected("avoid", "mercaptopurine"), rec())


def test_dose_ranges_match_within_a_hundredth_of_a_milligram() -> None:
    dose = rec("dose", mg=(100.0, 150.0))
    assert matches(Expected("dose", "azathioprine", dose_mg=(100.0, 150.0)), dose)
    assert matches(Expected("dose", "azathioprine", dose_mg=(100.005, 149.995)), dose)
    assert not matches(Expected("dose", "azathioprine", dose_mg=(100.0, 150.02)), dose)
    assert not matches(Expected("dose", "azathioprine", dose_mg=(100.0, 150.0)), rec("dose"))  # no mg/day known


def test_every_kind_of_unmet_expectation_is_said_in_plain_words() -> None:
    expect = Expectations(
        present=(Expected("hold", "azathioprine"),),
        absent=(Expected("avoid", "azathioprine"),),
        suppressed=(Expected("start", "azathioprine"),),
        needs_data=("wbc",),
    )
    messages = unmet(expect, result(rec()))
    assert messages == [
        "expected hold azathioprine, but it is not recommended",
        "expected no avoid azathioprine, but AZA-TPMT-002 recommends it",
        "expected start azathioprine to be listed as suppressed, but it is not",
        "expected the result to ask for 'wbc' (needs data), but it does not",
    ]


def test_met_expectations_give_no_message() -> None:
    started = rec("start", rule="AZA-START-001")
    expect = Expectations(
        present=(Expected("avoid", "azathioprine"),),
        absent=(Expected("start", "azathioprine"),),
        suppressed=(Expected("start", "azathioprine", rule="AZA-START-001"),),
        needs_data=("wbc",),
        exactly=True,
    )
    got = result(rec(), suppressed=(Suppressed(started, "AZA-TPMT-002", "avoid wins"),),
                 needs=(NeedsData("AZA-CBC-001", "t", ("wbc", "neutrophils")),))
    assert unmet(expect, got) == []


def test_exactly_refuses_a_recommendation_the_case_does_not_list() -> None:
    expect = Expectations(present=(Expected("avoid", "azathioprine"),), exactly=True)
    extra = rec("order_test", "tpmt-test", rule="AZA-TPMT-001", strength="conditional")
    assert unmet(expect, result(rec(), extra)) == [
        "exactly: AZA-TPMT-001 recommends order_test tpmt-test, which the case does not list under present"
    ]
    assert unmet(Expectations(present=expect.present), result(rec(), extra)) == []  # not exactly: fine


def test_the_diff_shows_expected_against_actual_and_why() -> None:
    wanted = (Expected("hold", "azathioprine", rule="AZA-CBC-002"), Expected("monitor", "full-blood-count",
                                                                          rule="AZA-MON-009"))
    case = Case("c", "t", {}, expect=Expectations(present=wanted))
    step = TraceStep("AZA-CBC-002", "not_fired", (FactValue("wbc", 3.5, "10*9/L"), FactValue("platelets", None)),
                     failed=("wbc below 2",))
    diff = render_diff(case, Result("c", (rec(mg=None),), {}, (), (), (), (step,)), GuidelineSet({}, ()))
    assert "expected:\n  ✗ hold azathioprine [AZA-CBC-002]" in diff
    assert "actual:\n  avoid azathioprine [AZA-TPMT-002] strong" in diff
    why = diff.split("why (rules involved):\n", 1)[1].splitlines()
    assert why == [
        "  AZA-CBC-002 not fired: wbc = 3.5 10*9/L, platelets missing; failed: wbc below 2",
        "  AZA-MON-009: not reached (no trace)",
    ]  # AZA-TPMT-002 recommended something nobody asked about: it does not explain the failure


def test_rules_involved_are_those_behind_the_failure() -> None:
    g = GuidelineSet({}, ())
    avoid, order = rec(), rec("order_test", "tpmt-test", rule="AZA-TPMT-001")
    forbidden = Case("c", "t", {}, expect=Expectations(absent=(Expected("avoid", "azathioprine"),)))
    assert rules_involved(forbidden, result(avoid, order), g) == {"AZA-TPMT-002"}
    exact = Case("c", "t", {}, expect=Expectations(present=(Expected("avoid", "azathioprine"),), exactly=True))
    assert rules_involved(exact, result(avoid, order), g) == {"AZA-TPMT-001"}
    wrong_dose = Case("c", "t", {}, expect=Expectations(present=(Expected("dose", "azathioprine", dose_mg=(50, 100)),)))
    given = rec("dose", rule="AZA-DOSE-001", mg=(75.0, 125.0))
    assert rules_involved(wrong_dose, result(given, order), g) == {"AZA-DOSE-001"}  # what was given instead
