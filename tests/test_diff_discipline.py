"""`guideline diff`: clinical changes, version discipline and impact, on real temporary git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from repo_builder import FACTS, VALUESETS, case, dump, make_repo, rule

from engine.cli import main
from engine.diff import diff_repository

HOLD = "AZA-CBC-003"
HOLD_PATH = f"guidelines/rules/monitoring/{HOLD}.yaml"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org", *args],
                          cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


def hold_rule(threshold: float = 2.5, version: str = "1.0.0", **fields: Any) -> dict[str, Any]:
    changelog = [{"version": "1.0.0", "date": "2026-01-01", "change": "First version"}]
    if version != "1.0.0":
        changelog.append({"version": version, "date": "2026-11-22", "change": "Revised"})
    data = rule(HOLD, topic="monitoring", title="Hold azathioprine when white cells are low", version=version,
                when={"all": [{"fact": "azathioprine_status", "equals": "taking"},
                              {"fact": "wbc", "below": threshold}]},
                then=[{"action": "hold", "subject": "azathioprine", "strength": "strong",
                       "text": "Hold azathioprine and repeat the count in a week."}],
                changelog=changelog)
    data.update(fields)
    return data


def low_count_case() -> dict[str, Any]:
    return case("low-count-on-treatment", _topic="monitoring", title="White cells 2.8 on treatment",
                facts={"azathioprine_status": "taking", "wbc": 2.8, "tpmt_status": "normal"},
                expect={"present": [], "absent": []})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository on branch main: the default rules, the hold rule, two cases."""
    facts = {**FACTS, "wbc": {**FACTS["wbc"], "display_unit": "×10⁹/L"}}
    root = make_repo(tmp_path, facts=facts, cases=[case(), low_count_case()])
    (root / HOLD_PATH).write_text(dump(hold_rule()), "utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def edit(root: Path, data: dict[str, Any], path: str = HOLD_PATH) -> None:
    (root / path).write_text(dump(data), "utf-8")


def run_diff(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["diff", "--repo", str(root), "--base", "HEAD", *extra])
    return code, capsys.readouterr().out


def test_a_threshold_change_with_a_minor_bump_is_described_and_its_impact_reported(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, hold_rule(3.0, "1.1.0"))
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert f"{HOLD} 1.0.0 → 1.1.0  changed" in out
    assert "threshold: white cell count below 2.5 ×10⁹/L → below 3 ×10⁹/L" in out
    assert "1 case gains 'hold azathioprine'" in out
    assert "low-count-on-treatment" in out
    assert "tpmt-absent-blocks-start" not in out.split("Impact on cases")[1]  # its result did not change
    assert "Version discipline: OK." in out


def test_a_condition_added_under_not_is_described_as_negated(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = hold_rule(2.5, "1.1.0")
    data["when"]["all"].append({"not": {"fact": "tpmt_status", "equals": "absent"}})
    edit(repo, data)
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert "condition added: not (TPMT activity is absent)" in out


def test_a_value_set_change_names_its_terms_and_the_rules_reading_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "guidelines/valuesets/xanthine-oxidase-inhibitors.yaml"
    edit(repo, {**VALUESETS["xanthine-oxidase-inhibitors"], "values": ["allopurinol", "zyloric"]}, path)
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert "no rule changed; 1 value set(s) changed." in out
    assert "value set xanthine-oxidase-inhibitors: added zyloric; removed febuxostat (read by AZA-XO-001)" in out
    code, out = run_diff(repo, capsys, "--format", "json")
    assert json.loads(out)["valuesets"] == [{"name": "xanthine-oxidase-inhibitors", "added": ["zyloric"],
                                             "removed": ["febuxostat"], "rules": ["AZA-XO-001"]}]


def test_a_condition_change_without_a_minor_bump_fails_at_the_version_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, hold_rule(3.0, "1.0.1"))
    code, out = run_diff(repo, capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if "[E-VERSION-BUMP]" in x)
    assert line.startswith(f"{HOLD_PATH}:2:")  # `version:` is the second line of the file
    assert "needs at least a minor bump" in line
    assert "set version: 1.1.0" in line


def test_a_text_only_change_needs_a_patch_bump_and_has_no_impact(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reworded = hold_rule(rationale="Clearer words.")
    edit(repo, reworded)
    code, out = run_diff(repo, capsys)
    assert code == 1
    assert "needs at least a patch bump" in out and "set version: 1.0.1" in out
    edit(repo, {**hold_rule(version="1.0.1"), "rationale": "Clearer words."})
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert "rationale changed" in out
    assert "none of 2 cases changes its recommendations" in out


def test_the_version_may_never_go_down(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(version="1.1.0"))
    git(repo, "commit", "-q", "-am", "1.1.0")
    edit(repo, hold_rule(version="1.0.0"))
    code, out = run_diff(repo, capsys)
    assert code == 1
    assert "[E-VERSION-DOWN]" in out and "from 1.1.0 to 1.0.0" in out


def test_a_new_version_needs_its_changelog_entry(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = hold_rule(3.0)
    data["version"] = "1.1.0"  # bumped, but the changelog still ends at 1.0.0
    edit(repo, data)
    code, out = run_diff(repo, capsys)
    assert code == 1
    assert "[E-CHANGELOG-ENTRY]" in out and "version 1.1.0 has no changelog entry" in out


def test_an_active_rule_may_not_disappear(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / HOLD_PATH).unlink()
    code, out = run_diff(repo, capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if "[E-RULE-REMOVED]" in x)
    assert line.startswith(f"{HOLD_PATH}: {HOLD} (active) was deleted")
    assert "status: retired" in line and "replaced_by" in line


def test_deprecating_with_a_reason_and_a_bump_is_accepted(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(version="1.0.1", status="deprecated", reason="Superseded by the new count rules."))
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert f"{HOLD} 1.0.0 → 1.0.1  deprecated" in out
    assert "status active → deprecated" in out


def test_a_retired_rule_cannot_become_active_again(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(version="1.0.1", status="retired", reason="Withdrawn."))
    git(repo, "commit", "-q", "-am", "retire")
    edit(repo, hold_rule(version="2.0.0"))
    code, out = run_diff(repo, capsys)
    assert code == 1
    assert "[E-ID-REUSED]" in out and "ids are never reused" in out


def test_action_and_citation_changes_are_named_in_clinical_words(repo: Path) -> None:
    changed = hold_rule(version="1.1.0")
    changed["then"][0]["strength"] = "conditional"
    changed["citations"].append({"ref": "test-guideline", "locator": "table 2"})
    changed["overrides"] = ["AZA-TPMT-002"]
    edit(repo, changed)
    report = diff_repository(repo, "HEAD", impact=False)
    (only,) = report.rules
    words = [c.what for c in only.changes]
    assert "action hold azathioprine: strength strong → conditional" in words
    assert "citation added: test-guideline (table 2)" in words
    assert "overrides: AZA-TPMT-002 added" in words
    assert not report.problems


def test_an_added_rule_is_listed_and_needs_no_bump(repo: Path) -> None:
    edit(repo, rule("AZA-TPMT-009", title="A new rule"), "guidelines/rules/contraindications/AZA-TPMT-009.yaml")
    report = diff_repository(repo, "HEAD", impact=False)
    assert [(r.rule_id, r.kind, r.new_version) for r in report.rules] == [("AZA-TPMT-009", "added", "1.0.0")]
    assert report.problems == ()


def test_markdown_is_ready_for_a_pull_request_comment(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(3.0, "1.0.1", title="Hold | pause azathioprine"))
    code, out = run_diff(repo, capsys, "--format", "markdown")
    assert code == 1
    assert out.startswith("### Guideline changes compared with `HEAD`")
    assert "| Rule | Version | Change | What changed |" in out
    assert "Hold \\| pause azathioprine" in out  # a pipe in a title cannot break the table
    assert "❌ version discipline broken" in out
    assert "- 1 case gains 'hold azathioprine'" in out


def test_json_output_has_a_status_and_every_part(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(3.0, "1.1.0"))
    code, out = run_diff(repo, capsys, "--format", "json")
    body = json.loads(out)
    assert code == 0 and body["status"] == "ok"
    assert body["rules"][0]["id"] == HOLD
    assert {"what": "threshold: white cell count below 2.5 ×10⁹/L → below 3 ×10⁹/L", "needs": "minor"} in body[
        "rules"][0]["changes"]
    assert body["impact"]["cases"][0]["gained"] == [f"hold azathioprine ({HOLD})"]


def test_the_default_base_is_where_the_branch_left_main(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "checkout", "-q", "-b", "editor/raise-threshold")
    edit(repo, hold_rule(3.0, "1.1.0"))
    git(repo, "commit", "-q", "-am", "raise threshold")
    assert main(["diff", "--repo", str(repo)]) == 0
    assert "threshold: white cell count below 2.5" in capsys.readouterr().out


def test_diff_changes_neither_the_work_tree_nor_the_index(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, hold_rule(3.0, "1.1.0"))
    git(repo, "add", HOLD_PATH)
    edit(repo, hold_rule(3.5, "1.1.0"))
    before = (git(repo, "status", "--porcelain"), git(repo, "diff", "--cached"), git(repo, "diff"))
    run_diff(repo, capsys)
    assert (git(repo, "status", "--porcelain"), git(repo, "diff", "--cached"), git(repo, "diff")) == before


def test_a_rule_that_did_not_parse_at_the_base_is_a_note_not_a_crash(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / HOLD_PATH).write_text("id: [broken\n", "utf-8")
    git(repo, "commit", "-q", "-am", "broken")
    edit(repo, hold_rule())
    code, out = run_diff(repo, capsys, "--no-impact")
    assert code == 0
    assert f"note: at HEAD: {HOLD_PATH}:" in out
    assert f"{HOLD} 1.0.0  added" in out


@pytest.mark.parametrize(("args", "words"), [
    (["--base", "no-such-branch"], "unknown revision 'no-such-branch'"),
    (["--base=--upload-pack=x"], "is not a revision"),
])
def test_a_bad_revision_is_a_usage_error_without_traceback(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert main(["diff", "--repo", str(repo), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_outside_a_git_clone_the_error_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path)
    assert main(["diff", "--repo", str(root), "--base", "HEAD"]) == 2
    assert "is not inside a git clone" in capsys.readouterr().err


def test_the_base_side_uses_the_dictionary_of_the_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A new fact, a rule on it and a case giving it: at the base the fact does not exist,
    # so the case cannot run with the base rules, which the report says instead of guessing.
    facts_file = repo / "guidelines" / "facts.yaml"
    facts_file.write_text(facts_file.read_text("utf-8") + (
        "  platelets:\n    label: platelet count\n    type: number\n    unit: 10*9/L\n"
        "    range: {min: 0, max: 2000}\n    description: Platelets.\n"), "utf-8")
    edit(repo, rule("AZA-CBC-005", topic="monitoring", when={"fact": "platelets", "below": 50}, then=[
        {"action": "hold", "subject": "azathioprine", "strength": "strong", "text": "Hold it."}]),
        "guidelines/rules/monitoring/AZA-CBC-005.yaml")
    (repo / "tests/cases/monitoring/low-platelets.yaml").write_text(dump(case(
        "low-platelets", facts={"azathioprine_status": "taking", "platelets": 30},
        expect={"present": [{"action": "hold", "subject": "azathioprine"}]})), "utf-8")
    code, out = run_diff(repo, capsys)
    assert code == 0
    assert "AZA-CBC-005 1.0.0  added" in out
    assert "case low-platelets could not be run with the rules at HEAD: " in out
    assert "unknown fact 'platelets'" in out
