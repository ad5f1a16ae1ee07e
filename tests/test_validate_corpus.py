"""The broken-file corpus: each folder of tests/invalid/ breaks one thing in a valid repository.

A folder holds repository-relative files that replace those of `make_repo`, and an
expect.yaml naming the problem an editor must see: its code, file, line and words.
Unless `others: true`, that problem must be the only error, so one slip never
buries the editor under follow-on messages.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from repo_builder import MAIN, make_repo

from engine.errors import Problem
from engine.validate import validate_repository

CORPUS = Path(__file__).parent / "invalid"
TODAY = dt.date(2026, 11, 22)
SCENARIOS = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.yaml").is_file())


def build(tmp_path: Path, name: str) -> tuple[Path, dict[str, Any]]:
    """A valid repository with the scenario's files dropped in (and its `remove:` files deleted)."""
    folder = CORPUS / name
    spec = yaml.safe_load((folder / "expect.yaml").read_text("utf-8"))
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "expect.yaml"
    }
    root = make_repo(tmp_path, files=files)
    for relative in spec.get("remove", []):
        (root / relative).unlink()
    return root, spec


def matches(problem: Problem, wanted: dict[str, Any]) -> bool:
    return (
        problem.code == wanted["code"]
        and problem.location.path == wanted["file"]
        and problem.location.line == wanted["line"]
        and wanted["message"] in problem.message
        and problem.severity == wanted.get("severity", "error")
    )


def test_the_corpus_is_large_enough() -> None:
    assert len(SCENARIOS) >= 30


def test_the_base_repository_is_clean(tmp_path: Path) -> None:
    """Every scenario changes one thing of this repository, so it must start with no problem at all."""
    report = validate_repository(make_repo(tmp_path), today=TODAY)
    assert report.problems == ()
    assert (report.rules, report.cases) == (5, 1)


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_broken_file_gives_its_message_on_its_line(tmp_path: Path, name: str) -> None:
    root, spec = build(tmp_path, name)
    problems = validate_repository(root, today=TODAY).problems
    shown = "\n".join(map(str, problems))
    for wanted in spec["expect"]:
        assert any(matches(p, wanted) for p in problems), f"expected {wanted}\ngot:\n{shown}"
    if not spec.get("others"):
        errors = [p for p in problems if p.severity == "error"]
        assert len(errors) == sum(w.get("severity", "error") == "error" for w in spec["expect"]), shown


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real `guideline` command in a fresh process, as CI and editors run it."""
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


CLI_SELECTION = [
    "duplicate-equals", "alias-bomb", "python-tag", "binary-junk", "deep-nesting", "empty-file",
    "not-utf8", "unknown-fact-typo", "derive-cycle", "case-weight-in-grams", "missing-facts-file",
]


@pytest.mark.parametrize("name", CLI_SELECTION)
def test_the_command_reports_the_problem_without_a_traceback(tmp_path: Path, name: str) -> None:
    root, spec = build(tmp_path, name)
    done = run_cli("validate", "--repo", str(root))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    first = spec["expect"][0]
    assert f"{first['file']}:{first['line']}" in done.stdout or first["line"] == 0
    assert first["message"] in done.stdout
    assert f"[{first['code']}]" in done.stdout


def test_a_python_tag_never_runs(tmp_path: Path) -> None:
    """The tag would `touch pwned` under yaml.unsafe_load; with us it is refused and nothing runs."""
    root, _ = build(tmp_path, "python-tag")
    run_cli("validate", "--repo", str(root), cwd=root)
    assert not (root / "pwned").exists()


def test_an_overdue_review_is_a_warning_and_an_error_when_strict(tmp_path: Path) -> None:
    root, _ = build(tmp_path, "overdue-review")
    relaxed = run_cli("validate", "--repo", str(root))
    strict = run_cli("validate", "--repo", str(root), "--strict")
    assert relaxed.returncode == 0
    assert "warning: review was due on 2020-01-01" in relaxed.stdout
    assert strict.returncode == 1


def test_a_20_mb_rule_file_is_refused_by_size(tmp_path: Path) -> None:
    """Generated here, never committed: one huge comment makes a 20 MB rule file."""
    big = "guidelines/rules/contraindications/AZA-BIG-001.yaml"
    root = make_repo(tmp_path, files={big: "# " + "x" * (20 * 1024 * 1024) + "\n"})
    problems = validate_repository(root, today=TODAY).problems
    assert [(p.code, p.location.path) for p in problems] == [("E-TOO-LARGE", big)]
    assert "file is too large (21.0 MB; the limit is 2.1 MB)" in problems[0].message


def test_a_rule_file_linked_from_outside_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("id: AZA-TPMT-005\n", "utf-8")
    root = make_repo(tmp_path)
    link = root / "guidelines/rules/contraindications/AZA-TPMT-005.yaml"
    link.symlink_to(secret)
    problems = validate_repository(root, today=TODAY).problems
    assert [(p.code, p.location.path) for p in problems] == [
        ("E-OUTSIDE", "guidelines/rules/contraindications/AZA-TPMT-005.yaml")
    ]


def test_only_reports_problems_in_the_given_files(tmp_path: Path) -> None:
    root, _ = build(tmp_path, "unknown-subject")
    write_other = root / "guidelines/rules/monitoring/AZA-CBC-002.yaml"
    write_other.write_text(write_other.read_text("utf-8").replace("status: active", "status: actve"), "utf-8")
    everything = run_cli("validate", "--repo", str(root))
    only_one = run_cli("validate", "--repo", str(root), str(root / "guidelines/rules/monitoring"))
    assert "AZA-TPMT-002.yaml" in everything.stdout and "AZA-CBC-002.yaml" in everything.stdout
    assert "AZA-TPMT-002.yaml" not in only_one.stdout and "AZA-CBC-002.yaml" in only_one.stdout
