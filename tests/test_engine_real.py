"""The real repository: its rules compile within the engine's limits, and extreme patients run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from engine import compiler
from engine.cli import main
from engine.evaluate import Evaluator
from engine.model import Case, FactDef, FactInput, GuidelineSet, Multiple, ValueSetRef, iter_tests
from engine.repository import load_repository

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real() -> GuidelineSet:
    loaded = load_repository(ROOT, with_cases=False)
    assert [p for p in loaded.problems if p.severity == "error"] == []
    return loaded.guidelines


def candidates(g: GuidelineSet) -> dict[str, list[Any]]:
    """Per base fact: every value that sits on, just below or just above a threshold of some rule."""
    found: dict[str, set[Any]] = {}
    for rule in g.active_rules:
        for test in iter_tests(rule.when):
            found.setdefault(test.fact, set()).update(_near(test.value, g))
    out: dict[str, list[Any]] = {}
    for name, values in found.items():
        fact = g.facts.get(name)
        if fact is not None and not fact.derived:
            out[name] = _fitting(fact, values, g)
    return out


def _near(value: Any, g: GuidelineSet) -> set[Any]:
    if isinstance(value, bool) or value is None or isinstance(value, (Multiple, ValueSetRef)):
        return set()
    if isinstance(value, float):
        return {value - 0.5, value, value + 0.5}
    if isinstance(value, tuple):
        return set().union(*(_near(v, g) for v in value))
    return {value}


def _fitting(fact: FactDef, values: set[Any], g: GuidelineSet) -> list[Any]:
    if fact.type == "boolean":
        return [True, False]
    if fact.type == "category":
        return list(fact.value_names)
    if fact.type == "list":
        every = sorted({str(v) for v in values} | {m for vs in g.valuesets.values() for m in vs.values})
        return [every, []]
    low, high = fact.range or (-1e9, 1e9)
    return sorted({min(max(float(v), low), high) for v in values if isinstance(v, (int, float))} | {low, high})


def test_every_real_ruleset_is_within_the_engine_limits(real: GuidelineSet) -> None:
    program = compiler.compile_guidelines(real)
    assert program.problems == ()
    rulesets = [rs for layer in program.strata for rs in layer]
    assert sum(len(rs.rules) for rs in rulesets) == len(real.active_rules)
    assert all(rs.alternatives <= compiler.ALTERNATIVE_CAP for rs in rulesets)
    assert all(len(rs.properties) <= compiler.PROPERTY_CAP for rs in rulesets)
    assert len(program.strata) >= 2  # the real rules chain through derived facts


def test_extreme_patients_run_on_the_real_rules_without_engine_errors(real: GuidelineSet) -> None:
    evaluator = Evaluator(real)
    options = candidates(real)
    lowest = {name: values[0] for name, values in options.items()}
    patients = [lowest, {name: values[-1] for name, values in options.items()}]
    rng = random.Random(1)
    patients += [{n: rng.choice(v) for n, v in options.items() if rng.random() < 0.8} for _ in range(300)]
    decided = 0
    for i, facts in enumerate(patients):
        case = Case(f"p{i}", "extreme", {n: FactInput(tuple(v) if isinstance(v, list) else v)
                                         for n, v in facts.items()})
        outcomes = evaluator.rule_outcomes(case)
        decided += sum(o is not None for o in outcomes.values())
    assert decided > 0


def test_the_examples_evaluate_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 4
    assert main(["evaluate", "--repo", str(ROOT), *examples]) == 0
    out = capsys.readouterr().out
    assert "AVOID (do not start)\n  - Azathioprine" in out  # absent TPMT
    assert "dose: 50–100 mg/day" in out                      # intermediate TPMT, weight in pounds
    assert "(AZA-TPMT-002): give TPMT activity" in out       # TPMT unknown: needs data, no dose
