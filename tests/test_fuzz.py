"""Fuzzing with hypothesis: the loader, the validator and the engine never fail with an
uncaught exception, whatever they are given, and keep their promises on what they return.

Examples per target: FUZZ_EXAMPLES (default 200, as in CI). A local run with
FUZZ_EXAMPLES=10000 is recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from repo_builder import FACTS, MAIN, dump, make_repo, rule

from engine.errors import InputError, Problem
from engine.evaluate import Evaluator
from engine.loader import Document, parse_text
from engine.model import TESTS, Case, FactInput, GuidelineSet
from engine.repository import load_repository
from engine.result import Result
from engine.validate import validate_repository

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TODAY = dt.date(2026, 11, 22)

# ---------------------------------------------------------------- the loader

TOKENS = [
    "\n", "  ", "    ", "- ", ": ", ":", "id", "when", "all", "any", "not", "fact", "equals", "then", "wbc",
    "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "!!python/object/apply:os.system ", "!x ", "!!str ",
    "<<: ", "'", '"', "# c", "---\n", "...\n", "? ", "|\n", ">-\n", "\t", "\r\n", "\r", "\ufeff", "\u2028",
    "\x00", "\x07", "1e999", ".nan", "-.inf", "yes", "no", "2026-01-01", "~", "\\", "\\u", "%YAML 1.1\n",
    "%TAG !e! tag:e,2000:\n", "0x1F", "1_000", "12:30", "3.5", "-0", "1" * 25, "é", "×10⁹/L", "\u202e", "\u200b",
]
yamlish = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=60).map("".join)


def plain(value: Any) -> bool:
    """Only what JSON can hold: what the rest of the program is written for."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= 1e12
    return value is None or isinstance(value, (str, bool, int))


def check_loaded(outcome: Document | Problem, text: bytes) -> None:
    if isinstance(outcome, Problem):
        assert outcome.code.startswith("E-")
        assert 0 <= outcome.location.line <= text.count(b"\n") + text.count(b"\r") + 1
        assert outcome.message
        return
    assert plain(outcome.data)
    json.dumps(outcome.data, allow_nan=False).encode("utf-8")  # printable as UTF-8, never a surrogate


@FUZZ
@given(st.binary(max_size=3000))
def test_the_loader_survives_any_bytes(raw: bytes) -> None:
    check_loaded(parse_text(raw, "f.yaml"), raw)


@FUZZ
@given(yamlish)
def test_the_loader_survives_yaml_like_text(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    check_loaded(parse_text(raw, "f.yaml"), raw)


@FUZZ
@given(yamlish.filter(lambda t: "\r" not in t))
def test_windows_line_endings_never_change_the_outcome(text: str) -> None:
    unix = parse_text(text.encode("utf-8", "surrogatepass"), "f.yaml")
    windows = parse_text(text.replace("\n", "\r\n").encode("utf-8", "surrogatepass"), "f.yaml")
    assert type(unix) is type(windows)
    if isinstance(unix, Document) and isinstance(windows, Document):
        assert unix.data == windows.data
    elif isinstance(unix, Problem) and isinstance(windows, Problem):
        assert (unix.code, unix.location.line) == (windows.code, windows.location.line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**15, 10**15) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(json_values)
def test_whatever_safe_dump_writes_loads_back_as_the_same_data_or_a_named_problem(value: Any) -> None:
    """Round trip: what an editor could write with any YAML tool is either read exactly or refused."""
    text = yaml.safe_dump({"v": value}, allow_unicode=True).encode("utf-8", "surrogatepass")
    outcome = parse_text(text, "f.yaml")
    check_loaded(outcome, text)
    if isinstance(outcome, Document) and plain(value):
        assert outcome.data == {"v": value}


# ---------------------------------------------------------------- the validator

FIELD_NAMES = sorted({*rule(), "overrides", "reason", "replaced_by", "subject", "strength", "text", "dose", "fact",
                      "valueset", "times", "of", "unit", *TESTS, "all", "any", "not", "rationle"})
FACT_NAMES = [*sorted(FACTS), "tpmt_stauts", "ALT", "weight_kg"]
scalars = (st.none() | st.booleans() | st.integers(-5, 5000) | st.floats(-1e13, 1e13, allow_nan=False)
           | st.sampled_from(["absent", "planned", "normal", "yes", "allopurinol", "10*3/uL", "kg", "mg/day",
                              "2026-02-30", "1.0", "AZA-CBC-001", "xanthine-oxidase-inhibitors", ""])
           | st.text(max_size=10))


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    value = scalars | st.lists(scalars, max_size=3) | st.fixed_dictionaries(
        {"times": st.sampled_from([0, 0.5, 3, -1]), "of": st.sampled_from(FACT_NAMES)}
    ) | st.fixed_dictionaries({"valueset": st.sampled_from(["xanthine-oxidase-inhibitors", "nope"])})
    return st.builds(lambda f, op, v, unit: {"fact": f, op: v, **unit}, st.sampled_from(FACT_NAMES),
                     st.sampled_from(TESTS), value, st.sampled_from([{}, {}, {"unit": "10*9/L"}, {"unit": "kg"}]))


def typed_leaf() -> st.SearchStrategy[dict[str, Any]]:
    """A test that fits its fact's type, so that many drawn rules pass validation and reach the engine."""
    number = st.builds(lambda f, op, v: {"fact": f, op: v}, st.sampled_from(["wbc", "weight"]),
                       st.sampled_from(["below", "at_most", "above", "at_least", "equals", "not_equals"]),
                       st.integers(1, 300))
    category = st.builds(lambda v: {"fact": "tpmt_status", "equals": v}, st.sampled_from(["normal", "absent"]))
    listed = st.builds(lambda v: {"fact": "medications", "contains": v},
                       st.sampled_from(["allopurinol", {"valueset": "xanthine-oxidase-inhibitors"}]))
    presence = st.builds(lambda f, op: {"fact": f, op: True}, st.sampled_from(sorted(FACTS)),
                         st.sampled_from(["known", "unknown"]))
    derived = st.builds(lambda v: {"fact": "severe_cytopenia", "equals": v}, st.booleans())
    return number | category | listed | presence | derived


conditions = st.recursive(
    typed_leaf() | leaf(),
    lambda inner: st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]),
                            st.lists(inner, min_size=1, max_size=3)) | st.builds(lambda c: {"not": c}, inner),
    max_leaves=6,
)


def mutated(base: dict[str, Any], draws: list[tuple[list[str | int], Any, bool]]) -> dict[str, Any]:
    """Replace (or delete) the value at a few paths of a valid rule."""
    data = copy.deepcopy(base)
    for path, value, delete in draws:
        parent: Any = data
        for step in path[:-1]:
            inside_dict = isinstance(parent, dict) and step in parent
            inside_list = isinstance(parent, list) and isinstance(step, int) and step < len(parent)
            if inside_dict or inside_list:
                parent = parent[step]
        last = path[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            parent.pop(last, None) if delete else parent.__setitem__(last, value)
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent) and not delete:
            parent[last] = value
    return data


paths = st.lists(st.sampled_from(FIELD_NAMES) | st.integers(0, 2), min_size=1, max_size=4)
mutations = st.lists(st.tuples(paths, json_values | conditions, st.booleans()), max_size=2)
actions = st.lists(st.fixed_dictionaries({"action": st.sampled_from(["avoid", "stop", "dose", "derive", "monitor",
                                                                    "combine_with", "start"])},
                                         optional={"subject": st.sampled_from(["azathioprine", "nope"]),
                                                   "strength": st.sampled_from(["strong", "weak"]),
                                                   "text": st.just("Text."), "fact": st.sampled_from(FACT_NAMES),
                                                   "value": scalars, "with": st.just("tpmt-test"),
                                                   "dose": st.fixed_dictionaries({"min": scalars, "max": scalars,
                                                                                  "unit": st.just("mg/kg/day")}),
                                                   "interval": st.just("weekly"), "duration": st.just("8 weeks")}),
                   min_size=1, max_size=3)
VALID_ACTIONS = [
    {"action": "avoid", "subject": "azathioprine", "strength": "strong", "text": "Do not start."},
    {"action": "dose", "subject": "azathioprine", "strength": "conditional", "text": "Dose.",
     "dose": {"min": 1, "max": 2, "unit": "mg/kg/day"}},
    {"action": "monitor", "subject": "full-blood-count", "strength": "strong", "text": "Check.",
     "interval": "weekly", "duration": "8 weeks"},
    {"action": "derive", "fact": "severe_cytopenia"},
]
actions = actions | st.lists(st.sampled_from(VALID_ACTIONS), min_size=1, max_size=2, unique_by=lambda a: a["action"])
rule_documents = st.builds(lambda when, then, changes: mutated(rule("AZA-FUZZ-001", when=when, then=then), changes),
                           conditions, actions, mutations)


@pytest.fixture(scope="module")
def fuzz_repo() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield make_repo(Path(folder))


FUZZED = "guidelines/rules/contraindications/AZA-FUZZ-001.yaml"


@FUZZ
@given(document=rule_documents)
def test_the_validator_survives_any_rule_and_a_clean_rule_always_runs(fuzz_repo: Path, document: Any) -> None:
    text = dump(document)
    (fuzz_repo / FUZZED).write_text(text, "utf-8")
    report = validate_repository(fuzz_repo, today=TODAY)
    lines = text.count("\n") + 1
    for problem in report.problems:
        assert (fuzz_repo / problem.location.path).exists() or problem.code == "E-MISSING-FILE", problem
        assert problem.location.path != FUZZED or 0 <= problem.location.line <= lines, problem
    clean = not any(p.severity == "error" for p in report.problems)
    event("clean" if clean else "refused")
    if clean:
        run_everything(report.loaded.guidelines)


def run_everything(guidelines: GuidelineSet) -> None:
    """A repository that validates must compile and evaluate any valid case."""
    evaluator = Evaluator(guidelines)
    for facts in ({}, {"tpmt_status": "absent", "azathioprine_status": "planned", "wbc": 1.0, "weight": 70,
                       "medications": ("allopurinol",)}):
        check_result(evaluator.evaluate(Case("c", "t", {k: FactInput(v) for k, v in facts.items()})),
                     guidelines, set(facts))


# ---------------------------------------------------------------- the engine


def valid_value(name: str, definition: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = definition["type"]
    if kind == "boolean":
        return st.booleans()
    if kind == "category":
        return st.sampled_from(sorted(definition["values"]))
    if kind == "list":
        return st.lists(st.sampled_from(["allopurinol", "febuxostat", "prednisolone", "Allopurinol ", "x"]),
                        max_size=4).map(tuple)
    low, high = definition["range"]["min"], definition["range"]["max"]
    return st.floats(low, high, allow_nan=False) | st.integers(math.ceil(low), math.floor(high))


def valid_cases(facts: dict[str, Any]) -> st.SearchStrategy[Case]:
    given_facts = {n: d for n, d in facts.items() if not d.get("derived")}
    optional = {n: valid_value(n, d) for n, d in given_facts.items()}
    return st.fixed_dictionaries({}, optional=optional).map(
        lambda values: Case("fuzz", "t", {n: FactInput(v) for n, v in values.items()})
    )


raw_cases = st.dictionaries(
    st.sampled_from(FACT_NAMES) | st.text(max_size=6),
    st.builds(FactInput, json_values | st.lists(st.text(max_size=5), max_size=3).map(tuple),
              st.none() | st.sampled_from(["kg", "[lb_av]", "10*3/uL", "g", ""])),
    max_size=6,
).map(lambda facts: Case("fuzz", "t", facts))


def check_result(result: Result, guidelines: GuidelineSet, given_names: set[str]) -> None:
    active = {r.id for r in guidelines.active_rules}
    keys = [r.key for r in result.recommendations]
    assert len(keys) == len(set(keys)), "a recommendation is listed twice"
    assert {r.rule for r in result.recommendations} <= active
    assert not {s.recommendation.key for s in result.suppressed} & set(keys), "shown and suppressed at once"
    for needed in result.needs_data:
        assert set(needed.facts).isdisjoint(given_names), f"{needed.rule} asks for a fact the case gave"
    for recommendation in result.recommendations:
        dose = recommendation.dose
        if dose and dose.mg_per_day:
            low, high = dose.mg_per_day
            assert math.isfinite(low) and math.isfinite(high) and 0 <= low <= high
    json.dumps(result.as_dict(), allow_nan=False)


@pytest.fixture(scope="module")
def small() -> Iterator[Evaluator]:
    with tempfile.TemporaryDirectory() as folder:
        yield Evaluator(load_repository(make_repo(Path(folder))).guidelines)


@pytest.fixture(scope="module")
def real() -> tuple[Evaluator, st.SearchStrategy[Case]]:
    """The real repository: it must be valid, so any problem here is a real failure."""
    loaded = load_repository(MAIN)
    errors = [p for p in loaded.problems if p.severity == "error"]
    assert errors == [], errors[:5]
    facts = {f.name: {"type": f.type, "derived": f.derived, "values": dict(f.values),
                      "range": {"min": f.range[0], "max": f.range[1]} if f.range else None}
             for f in loaded.guidelines.facts.values()}
    return Evaluator(loaded.guidelines), valid_cases(facts)


SMALL_CASES = valid_cases(FACTS)


@FUZZ
@given(data=st.data())
def test_any_valid_case_evaluates_on_the_small_ruleset(small: Evaluator, data: st.DataObject) -> None:
    evaluate_valid(small, data.draw(SMALL_CASES))


@FUZZ
@given(data=st.data())
def test_any_valid_case_evaluates_on_the_real_ruleset(
    real: tuple[Evaluator, st.SearchStrategy[Case]], data: st.DataObject
) -> None:
    evaluator, cases = real
    evaluate_valid(evaluator, data.draw(cases))


def evaluate_valid(evaluator: Evaluator, case: Case) -> None:
    result = evaluator.evaluate(case)  # a valid case is never refused
    check_result(result, evaluator.guidelines, set(case.facts))
    assert evaluator.evaluate(case).as_dict() == result.as_dict()


@FUZZ
@given(case=raw_cases)
def test_any_raw_case_is_evaluated_or_refused_with_located_problems(small: Evaluator, case: Case) -> None:
    try:
        result = small.evaluate(case)
    except InputError as refused:
        assert refused.problems and all(p.code.startswith("E-") for p in refused.problems)
        return
    check_result(result, small.guidelines, {n for n, f in case.facts.items() if f.value is not None})


# ---------------------------------------------------------------- faults fuzzing found (now fixed)


def test_tiny_numbers_reach_the_engine_safely(small: Evaluator) -> None:
    result = small.evaluate(Case("tiny", "t", {"wbc": FactInput(0.00001), "tpmt_status": FactInput("normal")}))
    assert result.derived["severe_cytopenia"] is True


def test_needs_data_never_asks_for_a_fact_the_case_gave(tmp_path: Path) -> None:
    facts = {**FACTS, **{name: {"label": name, "type": "number", "unit": "U/L", "range": {"min": 0, "max": 5000},
                                "description": "d"} for name in ("alt", "alt_baseline")}}
    ratio_rule = rule("AZA-LFT-001", topic="monitoring",
                      when={"fact": "alt", "above": {"times": 3, "of": "alt_baseline"}},
                      then=[{"action": "stop", "subject": "azathioprine", "strength": "strong", "text": "Stop."}])
    guidelines = load_repository(make_repo(tmp_path, rules=[ratio_rule], facts=facts, cases=[])).guidelines
    result = Evaluator(guidelines).evaluate(Case("c", "t", {"alt": FactInput(50), "alt_baseline": FactInput(0)}))
    assert [n.facts for n in result.needs_data if n.rule == "AZA-LFT-001"] == []
