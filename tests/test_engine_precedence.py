"""Precedence: stop/avoid/hold block start/continue/dose/combine_with of the same subject;
`overrides` suppresses the overridden rule; neither depends on rule order."""

from __future__ import annotations

import itertools

from engine_kit import act, case, fact, guidelines, keys, rule

from engine.evaluate import Evaluator

PLANNED = fact("azathioprine_status", equals="planned")
AVOID = rule("AZA-TPMT-002", {"all": [fact("tpmt_status", equals="absent"), PLANNED]}, act("avoid"))
START = rule("AZA-START-001", PLANNED, act("start"), act("order_test", "full-blood-count"))
STANDARD = rule("AZA-DOSE-001", PLANNED, act("dose", dose={"min": 2, "max": 2.5, "unit": "mg/kg/day"}))
REDUCED = rule("AZA-DOSE-002", {"all": [fact("tpmt_status", equals="intermediate"), PLANNED]},
               act("dose", dose={"min": 0.5, "max": 1.5, "unit": "mg/kg/day"}), act("monitor", "full-blood-count"),
               overrides=["AZA-DOSE-001"])
OTHER = rule("AZA-PRED-001", PLANNED, act("start", "prednisolone"))
ALL = [AVOID, START, STANDARD, REDUCED, OTHER]


def test_avoid_suppresses_start_and_dose_of_the_same_subject_and_names_the_rule() -> None:
    result = Evaluator(guidelines(*ALL)).evaluate(case(azathioprine_status="planned", tpmt_status="absent", weight=60))
    assert keys(result) == {("avoid", "azathioprine", "AZA-TPMT-002"),
                            ("order_test", "full-blood-count", "AZA-START-001"),
                            ("start", "prednisolone", "AZA-PRED-001")}
    suppressed = {(s.recommendation.action, s.recommendation.rule): s for s in result.suppressed}
    assert set(suppressed) == {("start", "AZA-START-001"), ("dose", "AZA-DOSE-001")}
    assert suppressed["start", "AZA-START-001"].by_rule == "AZA-TPMT-002"
    assert "avoid azathioprine (AZA-TPMT-002)" in suppressed["start", "AZA-START-001"].reason


def test_overrides_suppress_every_action_of_the_overridden_rule() -> None:
    result = Evaluator(guidelines(*ALL)).evaluate(
        case(azathioprine_status="planned", tpmt_status="intermediate", weight=60))
    doses = [r for r in result.recommendations if r.action == "dose"]
    assert [d.rule for d in doses] == ["AZA-DOSE-002"]
    assert doses[0].dose is not None and doses[0].dose.mg_per_day == (50.0, 75.0)  # 30–90 mg, in 25 mg steps
    (item,) = result.suppressed
    assert (item.recommendation.rule, item.by_rule) == ("AZA-DOSE-001", "AZA-DOSE-002")
    assert "overridden by AZA-DOSE-002" in item.reason


def test_an_overridden_blocking_action_blocks_nothing() -> None:
    blocker = rule("AZA-HOLD-001", PLANNED, act("hold"))
    winner = rule("AZA-WIN-001", PLANNED, act("counsel"), overrides=["AZA-HOLD-001"])
    result = Evaluator(guidelines(blocker, winner, START)).evaluate(case(azathioprine_status="planned"))
    assert ("start", "azathioprine", "AZA-START-001") in keys(result)
    assert [(s.recommendation.rule, s.by_rule) for s in result.suppressed] == [("AZA-HOLD-001", "AZA-WIN-001")]


def test_a_rule_does_not_block_its_own_actions() -> None:
    both = rule("AZA-SWITCH-001", PLANNED, act("stop"), act("start"))
    result = Evaluator(guidelines(both)).evaluate(case(azathioprine_status="planned"))
    assert keys(result) == {("stop", "azathioprine", "AZA-SWITCH-001"), ("start", "azathioprine", "AZA-SWITCH-001")}


def test_precedence_does_not_depend_on_rule_order() -> None:
    patients = [case("a", azathioprine_status="planned", tpmt_status="absent", weight=60),
                case("b", azathioprine_status="planned", tpmt_status="intermediate", weight=60)]
    outputs = {
        repr([Evaluator(guidelines(*order)).evaluate(p).as_dict() for p in patients])
        for order in itertools.permutations(ALL)
    }
    assert len(outputs) == 1


def test_recommendations_are_in_reading_order() -> None:
    result = Evaluator(guidelines(*ALL)).evaluate(case(azathioprine_status="planned", tpmt_status="absent"))
    assert [r.action for r in result.recommendations] == ["avoid", "start", "order_test"]


# ------------------------------------------------------------ provisional: an undecided rule could set it aside


def _provisional(result: object) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(p.rule, p.action): p.set_aside_by for p in result.provisional}  # type: ignore[attr-defined]


def test_a_start_is_not_final_while_a_blocking_rule_of_its_subject_lacks_data() -> None:
    result = Evaluator(guidelines(*ALL)).evaluate(case(azathioprine_status="planned", weight=60))
    assert ("start", "azathioprine", "AZA-START-001") in keys(result)
    found = _provisional(result)
    # TPMT unknown: the avoid (AZA-TPMT-002) and the reduced dose's override (AZA-DOSE-002) are both open
    assert found[("AZA-START-001", "start")] == ("AZA-TPMT-002",)
    assert found[("AZA-DOSE-001", "dose")] == ("AZA-DOSE-002", "AZA-TPMT-002")
    assert ("AZA-PRED-001", "start") not in found  # another subject: the avoid would not touch it
    assert ("AZA-START-001", "order_test") not in found  # a test is never blocked


def test_a_recommendation_is_final_once_the_blocking_rule_is_decided() -> None:
    result = Evaluator(guidelines(*ALL)).evaluate(case(azathioprine_status="planned", tpmt_status="normal", weight=60))
    assert result.provisional == ()


def test_an_undecided_rule_that_a_fired_rule_overrides_makes_nothing_provisional() -> None:
    blocker = rule("AZA-HOLD-002", {"all": [PLANNED, fact("wbc", below=3)]}, act("hold"))
    winner = rule("AZA-WIN-002", PLANNED, act("counsel"), overrides=["AZA-HOLD-002"])
    alone = Evaluator(guidelines(blocker, START)).evaluate(case(azathioprine_status="planned"))
    assert _provisional(alone) == {("AZA-START-001", "start"): ("AZA-HOLD-002",)}
    overridden = Evaluator(guidelines(blocker, winner, START)).evaluate(case(azathioprine_status="planned"))
    assert overridden.provisional == ()
