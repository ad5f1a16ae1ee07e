"""Each coverage gate is detected, and the message names exactly what is missing.

These tests build outcomes by hand (facts and which rules fired), so they test the
gates alone; tests/test_runner_cli.py runs the same gates end to end on the engine.
"""

from __future__ import annotations

from typing import Any

from repo_builder import FACTS, rule

from engine.cases import CaseOutcome, Status
from engine.coverage import measure
from engine.model import GuidelineSet, fact_from, rule_from
from engine.result import NeedsData, Result, TraceStep

FACT_DEFS = {name: fact_from(name, data) for name, data in FACTS.items()}
LOW_WBC = rule("AZA-CBC-003", topic="monitoring", title="Hold for low white cells",
               when={"fact": "wbc", "below": 3.5},
               then=[{"action": "hold", "subject": "azathioprine", "strength": "strong", "text": "Hold."}])
TPMT_UNKNOWN = rule("AZA-TPMT-001", title="Order TPMT when unknown",
                    when={"fact": "tpmt_status", "unknown": True},
                    then=[{"action": "order_test", "subject": "tpmt-test", "strength": "strong", "text": "Test."}])


def guidelines(*rules: dict[str, Any]) -> GuidelineSet:
    return GuidelineSet(FACT_DEFS, tuple(rule_from(r) for r in rules))


def outcome(facts: dict[str, Any], fired: tuple[str, ...] = (), needs: tuple[str, ...] = (),
            status: Status = "pass") -> CaseOutcome:
    trace = tuple(TraceStep(r, "fired", ()) for r in fired)
    need = (NeedsData("AZA-ANY-001", "t", needs),) if needs else ()
    result = Result("c", (), {}, need, (), trace)
    return CaseOutcome("c", "monitoring", "tests/cases/monitoring/c.yaml", status, result=result,
                       facts=facts)


def test_a_fully_covered_rule_breaks_no_gate() -> None:
    coverage = measure(guidelines(LOW_WBC), [outcome({"wbc": 2.0}, ("AZA-CBC-003",)), outcome({"wbc": 3.5})])
    assert coverage.gaps == ()
    row = coverage.rules[0]
    assert (row.rule, row.fired, row.near_missed, row.boundaries_covered, row.boundaries_total) == (
        "AZA-CBC-003", 1, 1, 1, 1)


def test_a_rule_that_never_fires_is_reported() -> None:
    coverage = measure(guidelines(LOW_WBC), [outcome({"wbc": 4.0}), outcome({"wbc": 3.5})])
    assert "AZA-CBC-003: never fires in any case" in coverage.gaps
    assert "AZA-CBC-003: threshold wbc below 3.5 10*9/L not tested below 3.5" in coverage.gaps


def test_a_rule_without_a_near_miss_is_reported() -> None:
    # The only other case does not give wbc at all: that is no near miss.
    coverage = measure(guidelines(LOW_WBC), [outcome({"wbc": 2.0}, ("AZA-CBC-003",)), outcome({"weight": 70.0})])
    assert coverage.gaps == (
        "AZA-CBC-003: no near-miss case (no case gives wbc without the rule firing)",
        "AZA-CBC-003: threshold wbc below 3.5 10*9/L not tested at or above 3.5",
    )


def test_the_boundary_value_itself_counts_on_its_own_side() -> None:
    at_most = rule("AZA-CBC-004", topic="monitoring", when={"fact": "wbc", "at_most": 3.5})
    lower_only = measure(guidelines(at_most), [outcome({"wbc": 3.5}, ("AZA-CBC-004",)), outcome({"wbc": 1.0})])
    assert lower_only.gaps == ("AZA-CBC-004: threshold wbc at most 3.5 10*9/L not tested above 3.5",)


def test_between_needs_both_sides_of_both_ends() -> None:
    between = rule("AZA-CBC-005", topic="monitoring", when={"fact": "wbc", "between": [2, 4]})
    coverage = measure(guidelines(between), [outcome({"wbc": 3.0}, ("AZA-CBC-005",)), outcome({"wbc": 5.0})])
    assert coverage.gaps == ("AZA-CBC-005: threshold wbc between 2–4 10*9/L not tested below 2",)
    assert (coverage.rules[0].boundaries_covered, coverage.rules[0].boundaries_total) == (1, 2)


def test_a_times_threshold_is_judged_on_the_ratio_of_the_two_facts() -> None:
    alt = {"label": "ALT", "type": "number", "unit": "U/L", "range": {"min": 0, "max": 10000}, "description": "ALT."}
    facts = {**FACTS, "alt": alt, "alt_uln": {**alt, "label": "ALT upper limit"}}
    g = GuidelineSet({n: fact_from(n, d) for n, d in facts.items()}, (rule_from(rule(
        "AZA-LFT-001", topic="monitoring", when={"fact": "alt", "at_least": {"times": 3, "of": "alt_uln"}})),))
    # 120 / 40 = 3 is "at least 3 times"; 119 / 40 is below; a case without alt_uln tells nothing.
    exactly_three = [outcome({"alt": 120.0, "alt_uln": 40.0}, ("AZA-LFT-001",)), outcome({"alt": 500.0})]
    assert measure(g, exactly_three).gaps == (
        "AZA-LFT-001: threshold alt at least 3 × alt_uln not tested below 3 × alt_uln",)
    both = [*exactly_three, outcome({"alt": 119.0, "alt_uln": 40.0})]
    assert measure(g, both).gaps == ()


def test_a_fact_tested_for_unknown_needs_a_case_where_it_is_missing() -> None:
    given = [outcome({"tpmt_status": "normal"}), outcome({"tpmt_status": "absent"})]
    gaps = measure(guidelines(TPMT_UNKNOWN), given).gaps
    assert "tpmt_status: no case leaves this fact missing (AZA-TPMT-001 tests whether it is known)" in gaps
    covered = measure(guidelines(TPMT_UNKNOWN), [*given, outcome({}, ("AZA-TPMT-001",))]).gaps
    assert not any(g.startswith("tpmt_status:") for g in covered)


def test_a_fact_a_result_asked_for_needs_a_case_where_it_is_missing() -> None:
    asked = [outcome({"wbc": 2.0}, ("AZA-CBC-003",), needs=("weight",)), outcome({"wbc": 4.0, "weight": 60.0})]
    assert "weight: no case leaves this fact missing (listed as needed data in a result)" not in measure(
        guidelines(LOW_WBC), asked).gaps  # the first case does leave weight out
    both_given = [outcome({"wbc": 2.0, "weight": 50.0}, ("AZA-CBC-003",), needs=("weight",)),
                  outcome({"wbc": 4.0, "weight": 60.0})]
    assert "weight: no case leaves this fact missing (listed as needed data in a result)" in measure(
        guidelines(LOW_WBC), both_given).gaps


def test_skipped_and_erroring_cases_show_no_coverage() -> None:
    broken = CaseOutcome("c", "t", "p", "error", ("bad fact",))
    coverage = measure(guidelines(LOW_WBC), [broken])
    assert coverage.cases == 0
    assert "AZA-CBC-003: never fires in any case" in coverage.gaps


def test_only_active_rules_are_gated() -> None:
    draft = {**LOW_WBC, "status": "draft"}
    assert measure(guidelines(draft), [outcome({"wbc": 9.0})]).gaps == ()
