"""Case files are checked as they are read and their documents dropped: the same problems, less memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from repo_builder import FACTS, case, make_repo

from engine.errors import Location
from engine.facts import normalize_facts
from engine.model import FactDef, case_from, fact_from
from engine.repository import load_repository, yaml_files
from engine.validate import validate_repository

TODAY = dt.date(2026, 11, 22)


def test_a_loaded_repository_keeps_each_cases_findings_not_its_document(tmp_path: Path) -> None:
    root = make_repo(tmp_path, cases=[case("first"), case("second", facts={"wbc": {"value": 3, "unit": "mm"}})])
    loaded = load_repository(root)
    assert loaded.case_documents == {}
    assert sorted(loaded.case_findings) == ["tests/cases/general/first.yaml", "tests/cases/general/second.yaml"]
    assert loaded.case_findings["tests/cases/general/first.yaml"].others == ()
    (unit,) = loaded.case_findings["tests/cases/general/second.yaml"].others
    assert (unit.code, unit.location.line) == ("E-FACT-UNIT", 6)  # located in the file (its value), though it is gone
    assert validate_repository(root, today=TODAY).files == len(loaded.documents) + 2


def test_a_duplicate_id_is_reported_at_each_files_id_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path, cases=[case("twin"), {**case("twin"), "_topic": "other"}])
    problems = [p for p in validate_repository(root, today=TODAY).problems if p.code == "E-DUPLICATE-ID"]
    assert [(p.location.path, p.location.line) for p in problems] == [
        ("tests/cases/general/twin.yaml", 1), ("tests/cases/other/twin.yaml", 1)]


def test_facts_are_located_only_when_they_have_a_problem() -> None:
    dictionary: dict[str, FactDef] = {name: fact_from(name, raw) for name, raw in FACTS.items()}
    asked: list[tuple[str | int, ...]] = []

    def locate(path: tuple[str | int, ...]) -> Location:
        asked.append(path)
        return Location("case.yaml", 7, 3)

    given = case_from(case(facts={"wbc": 4, "weight": "heavy", "tpmt_status": "absent"}), "case.yaml").facts
    values, problems = normalize_facts(given, dictionary, locate)
    assert values == {"wbc": 4.0, "tpmt_status": "absent"}
    assert [(str(p.location), p.code) for p in problems] == [("case.yaml:7:3", "E-FACT-TYPE")]
    assert asked == [("facts", "weight")]


def test_shared_fact_inputs_keep_true_one_and_one_point_zero_apart() -> None:
    facts = case_from(case(facts={"a": True, "b": 1, "c": 1.0, "d": "1", "e": True}), "x.yaml").facts
    assert [type(facts[n].value) for n in "abcd"] == [bool, int, float, str]
    assert facts["a"] is facts["e"]  # one object for every `true`


def rglob_listing(folder: Path) -> list[Path]:
    """What yaml_files found before it walked folders itself (Path.rglob), kept here to compare."""
    found = (p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml")
             and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return sorted(found)


def test_yaml_files_lists_what_rglob_found_in_the_same_order(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    for name in ["b/x.yaml", "a-b/x.yaml", "a/x.yaml", "a/y.yml", "a/z.json", "a/README.md", ".hidden/x.yaml",
                 "a/.x.yaml", "a/deep/er/x.yaml", "Z.yaml", "a/b.c.yaml", "dir.yaml/inner.yaml"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("id: x\n", "utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.yaml").write_text("id: far\n", "utf-8")
    (folder / "linked").symlink_to(outside)  # a linked folder is listed by neither, nor entered
    (folder / "link.yaml").symlink_to(outside / "far.yaml")  # a linked file is listed (and refused when read)
    (folder / "broken.yaml").symlink_to(tmp_path / "nothing")
    assert yaml_files(folder) == rglob_listing(folder)
    assert yaml_files(tmp_path / "missing") == [] and yaml_files(None) == []
