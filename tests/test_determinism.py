"""The same repository and cases give byte-identical JSON, whatever the process, hash seed,
file-creation order, case order or number of worker processes.

A recommendation that depended on any of these would be a silent clinical error, so the
comparison is on bytes, not on parsed values.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from repo_builder import MAIN, case, default_rules, make_repo

from engine.evaluate import Evaluator
from engine.model import Case, FactInput
from engine.repository import load_repository

STATUSES = ["planned", "taking", "stopped"]
TPMT = ["normal", "intermediate", "absent"]
MEDICINES = ["allopurinol", "febuxostat", "prednisolone", "mesalazine"]


def patients(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Varied, valid cases: each fact present or missing, so chains, doses, suppression and
    needs-data all occur. Seeded, so every run writes the same cases."""
    chance = random.Random(seed)
    found = []
    for i in range(count):
        facts: dict[str, Any] = {}
        if chance.random() < 0.8:
            facts["azathioprine_status"] = chance.choice(STATUSES)
        if chance.random() < 0.8:
            facts["tpmt_status"] = chance.choice(TPMT)
        if chance.random() < 0.7:
            facts["wbc"] = round(chance.uniform(0.5, 12), 1)
        if chance.random() < 0.4:
            facts["weight"] = {"value": chance.randint(90, 260), "unit": "[lb_av]"}
        elif chance.random() < 0.8:
            facts["weight"] = chance.randint(40, 120)
        if chance.random() < 0.6:
            facts["medications"] = chance.sample(MEDICINES, chance.randint(0, 3))
        found.append(case(f"patient-{i:03d}", title=f"Patient {i}", facts=facts, expect={}))
    return found


#: Forty varied patients, and one whose stop (severe cytopenia) suppresses the standard dose.
CASES = [*patients(40), case("suppressed-dose", title="Low white cells on a standard dose", facts={
    "azathioprine_status": "taking", "tpmt_status": "normal", "weight": 70, "wbc": 1.1}, expect={})]


def write_repo(tmp_path: Path, cases: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> Path:
    return make_repo(tmp_path, rules=rules, cases=cases)


def guideline(*args: str, seed: str = "0", cwd: Path | None = None) -> bytes:
    env = {**os.environ, "PYTHONPATH": str(MAIN), "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, env=env, cwd=cwd,
                          timeout=300)
    assert b"Traceback" not in done.stderr
    return done.stdout


def case_files(root: Path) -> list[str]:
    return [str(p) for p in sorted((root / "tests" / "cases").rglob("*.yaml"))]


def test_the_cases_exercise_every_kind_of_outcome(tmp_path: Path) -> None:
    """Otherwise the comparisons below would compare empty results."""
    root = write_repo(tmp_path, CASES)
    body = json.loads(guideline("evaluate", "--repo", str(root), "--format", "json", *case_files(root)))
    results = body["results"]
    assert len(results) == len(CASES)
    actions = {r["action"] for result in results for r in result["recommendations"]}
    assert {"avoid", "stop", "dose", "caution"} <= actions
    assert any(result["suppressed"] for result in results)
    assert any(result["needs_data"] for result in results)
    assert any(result["derived"] for result in results)


@pytest.mark.parametrize("command", [["evaluate", "--format", "json", "--explain"], ["test", "--format", "json"]])
def test_runs_in_fresh_processes_with_different_hash_seeds_give_the_same_bytes(
    tmp_path: Path, command: list[str]
) -> None:
    root = write_repo(tmp_path, CASES)
    files = case_files(root) if command[0] == "evaluate" else []
    outputs = {guideline(*command, "--repo", str(root), *files, seed=seed) for seed in ("0", "1", "4242")}
    assert len(outputs) == 1
    assert len(next(iter(outputs))) > 1000


def test_test_output_does_not_depend_on_the_order_files_were_written(tmp_path: Path) -> None:
    forward = write_repo(tmp_path / "a", CASES)
    backward = write_repo(tmp_path / "b", list(reversed(CASES)), rules=list(reversed(default_rules())))
    assert guideline("test", "--repo", str(forward), "--format", "json") == guideline(
        "test", "--repo", str(backward), "--format", "json"
    )


def test_test_output_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    root = write_repo(tmp_path, patients(250, seed=11))
    one = guideline("test", "--repo", str(root), "--format", "json", "--jobs", "1")
    two = guideline("test", "--repo", str(root), "--format", "json", "--jobs", "2")
    assert one == two


def test_evaluate_gives_each_case_the_same_result_in_any_order(tmp_path: Path) -> None:
    root = write_repo(tmp_path, CASES)
    files = case_files(root)
    shuffled = files[:]
    random.Random(3).shuffle(shuffled)

    def by_case(output: bytes) -> dict[str, str]:
        results = json.loads(output)["results"]
        return {r["case_id"]: json.dumps(r, sort_keys=True) for r in results}

    first = by_case(guideline("evaluate", "--repo", str(root), "--format", "json", *files))
    second = by_case(guideline("evaluate", "--repo", str(root), "--format", "json", *shuffled))
    assert first == second


def test_one_evaluator_gives_the_same_result_whatever_came_before(tmp_path: Path) -> None:
    """Sessions must not leak: a case evaluated after 40 others equals the case evaluated alone."""
    loaded = load_repository(write_repo(tmp_path, CASES))
    evaluator = Evaluator(loaded.guidelines)
    in_order = {c.id: evaluator.evaluate(c).as_dict() for c in loaded.cases}
    reordered = list(loaded.cases)
    random.Random(5).shuffle(reordered)
    for item in reordered:
        assert evaluator.evaluate(item).as_dict() == in_order[item.id], item.id
    again = [evaluator.evaluate(c).as_dict() for c in loaded.cases for _ in range(2)]
    assert again[::2] == again[1::2]


def test_the_order_facts_are_given_in_does_not_matter(tmp_path: Path) -> None:
    loaded = load_repository(write_repo(tmp_path, CASES))
    evaluator = Evaluator(loaded.guidelines)
    for item in loaded.cases:
        flipped = Case(item.id, item.title, dict(reversed(list(item.facts.items()))), path=item.path)
        assert evaluator.evaluate(flipped).as_dict() == evaluator.evaluate(item).as_dict()


def test_list_facts_are_a_set_for_the_rules(tmp_path: Path) -> None:
    """`[febuxostat, allopurinol]`, its reverse, and with a repeat, all mean the same medicines."""
    loaded = load_repository(write_repo(tmp_path, CASES[:1]))
    evaluator = Evaluator(loaded.guidelines)
    results = {
        json.dumps(evaluator.evaluate(Case("c", "t", {"medications": FactInput(tuple(meds))})).as_dict(),
                   sort_keys=True)
        for meds in (["febuxostat", "allopurinol"], ["allopurinol", "febuxostat"],
                     ["allopurinol", "febuxostat", "allopurinol"])
    }
    assert len(results) == 1
