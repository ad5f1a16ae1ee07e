"""`guideline evaluate`: what a clinician and a machine see, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_builder import case, make_repo, rule, write

from engine.cli import main

PATIENT = {"azathioprine_status": "planned", "tpmt_status": "normal", "weight": 70,
           "wbc": {"value": 1.5, "unit": "10*3/uL"}, "medications": ["Allopurinol"]}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path)
    write(root, "examples/low-wbc.yaml", case("low-wbc", facts=PATIENT))
    write(root, "examples/unknown.yaml", case("unknown", facts={"azathioprine_status": "planned"}))
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_puts_stop_first_and_shows_suppressed_and_derived(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/low-wbc.yaml"))
    assert code == 0
    assert out.index("STOP") < out.index("USE WITH CAUTION")
    assert "Stop azathioprine now and repeat the blood count." in out
    assert "rule AZA-CBC-002 v1.0.0; sources: test-guideline: section 1" in out
    assert "SUPPRESSED" in out and "blocked by stop azathioprine (AZA-CBC-002)" in out
    assert "DERIVED FACTS\n  - severe cytopenia: yes" in out


def test_needs_data_names_the_rule_and_the_facts_in_plain_labels(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/unknown.yaml"))
    assert code == 0
    assert "No recommendation applies" in out
    assert "Stop azathioprine in severe cytopenia (AZA-CBC-002): give white cell count" in out
    assert "(AZA-TPMT-002): give TPMT activity" in out


def test_a_dose_a_missing_count_could_still_set_aside_is_marked_not_final(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "examples/no-count.yaml", case("no-count", facts={
        "azathioprine_status": "planned", "tpmt_status": "normal", "weight": 70}))
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/no-count.yaml"))
    assert code == 0
    dose = out[out.index("DOSE"):out.index("NEEDS DATA")]
    assert "NOT FINAL: Stop azathioprine in severe cytopenia (AZA-CBC-002) would set this aside if it applies; " \
           "needed: white cell count" in dose
    code, text, _ = run(capsys, "evaluate", "--format", "json", "--repo", str(repo),
                        str(repo / "examples/no-count.yaml"))
    (result,) = json.loads(text)["results"]
    assert result["provisional"] == [{"rule": "AZA-DOSE-001", "action": "dose", "subject": "azathioprine",
                                      "set_aside_by": ["AZA-CBC-002"]}]
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/low-wbc.yaml"))
    assert "NOT FINAL" not in out  # the count is known: nothing is left open


def test_explain_shows_why_and_why_not(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", "--explain", "--repo", str(repo), str(repo / "examples/low-wbc.yaml"))
    assert code == 0
    assert "AZA-CBC-002: severe cytopenia = yes (derived by AZA-CBC-001)" in out
    assert "AZA-CBC-001: white cell count = 1.5 10*9/L -> sets severe cytopenia" in out
    assert "AZA-TPMT-002: TPMT activity is normal, not absent" in out


def test_json_output_is_stable_and_complete(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--format", "json", "--explain", "--repo", str(repo),
            str(repo / "examples/unknown.yaml"), str(repo / "examples/low-wbc.yaml")]
    code, first, _ = run(capsys, *argv)
    _, second, _ = run(capsys, *argv)
    assert code == 0 and first == second
    body = json.loads(first)
    assert body["status"] == "ok"
    results = {r["case_id"]: r for r in body["results"]}
    low = results["low-wbc"]
    assert [r["rule"] for r in low["recommendations"]] == ["AZA-CBC-002", "AZA-XO-001"]
    assert low["suppressed"][0]["recommendation"]["dose"]["mg_per_day"] == [150, 175]
    assert low["derived"] == {"severe_cytopenia": True}
    assert low["near_misses"][0]["failed"] == ["TPMT activity is normal, not absent"]
    assert low["path"] == "examples/low-wbc.yaml"


def test_invalid_case_facts_exit_1_with_path_line_and_column(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "examples/bad.yaml", case("bad", facts={"azathioprine_status": "plannd", "weight": 1000}))
    code, out, err = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/bad.yaml"),
                         str(repo / "examples/low-wbc.yaml"))
    assert code == 1
    assert "examples/bad.yaml:5:24: 'azathioprine_status' must be one of" in out
    assert "did you mean 'planned'?" in out
    assert "'weight' = 1000 kg is outside the allowed range 1–400 kg" in out
    assert "STOP" in out  # the good case is still evaluated and shown
    assert "Traceback" not in out + err


def test_a_file_that_is_not_yaml_exits_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "examples/broken.yaml", "facts: [unclosed\n")
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/broken.yaml"))
    assert code == 1 and "examples/broken.yaml:" in out


def test_invalid_guidelines_are_refused_before_any_case_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = rule("AZA-X-001", when={"fact": "wbcc", "below": 2})
    root = make_repo(tmp_path, rules=[rule(), bad])
    write(root, "examples/a.yaml", case("a", facts={"wbc": 1}))
    code, out, _ = run(capsys, "evaluate", "--repo", str(root), str(root / "examples/a.yaml"))
    assert code == 1
    assert "unknown fact 'wbcc'" in out and "guideline validate" in out


def test_usage_errors_exit_2_and_help_explains(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", "--repo", str(repo))
    assert code == 2 and "CASE" in err
    code, out, _ = run(capsys, "evaluate", "--help")
    assert code == 0 and "--explain" in out and "exit codes" in out and "need more data" in out


def test_a_json_case_file_is_accepted(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"id": "as-json", "title": "A case written as JSON", "facts": {"tpmt_status": "absent",
                                                                         "azathioprine_status": "planned"}}
    write(repo, "examples/as-json.json", json.dumps(body))
    code, out, _ = run(capsys, "evaluate", "--repo", str(repo), str(repo / "examples/as-json.json"))
    assert code == 0
    assert "AVOID (do not start)\n  - Azathioprine [strong]: Absent TPMT activity" in out
