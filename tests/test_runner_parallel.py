"""Runs across processes give the same outcomes, in the same order, as a serial run; engine failures are ERROR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from repo_builder import case, make_repo
from runner_repo import PASSING, RULES

from engine.case_select import select_cases
from engine.cases import PARALLEL_THRESHOLD, Job, Keep, choose_jobs, prepare, run_cases
from engine.errors import EngineError
from engine.model import Case, FactInput, GuidelineSet
from engine.result import Result


def many_cases(count: int) -> list[dict[str, Any]]:
    """Cases across the rules' branches: absent/normal TPMT, white cells either side of 2, one skip."""
    found = []
    for i in range(count):
        tpmt = ("absent", "normal", "intermediate")[i % 3]
        wbc = 1.0 + (i % 7) * 0.5
        expect = {"absent": [{"action": "start", "subject": "azathioprine"}]}
        if wbc < 2:
            expect["present"] = [{"action": "stop", "subject": "azathioprine"}]
        data = case(f"case-{i:03d}", facts={"azathioprine_status": "planned", "tpmt_status": tpmt, "wbc": wbc},
                    expect=expect, _topic=("monitoring", "contraindications")[i % 2])
        if i == 17:
            data["skip"] = "kept to show that skipped cases keep their place"
        found.append(data)
    return found


def test_parallel_outcomes_equal_serial_outcomes_in_the_same_order(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=many_cases(40)))
    everything = Keep(results=True, seen=True, json=True)
    serial = run_cases(selection.guidelines, selection.cases, jobs=1, keep=everything)
    parallel = run_cases(selection.guidelines, selection.cases, jobs=2, keep=everything)
    assert [o.as_dict() for o in parallel] == [o.as_dict() for o in serial]
    assert [(o.json_text, o.seen) for o in parallel] == [(o.json_text, o.seen) for o in serial]
    assert any(o.result is not None for o in serial)
    assert [o.path for o in serial] == sorted(o.path for o in serial)
    assert {o.status for o in serial} == {"pass", "skip"}


def test_progress_is_reported_after_every_case(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=many_cases(5)))
    seen: list[tuple[int, int]] = []
    run_cases(selection.guidelines, selection.cases, jobs=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_processes_are_used_only_for_big_runs_or_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert choose_jobs(PARALLEL_THRESHOLD - 1) == 1
    assert choose_jobs(PARALLEL_THRESHOLD) == 4
    assert choose_jobs(10, requested=3) == 3
    assert choose_jobs(2, requested=8) == 2  # never more processes than cases
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert choose_jobs(5000) == 1


class Exploding:
    """An evaluator with a bug: every evaluation raises."""

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.guidelines = guidelines

    def evaluate(self, case: Case, *, explain: bool = False) -> Result:
        raise ZeroDivisionError("division by zero")


def refuses_to_start(guidelines: GuidelineSet) -> Exploding:
    raise ValueError("rule AZA-X-001 is too complex")


def test_an_engine_error_in_one_case_is_an_error_outcome_not_a_crash(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=[PASSING]))
    [outcome] = run_cases(selection.guidelines, selection.cases, factory=Exploding)
    assert outcome.status == "error"
    assert outcome.messages == ("the engine could not evaluate this case: ZeroDivisionError: division by zero",)


def test_an_engine_that_cannot_start_in_the_workers_stops_the_run_with_its_reason(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=many_cases(4)))
    with pytest.raises(EngineError, match="the engine could not start: rule AZA-X-001 is too complex"):
        run_cases(selection.guidelines, selection.cases, jobs=2, factory=refuses_to_start)


def test_invalid_facts_are_refused_before_any_engine_runs(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=[PASSING]))
    bad = Case("bad", "t", {"wbc": FactInput(9000)}, path="x.yaml")
    prepared = prepare(bad, selection.guidelines)
    assert not isinstance(prepared, Job)
    assert prepared.status == "error"
    assert "outside the allowed range" in prepared.messages[0]
