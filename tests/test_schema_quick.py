"""The quick schema predicate (engine.schema_quick) never says yes where jsonschema finds an error.

validate trusts a yes and skips jsonschema, so a wrong yes would hide an editor's mistake:
each test here compares the predicate with jsonschema itself, on every file the repository
and the test corpora hold, on hand-picked edge values, and on random mutations of real files.
A no where jsonschema finds nothing would only cost time; the real files show it does not happen.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from repo_builder import MAIN, SCHEMA_DIR

from engine.loader import Document, load_file
from engine.schema import SCHEMA_FILES, Schemas
from engine.schema_quick import compile_quick

SCHEMAS = Schemas.load(SCHEMA_DIR)
TESTS = MAIN / "tests"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_BY_NAME = {"facts.yaml": "facts", "subjects.yaml": "vocabulary", "topics.yaml": "vocabulary",
            "references.yaml": "references", "disagreements.yaml": "disagreements"}
_BY_FOLDER = {"rules": "rule", "valuesets": "valueset", "sources": "source", "cases": "case"}


def kind_of(relative: Path) -> str | None:
    """The schema a repository file is checked against, from where it lives (as engine.repository does)."""
    if relative.name in _BY_NAME:
        return _BY_NAME[relative.name]
    return next((_BY_FOLDER[part] for part in relative.parts if part in _BY_FOLDER), None)


def corpus() -> Iterator[tuple[str, str]]:
    """(path, kind) of every YAML file that parses in the repository, the broken-file corpus and the
    schema examples (a file that does not parse never reaches a schema)."""
    for folder in (MAIN / "guidelines", TESTS / "cases", TESTS / "invalid", TESTS / "schema-examples"):
        for path in sorted(folder.rglob("*.yaml")):
            relative = path.relative_to(MAIN)
            kind = path.parent.name if folder.name == "schema-examples" else kind_of(relative)
            if kind and path.name != "expect.yaml" and isinstance(load_file(path, "x"), Document):
                yield relative.as_posix(), kind


def jsonschema_accepts(data: Any, kind: str) -> bool:
    return bool(SCHEMAS.validators[kind].is_valid(data))


def quick_accepts(data: Any, kind: str) -> bool:
    accepts = SCHEMAS.quick[kind]
    assert accepts is not None
    return accepts(data)


def test_every_schema_has_a_quick_predicate() -> None:
    """A schema using a keyword the predicate does not evaluate would silently lose the fast path."""
    assert {kind for kind, accepts in SCHEMAS.quick.items() if accepts is None} == set()
    assert set(SCHEMAS.quick) == set(SCHEMA_FILES)


@pytest.mark.parametrize(("path", "kind"), list(corpus()))
def test_the_quick_answer_is_jsonschemas_answer_on_every_file(path: str, kind: str) -> None:
    document = load_file(MAIN / path, path)
    assert isinstance(document, Document)
    assert quick_accepts(document.data, kind) == jsonschema_accepts(document.data, kind)


def test_the_corpus_holds_files_both_ways() -> None:
    """The file test above proves something only if jsonschema refuses some files and accepts most."""
    answers = []
    for path, kind in corpus():
        document = load_file(MAIN / path, path)
        assert isinstance(document, Document)
        answers.append(jsonschema_accepts(document.data, kind))
    assert answers.count(False) >= 20 and answers.count(True) >= 300


def _rule() -> dict[str, Any]:
    document = load_file(MAIN / "guidelines" / "rules" / "contraindications" / "AZA-TPMT-002.yaml", "r")
    assert isinstance(document, Document)
    return dict(document.data)


EDGES: list[tuple[str, Any, bool]] = [
    ("version", "1.0.0", True),
    ("version", 1.0, False),
    ("status", "active", True),
    ("status", "Active", False),
    ("status", True, False),
    ("title", "", False),
    ("title", "x" * 300, True),
    ("title", "x" * 301, False),
    ("review.approved", "2026-02-28", True),
    ("review.approved", "2026-02-30", False),  # the right form, not a real date: only format checking sees it
    ("review.approved", "2026-2-28", False),
    ("then.0.action", "derive", False),  # a derive needs `fact` (if/then/else)
    ("then.0.strength", None, False),
    ("overrides", ["AZA-TPMT-001", "AZA-TPMT-001"], False),
    ("overrides", ["AZA-TPMT-001", "AZA-TPMT-003"], True),
    ("when", {"fact": "wbc", "below": True}, False),  # true is not the number 1
    ("when", {"fact": "wbc", "below": 3.5}, True),
    ("when", {"fact": "wbc", "below": 1e13}, False),
    ("when", {"fact": "wbc", "below": {"times": 0, "of": "alt"}}, False),
    ("when", {"fact": "wbc", "below": {"times": 2, "of": "alt"}}, True),
    ("when", {"fact": "wbc", "known": 1}, False),  # const true
    ("when", {"fact": "wbc", "known": True}, True),
    ("when", {"fact": "wbc", "between": [1, 2, 3]}, False),
    ("when", {"fact": "wbc", "contains": {"valueset": "a", "x": 1}}, False),
    ("when", {"not": {"all": []}}, False),
    ("when", {"not": {"all": [{"fact": "Wbc", "equals": 1}]}}, False),
    ("when", {}, False),
    ("citations", [], False),
    ("citations.0.extra", "x", False),
    ("reason", "why", True),
]


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node: Any = changed
    for part in parents:
        node = node[part]
    node[last] = value
    return changed


@pytest.mark.parametrize(("where", "value", "valid"), EDGES)
def test_edge_values_are_judged_as_jsonschema_judges_them(where: str, value: Any, valid: bool) -> None:
    data = _set(_rule(), where, value)
    assert jsonschema_accepts(data, "rule") is valid, "the example itself is wrong"
    assert quick_accepts(data, "rule") is valid


def test_a_retired_rule_needs_a_reason() -> None:
    data = _set(_rule(), "status", "retired")
    assert not jsonschema_accepts(data, "rule") and not quick_accepts(data, "rule")


def test_a_schema_with_a_keyword_it_does_not_evaluate_gets_no_quick_predicate() -> None:
    documents = {"x.json": {"type": "object", "unevaluatedProperties": False},
                 "y.json": {"$ref": "https://elsewhere.invalid/z.json"},
                 "z.json": {"properties": {"a": {"$ref": "#/$defs/missing"}}},
                 "ok.json": {"type": "object", "x-note": "annotations are ignored, as jsonschema does"}}
    found = {name: compile_quick(documents, name, FormatChecker()) for name in documents}
    assert [name for name, accepts in found.items() if accepts is not None] == ["ok.json"]


SMALL_SCHEMAS: list[Any] = [
    {"enum": [1, "a", None]}, {"const": 0}, {"const": True}, {"minimum": 5}, {"exclusiveMaximum": 1},
    {"type": "integer"}, {"type": ["number", "null"]}, {"maxProperties": 1}, {"propertyNames": {"pattern": "^a"}},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]}, {"not": {"type": "string"}},
    {"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "null"}}, {"format": "date"},
    {"items": {"type": "string"}, "minItems": 1},
    {"additionalProperties": {"type": "boolean"}, "properties": {"a": {}}},
    {"required": ["a"]}, {"anyOf": [False, {"maxLength": 1}]}, {"allOf": [True, {"maxItems": 1}]},
    {"uniqueItems": True},
]
SMALL_VALUES: list[Any] = [None, True, False, 0, 1, 1.0, 5, 5.5, -1, "", "a", "ab", "2026-02-30", "2026-02-28",
                           [], [1], [1, 1], [1, True], ["a"], ["a", "a"], {}, {"a": 1}, {"a": 1, "b": True}, {"b": 1}]


@pytest.mark.parametrize("schema", SMALL_SCHEMAS, ids=lambda schema: str(schema)[:40])
def test_each_keyword_is_judged_as_jsonschema_judges_it(schema: Any) -> None:
    accepts = compile_quick({"s.json": schema}, "s.json", FormatChecker())
    assert accepts is not None
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for value in SMALL_VALUES:
        if schema == {"uniqueItems": True} and isinstance(value, list) and not all(isinstance(v, str) for v in value):
            assert not accepts(value) or validator.is_valid(value)  # left to jsonschema on purpose: only a no
        else:
            assert accepts(value) == validator.is_valid(value), value


def test_a_value_accepted_once_is_remembered_with_its_type() -> None:
    """Item checks remember the plain values they accepted; true, 1 and 1.0 are one value to Python, not to JSON."""
    booleans = compile_quick({"s.json": {"items": {"type": "boolean"}}}, "s.json", FormatChecker())
    whole = compile_quick({"s.json": {"additionalProperties": {"type": "integer", "maximum": 1}}}, "s.json",
                          FormatChecker())
    assert booleans is not None and whole is not None
    assert booleans([True, False]) and booleans([True])
    assert not booleans([1]) and not booleans([0.0])
    assert whole({"a": 1, "b": 1.0}) and whole({"c": 1})
    assert not whole({"a": True}) and not whole({"a": 1.5}) and not whole({"a": 2})


# ---------------------------------------------------------------- random mutations of real files

VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 1.0, 1e12, 2e12, -1e13]),
              st.sampled_from(["", "x", "AZA-X-001", "1.0.0", "2026-01-31", "2026-02-30", "wbc", "Wbc", "a-b",
                               "active", "derive", "dose", "mg/day", "GRADE", "x" * 301]),
              st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["fact", "equals", "all", "any", "not", "below",
                                                             "times", "of", "valueset", "x", "min", "max",
                                                             "unit", "value"]), inner, max_size=3)),
    max_leaves=6,
)


def _documents() -> list[tuple[Any, str]]:
    found = []
    for path, kind in corpus():
        if not path.startswith("tests/invalid/"):
            document = load_file(MAIN / path, path)
            assert isinstance(document, Document)
            found.append((document.data, kind))
    return found


DOCUMENTS = _documents()


def _places(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _places(value, (*path, i))


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    changed = copy.deepcopy(data)
    if not path:
        return value if how == "replace" else changed
    node = changed
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if how == "replace":
        node[last] = value
    elif how == "delete":
        del node[last]
    elif how == "add" and isinstance(node[last], dict):
        node[last][str(value)[:8] or "k"] = value
    elif how == "add" and isinstance(node[last], list):
        node[last].append(value)
    return changed


@FUZZ
@given(st.data())
def test_a_mutated_file_is_never_accepted_where_jsonschema_refuses_it(data: st.DataObject) -> None:
    original, kind = data.draw(st.sampled_from(DOCUMENTS))
    mutated = original
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_places(mutated))))
        how = data.draw(st.sampled_from(["replace", "delete", "add"]))
        mutated = _mutate(mutated, path, how, data.draw(VALUES))
    assert quick_accepts(mutated, kind) == jsonschema_accepts(mutated, kind)
