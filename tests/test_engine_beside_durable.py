"""What the evaluator decides beside durable_rules: false versus undecided, the facts a rule lacks,
and which rulesets need no session. Each is checked against the tree-walking oracle or the
engine's own guard, so a wrong shortcut fails here rather than giving a quiet wrong answer."""

from __future__ import annotations

from typing import Any

import pytest
from engine_kit import act, case, derive, fact, guidelines, rule
from hypothesis import given, settings
from hypothesis import strategies as st
from test_oracle_property import DERIVED, conditions, normalized, patients

from engine.compiler import compile_guidelines
from engine.errors import EngineError
from engine.evaluate import Evaluator
from engine.gates import gates
from engine.kleene import compile_decision
from engine.nnf import nnf
from engine.oracle import missing, truth


@st.composite
def patients_with_derived_facts(draw: st.DrawFn) -> dict[str, Any]:
    person = draw(patients())
    for name in draw(st.sets(st.sampled_from(DERIVED))):
        person[name] = draw(st.booleans())
    return person


@settings(max_examples=400, deadline=None)
@given(conditions(DERIVED), patients_with_derived_facts())
def test_compiled_decisions_agree_with_the_oracle_on_truth_and_on_what_is_missing(
        when: dict[str, Any], person: dict[str, Any]) -> None:
    g = guidelines(rule("AZA-K-001", when, act("hold")))
    condition, values = g.active_rules[0].when, normalized(person)
    decided = compile_decision(condition, g.valuesets)(values)
    assert decided == (truth(condition, values, g.valuesets), frozenset(missing(condition, values, g.valuesets)))


def _sessions(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = evaluator.runtime.run

    def counted(ruleset: Any, properties: Any) -> frozenset[str]:
        opened.append(ruleset.name)
        return real(ruleset, properties)

    monkeypatch.setattr(evaluator.runtime, "run", counted)
    return opened


def test_a_ruleset_no_rule_of_which_could_match_opens_no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    g = guidelines(rule("AZA-CBC-001", {"all": [fact("wbc", below=3.5), fact("platelets", below=150)]}, act("hold")))
    evaluator = Evaluator(g)
    opened = _sessions(evaluator, monkeypatch)
    assert evaluator.rule_outcomes(case(wbc=2.0)) == {"AZA-CBC-001": None}  # platelets missing: undecided
    assert evaluator.rule_outcomes(case(wbc=5.0)) == {"AZA-CBC-001": False}  # decided without platelets
    assert opened == []
    assert evaluator.rule_outcomes(case(wbc=2.0, platelets=100.0)) == {"AZA-CBC-001": True}
    assert len(opened) == 1


def test_a_rule_that_holds_on_absence_always_gets_its_session(monkeypatch: pytest.MonkeyPatch) -> None:
    g = guidelines(rule("AZA-TPMT-001", {"any": [fact("tpmt_status", unknown=True),
                                                 fact("tpmt_status", equals="absent")]}, act("order_test", "tpmt")))
    (layer,) = compile_guidelines(g).strata
    assert layer[0].rules[0].requires == frozenset()
    evaluator = Evaluator(g)
    opened = _sessions(evaluator, monkeypatch)
    assert evaluator.rule_outcomes(case()) == {"AZA-TPMT-001": True}
    assert len(opened) == 1


def test_what_a_pattern_needs_is_what_every_one_of_its_alternatives_needs() -> None:
    when = {"all": [fact("wbc", below=3.5), {"any": [fact("platelets", below=150),
                                                     {"all": [fact("platelets", below=200), fact("alt", above=40)]}]}]}
    g = guidelines(rule("AZA-CBC-001", when, act("hold")))
    (layer,) = compile_guidelines(g).strata
    assert layer[0].rules[0].requires == frozenset({"wbc", "platelets"})


def test_a_rule_durable_fails_to_fire_is_reported_not_read_as_false(monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard behind the shortcut: if durable ever missed a rule that holds, the case stops with an
    # engine error instead of a quietly missing recommendation.
    evaluator = Evaluator(guidelines(rule("AZA-CBC-001", {"all": [fact("wbc", below=3.5), fact("alt", above=40)]},
                                          act("hold"))))
    monkeypatch.setattr(evaluator.runtime, "run", lambda ruleset, properties: frozenset())
    assert evaluator.rule_outcomes(case(wbc=5.0)) == {"AZA-CBC-001": False}
    with pytest.raises(EngineError, match="AZA-CBC-001 holds for this patient but durable_rules did not fire it"):
        evaluator.rule_outcomes(case(wbc=2.0, alt=50.0))


def test_a_gate_is_an_equality_test_every_alternative_needs() -> None:
    low_tpmt = fact("tpmt_status", one_of=["absent", "intermediate"])
    g = guidelines(
        rule("AZA-G-001", {"all": [fact("tpmt_status", equals="absent"), fact("wbc", below=3.5)]}, act("hold")),
        rule("AZA-G-002", {"any": [{"all": [low_tpmt, fact("wbc", below=3)]},
                                   {"all": [low_tpmt, fact("platelets", below=100)]}]}, act("hold")),
        rule("AZA-G-003", {"any": [fact("tpmt_status", equals="absent"), fact("wbc", below=3.5)]}, act("hold")),
        rule("AZA-G-004", {"not": {"all": [fact("tpmt_status", not_equals="absent"), fact("pregnant", equals=False)]}},
             act("hold")))
    lists = frozenset({"medications"})
    found = {r.id: {(gate.fact, tuple(sorted(gate.allowed))) for gate in gates(nnf(r.when), lists)}
             for r in g.active_rules}
    assert found == {"AZA-G-001": {("tpmt_status", ("absent",))},
                     "AZA-G-002": {("tpmt_status", ("absent", "intermediate"))},
                     "AZA-G-003": set(),  # an alternative without the test: no gate
                     "AZA-G-004": set()}  # `any` of tpmt_status equals absent / pregnant equals true


def test_rules_a_known_value_rules_out_are_false_without_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    g = guidelines(*(rule(f"AZA-G-{i:03d}", {"all": [fact("tpmt_status", equals="absent"), fact("wbc", below=i)]},
                          act("hold")) for i in range(1, 6)))
    evaluator = Evaluator(g)
    opened = _sessions(evaluator, monkeypatch)
    assert set(evaluator.rule_outcomes(case(tpmt_status="normal")).values()) == {False}  # wbc not needed
    assert opened == []
    assert set(evaluator.rule_outcomes(case(tpmt_status="absent")).values()) == {None}
    assert evaluator.rule_outcomes(case(tpmt_status="absent", wbc=2.5)) == {
        "AZA-G-001": False, "AZA-G-002": False, "AZA-G-003": True, "AZA-G-004": True, "AZA-G-005": True}
    assert len(opened) == 1


def test_a_rarer_gate_and_a_derived_gate_rule_out_their_rules_once_known(monkeypatch: pytest.MonkeyPatch) -> None:
    # tpmt_status gates every rule (indexed value by value); pregnant gates one rule in 22 and
    # severe_cytopenia, a derived fact, one in a higher stratum: both checked rule by rule.
    gated = [rule(f"AZA-G-{i:03d}", {"all": [fact("tpmt_status", equals="absent"), fact("wbc", below=i)]}, act("hold"))
             for i in range(1, 21)]
    g = guidelines(
        *gated,
        rule("AZA-P-001", {"all": [fact("tpmt_status", equals="absent"), fact("pregnant", equals=True),
                                   fact("wbc", below=5)]}, act("hold")),
        rule("AZA-D-001", {"all": [fact("tpmt_status", equals="absent"), fact("platelets", below=100)]},
             derive("severe_cytopenia")),
        rule("AZA-S-001", {"all": [fact("tpmt_status", equals="absent"), fact("severe_cytopenia", equals=True),
                                   fact("wbc", below=5)]}, act("stop")))
    evaluator = Evaluator(g)
    opened = _sessions(evaluator, monkeypatch)
    assert set(evaluator.rule_outcomes(case(tpmt_status="normal")).values()) == {False}
    assert opened == []
    outcomes = evaluator.rule_outcomes(case(tpmt_status="absent", pregnant=False, platelets=200.0))
    assert outcomes["AZA-P-001"] is False and outcomes["AZA-D-001"] is False  # though wbc is missing
    assert outcomes["AZA-S-001"] is False  # severe_cytopenia is now known false
    assert {outcomes[f"AZA-G-{i:03d}"] for i in range(1, 21)} == {None}
    outcomes = evaluator.rule_outcomes(case(tpmt_status="absent", pregnant=True, platelets=50.0, wbc=4.0))
    assert outcomes["AZA-P-001"] is True and outcomes["AZA-D-001"] is True and outcomes["AZA-S-001"] is True
