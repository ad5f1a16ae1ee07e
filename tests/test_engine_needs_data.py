"""Missing data is never normal: undecidable rules are reported as needing data, never as false."""

from __future__ import annotations

from engine_kit import act, case, fact, guidelines, keys, rule

from engine.evaluate import Evaluator

DOSE = rule("AZA-DOSE-001", {"all": [fact("tpmt_status", equals="normal"),
                                     fact("azathioprine_status", equals="planned")]},
            act("dose", dose={"min": 2, "max": 2.5, "unit": "mg/kg/day"}))
ORDER_TPMT = rule("AZA-TPMT-001", fact("tpmt_status", unknown=True), act("order_test", "tpmt-test"))
REDUCED = rule("AZA-TPMT-003", {"all": [fact("tpmt_status", equals="intermediate"),
                                        fact("azathioprine_status", equals="planned")]},
               act("dose", dose={"min": 0.5, "max": 1.5, "unit": "mg/kg/day"}))


def test_unknown_tpmt_never_yields_a_full_dose() -> None:
    result = Evaluator(guidelines(DOSE, ORDER_TPMT, REDUCED)).evaluate(
        case(azathioprine_status="planned", weight=70))
    assert keys(result) == {("order_test", "tpmt-test", "AZA-TPMT-001")}
    assert not [r for r in result.recommendations if r.action == "dose"]
    assert {n.rule: n.facts for n in result.needs_data} == {
        "AZA-DOSE-001": ("tpmt_status",), "AZA-TPMT-003": ("tpmt_status",)}


def test_a_missing_fact_is_needs_data_not_false() -> None:
    low_wbc = rule("AZA-CBC-001", fact("wbc", below=3), act("hold"))
    high_wbc = rule("AZA-CBC-002", fact("wbc", at_least=3), act("continue"))
    not_low = rule("AZA-CBC-003", {"not": fact("wbc", below=3)}, act("monitor", "full-blood-count"))
    evaluator = Evaluator(guidelines(low_wbc, high_wbc, not_low))
    result = evaluator.evaluate(case(azathioprine_status="taking"))
    assert result.recommendations == ()
    assert [n.rule for n in result.needs_data] == ["AZA-CBC-001", "AZA-CBC-002", "AZA-CBC-003"]
    assert all(n.facts == ("wbc",) for n in result.needs_data)
    assert evaluator.rule_outcomes(case(azathioprine_status="taking")) == {
        "AZA-CBC-001": None, "AZA-CBC-002": None, "AZA-CBC-003": None}


def test_not_equals_on_a_missing_fact_is_undecided() -> None:
    # durable_rules' $neq is false on an absent property; NNF keeps that meaning "unknown".
    evaluator = Evaluator(guidelines(rule("AZA-X-001", fact("tpmt_status", not_equals="absent"), act("start"))))
    assert evaluator.rule_outcomes(case()) == {"AZA-X-001": None}
    assert evaluator.rule_outcomes(case(tpmt_status="absent")) == {"AZA-X-001": False}
    assert evaluator.rule_outcomes(case(tpmt_status="normal")) == {"AZA-X-001": True}


def test_any_is_decided_by_one_true_branch_even_with_missing_facts() -> None:
    either = rule("AZA-X-001", {"any": [fact("wbc", below=3), fact("platelets", below=100)]}, act("hold"))
    both = rule("AZA-X-002", {"all": [fact("wbc", below=3), fact("platelets", below=100)]}, act("stop"))
    evaluator = Evaluator(guidelines(either, both))
    assert evaluator.rule_outcomes(case(wbc=2.0)) == {"AZA-X-001": True, "AZA-X-002": None}
    assert evaluator.rule_outcomes(case(wbc=5.0)) == {"AZA-X-001": None, "AZA-X-002": False}
    result = evaluator.evaluate(case(wbc=5.0))
    assert [(n.rule, n.facts) for n in result.needs_data] == [("AZA-X-001", ("platelets",))]


def test_known_and_unknown_are_always_decided() -> None:
    evaluator = Evaluator(guidelines(
        rule("AZA-K-001", fact("medications", known=True), act("counsel")),
        rule("AZA-K-002", fact("medications", unknown=True), act("consider")),
        rule("AZA-K-003", {"not": fact("wbc", known=True)}, act("order_test", "full-blood-count"))))
    assert evaluator.rule_outcomes(case()) == {"AZA-K-001": False, "AZA-K-002": True, "AZA-K-003": True}
    assert evaluator.rule_outcomes(case(medications=[], wbc=4.0)) == {
        "AZA-K-001": True, "AZA-K-002": False, "AZA-K-003": False}


def test_relative_threshold_needs_both_facts() -> None:
    three_times = rule("AZA-LFT-001", fact("alt", at_least={"times": 3, "of": "alt_baseline"}), act("stop"))
    evaluator = Evaluator(guidelines(three_times))
    assert evaluator.rule_outcomes(case(alt=120.0, alt_baseline=40.0)) == {"AZA-LFT-001": True}
    assert evaluator.rule_outcomes(case(alt=119.0, alt_baseline=40.0)) == {"AZA-LFT-001": False}
    assert evaluator.rule_outcomes(case(alt=105.0, alt_baseline=35.0)) == {"AZA-LFT-001": True}  # exactly 3×
    missing = evaluator.evaluate(case(alt=500.0))
    assert missing.recommendations == ()
    assert [(n.rule, n.facts) for n in missing.needs_data] == [("AZA-LFT-001", ("alt_baseline",))]
    zero = evaluator.evaluate(case(alt=500.0, alt_baseline=0.0))  # a given 0 is a value, not missing
    assert [r.rule for r in zero.recommendations] == ["AZA-LFT-001"] and zero.needs_data == ()


def test_list_tests_treat_a_missing_list_as_unknown_and_an_empty_list_as_known() -> None:
    evaluator = Evaluator(guidelines(
        rule("AZA-XO-001", fact("medications", contains={"valueset": "xanthine-oxidase-inhibitors"}), act("caution")),
        rule("AZA-XO-002", {"not": fact("medications", contains="allopurinol")}, act("start"))))
    assert evaluator.rule_outcomes(case()) == {"AZA-XO-001": None, "AZA-XO-002": None}
    assert evaluator.rule_outcomes(case(medications=[])) == {"AZA-XO-001": False, "AZA-XO-002": True}
    assert evaluator.rule_outcomes(case(medications=["Febuxostat "])) == {"AZA-XO-001": True, "AZA-XO-002": True}
    assert evaluator.rule_outcomes(case(medications=["allopurinol"])) == {"AZA-XO-001": True, "AZA-XO-002": False}


def test_the_text_report_first_names_the_facts_that_would_decide_most_rules() -> None:
    from engine.result_text import result_text

    rules = [rule(f"AZA-CBC-00{i}", {"all": [fact("wbc", below=i), fact("platelets", below=100 + i)]}, act("hold"))
             for i in range(1, 5)]
    rules.append(rule("AZA-TPMT-001", fact("tpmt_status", equals="absent"), act("avoid")))
    g = guidelines(*rules)
    text = result_text(Evaluator(g).evaluate(case(azathioprine_status="taking")), g)
    assert "  Most asked for: platelet count (4 rules), white cell count (4 rules), TPMT activity (1 rule)\n" in text
    few = result_text(Evaluator(g).evaluate(case(wbc=2.0, platelets=50.0, tpmt_status="normal")), g)
    assert "Most asked for" not in few  # nothing undecided: no summary
