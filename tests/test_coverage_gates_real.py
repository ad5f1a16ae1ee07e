"""The real repository's cases cover every active rule: the same gates as `guideline test --coverage`."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.case_select import Selection, select_cases
from engine.cases import CaseOutcome, Keep, run_cases
from engine.coverage import measure

MAIN = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real() -> tuple[Selection, list[CaseOutcome]]:
    selection = select_cases(MAIN)
    outcomes = run_cases(selection.guidelines, selection.cases, keep=Keep(seen=True))
    return selection, [*outcomes, *selection.errors]


def test_the_real_repository_has_cases(real: tuple[Selection, list[CaseOutcome]]) -> None:
    _, outcomes = real
    if not outcomes:
        pytest.fail(f"no case files under {MAIN / 'tests' / 'cases'}", pytrace=False)


def test_every_coverage_gate_holds_on_the_real_repository(real: tuple[Selection, list[CaseOutcome]]) -> None:
    selection, outcomes = real
    coverage = measure(selection.guidelines, outcomes)
    if coverage.gaps:  # one line per gap, as `guideline test --coverage` prints them
        pytest.fail(f"{len(coverage.gaps)} coverage gap(s):\n" + "\n".join(coverage.gaps), pytrace=False)
