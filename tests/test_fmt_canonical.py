"""`guideline fmt`: one key order and layout, comments kept, --check for CI, never a half-written file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from repo_builder import MAIN, make_repo

from engine.cli import main
from engine.fmt import format_file
from engine.loader import Document, parse_text

RULE = "guidelines/rules/monitoring/AZA-CBC-009.yaml"
MESSY = """\
# An editor's note at the top of the file.
version: 1.0.0   # bumped when the threshold changed
id: AZA-CBC-009
title: "Hold azathioprine when white cells are low"
status: active
topic: monitoring
then:
- text: >-
    Hold azathioprine and repeat the count in a week.
  subject: azathioprine
  strength: strong
  action: hold
when:
  all:
  - {equals: taking, fact: azathioprine_status}
  # threshold from the 2024 guideline, table 3
  - below: 3
    fact: wbc
rationale: Low white cells mean marrow toxicity.
citations:
- {locator: section 1, ref: test-guideline}
evidence: {scheme: none, certainty: not_graded}
review: {approved: "2026-01-01", authors: [Editors], next_review: "2099-01-01"}
changelog:
- {date: "2026-01-01", version: 1.0.0, change: First version}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, files={RULE: MESSY})
    return repo


def top_keys(text: str) -> list[str]:
    return [line.split(":", 1)[0] for line in text.splitlines() if line and line[0].isalpha()]


def test_fmt_puts_keys_in_the_canonical_order_and_keeps_every_comment(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fmt", "--repo", str(root), str(root / RULE)]) == 0
    text = (root / RULE).read_text("utf-8")
    assert top_keys(text) == ["id", "version", "status", "title", "topic", "when", "then", "rationale",
                              "citations", "evidence", "review", "changelog"]
    assert text.startswith("# yaml-language-server: $schema=../../../schema/rule.schema.json\n"
                           "# An editor's note at the top of the file.\n")
    for comment in ("# bumped when the threshold changed", "# threshold from the 2024 guideline, table 3"):
        assert comment in text
    assert "- action: hold\n  subject: azathioprine\n  strength: strong\n  text: >-" in text
    assert "- {fact: azathioprine_status, equals: taking}" in text
    assert "{ref: test-guideline, locator: section 1}" in text
    assert f"reformatted: {RULE}" in capsys.readouterr().out


def test_fmt_never_changes_what_a_rule_says(root: Path) -> None:
    before = parse_text(MESSY.encode(), RULE)
    main(["fmt", "--repo", str(root), str(root / RULE)])
    after = parse_text((root / RULE).read_bytes(), RULE)
    assert isinstance(before, Document) and isinstance(after, Document)
    assert after.data == before.data


def test_fmt_is_idempotent(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["fmt", "--repo", str(root)])
    once = (root / RULE).read_text("utf-8")
    capsys.readouterr()
    assert main(["fmt", "--repo", str(root), "--check"]) == 0
    assert (root / RULE).read_text("utf-8") == once
    assert "already in canonical form" in capsys.readouterr().out


def test_check_lists_files_that_would_change_and_writes_nothing(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stamp = (root / RULE).stat().st_mtime_ns
    assert main(["fmt", "--repo", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"would reformat: {RULE}" in out
    assert "would be reformatted" in out
    assert (root / RULE).read_text("utf-8") == MESSY
    assert (root / RULE).stat().st_mtime_ns == stamp


def test_check_in_json_names_the_files(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--repo", str(root), "--check", "--format", "json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "fail" and RULE in body["changed"]


def test_a_file_that_does_not_parse_is_reported_with_its_line_and_left_alone(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "id: AZA-CBC-009\nwhen:\n  all:\n  - {fact: wbc, below: 3\n"
    (root / RULE).write_text(broken, "utf-8")
    assert main(["fmt", "--repo", str(root), str(root / RULE)]) == 1
    out = capsys.readouterr().out
    assert f"{RULE}:5:1: YAML syntax error" in out
    assert (root / RULE).read_text("utf-8") == broken


def test_writing_is_atomic_and_keeps_the_file_mode(root: Path) -> None:
    os.chmod(root / RULE, 0o640)
    assert main(["fmt", "--repo", str(root)]) == 0
    assert (root / RULE).stat().st_mode & 0o777 == 0o640
    assert not [p for p in (root / RULE).parent.iterdir() if p.name.endswith(".tmp")]


def test_files_that_are_not_rules_or_cases_are_left_alone(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = root / "guidelines" / "facts.yaml"
    before = facts.read_text("utf-8")
    assert main(["fmt", "--repo", str(root), str(facts)]) == 0
    assert "not a rule or case file; left alone" in capsys.readouterr().out
    assert facts.read_text("utf-8") == before


def test_a_missing_path_is_reported(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--repo", str(root), str(root / "nope.yaml")]) == 1
    assert "no such file or folder" in capsys.readouterr().out


def test_every_real_rule_and_case_formats_safely() -> None:
    files = sorted((MAIN / "guidelines" / "rules").rglob("*.yaml")) + sorted((MAIN / "tests" / "cases").rglob(
        "*.yaml"))
    results = [format_file(p, p.relative_to(MAIN).as_posix()) for p in files]
    unsafe = [r.problem for r in results if r.problem is not None and r.problem.code != "E-YAML"]
    assert unsafe == []


LONG_LINE = ("Hold azathioprine while the white cell count is low, repeat the count within a week and "
             "ask for specialist advice")  # 110 characters: past the width once indented
FOLDED = MESSY.replace("""rationale: Low white cells mean marrow toxicity.""", f"""rationale: >-
  Low white cells mean marrow toxicity.
  {LONG_LINE}
  before the next dose.
  Each sentence on its own line is the author's choice
  and stays.""")


def test_folded_text_never_leaves_a_word_alone_on_a_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path, files={RULE: FOLDED})
    assert main(["fmt", "--repo", str(root), str(root / RULE)]) == 0
    text = (root / RULE).read_text("utf-8")
    block = text.split("rationale: >-\n", 1)[1].split("\ncitations:", 1)[0].splitlines()
    assert all(" " in line.strip() for line in block[:-1]), block  # no lone word before the last line
    assert max(len(line) for line in block) < len(LONG_LINE)  # the long line was wrapped
    assert parse_text(text.encode(), RULE).data == parse_text(FOLDED.encode(), RULE).data  # type: ignore[union-attr]


def test_folded_text_that_fits_keeps_its_authors_line_breaks(root: Path) -> None:
    kept = MESSY.replace("rationale: Low white cells mean marrow toxicity.", "rationale: >-\n"
                         "  Low white cells mean marrow toxicity.\n  A second sentence, on its own line.")
    (root / RULE).write_text(kept, "utf-8")
    assert main(["fmt", "--repo", str(root), str(root / RULE)]) == 0
    assert "  Low white cells mean marrow toxicity.\n  A second sentence, on its own line.\n" in (
        root / RULE).read_text("utf-8")
