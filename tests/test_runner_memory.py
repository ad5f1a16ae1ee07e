"""A run keeps little per case: no whole Result unless asked, cases sent to workers a few at a time.

At 1,000 rules a Result (trace included) takes megabytes; `guideline test` once kept one per
case and grew by 2.5 MB a case. These tests fail if outcomes hold results they were not asked
for, or if the runner prepares every case before the first outcome comes back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from repo_builder import make_repo
from runner_repo import FAILING, PASSING, RULES, SKIPPED
from test_runner_parallel import many_cases

import engine.cases
import engine.cli.test
from engine import outcome_store
from engine.case_report import outcomes_json, summary_line
from engine.case_select import select_cases
from engine.cases import CaseOutcome, Keep, by_topic, counts, iter_outcomes, run_cases, succeeded
from engine.cli import main
from engine.coverage import measure
from engine.errors import Location, Problem
from engine.report import dumps


def holds_nothing_per_case(outcome: CaseOutcome) -> bool:
    return outcome.result is None and not outcome.facts and outcome.seen is None and not outcome.json_text \
        and outcome.site is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_outcomes_hold_no_result_unless_asked(tmp_path: Path, jobs: int) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=many_cases(20)))
    outcomes = run_cases(selection.guidelines, selection.cases, jobs=jobs)
    assert {o.status for o in outcomes} == {"pass", "skip"}
    assert all(holds_nothing_per_case(o) for o in outcomes)


@pytest.mark.parametrize("jobs", [1, 2])
def test_what_is_asked_for_comes_back_and_nothing_else(tmp_path: Path, jobs: int) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING]))
    full = run_cases(selection.guidelines, selection.cases, jobs=1, keep=Keep(results=True))
    seen = run_cases(selection.guidelines, selection.cases, jobs=jobs, keep=Keep(seen=True))
    rendered = run_cases(selection.guidelines, selection.cases, jobs=jobs, keep=Keep(json=True))
    assert all(o.result is not None for o in full)
    assert all(o.result is None and o.seen is not None for o in seen)
    assert all(o.result is None and o.seen is None for o in rendered)
    assert [o.json_text for o in rendered] == [dumps(o.as_dict()) for o in full]  # the result is in the JSON
    assert measure(selection.guidelines, seen) == measure(selection.guidelines, full)


def test_the_runner_prepares_cases_only_a_few_chunks_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=many_cases(60)))
    prepared: list[str] = []
    real_prepare = engine.cases.prepare

    def counting(case: Any, *args: Any) -> Any:
        prepared.append(case.id)
        return real_prepare(case, *args)

    monkeypatch.setattr(engine.cases, "prepare", counting)
    outcomes = iter_outcomes(selection.guidelines, selection.cases, jobs=2)
    next(outcomes)
    chunk = engine.cases._chunk_size(60, 2)
    assert len(prepared) <= (2 * engine.cases.IN_FLIGHT + 1) * chunk < 60
    assert len([next(outcomes), *outcomes]) == 59  # the rest still comes, in order
    assert len(prepared) == 60


def test_the_cli_holds_no_result_per_case_and_still_saves_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING, SKIPPED])
    given: list[CaseOutcome] = []
    reported: list[CaseOutcome] = []
    real_add, real_report = outcome_store.StoreWriter.add, engine.cli.test._report
    monkeypatch.setattr(outcome_store.StoreWriter, "add", lambda self, o: (given.append(o), real_add(self, o))[1])
    monkeypatch.setattr(engine.cli.test, "_report", lambda o, *rest: (reported.extend(o), real_report(o, *rest))[1])
    assert main(["test", "--repo", str(root), "--coverage", "--format", "json"]) == 1
    # The store gets each case's site view, never its result; the report keeps nothing per case.
    assert len(given) == 3 and all(o.result is None and not o.facts for o in given)
    assert [o.site is not None for o in given] == [o.status != "skip" for o in given]
    assert len(reported) == 3 and all(holds_nothing_per_case(o) for o in reported)
    assert outcome_store.load(root, select_cases(root).cases) is not None
    body = json.loads(capsys.readouterr().out)  # the results are still in the JSON, written as each case ended
    assert [c["id"] for c in body["cases"] if "result" in c] == ["tpmt-absent-blocks-start", "low-wbc-expects-hold"]
    assert body["coverage"]["cases"] == 2


def reference_json(outcomes: list[CaseOutcome], coverage: Any = None, message: str = "",
                   problems: tuple[Problem, ...] = ()) -> str:
    """The document as it was made before it was written case by case: one dict, one dumps."""
    ok = succeeded(outcomes) and not (coverage and coverage.gaps) and not problems
    body: dict[str, Any] = {"status": "pass" if ok else "fail", "total": len(outcomes), "counts": counts(outcomes),
                            "topics": by_topic(outcomes), "summary": summary_line(outcomes),
                            "cases": [o.as_dict() for o in outcomes]}
    if coverage is not None:
        body["coverage"] = coverage.as_dict()
    if message:
        body["message"] = message
    if problems:
        body["problems"] = [p.as_dict() for p in problems]
    return dumps(body)


def test_the_json_written_case_by_case_is_the_one_document(tmp_path: Path) -> None:
    selection = select_cases(make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING, SKIPPED]))
    outcomes = [*run_cases(selection.guidelines, selection.cases, keep=Keep(results=True)), *selection.errors]
    coverage = measure(selection.guidelines, outcomes)
    problem = Problem(Location("guidelines/x.yaml", 1, 1), "broken", "E-X")
    for shown in ([], outcomes[:1], outcomes):
        assert outcomes_json(shown) == reference_json(shown)
        assert outcomes_json(shown, coverage, "a note", (problem,)) == reference_json(shown, coverage, "a note",
                                                                                     (problem,))
