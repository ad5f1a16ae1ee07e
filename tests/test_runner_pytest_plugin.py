"""The pytest plugin: each case file is a test, `-k` selects by id or topic, failures show the diff.

Each test runs pytest in a subprocess on a small repository, as an editor would run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from repo_builder import case, make_repo
from runner_repo import ERRORING, FAILING, PASSING, RULES, SKIPPED, line_of

pytestmark = pytest.mark.slow  # each test starts pytest in a fresh process


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "engine.pytest_plugin", "-p", "no:cacheprovider",
               "-W", "error", "-rs", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, check=False)


def test_each_case_is_a_test_with_its_outcome(tmp_path: Path) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING, ERRORING, SKIPPED])
    run = pytest_in(root, "tests/cases")
    assert run.returncode == 1, run.stdout
    assert "2 failed, 1 passed, 1 skipped" in run.stdout
    assert "case says skip: waiting for the dosing rules" in run.stdout


def test_a_failing_case_shows_the_readable_diff(tmp_path: Path) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[FAILING])
    out = pytest_in(root).stdout
    assert "FAIL: case low-wbc-expects-hold (tests/cases/monitoring/low-wbc-expects-hold.yaml)" in out
    assert "expected hold azathioprine [AZA-CBC-002], but it is not recommended" in out
    assert "✗ hold azathioprine [AZA-CBC-002]" in out
    assert "stop azathioprine [AZA-CBC-002] strong" in out
    assert "Traceback" not in out


def test_an_erroring_case_shows_the_problem_with_its_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[ERRORING])
    out = pytest_in(root).stdout
    number = line_of(root / "tests/cases/general/misspelt-tpmt.yaml", "  tpmt_status: absnt")
    assert "ERROR (the case could not be evaluated): case misspelt-tpmt" in out
    assert f"tests/cases/general/misspelt-tpmt.yaml:{number}:16: 'tpmt_status' must be one of" in out


def test_k_selects_by_topic_and_by_case_id(tmp_path: Path) -> None:
    other = case("tpmt-normal-no-avoid", facts={"azathioprine_status": "planned", "tpmt_status": "normal"},
                 expect={"absent": [{"action": "avoid", "subject": "azathioprine"}]}, _topic="contraindications")
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING, other])
    by_topic = pytest_in(root, "-k", "monitoring", "-v")
    assert "1 failed, 2 deselected" in by_topic.stdout
    assert "low-wbc-expects-hold FAILED" in by_topic.stdout
    by_id = pytest_in(root, "-k", "tpmt-normal-no-avoid", "-v")
    assert "1 passed, 2 deselected" in by_id.stdout
    by_topic_name = pytest_in(root, "-k", "contraindications", "-v")
    assert "1 passed, 2 deselected" in by_topic_name.stdout


def test_yaml_outside_tests_cases_is_not_collected(tmp_path: Path) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING])
    run = pytest_in(root, "--collect-only", "-q")
    assert run.stdout.splitlines()[0] == "tests/cases/general/tpmt-absent-blocks-start.yaml::tpmt-absent-blocks-start"
    assert "1 test collected" in run.stdout
