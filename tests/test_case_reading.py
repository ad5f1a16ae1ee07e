"""Case files are checked as they are read and their documents dropped: the same problems, less memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from repo_builder import FACTS, MAIN, case, make_repo

from engine.case_checks import CaseVocabulary, case_findings
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


# ------------------------------------------------ facts as case authors write them (the real dictionary)

def _real_dictionary() -> dict[str, FactDef]:
    raw = yaml.safe_load((MAIN / "guidelines" / "facts.yaml").read_text("utf-8"))["facts"]
    return {name: fact_from(name, entry) for name, entry in raw.items()}


REAL = _real_dictionary()


def _read(facts: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    given = case_from(case(facts=facts), "case.yaml").facts
    values, problems = normalize_facts(given, REAL, lambda _path: Location("case.yaml"))
    return values, [p.message for p in problems]


@pytest.mark.parametrize(("name", "written", "read"), [
    ("wbc", {"value": 2.1, "unit": "x10^9/L"}, 2.1),
    ("wbc", {"value": 2.1, "unit": "×10⁹/L"}, 2.1),  # the dictionary's own display unit
    ("wbc", {"value": 2.1, "unit": "G/L"}, 2.1),  # giga per litre, as French laboratories write it
    ("platelets", {"value": 45, "unit": "K/µL"}, 45),
    ("platelets", {"value": 45000, "unit": "cells/mm³"}, 45),
    ("wbc", "2.1 x 10^9/L", 2.1),
    ("alt", {"value": 600, "unit": "iu/l"}, 600),
    ("alt", {"value": 600, "unit": "units/L"}, 600),
    ("alt", {"value": 10, "unit": "µkat/L"}, 600),
    ("bilirubin", {"value": 3, "unit": "mg/dl"}, 51.3),
    ("bilirubin", {"value": 50, "unit": "micromol/L"}, 50),
    ("weight", {"value": 154, "unit": "lbs"}, 69.8532),
    ("weight", "70 KG", 70),
    ("months_on_azathioprine", "10 weeks", 2.2998),
    ("weeks_since_prednisolone_start", {"value": 3, "unit": "months"}, 13.0446),
    ("remission_duration_years", "2.5 years", 2.5),
    ("relapse_count", "2 relapses", 2),
])
def test_units_are_read_as_laboratories_and_clinicians_write_them(name: str, written: Any, read: float) -> None:
    assert _read({name: written}) == ({name: read}, [])


def test_grams_are_not_giga_and_a_count_is_not_grams() -> None:
    assert _read({"igg": {"value": 12, "unit": "g/l"}}) == ({"igg": 12}, [])
    _, (message,) = _read({"igg": {"value": 12, "unit": "G/L"}})
    assert message == "'igg' cannot be given in 'G/L'; accepted units: g/L, mg/dL"


def test_a_bilirubin_limit_in_mg_per_dl_without_its_unit_is_refused_with_the_unit_to_add() -> None:
    _, (message,) = _read({"bilirubin_uln": 1.2})
    assert message == (
        "'bilirubin_uln' = 1.2 umol/L is outside the allowed range 5–100 umol/L; check the value and its unit; "
        "a value without a unit is read in umol/L: if it was measured in mg/dL, write "
        "bilirubin_uln: {value: 1.2, unit: mg/dL}")


@pytest.mark.parametrize(("name", "written", "read"), [
    ("tpmt_status", "Intermediate", "intermediate"),
    ("tpmt_status", "normal activity", "normal"),  # the value's meaning, as the dictionary gives it
    ("indication", "Autoimmune hepatitis", "autoimmune_hepatitis"),
    ("indication", "inflammatory-bowel-disease", "inflammatory_bowel_disease"),
    ("pregnant", "yes", True),
    ("sla_antibody", "Positive", True),
    ("east_asian_ancestry", "No", False),
    ("medications", "allopurinol", ("allopurinol",)),
    ("symptoms", "Nausea, fever; joint pain", ("fever", "joint-pain", "nausea")),
])
def test_words_with_one_plain_meaning_are_read(name: str, written: Any, read: Any) -> None:
    assert _read({name: written}) == ({name: read}, [])


@pytest.mark.parametrize("written", ["unknown", "Not known", "not tested", "pending"])
def test_unknown_is_read_as_not_given_never_as_normal(written: str) -> None:
    assert _read({"tpmt_status": written, "pregnant": written, "wbc": written}) == ({}, [])


def test_an_empty_text_for_a_list_is_not_given_while_an_empty_list_is_none() -> None:
    assert _read({"symptoms": "  ", "medications": []}) == ({"medications": ()}, [])


@pytest.mark.parametrize("written", ["heterozygous", "low"])
def test_a_category_word_that_is_not_a_value_is_refused_with_what_each_value_means(written: str) -> None:
    _, (message,) = _read({"tpmt_status": written})
    assert message == (
        f"'tpmt_status' must be one of: normal, intermediate, absent; found '{written}' (normal: normal activity; "
        "intermediate: intermediate activity (heterozygous deficiency); absent: absent or very low activity "
        "(homozygous deficiency))")


@pytest.mark.parametrize(("written", "hint"), [
    ("sgpt", "; did you mean 'alt'?"),
    ("wcc", "; did you mean 'wbc'?"),
    ("plt", "; did you mean 'platelets'?"),
    ("tpmt", "; did you mean 'tpmt_status'?"),
    ("bili", "; did you mean one of: bilirubin, bilirubin_baseline, bilirubin_uln?"),
    ("neutrophils", "; no fact is called so: find the one meant in guidelines/facts.yaml, or leave it out "
                    "and tell it in the story"),
])
def test_an_unknown_fact_names_the_fact_known_by_that_name(written: str, hint: str) -> None:
    assert _read({written: 1}) == ({}, [f"unknown fact '{written}'{hint}"])


def test_a_date_where_a_length_of_time_is_asked_is_refused_with_what_to_write() -> None:
    _, (message,) = _read({"months_on_azathioprine": "2026-09-01"})
    assert message == (
        "'months_on_azathioprine' must be a number, found '2026-09-01'; this fact is a length of time, not a "
        "date: write the time from that date to the day of the case, for example "
        "months_on_azathioprine: {value: 6, unit: wk}")


def test_a_multiple_of_the_upper_limit_is_refused_not_read_as_a_value() -> None:
    _, (message,) = _read({"alt": "4 x ULN"})
    assert message.startswith("'alt' must be a number, found '4 x ULN'; write the value the laboratory "
                              "measured, in U/L, not a multiple of a limit")


@pytest.mark.parametrize(("written", "read"), [
    ("Behçet's disease", "behcet_disease"), ("Behcet’s disease", "behcet_disease"),
    ("rheumatoid-arthritis", "rheumatoid_arthritis")])
def test_a_value_with_accents_or_a_possessive_is_read(written: str, read: str) -> None:
    assert _read({"indication": written}) == ({"indication": read}, [])


@pytest.mark.parametrize("written", ["absent\u200b", "\u0430bsent"])  # a zero-width space; a Cyrillic a
def test_a_value_with_an_invisible_or_look_alike_letter_is_refused_and_shown(written: str) -> None:
    _, (message,) = _read({"tpmt_status": written})
    assert message.startswith(f"'tpmt_status' must be one of: normal, intermediate, absent; found {written!a} "
                              "(it holds the non-ASCII characters")


def test_a_weight_in_grams_is_converted() -> None:
    assert _read({"weight": {"value": 9500, "unit": "g"}}) == ({"weight": 9.5}, [])


@pytest.mark.parametrize(("written", "hint"), [
    ("intravenous-antiviral", "; did you mean one of: iv-antiviral, oral-antiviral?"),
    ("mycophenolate", "; did you mean 'mycophenolate-mofetil'?"),
    ("cbc", "; the subjects are listed in guidelines/subjects.yaml"),
])
def test_an_unknown_expected_subject_names_the_subjects_sharing_a_word(written: str, hint: str) -> None:
    vocabulary = CaseVocabulary(REAL, frozenset({"iv-antiviral", "oral-antiviral", "mycophenolate-mofetil",
                                                 "full-blood-count", "azathioprine"}), frozenset())
    data = {**case("x"), "expect": {"present": [{"action": "start", "subject": written}]}}
    findings = case_findings(case_from(data, "x.yaml"), lambda _path: Location("x.yaml"), vocabulary)
    assert [p.message for p in findings.others] == [f"unknown subject '{written}'{hint}"]
