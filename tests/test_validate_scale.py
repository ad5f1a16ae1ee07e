"""Reading files in helper processes changes nothing but the time: the same problems, in the
same order, and the same documents as one process reading every file itself."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from repo_builder import case, default_rules, make_repo, rule

import engine.reading as reading
from engine.repository import load_repository
from engine.schema import Schemas
from engine.validate import ValidationReport, validate_repository

TODAY = dt.date(2026, 11, 22)


def broken_repo(tmp_path: Path) -> Path:
    """Many rules and cases, a few broken in each way a file can break (YAML, schema, shape, meaning)."""
    rules: list[dict[str, Any]] = default_rules()
    for i in range(30):
        rules.append(rule(f"AZA-MANY-{i:03d}", title=f"Rule {i}",
                          when={"fact": "wbc", "below": i + 1 if i % 7 else "low"}))
    cases = [case(f"case-{i:03d}", facts={"wbc": i if i % 5 else "many", "weight": 60}) for i in range(30)]
    cases += [case("case-003", _topic="twins"), case("misnamed-id", title=None)]  # a duplicate id, a schema miss
    files: dict[str, str | bytes | dict[str, Any]] = {
        "guidelines/rules/contraindications/AZA-BROKEN-001.yaml": "id: AZA-BROKEN-001\ntitle: : x\n",
        "guidelines/rules/contraindications/AZA-BROKEN-002.yaml": rule("AZA-BROKEN-002", statuss="active"),
        "guidelines/rules/contraindications/AZA-BROKEN-003.yaml": rule(
            "AZA-BROKEN-003", when={"fact": "wbc", "below": 2, "equals": 1}),
        "guidelines/rules/contraindications/AZA-BROKEN-004.yaml": b"\x00\x01",
        "tests/cases/general/case-broken.yaml": "id: case-broken\n\ttitle: x\n",
    }
    return make_repo(tmp_path, rules=rules, cases=cases, files=files)


def validate(root: Path, monkeypatch: pytest.MonkeyPatch, helpers: int) -> ValidationReport:
    with monkeypatch.context() as patch:
        patch.setattr(reading, "helpers_for", lambda files: helpers)
        patch.setattr(reading, "CHUNK", 4)  # many chunks, so both processes read some
        return validate_repository(root, today=TODAY)


def test_helpers_give_the_same_problems_and_documents_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = broken_repo(tmp_path)
    claim = reading._claim
    taken_by_helper: list[int] = []

    def leave_odd_chunks_to_the_helper(claimed: Any, index: int) -> bool:
        if index % 2:
            taken_by_helper.append(index)
            return False  # this process waits for the helper's reads (the helper claims them itself)
        return claim(claimed, index)

    serial = validate(root, monkeypatch, helpers=0)
    monkeypatch.setattr(reading, "_claim", leave_odd_chunks_to_the_helper)
    parallel = validate(root, monkeypatch, helpers=1)

    assert taken_by_helper, "no chunk was read by the helper"
    assert [p.code for p in serial.problems].count("E-YAML") == 2 and len(serial.problems) > 10
    assert parallel.problems == serial.problems
    assert parallel.loaded.documents == serial.loaded.documents
    assert list(parallel.loaded.documents) == list(serial.loaded.documents)
    assert parallel.loaded.guidelines == serial.loaded.guidelines
    assert parallel.loaded.case_findings == serial.loaded.case_findings
    assert parallel.files == serial.files
    assert parallel.cases == serial.cases == 31  # 30 numbered and the duplicate id; two files are broken


def test_helpers_give_the_same_cases_as_one_process_when_cases_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = broken_repo(tmp_path)
    loads = []
    for helpers in (0, 1):
        with monkeypatch.context() as patch:
            patch.setattr(reading, "helpers_for", lambda files, helpers=helpers: helpers)
            patch.setattr(reading, "CHUNK", 4)
            loads.append(load_repository(root))
    serial, parallel = loads
    assert len(serial.cases) == 31 and serial.cases[0].facts["weight"].value == 60
    assert parallel.cases == serial.cases
    assert parallel.case_findings == serial.case_findings


def test_validate_keeps_each_cases_findings_but_not_the_cases(tmp_path: Path) -> None:
    report = validate_repository(broken_repo(tmp_path), today=TODAY)
    assert report.loaded.cases == ()
    assert report.cases == len(report.loaded.case_findings) == 31
    assert report.loaded.case_findings["tests/cases/twins/case-003.yaml"].case_id == "case-003"


def test_reading_falls_back_to_this_process_when_no_helper_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = broken_repo(tmp_path)

    def no_processes(*args: Any) -> Any:
        raise OSError("no /dev/shm here")

    serial = validate(root, monkeypatch, helpers=0)
    monkeypatch.setattr(reading.Reading, "_with_helpers", no_processes)
    assert validate(root, monkeypatch, helpers=1).problems == serial.problems


def test_a_small_repository_starts_no_helper() -> None:
    assert reading.helpers_for(reading.PARALLEL_FROM - 1) == 0


def test_a_helper_without_the_batchs_task_leaves_the_chunk_to_this_process(tmp_path: Path) -> None:
    """The case task rides only with the first chunks sent; a helper that missed it claims nothing."""
    root = broken_repo(tmp_path)
    claimed = multiprocessing.get_context("spawn").Array("b", 4)
    schemas = Schemas.load(root / "schema")
    job = (str(root / "tests/cases/general/case-001.yaml"), "tests/cases/general/case-001.yaml", "case")
    saved = reading._HELPER, reading._BATCH_TASK
    try:
        reading._HELPER, reading._BATCH_TASK = (schemas, claimed), None
        assert reading._read_chunk(0, [job], root.resolve(), 7, True, None) is None
        assert claimed[0] == 0  # not claimed: the main process reads it
        found = reading._read_chunk(1, [], root.resolve(), 7, False, None)  # files need no vocabulary
        assert found == [] and claimed[1] == 1
    finally:
        reading._HELPER, reading._BATCH_TASK = saved
