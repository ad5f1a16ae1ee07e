"""`guideline new`: a rule and a case that validate at once, the next free id, never an overwritten file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from repo_builder import make_repo, rule

from engine.cli import main
from engine.evaluate import Evaluator
from engine.repository import load_repository
from engine.scaffold import NewFile, ScaffoldError, write_new
from engine.validate import validate_repository

TODAY = dt.date.today()


def created(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines() if line.startswith("created ")]


def test_a_new_rule_takes_the_next_id_of_its_topic_and_comes_with_a_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    assert main(["new", "rule", "--topic", "monitoring", "--repo", str(root)]) == 0
    assert created(capsys) == ["guidelines/rules/monitoring/AZA-CBC-003.yaml",
                               "tests/cases/monitoring/aza-cbc-003-fires.yaml"]
    text = (root / "guidelines/rules/monitoring/AZA-CBC-003.yaml").read_text("utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../../schema/rule.schema.json\n")
    assert "status: draft" in text and "TODO" in text
    assert f'approved: "{TODAY.isoformat()}"' in text


def test_the_new_files_pass_validate_and_fmt_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path)
    main(["new", "rule", "--topic", "monitoring", "--title", 'Repeat the count "weekly"', "--repo", str(root)])
    files = created(capsys)
    report = validate_repository(root, only=[(root / f).resolve() for f in files], today=TODAY)
    assert [str(p) for p in report.problems] == []
    assert main(["fmt", "--check", "--repo", str(root), *(str(root / f) for f in files)]) == 0
    assert 'title: "Repeat the count \\"weekly\\""' in (root / files[0]).read_text("utf-8")


def test_ids_are_counted_across_topics_so_none_is_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    retired = rule("AZA-CBC-007", topic="contraindications", status="retired", reason="Withdrawn.")
    root = make_repo(tmp_path, rules=[rule(), retired, rule("AZA-CBC-001", topic="monitoring")])
    assert main(["new", "rule", "--topic", "monitoring", "--repo", str(root)]) == 0
    assert created(capsys)[0] == "guidelines/rules/monitoring/AZA-CBC-008.yaml"


def test_a_topic_without_rules_needs_a_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, rules=[rule()])
    assert main(["new", "rule", "--topic", "monitoring", "--repo", str(root)]) == 2
    assert "pass one with --prefix" in capsys.readouterr().err
    assert main(["new", "rule", "--topic", "monitoring", "--prefix", "AZA-MON", "--repo", str(root)]) == 0
    assert created(capsys)[0] == "guidelines/rules/monitoring/AZA-MON-001.yaml"


@pytest.mark.parametrize(("args", "words"), [
    (["rule", "--topic", "monitorin"], "did you mean 'monitoring'"),
    (["rule"], "--topic TOPIC"),
    (["rule", "--topic", "monitoring", "--prefix", "aza bad"], "cannot start a rule id"),
    (["case", "--rule", "AZA-TPMT-02"], "did you mean 'AZA-TPMT-002'"),
    (["case"], "--rule RULE-ID"),
])
def test_mistakes_are_explained_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    root = make_repo(tmp_path)
    assert main(["new", *args, "--repo", str(root)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_existing_case_name_is_skipped_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path)
    mine = root / "tests/cases/monitoring/aza-cbc-003-fires.yaml"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("my own work\n", "utf-8")
    assert main(["new", "rule", "--topic", "monitoring", "--repo", str(root)]) == 0
    assert created(capsys)[1] == "tests/cases/monitoring/aza-cbc-003-fires-2.yaml"
    assert mine.read_text("utf-8") == "my own work\n"


def test_writing_refuses_an_existing_file_and_then_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "taken.yaml").write_text("my own work\n", "utf-8")
    files = [NewFile("fresh.yaml", "new\n"), NewFile("taken.yaml", "new\n")]
    with pytest.raises(ScaffoldError, match=r"taken\.yaml already exists; nothing was written"):
        write_new(tmp_path, files)
    assert (tmp_path / "taken.yaml").read_text("utf-8") == "my own work\n"
    assert not (tmp_path / "fresh.yaml").exists()


def test_a_new_case_for_a_rule_describes_a_patient_the_rule_applies_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    low = rule("AZA-CBC-004", topic="monitoring", when={"all": [
        {"fact": "azathioprine_status", "equals": "taking"}, {"fact": "wbc", "below": 3.5},
        {"not": {"fact": "medications", "contains": {"valueset": "xanthine-oxidase-inhibitors"}}}]},
        then=[{"action": "hold", "subject": "azathioprine", "strength": "strong", "text": "Hold it."}])
    root = make_repo(tmp_path, rules=[rule(), low])
    assert main(["new", "case", "--rule", "AZA-CBC-004", "--repo", str(root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] == ["tests/cases/monitoring/aza-cbc-004-fires.yaml"]
    loaded = load_repository(root)
    (case,) = [c for c in loaded.cases if c.id == "aza-cbc-004-fires"]
    assert case.skip is None  # the rule is active, so the case runs
    result = Evaluator(loaded.guidelines).evaluate(case)
    assert ("hold", "azathioprine", "AZA-CBC-004") in [r.key for r in result.recommendations]


def test_a_second_case_for_the_same_rule_gets_a_new_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path)
    main(["new", "case", "--rule", "AZA-TPMT-002", "--repo", str(root)])
    main(["new", "case", "--rule", "AZA-TPMT-002", "--repo", str(root)])
    assert created(capsys) == ["tests/cases/contraindications/aza-tpmt-002-fires.yaml",
                               "tests/cases/contraindications/aza-tpmt-002-fires-2.yaml"]


def test_a_case_for_a_rule_on_a_derived_fact_gives_the_measurements_that_derive_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # AZA-CBC-002 stops azathioprine in severe cytopenia, which AZA-CBC-001 derives from wbc below 2;
    # a case may not set the derived fact, so the new case gives a white cell count instead.
    root = make_repo(tmp_path)
    assert main(["new", "case", "--rule", "AZA-CBC-002", "--repo", str(root)]) == 0
    loaded = load_repository(root)
    (case,) = [c for c in loaded.cases if c.id == "aza-cbc-002-fires"]
    assert set(case.facts) == {"wbc"} and case.facts["wbc"].value < 2
    result = Evaluator(loaded.guidelines).evaluate(case)
    assert ("stop", "azathioprine", "AZA-CBC-002") in [r.key for r in result.recommendations]
