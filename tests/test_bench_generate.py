"""bench/generate.py writes repositories that validate, at any size, the same for the same seed."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import yaml

from engine.validate import validate_repository

MAIN = Path(__file__).resolve().parents[1]


def _load_generator() -> object:
    """bench/ is a folder of scripts beside the package, not installed: loaded from its file."""
    spec = importlib.util.spec_from_file_location("bench_generate", MAIN / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_generator()
MAX_FACTS, Shape, case, case_text, generate = (getattr(bench, n) for n in (
    "MAX_FACTS", "Shape", "case", "case_text", "generate"))


def test_a_generated_repository_validates_with_no_error(tmp_path: Path) -> None:
    root = generate(tmp_path / "repo", rules=60, cases=40)
    errors = [p for p in validate_repository(root).problems if p.severity == "error"]
    assert errors == []


def test_the_same_seed_writes_the_same_repository(tmp_path: Path) -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}

    first, again = generate(tmp_path / "a", 30, 20, seed=7), generate(tmp_path / "b", 30, 20, seed=7)
    assert files(first) == files(again)
    assert files(first) != files(generate(tmp_path / "c", 30, 20, seed=8))


def test_cases_of_a_big_repository_stay_within_the_schema() -> None:
    schema = json.loads((MAIN / "schema" / "case.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["facts"]["maxProperties"] >= MAX_FACTS
    shape, chance = Shape(5_000), random.Random(1)
    assert len(shape.base) > MAX_FACTS  # without the cap, a case would give ~0.7 x 401 facts
    sizes = [len(case(chance, shape, n)["facts"]) for n in range(200)]
    assert max(sizes) == MAX_FACTS


def test_case_files_read_as_yaml_writes_them() -> None:
    chance = random.Random(3)
    for rules in (20, 1_000, 5_000):
        shape = Shape(rules)
        for number in range(30):
            data = case(chance, shape, number)
            assert case_text(data) == yaml.safe_dump(data, sort_keys=False, width=100)
    empty = {"id": "case-000000", "title": "Synthetic patient 0", "facts": {"medicines": []}}
    assert case_text(empty) == yaml.safe_dump(empty, sort_keys=False, width=100)
    assert case_text({**empty, "facts": {}}) == yaml.safe_dump({**empty, "facts": {}}, sort_keys=False, width=100)


def test_a_case_gives_a_patients_worth_of_the_facts_its_indications_rules_read(tmp_path: Path) -> None:
    root = generate(tmp_path / "repo", rules=400, cases=60)
    rules = [yaml.safe_load(p.read_text("utf-8")) for p in (root / "guidelines" / "rules").rglob("*.yaml")]
    read_by: dict[str, set[str]] = {}
    for data in rules:
        gate = bench.indication_of(data)  # type: ignore[attr-defined]
        for topic in ([gate] if gate else {d["topic"] for d in rules}):
            read_by.setdefault(topic, set()).update(bench.facts_read(data["when"]))  # type: ignore[attr-defined]
    low, high = bench.CASE_FACTS  # type: ignore[attr-defined]
    gates = {"indication", "treatment_status"}
    for path in (root / "tests" / "cases").rglob("*.yaml"):
        facts = yaml.safe_load(path.read_text("utf-8"))["facts"]
        readable = read_by[facts["indication"]] - gates
        assert low <= len(facts) <= high or len(facts) == 2 + len(readable)  # fewer only when it gives them all
        assert set(facts) - gates <= readable
