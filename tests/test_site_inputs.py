"""The site takes cases, outcomes and case problems from what `guideline test` saved only when nothing that
could change them changed; what it builds from them is what it builds from reading everything again."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from site_testing import REPO, make_repo

import engine
from engine import outcome_store
from engine.cli import main
from engine.model import case_from
from engine.repository import load_repository
from engine.site_inputs import EVALUATED, FROM_STORE, OUTCOMES_FROM_STORE, gather
from engine.validate import validate_repository

DOSE_CASE = "tests/cases/dosing/intermediate-tpmt-reduced-dose.yaml"
DOSE_RULE = "guidelines/rules/dosing/AZA-DOSE-002.yaml"
TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def tested(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    assert main(["test", "--repo", str(root)]) == 0
    assert gather(root, TODAY).source == FROM_STORE
    return root


def test_a_case_file_changed_while_guideline_test_reads_it_leaves_a_store_the_site_does_not_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    reading = engine.cli.test.select_cases

    def read_then_edited(*args: object) -> object:
        selection = reading(*args)  # type: ignore[arg-type]
        _replace(root, DOSE_CASE, "title: ", "title: Edited since read - ")
        return selection

    monkeypatch.setattr(engine.cli.test, "select_cases", read_then_edited)
    assert main(["test", "--repo", str(root)]) == 0
    assert gather(root, TODAY).source == EVALUATED


def _replace(root: Path, relative: str, old: str, new: str) -> None:
    file = root / relative
    text = file.read_text(encoding="utf-8")
    assert old in text, (relative, old)
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def _site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site; gzip files as what they hold (their header carries the time they were made)."""
    found = {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found[path.relative_to(site).as_posix()] = gzip.decompress(data) if path.suffix == ".gz" else data
    return found


def test_pages_built_from_the_store_are_the_pages_built_from_reading_everything(tested: Path) -> None:
    assert main(["site", "build", "--repo", str(tested), "--output", str(tested / "from-store")]) == 0
    (tested / outcome_store.STORE).unlink()
    assert gather(tested, TODAY).source == EVALUATED
    assert main(["site", "build", "--repo", str(tested), "--output", str(tested / "read-again")]) == 0
    from_store, read_again = _site_files(tested / "from-store"), _site_files(tested / "read-again")
    assert from_store.keys() == read_again.keys()
    assert [page for page in from_store if from_store[page] != read_again[page]] == []
    assert any(page.startswith("cases/") for page in from_store)


def test_cases_from_the_store_are_the_cases_the_loader_reads(tested: Path) -> None:
    saved = outcome_store.load_with_cases(tested)
    assert saved is not None
    read = {c.path: c for c in load_repository(tested).cases}
    assert {o.case.path: o.case for o in saved.cases} == read
    # repr tells 1 from 1.0 and True, which == does not
    assert {o.case.path: repr(o.case) for o in saved.cases} == {p: repr(c) for p, c in read.items()}


def test_every_real_case_reads_back_from_its_stored_form_unchanged() -> None:
    cases = load_repository(REPO).cases
    assert len(cases) > 100
    for case in cases:
        stored = json.loads(json.dumps(outcome_store.case_data(case)))
        again = case_from(stored, case.path, case.topic)
        assert repr(again) == repr(case), case.path


def test_facts_of_every_kind_read_back_unchanged(tested: Path) -> None:
    facts = {"azathioprine_status": "planned", "tpmt_status": "normal", "wbc": {"value": 3.5, "unit": "10*9/L"},
             "weight": 70.0, "medications": ["allopurinol", "mesalazine"]}
    case = yaml.safe_load((tested / DOSE_CASE).read_text(encoding="utf-8"))
    case.update(id="every-kind", facts=facts, skip="kept to show every kind of fact")
    case["expect"]["present"][0]["dose_mg"] = {"min": 50, "max": 100.5}
    (tested / "tests/cases/dosing/every-kind.yaml").write_text(yaml.safe_dump(case), encoding="utf-8")
    assert main(["test", "--repo", str(tested)]) == 0
    test_cases_from_the_store_are_the_cases_the_loader_reads(tested)


def test_the_store_gives_the_problems_validate_reports(tested: Path) -> None:
    # A fact no rule reads (a warning) and a rule file that does not load (an error): both still reported.
    _replace(tested, "guidelines/facts.yaml", "facts:\n", "facts:\n  unread_fact: {label: unread, type: boolean, "
             "description: Read by no rule.}\n")
    (tested / "guidelines/rules/dosing/AZA-BROKEN-001.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    assert main(["test", "--repo", str(tested)]) == 1  # the run fails on the broken rule, and saves its outcomes
    inputs = gather(tested, TODAY)
    assert inputs.source == FROM_STORE
    expected = validate_repository(tested, today=TODAY).problems
    assert [p.code for p in expected] == ["E-YAML", "W-UNUSED-FACT"]
    assert inputs.problems == expected


def _engine_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fingerprint reads the engine's source from a copy, so that a test may change it."""
    copy = tmp_path / "engine-copy"
    shutil.copytree(Path(engine.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "__file__", str(copy / "__init__.py"))
    return copy


EDITS: dict[str, Callable[[Path], None]] = {
    "a rule": lambda root: _replace(root, DOSE_RULE, "dose: {min: 1,", "dose: {min: 1.5,"),
    "a case": lambda root: _replace(root, DOSE_CASE, "weight: 70", "weight: 80"),
    "a new case": lambda root: shutil.copy(root / DOSE_CASE, root / "tests/cases/dosing/copy.yaml"),
    "a removed case": lambda root: (root / DOSE_CASE).unlink(),
    "a case made a link to the same text": lambda root: _linked(root, DOSE_CASE),
    "the facts": lambda root: _replace(root, "guidelines/facts.yaml", "facts:\n", "facts:\n\n"),
    "a schema": lambda root: _replace(root, "schema/case.schema.json", '"maxProperties": 250',
                                      '"maxProperties": 2'),
    "the subjects": lambda root: _replace(root, "guidelines/subjects.yaml", "subjects:\n", "subjects:\n\n"),
}


def _linked(root: Path, relative: str) -> None:
    outside = root.parent / "outside.yaml"
    shutil.copy(root / relative, outside)
    (root / relative).unlink()
    (root / relative).symlink_to(outside)


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_changed_input_makes_the_site_read_and_check_everything_again(
    tested: Path, edit: Callable[[Path], None]
) -> None:
    edit(tested)
    assert outcome_store.load_with_cases(tested) is None
    assert gather(tested, TODAY).source == EVALUATED


def test_a_schema_change_is_checked_against_every_case(tested: Path) -> None:
    # The schema now refuses the case with three facts: the site says so, as validate does.
    _replace(tested, "schema/case.schema.json", '"maxProperties": 250', '"maxProperties": 2')
    inputs = gather(tested, TODAY)
    assert inputs.source == EVALUATED
    assert any(p.location.path == DOSE_CASE and p.severity == "error" for p in inputs.problems)
    assert main(["site", "build", "--repo", str(tested)]) == 1


@pytest.mark.parametrize("source, decides", [("evaluate.py", True), ("model.py", True), ("outcome_store.py", True),
                                             ("site_outcomes.py", True), ("site_worked.py", False)])
def test_an_engine_change_makes_the_store_stale_unless_it_only_renders(
    tested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, decides: bool
) -> None:
    copy = _engine_copy(tmp_path, monkeypatch)
    assert main(["test", "--repo", str(tested)]) == 0  # a store fingerprinted with the copy
    assert outcome_store.load_with_cases(tested) is not None
    with (copy / source).open("a", encoding="utf-8") as file:
        file.write("\n# changed\n")
    assert (outcome_store.load_with_cases(tested) is None) is decides


@pytest.mark.parametrize("change", ["python", "library"])
def test_another_python_or_library_makes_the_store_stale(
    tested: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    if change == "python":
        monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    else:
        real = outcome_store._version
        monkeypatch.setattr(outcome_store, "_version", lambda name: "0.0" if name == "PyYAML" else real(name))
    assert outcome_store.load_with_cases(tested) is None


@pytest.mark.parametrize("content, source", [
    ("id: [unclosed\n", OUTCOMES_FROM_STORE),  # no case: the other cases' saved outcomes still serve
    ("id: no-title\nfacts: {}\n", OUTCOMES_FROM_STORE),
    ("id: bad-fact\ntitle: t\nfacts: {no_such_fact: 1}\n", EVALUATED),  # a case the run did not evaluate
], ids=["unparsable", "schema-invalid", "unknown-fact"])
def test_a_case_file_with_a_problem_is_read_and_reported_again(tested: Path, content: str, source: str) -> None:
    # The run leaves such a file out; a store that does not hold every case file never stands for them.
    (tested / "tests/cases/dosing/problem.yaml").write_text(content, encoding="utf-8")
    assert main(["test", "--repo", str(tested)]) == 1
    assert json.loads((tested / outcome_store.STORE).read_text(encoding="utf-8"))["all_case_files"] is False
    inputs = gather(tested, TODAY)
    assert inputs.source == source
    assert [p for p in inputs.problems if p.location.path.endswith("problem.yaml")] == [
        p for p in validate_repository(tested, today=TODAY).problems if p.location.path.endswith("problem.yaml")]
    assert any(p.location.path.endswith("problem.yaml") for p in inputs.problems)


def test_the_fingerprint_reads_no_pipe_and_enters_no_linked_folder(tested: Path) -> None:
    # A pipe would make the run wait for ever; a link to a parent folder would be walked for ever.
    before = outcome_store.fingerprint(tested)
    os.mkfifo(tested / "tests/cases/a-pipe")
    (tested / "tests/cases/loop").symlink_to(tested / "tests")
    assert outcome_store.fingerprint(tested) != before  # both are seen, neither is followed


def test_each_recommendation_is_stored_once_and_read_back_shared(tested: Path) -> None:
    body = json.loads((tested / outcome_store.STORE).read_text(encoding="utf-8"))
    table = body["recommendations"]
    assert len({json.dumps(r, sort_keys=True) for r in table}) == len(table)
    saved = outcome_store.load_with_cases(tested)
    assert saved is not None
    listed = [r for o in saved.cases if o.listing for r in o.listing.recommendations]
    listed += [r for ex in saved.examples.values() for o in ex.shown if o.listing for r in o.listing.recommendations]
    assert len(listed) > len(table) and len({id(r) for r in listed}) <= len(table)


def test_a_case_that_would_not_read_back_the_same_is_not_taken_from_the_store(
    tested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Should the stored form of a case ever lose something (a new field of Case, say), the store
    # says so, and the site reads the case files itself.
    real = outcome_store.case_data
    monkeypatch.setattr(outcome_store, "case_data", lambda case: {**real(case), "story": ""})
    assert main(["test", "--repo", str(tested)]) == 0
    assert outcome_store.load_with_cases(tested) is None
    assert gather(tested, TODAY).source == OUTCOMES_FROM_STORE


def test_a_case_the_store_cannot_hold_leaves_no_store_and_the_run_goes_on(
    tested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = outcome_store.case_data
    monkeypatch.setattr(outcome_store, "case_data", lambda case: {**real(case), "facts": {"odd": {1, 2}}})
    assert main(["test", "--repo", str(tested)]) == 0
    assert not (tested / outcome_store.STORE).exists()
    assert gather(tested, TODAY).source == EVALUATED


def test_a_store_without_its_cases_is_not_used_for_them(tested: Path) -> None:
    store = tested / outcome_store.STORE
    body = json.loads(store.read_text(encoding="utf-8"))
    del body["outcomes"]["cases"][0]["case"]
    store.write_text(json.dumps(body), encoding="utf-8")
    assert outcome_store.load_with_cases(tested) is None
    assert outcome_store.load(tested, load_repository(tested).cases) is not None  # the outcomes still serve
    assert gather(tested, TODAY).source == OUTCOMES_FROM_STORE
