"""`guideline validate` reports rules that disagree, rules that can never be seen, and impossible conditions."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from repo_builder import make_repo, rule

from engine.cli import main
from engine.errors import Problem
from engine.validate import validate_repository

TODAY = dt.date(2026, 11, 22)
CODES = ("E-CONFLICT", "W-SHADOWED", "W-UNSATISFIABLE", "W-CONDITION-COMPLEX")


def dose_rule(rule_id: str, when: dict[str, Any], low: float, high: float, **fields: Any) -> dict[str, Any]:
    return rule(rule_id, topic="monitoring", title=f"Dose {low}-{high}", when=when, then=[
        {"action": "dose", "subject": "azathioprine", "strength": "conditional",
         "dose": {"min": low, "max": high, "unit": "mg/kg/day"}, "text": f"Give {low}-{high} mg/kg/day."}],
        **fields)


def avoid_rule(rule_id: str, when: dict[str, Any], subject: str = "azathioprine") -> dict[str, Any]:
    return rule(rule_id, when=when, then=[
        {"action": "avoid", "subject": subject, "strength": "strong", "text": "Do not start it."}])


def findings(tmp_path: Path, rules: list[dict[str, Any]]) -> list[Problem]:
    root = make_repo(tmp_path, rules=rules, cases=[])
    report = validate_repository(root, today=TODAY)
    return [p for p in report.problems if p.code in CODES]


def line_of(tmp_path: Path, problem: Problem, text: str) -> int:
    """The line of the rule file where `text` is written (1-based)."""
    lines = (tmp_path / "repo" / problem.location.path).read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def example_of(problem: Problem) -> dict[str, str]:
    """The example patient of a message, as fact -> value."""
    text = problem.message.split("for example: ", 1)[1].split(". ", 1)[0]
    return dict(pair.split(": ", 1) for pair in text.split(", "))


NORMAL = {"fact": "tpmt_status", "equals": "normal"}
HIGH_WBC = {"fact": "wbc", "at_least": 3}


def test_two_doses_that_can_apply_together_are_a_conflict_with_an_example_patient(tmp_path: Path) -> None:
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", NORMAL, 2, 2.5),
                                dose_rule("AZA-DOSE-002", HIGH_WBC, 1, 1.5)])
    assert [p.code for p in found] == ["E-CONFLICT"]
    problem = found[0]
    assert problem.location.path == "guidelines/rules/monitoring/AZA-DOSE-001.yaml"
    assert problem.location.line == line_of(tmp_path, problem, "- action: dose")  # where the editor decides
    assert "AZA-DOSE-002" in problem.message
    assert "2–2.5 mg/kg/day vs 1–1.5 mg/kg/day" in problem.message
    patient = example_of(problem)
    assert patient["tpmt_status"] == "normal"
    assert float(patient["wbc"]) >= 3  # the example really makes both rules apply
    assert "overrides: [AZA-DOSE-002]" in problem.message


def test_declared_precedence_through_overrides_is_not_a_conflict(tmp_path: Path) -> None:
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", NORMAL, 2, 2.5),
                                dose_rule("AZA-DOSE-002", HIGH_WBC, 1, 1.5, overrides=["AZA-DOSE-001"])])
    assert found == []


def test_doses_under_exclusive_conditions_are_not_a_conflict(tmp_path: Path) -> None:
    found = findings(tmp_path, [
        dose_rule("AZA-DOSE-001", {"fact": "wbc", "below": 3}, 2, 2.5),
        dose_rule("AZA-DOSE-002", {"not": {"fact": "wbc", "below": 3}}, 1, 1.5),
    ])
    assert found == []


def test_the_same_dose_twice_is_not_a_conflict(tmp_path: Path) -> None:
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", NORMAL, 2, 2.5),
                                dose_rule("AZA-DOSE-002", HIGH_WBC, 2, 2.5)])
    assert found == []


def test_avoid_beside_a_dose_is_settled_by_precedence_and_not_reported(tmp_path: Path) -> None:
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", NORMAL, 2, 2.5),
                                avoid_rule("AZA-TPMT-002", HIGH_WBC)])
    assert found == []


def test_a_dose_conflict_always_hidden_by_an_avoid_is_not_a_conflict_but_both_are_shadowed(
    tmp_path: Path,
) -> None:
    absent = {"fact": "tpmt_status", "equals": "absent"}
    found = findings(tmp_path, [
        dose_rule("AZA-DOSE-001", {"all": [absent, HIGH_WBC]}, 2, 2.5),
        dose_rule("AZA-DOSE-002", {"all": [absent, {"fact": "wbc", "below": 5}]}, 1, 1.5),
        avoid_rule("AZA-TPMT-002", absent),
    ])
    assert sorted((p.code, p.location.path.rsplit("/", 1)[1]) for p in found) == [
        ("W-SHADOWED", "AZA-DOSE-001.yaml"), ("W-SHADOWED", "AZA-DOSE-002.yaml")]
    assert all("AZA-TPMT-002" in p.message and p.severity == "warning" for p in found)


def test_a_rule_is_not_shadowed_when_the_blocking_rule_can_lack_data(tmp_path: Path) -> None:
    # AZA-TPMT-002 applies only when TPMT activity is known to be absent; a patient with a
    # low count and no TPMT result sees the dose, so the dose rule is not shadowed.
    found = findings(tmp_path, [
        dose_rule("AZA-DOSE-001", {"any": [{"fact": "tpmt_status", "equals": "absent"}, HIGH_WBC]}, 2, 2.5),
        avoid_rule("AZA-TPMT-002", {"fact": "tpmt_status", "equals": "absent"}),
    ])
    assert found == []


def test_overriding_every_action_of_a_rule_whenever_it_applies_shadows_it(tmp_path: Path) -> None:
    found = findings(tmp_path, [
        dose_rule("AZA-DOSE-001", {"all": [NORMAL, HIGH_WBC]}, 2, 2.5),
        dose_rule("AZA-DOSE-002", NORMAL, 1, 1.5, overrides=["AZA-DOSE-001"]),
    ])
    assert [(p.code, p.location.path.rsplit("/", 1)[1]) for p in found] == [("W-SHADOWED", "AZA-DOSE-001.yaml")]
    assert "AZA-DOSE-002" in found[0].message


def test_conditions_that_can_never_hold_are_reported_at_the_rule_condition(tmp_path: Path) -> None:
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", {"all": [
        {"fact": "wbc", "below": 2}, {"fact": "wbc", "above": 3}]}, 2, 2.5)])
    assert [p.code for p in found] == ["W-UNSATISFIABLE"]
    assert found[0].location.line == line_of(tmp_path, found[0], "when:") + 1  # the condition itself
    assert "white cell count (wbc)" in found[0].message


def test_a_condition_contradicting_itself_plainly_names_its_facts(tmp_path: Path) -> None:
    # Every alternative drops out before any range is solved (wbc both measured and unknown):
    # the message must still say which tests clash.
    when = {"all": [{"fact": "wbc", "below": 11}, {"fact": "wbc", "unknown": True}]}
    (found,) = findings(tmp_path, [dose_rule("AZA-DOSE-001", when, 2, 2.5)])
    assert found.code == "W-UNSATISFIABLE"
    assert "the tests on white cell count (wbc) contradict each other" in found.message


@pytest.mark.parametrize("when", [
    {"all": [{"fact": "wbc", "known": True}, {"fact": "wbc", "unknown": True}]},
    {"all": [NORMAL, {"fact": "tpmt_status", "one_of": ["intermediate", "absent"]}]},
    {"all": [{"fact": "medications", "contains": "allopurinol"},
             {"not": {"fact": "medications", "contains": {"valueset": "xanthine-oxidase-inhibitors"}}}]},
    {"all": [{"fact": "wbc", "between": [2, 4]}, {"not": {"fact": "wbc", "at_most": 4}}]},
])
def test_impossible_combinations_of_each_kind_of_test(tmp_path: Path, when: dict[str, Any]) -> None:
    assert [p.code for p in findings(tmp_path, [dose_rule("AZA-DOSE-001", when, 2, 2.5)])] == ["W-UNSATISFIABLE"]


@pytest.mark.parametrize("when", [
    {"all": [{"fact": "wbc", "between": [2, 4]}, {"not": {"fact": "wbc", "below": 4}}]},  # wbc = 4
    {"all": [{"fact": "medications", "contains": "azathioprine"},
             {"not": {"fact": "medications", "contains": {"valueset": "xanthine-oxidase-inhibitors"}}}]},
    {"any": [{"fact": "wbc", "unknown": True}, {"fact": "wbc", "below": 2}]},
])
def test_possible_combinations_are_not_reported(tmp_path: Path, when: dict[str, Any]) -> None:
    assert findings(tmp_path, [dose_rule("AZA-DOSE-001", when, 2, 2.5)]) == []


def test_consider_beside_avoid_of_the_same_subject_is_a_conflict(tmp_path: Path) -> None:
    consider = rule("AZA-ALT-001", topic="monitoring", when=HIGH_WBC, then=[
        {"action": "consider", "subject": "azathioprine", "strength": "conditional", "text": "Consider it."}])
    found = findings(tmp_path, [consider, avoid_rule("AZA-TPMT-002", NORMAL)])
    assert [p.code for p in found] == ["E-CONFLICT"]
    assert "consider azathioprine, the other says avoid it" in found[0].message


def test_two_rules_deriving_different_values_are_a_conflict(tmp_path: Path) -> None:
    def derive(rule_id: str, when: dict[str, Any], value: bool) -> dict[str, Any]:
        return rule(rule_id, topic="monitoring", when=when,
                    then=[{"action": "derive", "fact": "severe_cytopenia", "value": value}])
    found = findings(tmp_path, [derive("AZA-CBC-001", {"fact": "wbc", "below": 2}, True),
                                derive("AZA-CBC-003", {"fact": "wbc", "below": 2.5}, False)])
    assert [p.code for p in found] == ["E-CONFLICT"]
    assert float(example_of(found[0])["wbc"]) < 2


def test_a_ratio_threshold_is_analysed_as_a_multiple(tmp_path: Path) -> None:
    facts_rule = {"all": [{"fact": "alt", "above": {"times": 5, "of": "wbc"}},
                          {"fact": "alt", "below": {"times": 3, "of": "wbc"}}]}
    assert [p.code for p in findings(tmp_path, [dose_rule("AZA-DOSE-001", facts_rule, 2, 2.5)])] == [
        "W-UNSATISFIABLE"]


def test_validate_fails_on_a_conflict_and_prints_file_line_and_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, rules=[dose_rule("AZA-DOSE-001", NORMAL, 2, 2.5),
                                      dose_rule("AZA-DOSE-002", HIGH_WBC, 1, 1.5)], cases=[])
    assert main(["validate", "--repo", str(root)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "[E-CONFLICT]" in x)
    assert re.match(r"guidelines/rules/monitoring/AZA-DOSE-001\.yaml:\d+:\d+: AZA-DOSE-001 and AZA-DOSE-002", line)
    assert "for example: tpmt_status: normal, wbc: " in line


def test_a_condition_too_large_to_analyse_is_named_not_guessed(tmp_path: Path) -> None:
    groups = [{"any": [{"fact": "wbc", "below": 1 + g}, {"fact": "alt", "above": 10 + g},
                       {"fact": "weight", "above": 50 + g}, {"fact": "tpmt_status", "equals": "normal"}]}
              for g in range(6)]  # 4^6 alternatives
    found = findings(tmp_path, [dose_rule("AZA-DOSE-001", {"all": groups}, 2, 2.5),
                                dose_rule("AZA-DOSE-002", HIGH_WBC, 1, 1.5)])
    assert [p.code for p in found] == ["W-CONDITION-COMPLEX"]
    assert "too many alternatives" in found[0].message and found[0].severity == "warning"


def test_a_misspelt_value_is_reported_once_not_also_as_an_impossible_condition(tmp_path: Path) -> None:
    when = {"all": [{"fact": "tpmt_status", "equals": "absnet"}, {"fact": "wbc", "below": 3}]}
    root = make_repo(tmp_path, rules=[dose_rule("AZA-DOSE-001", when, 2, 2.5)], cases=[])
    codes = [p.code for p in validate_repository(root, today=TODAY).problems
             if p.location.path.endswith("AZA-DOSE-001.yaml")]
    assert "E-UNKNOWN-VALUE" in codes
    assert "W-UNSATISFIABLE" not in codes
