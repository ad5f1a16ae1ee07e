"""`guideline validate` as editors and CI run it: output, formats, exit codes, finding the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo_builder import MAIN, make_repo

RULE = "guidelines/rules/contraindications/AZA-TPMT-002.yaml"


def guideline(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    done = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def break_rule(root: Path, old: str, new: str, relative: str = RULE) -> None:
    path = root / relative
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_a_clean_repository_exits_0_with_a_summary(tmp_path: Path) -> None:
    done = guideline("validate", "--repo", str(make_repo(tmp_path)))
    assert done.returncode == 0
    assert done.stdout.strip() == "OK: 11 files (5 rules, 1 cases); no problems found."


def test_each_problem_is_one_line_with_file_line_column_and_code(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, "subject: azathioprine", "subject: azathioprin")
    break_rule(root, "ref: test-guideline", "ref: test-guidline")
    done = guideline("validate", "--repo", str(root))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [  # in file and line order, whatever order the checks ran in
        f"{RULE}:14:12: unknown subject 'azathioprin'; did you mean 'azathioprine'? [E-UNKNOWN-SUBJECT]",
        f"{RULE}:19:8: unknown reference 'test-guidline'; did you mean 'test-guideline'?; add it to "
        "guidelines/references.yaml or fix the key [E-UNKNOWN-REFERENCE]",
        "2 error(s), 0 warning(s) in 11 files (5 rules, 1 cases).",
    ]


def test_json_output_is_for_machines(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, "subject: azathioprine", "subject: azathioprin")
    done = guideline("validate", "--repo", str(root), "--format", "json")
    body = json.loads(done.stdout)
    assert done.returncode == 1
    assert (body["status"], body["errors"], body["warnings"]) == ("fail", 1, 0)
    assert body["problems"] == [{
        "path": RULE, "line": 14, "col": 12, "severity": "error", "code": "E-UNKNOWN-SUBJECT",
        "message": "unknown subject 'azathioprin'; did you mean 'azathioprine'?",
    }]


def test_json_output_of_a_clean_repository_says_ok(tmp_path: Path) -> None:
    body = json.loads(guideline("validate", "--repo", str(make_repo(tmp_path)), "--format", "json").stdout)
    assert (body["status"], body["errors"], body["problems"]) == ("ok", 0, [])


def test_the_repository_is_found_upward_from_the_working_directory(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, "subject: azathioprine", "subject: azathioprin")
    done = guideline("validate", cwd=root / "guidelines" / "rules" / "contraindications")
    assert done.returncode == 1
    assert f"{RULE}:14:12:" in done.stdout  # paths stay repository-relative wherever it is run


def test_outside_any_repository_it_says_where_it_looked(tmp_path: Path) -> None:
    done = guideline("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert "no guideline repository at or above" in done.stderr
    assert "--repo PATH" in done.stderr


def test_a_missing_repo_path_is_a_usage_error(tmp_path: Path) -> None:
    done = guideline("validate", "--repo", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "no guideline repository" in done.stderr


def test_an_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    done = guideline("validate", "--stirct", "--repo", str(make_repo(tmp_path)))
    assert done.returncode == 2
    assert "unrecognized arguments: --stirct" in done.stderr


def test_help_explains_the_options_and_exit_codes() -> None:
    done = guideline("validate", "--help")
    assert done.returncode == 0
    for words in ("--strict", "--format", "--repo", "exit codes:", "1  problems found"):
        assert words in done.stdout


def test_paths_limit_the_report_to_those_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, "subject: azathioprine", "subject: azathioprin")
    other = "guidelines/rules/monitoring/AZA-CBC-002.yaml"
    break_rule(root, "subject: azathioprine", "subject: azathioprin", other)
    done = guideline("validate", "--repo", str(root), str(root / other))
    assert done.returncode == 1
    assert other in done.stdout
    assert RULE not in done.stdout


def test_paths_without_problems_exit_0_even_if_others_have_some(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, "subject: azathioprine", "subject: azathioprin")
    done = guideline("validate", "--repo", str(root), str(root / "guidelines/rules/monitoring"))
    assert done.returncode == 0


@pytest.mark.parametrize(("damage", "words"), [
    ("delete", "cannot read schema/rule.schema.json"),
    ("garble", "schema/rule.schema.json is not valid JSON"),
    ("unschema", "schema/rule.schema.json is not a valid JSON Schema"),
])
def test_a_damaged_schema_folder_is_named_and_exits_2(tmp_path: Path, damage: str, words: str) -> None:
    root = make_repo(tmp_path)
    schema = root / "schema" / "rule.schema.json"
    if damage == "delete":
        schema.unlink()
    else:
        schema.write_text("{" if damage == "garble" else '{"type": 12}', "utf-8")
    done = guideline("validate", "--repo", str(root))
    assert done.returncode == 2
    assert words in done.stderr
    assert "internal error" not in done.stderr


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    break_rule(root, 'approved: \'2026-01-01\'\n  next_review: \'2099-01-01\'',
               "approved: '2019-01-01'\n  next_review: '2020-06-30'")
    relaxed = guideline("validate", "--repo", str(root))
    strict = guideline("validate", "--repo", str(root), "--strict", "--format", "json")
    assert relaxed.returncode == 0
    assert "warning: review was due on 2020-06-30" in relaxed.stdout
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["warnings"] == 1


def test_output_piped_into_a_closed_reader_does_not_crash(tmp_path: Path) -> None:
    """`guideline validate | head -1` on a repository with many problems."""
    root = make_repo(tmp_path)
    for i in range(200):
        (root / f"guidelines/rules/contraindications/AZA-JUNK-{i:03d}.yaml").write_text("id: [\n", "utf-8")
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    shell = f"{sys.executable} -m engine validate --repo {root} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, env=env,
                          timeout=60)
    assert "Traceback" not in done.stderr
    assert done.stdout.count("\n") == 1
