"""`guideline test` on small repositories: the four outcomes, readable failures, JSON, selection, no cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from repo_builder import make_repo
from runner_repo import ERRORING, FAILING, PASSING, RULES, SKIPPED, line_of

from engine.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def four_outcomes(tmp_path: Path) -> Path:
    return make_repo(tmp_path, rules=RULES, cases=[PASSING, FAILING, ERRORING, SKIPPED])


def test_every_case_passing_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--repo", str(make_repo(tmp_path, rules=RULES, cases=[PASSING])))
    assert code == 0
    assert out.rstrip().endswith("PASS: 1/1")


def test_the_four_outcomes_are_kept_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--repo", str(four_outcomes(tmp_path)))
    assert code == 1
    assert "PASS: 1/4 (1 fail, 1 error, 1 skip)" in out
    assert "FAIL tests/cases/monitoring/low-wbc-expects-hold.yaml (low-wbc-expects-hold)" in out
    assert "ERROR tests/cases/general/misspelt-tpmt.yaml (misspelt-tpmt)" in out
    assert "PASS tests/cases" not in out  # passing cases are listed only with --verbose


def test_a_failure_shows_expected_against_actual_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--repo", str(four_outcomes(tmp_path)))
    block = out.split("FAIL tests/cases/monitoring/low-wbc-expects-hold.yaml", 1)[1].split("\nERROR", 1)[0]
    assert "expected hold azathioprine [AZA-CBC-002], but it is not recommended" in block
    assert "✗ hold azathioprine [AZA-CBC-002]" in block
    assert "actual:\n      stop azathioprine [AZA-CBC-002] strong" in block  # the rule stops; it does not hold
    assert "AZA-CBC-002 fired: severe_cytopenia = True" in block
    assert "AZA-CBC-001 fired: wbc = 1.5" in block  # the rule that derived severe_cytopenia is shown too


def test_an_error_names_the_file_line_and_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = four_outcomes(tmp_path)
    number = line_of(root / "tests/cases/general/misspelt-tpmt.yaml", "  tpmt_status: absnt")
    _, out, _ = run(capsys, "--repo", str(root))
    line = next(x for x in out.splitlines() if "absnt" in x)
    assert f"tests/cases/general/misspelt-tpmt.yaml:{number}:16:" in line
    assert "did you mean 'absent'?" in line
    assert "must be one of: normal, intermediate, absent" in line


def test_the_summary_table_counts_each_topic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--repo", str(four_outcomes(tmp_path)))
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:1].isalpha()}
    assert rows["topic"] == ["pass", "fail", "error", "skip"]
    assert rows["general"] == ["1", "0", "1", "0"]
    assert rows["monitoring"] == ["0", "1", "0", "0"]
    assert rows["dosing"] == ["0", "0", "0", "1"]
    assert rows["total"] == ["1", "1", "1", "1"]


def test_json_output_parses_with_status_counts_and_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--repo", str(four_outcomes(tmp_path)), "--format", "json")
    body = json.loads(out)
    assert code == 1
    assert body["status"] == "fail"
    assert body["counts"] == {"pass": 1, "fail": 1, "error": 1, "skip": 1}
    by_id: dict[str, Any] = {c["id"]: c for c in body["cases"]}
    assert by_id["waits-for-dosing"]["messages"] == ["waiting for the dosing rules"]
    assert "✗ hold azathioprine" in by_id["low-wbc-expects-hold"]["diff"]
    assert by_id["tpmt-absent-blocks-start"]["result"]["recommendations"][0]["rule"] == "AZA-TPMT-002"


def test_no_cases_is_a_failure_that_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[])
    code, _, err = run(capsys, "--repo", str(root))
    assert code == 1
    assert f"no cases found (looked in {root / 'tests' / 'cases'})" in err
    code, out, _ = run(capsys, "--repo", str(root), "--format", "json")
    body = json.loads(out)
    assert (code, body["status"], body["total"]) == (1, "fail", 0)
    assert body["message"].startswith("no cases found")


def test_a_case_file_that_breaks_the_schema_is_an_error_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"tests/cases/general/broken.yaml": "id: broken\ntitle: no facts here\n"}
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING], files=broken)
    code, out, _ = run(capsys, "--repo", str(root))
    assert code == 1
    assert "ERROR tests/cases/general/broken.yaml (broken)" in out
    assert "PASS: 1/2 (1 error)" in out


def test_paths_select_cases_by_file_or_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = four_outcomes(tmp_path)
    code, out, _ = run(capsys, "--repo", str(root), str(root / "tests/cases/dosing"))
    assert (code, out.rstrip().splitlines()[-1]) == (0, "PASS: 0/1 (1 skip)")
    code, out, _ = run(capsys, "--repo", str(root), str(root / "tests/cases/general/tpmt-absent-blocks-start.yaml"))
    assert (code, out.rstrip().splitlines()[-1]) == (0, "PASS: 1/1")


def test_a_case_file_outside_tests_cases_can_be_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING])
    outside = tmp_path / "elsewhere" / "my-case.yaml"
    outside.parent.mkdir()
    outside.write_text((root / "tests/cases/general/tpmt-absent-blocks-start.yaml").read_text().replace(
        "id: tpmt-absent-blocks-start", "id: my-case"))
    code, out, _ = run(capsys, "--repo", str(root), "-v", str(outside))
    assert code == 0
    assert "PASS: 1/1" in out


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--repo", str(make_repo(tmp_path)), str(tmp_path / "nowhere"))
    assert code == 2
    assert "no such file or folder" in err
    assert "Traceback" not in err


def test_jobs_must_be_a_positive_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--repo", str(make_repo(tmp_path)), "--jobs", "0")
    assert code == 2
    assert "at least 1" in err


def test_progress_bar_goes_to_stderr_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = four_outcomes(tmp_path)
    _, out, err = run(capsys, "--repo", str(root), "--progress")
    assert "2/3 cases" in err and "3/3 cases" in err  # the erroring case is refused before the run
    assert "cases" not in out.replace("tests/cases", "")
    _, _, quiet = run(capsys, "--repo", str(root))
    assert "3/3 cases" not in quiet  # stderr is not a terminal under pytest


def test_a_rule_file_that_cannot_be_read_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The cases would otherwise run without that rule and could pass: that must never look like success.
    root = make_repo(tmp_path, rules=RULES, cases=[PASSING],
                     files={"guidelines/rules/monitoring/AZA-CBC-009.yaml": b"id: [unclosed\n"})
    code, out, err = run(capsys, "--repo", str(root))
    assert code == 1
    assert "guidelines/rules/monitoring/AZA-CBC-009.yaml:" in out
    assert "1 problem(s) in the rules or dictionaries" in err
    assert "PASS: 1/1" in out  # the cases themselves still ran, and are reported
    code, out, _ = run(capsys, "--repo", str(root), "--format", "json")
    body = json.loads(out)
    assert (code, body["status"]) == (1, "fail")
    assert body["problems"][0]["path"] == "guidelines/rules/monitoring/AZA-CBC-009.yaml"


def test_a_run_stopped_midway_prints_no_half_json_document(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.cli.test as command

    real = command.iter_outcomes

    def stops_after_one(*args: Any, **kwargs: Any) -> Any:
        for number, outcome in enumerate(real(*args, **kwargs)):
            if number == 1:
                raise KeyboardInterrupt
            yield outcome

    monkeypatch.setattr(command, "iter_outcomes", stops_after_one)
    code, out, err = run(capsys, "--repo", str(four_outcomes(tmp_path)), "--format", "json", "--jobs", "1")
    assert code == 2 and out == ""
    assert "interrupted; nothing was written" in err
    monkeypatch.setattr(command, "iter_outcomes", real)
    code, out, _ = run(capsys, "--repo", str(four_outcomes(tmp_path / "again")), "--format", "json", "--jobs", "1")
    assert json.loads(out)["total"] == 4
