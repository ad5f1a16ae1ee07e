"""Forward chaining over derived facts: depth, negation over derived facts, explanations, order."""

from __future__ import annotations

import random

from engine_kit import act, case, derive, fact, guidelines, keys, rule

from engine.evaluate import Evaluator

# wbc < 2 -> severe_cytopenia -> marrow_failure_risk (with low platelets) -> urgent_review -> stop
CHAIN = [
    rule("AZA-C-001", fact("wbc", below=2), derive("severe_cytopenia")),
    rule("AZA-C-002", {"all": [fact("severe_cytopenia", equals=True), fact("platelets", below=50)]},
         derive("marrow_failure_risk")),
    rule("AZA-C-003", fact("marrow_failure_risk", equals=True), derive("urgent_review")),
    rule("AZA-C-004", fact("urgent_review", equals=True), act("stop", permanent=True)),
    rule("AZA-C-005", {"all": [fact("severe_cytopenia", equals=False), fact("azathioprine_status", equals="taking")]},
         act("continue")),
]


def test_a_chain_of_depth_three_reaches_the_recommendation() -> None:
    result = Evaluator(guidelines(*CHAIN)).evaluate(case(wbc=1.2, platelets=30, azathioprine_status="taking"))
    assert keys(result) == {("stop", "azathioprine", "AZA-C-004")}
    assert result.derived == {"severe_cytopenia": True, "marrow_failure_risk": True, "urgent_review": True}


def test_the_trace_shows_how_each_derived_fact_was_set() -> None:
    result = Evaluator(guidelines(*CHAIN)).evaluate(case(wbc=1.2, platelets=30), explain=True)
    steps = {s.rule: s for s in result.trace}
    assert [s.rule for s in result.trace] == ["AZA-C-001", "AZA-C-002", "AZA-C-003", "AZA-C-004"]
    assert steps["AZA-C-001"].derived == ("severe_cytopenia",)
    read = {f.name: f for f in steps["AZA-C-002"].facts}
    assert read["severe_cytopenia"].derived_by == ("AZA-C-001",)
    assert read["platelets"].value == 30
    assert {f.name: f.value for f in steps["AZA-C-001"].facts} == {"wbc": 1.2}


def test_negation_over_a_derived_fact_needs_the_fact_to_be_decided() -> None:
    evaluator = Evaluator(guidelines(*CHAIN))
    normal = evaluator.evaluate(case(wbc=6.0, platelets=200, azathioprine_status="taking"))
    assert keys(normal) == {("continue", "azathioprine", "AZA-C-005")}
    assert normal.derived["severe_cytopenia"] is False
    unknown = evaluator.evaluate(case(azathioprine_status="taking"))
    assert keys(unknown) == set()
    needs = {n.rule: n.facts for n in unknown.needs_data}
    # The reader of a derived fact is told which measurement to supply, not the derived fact.
    assert needs["AZA-C-005"] == ("wbc",)
    assert needs["AZA-C-004"] == ("platelets", "wbc")


def test_a_derived_fact_is_false_only_when_every_producer_is_definitely_false() -> None:
    rules = [
        rule("AZA-D-001", fact("wbc", below=2), derive("severe_cytopenia")),
        rule("AZA-D-002", fact("platelets", below=20), derive("severe_cytopenia")),
        rule("AZA-D-003", fact("severe_cytopenia", equals=False), act("continue")),
    ]
    evaluator = Evaluator(guidelines(*rules))
    assert "severe_cytopenia" not in evaluator.evaluate(case(wbc=6.0)).derived  # platelets unknown
    assert evaluator.evaluate(case(wbc=6.0, platelets=100)).derived == {"severe_cytopenia": False}
    either = evaluator.evaluate(case(platelets=10))  # wbc unknown, but one producer fired
    assert either.derived == {"severe_cytopenia": True}


def test_rule_order_does_not_change_the_result() -> None:
    patients = [case("a", wbc=1.2, platelets=30), case("b", wbc=6.0, azathioprine_status="taking"),
                case("c", azathioprine_status="taking")]
    baseline = [Evaluator(guidelines(*CHAIN)).evaluate(p, explain=True).as_dict() for p in patients]
    shuffler = random.Random(7)
    for _ in range(5):
        rules = CHAIN[:]
        shuffler.shuffle(rules)
        assert [Evaluator(guidelines(*rules)).evaluate(p, explain=True).as_dict() for p in patients] == baseline


def test_rules_that_read_only_base_facts_are_in_the_first_stratum() -> None:
    program = Evaluator(guidelines(*CHAIN)).program
    strata = [{r.rule_id for rs in layer for r in rs.rules} for layer in program.strata]
    assert strata == [{"AZA-C-001"}, {"AZA-C-002", "AZA-C-005"}, {"AZA-C-003"}, {"AZA-C-004"}]
