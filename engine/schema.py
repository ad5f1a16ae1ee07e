"""JSON Schema checks of one document -> problems in plain words, located on the YAML line."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.errors import GuidelineError, Problem
from engine.loader import Document
from engine.schema_quick import Accepts, compile_quick

SCHEMA_FILES = {
    "rule": "rule.schema.json",
    "case": "case.schema.json",
    "facts": "facts.schema.json",
    "valueset": "valueset.schema.json",
    "references": "references.schema.json",
    "vocabulary": "vocabulary.schema.json",
    "disagreements": "disagreements.schema.json",
    "source": "source.schema.json",
}
_BASE = "https://schemas.guideline-as-code.invalid/"  # never fetched: every schema is registered
_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a set of fields",
    "null": "nothing",
}


@dataclass(frozen=True)
class Schemas:
    """The repository's JSON Schemas, compiled once: jsonschema's validators and their quick yes/no."""

    validators: dict[str, Draft202012Validator]
    quick: dict[str, Accepts | None] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)  # file name -> parsed schema, to rebuild elsewhere

    @classmethod
    def load(cls, schema_dir: Path) -> Schemas:
        names = sorted({*_all_files(schema_dir), *SCHEMA_FILES.values(), "common.schema.json"})
        return cls.from_documents({name: _read_schema(schema_dir / name) for name in names})

    @classmethod
    def from_documents(cls, documents: dict[str, Any]) -> Schemas:
        """Compiled from parsed schema files (as `load` reads them), e.g. in a worker process."""
        registry: Registry[Any] = Registry().with_resources(
            (_BASE + name, Resource.from_contents(doc, default_specification=DRAFT202012))
            for name, doc in documents.items()
        )
        formats = FormatChecker()
        validators = {
            kind: Draft202012Validator(
                {**documents[file], "$id": _BASE + file}, registry=registry, format_checker=formats
            )
            for kind, file in SCHEMA_FILES.items()
        }
        quick = {kind: compile_quick(documents, file, formats) for kind, file in SCHEMA_FILES.items()}
        return cls(validators, quick, documents)

    def check(self, document: Document, kind: str) -> list[Problem]:
        accepts = self.quick.get(kind)
        if accepts is not None and accepts(document.data):
            return []  # valid: jsonschema, much slower, would find nothing (see engine.schema_quick)
        validator = self.validators[kind]
        errors = sorted(validator.iter_errors(document.data), key=lambda e: list(map(str, e.absolute_path)))
        return [p for error in errors for p in _describe(error, document)]


def _read_schema(path: Path) -> Any:
    """One schema file; a missing or broken one stops every command with exit 2, naming the file."""
    where = f"schema/{path.name}"
    try:
        schema = _checked(path.read_text("utf-8"))
    except OSError as exc:
        raise GuidelineError(f"cannot read {where}: {exc.strerror or exc}; restore it from git") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GuidelineError(f"{where} is not valid JSON ({exc}); restore it from git") from exc
    except SchemaError as exc:
        raise GuidelineError(f"{where} is not a valid JSON Schema ({exc.message}); restore it from git") from exc
    return schema


@functools.lru_cache(maxsize=64)
def _checked(text: str) -> Any:
    """Parsed and checked against the metaschema once per process and content (the check costs ~30 ms)."""
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def _all_files(schema_dir: Path) -> list[str]:
    return sorted(p.name for p in schema_dir.glob("*.schema.json"))


def _describe(error: ValidationError, document: Document) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        yield from _unknown_fields(error, document, path)
        return
    if error.validator in ("anyOf", "oneOf") and error.context:
        yield _best_alternative(error, document, path)
        return
    message = _message(error, path)
    yield Problem(document.at(path), message, f"E-SCHEMA-{str(error.validator).upper()}")


def _unknown_fields(error: ValidationError, document: Document, path: tuple[Any, ...]) -> Iterator[Problem]:
    schema: Any = error.schema
    allowed = sorted(schema.get("properties", {}) if isinstance(schema, dict) else {})
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in sorted(set(instance) - set(allowed)):
        message = f"unknown field '{name}'{did_you_mean(name, allowed)}"
        if allowed:
            message += f" (allowed here: {', '.join(allowed)})"
        yield Problem(document.at((*path, name), key=True), message, "E-SCHEMA-UNKNOWN-FIELD")


def _best_alternative(error: ValidationError, document: Document, path: tuple[Any, ...]) -> Problem:
    """For anyOf/oneOf, report the alternative that came closest, in its own words."""
    leaves = list(_leaves(error))
    if leaves and all(e.validator == "required" and e.absolute_path == error.absolute_path for e in leaves):
        fields = " or ".join(f"'{_missing_field(e)}'" for e in leaves)
        return Problem(document.at(path), f"{_field_name(path)}needs one of the fields {fields}", "E-SCHEMA-REQUIRED")
    deepest = max(leaves, key=lambda e: (len(e.absolute_path), _closeness(e), -len(e.message)), default=None)
    if deepest and (len(deepest.absolute_path) > len(error.absolute_path) or _closeness(deepest) == 2):
        return next(_describe(deepest, document))
    types = [t for e in leaves if e.validator == "type" for t in _as_list(e.validator_value)]
    if types and all(e.validator == "type" for e in leaves):  # only the kind of value is wrong
        return Problem(document.at(path), _wrong_kind(path, types, error.instance), "E-SCHEMA-TYPE")
    return Problem(document.at(path), _message(error, path), f"E-SCHEMA-{str(error.validator).upper()}")


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors of every alternative, looking through nested anyOf/oneOf at the same place."""
    for alternative in error.context or []:
        if alternative.validator in ("anyOf", "oneOf") and alternative.context and (
            alternative.absolute_path == error.absolute_path
        ):
            yield from _leaves(alternative)
        else:
            yield alternative


def _missing_field(error: ValidationError) -> str:
    return str(error.message).split("'")[1] if "'" in error.message else str(error.message)


def _closeness(error: ValidationError) -> int:
    """2: the value has the right kind but a detail is wrong (the editor's likely intent); 0: wrong kind."""
    if error.validator == "type":
        return 0
    return 1 if error.validator in ("anyOf", "oneOf") else 2


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _wrong_kind(path: tuple[Any, ...], expected: list[str], value: Any) -> str:
    wanted = " or ".join(dict.fromkeys(_TYPE_WORDS.get(t, t) for t in expected))
    hint = ""
    if isinstance(value, str) and "boolean" in expected:
        hint = " (write true or false without quotes)"
    elif isinstance(value, str) and {"number", "integer"} & set(expected) and _looks_numeric(value):
        hint = " (write numbers without quotes)"
    return f"{_field_name(path)}expected {wanted}, found {_kind_of(value)} {_show(value)}{hint}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _message(error: ValidationError, path: tuple[Any, ...]) -> str:
    where = _field_name(path)
    validator = error.validator
    value = error.instance
    wanted_value: Any = error.validator_value
    if validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else str(error.message)
        return f"{where}is missing the required field '{missing}'"
    if validator in ("enum", "const"):
        options = wanted_value if validator == "enum" else [wanted_value]
        words = ", ".join(json.dumps(o) if not isinstance(o, str) else o for o in options)
        hint = did_you_mean(str(value), [str(o) for o in options])
        return f"{where}{_show(value)} is not allowed{hint}; use one of: {words}"
    if validator == "type":
        expected = wanted_value if isinstance(wanted_value, list) else [wanted_value]
        wanted = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in expected)
        extra = " (write true or false without quotes)" if "boolean" in expected and isinstance(value, str) else ""
        return f"{where}expected {wanted}, found {_kind_of(value)} {_show(value)}{extra}"
    if validator == "pattern":
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        return (f"{where}{_show(value)} is not in the expected form"
                + (f": {described.rstrip('.')}" if described else "") + _recased(value, str(wanted_value)))
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "above", "exclusiveMaximum": "below"}
        return f"{where}{_show(value)} must be {bound[str(validator)]} {error.validator_value}"
    if validator in ("minItems", "minLength", "minProperties"):
        return f"{where}must not be empty"
    if validator in ("maxItems", "maxLength", "maxProperties"):
        return f"{where}is too long (the limit is {error.validator_value})"
    if validator == "uniqueItems":
        return f"{where}lists the same item twice"
    if validator == "format":
        return f"{where}{_show(value)} is not a real {error.validator_value} (write YYYY-MM-DD)"
    if validator == "oneOf":
        return f"{where}must have exactly one of the allowed forms"
    return f"{where}{_short(error.message)}"


def _recased(value: Any, pattern: str) -> str:
    """`ALT` where a fact name is lower case, `aza-hep-001` where a rule id is upper case: say how to write it."""
    if not isinstance(value, str):
        return ""
    for spelled in (value.lower(), value.upper(), value.lower().replace(" ", "-"), value.lower().replace(" ", "_")):
        if spelled != value and re.search(pattern, spelled):
            return f"; write {spelled}"
    return ""


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def _field_name(path: tuple[Any, ...]) -> str:
    names = [str(p) for p in path if isinstance(p, str)]
    return f"'{names[-1]}' " if names else ""


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "the number"
    if isinstance(value, str):
        return "the text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a set of fields"
    return "nothing"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return shown_text(value if len(value) < 60 else value[:57] + "...")
    if isinstance(value, (dict, list)):
        return ""
    return json.dumps(value)


def shown_text(text: str) -> str:
    """Quoted text for a message; look-alike letters and invisible marks made visible."""
    if text.isascii():
        return repr(text)
    hidden = sorted({f"U+{ord(c):04X}" for c in text if not c.isascii()})
    return f"{text!a} (it holds the non-ASCII characters {', '.join(hidden[:5])}: retype it)"


def did_you_mean(word: str, choices: list[str]) -> str:
    """"; did you mean 'x'?" when a close match exists, else empty."""
    by_lower = {choice.lower(): choice for choice in choices}  # 'grade' is close to 'GRADE'
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


_TESTS = ("equals", "not_equals", "one_of", "below", "at_most", "above", "at_least",
          "between", "contains", "known", "unknown")
_GROUPS = ("all", "any", "not")


def condition_shape_problems(document: Document) -> list[Problem]:
    """Each condition is exactly one of all/any/not, or one fact with exactly one test.

    JSON Schema can say this with oneOf, but its messages would not tell an
    editor which word is missing; this walk can.
    """
    problems: list[Problem] = []
    _walk_condition(document, document.data.get("when"), ("when",), problems)
    return problems


def _walk_condition(document: Document, node: Any, path: tuple[Any, ...], out: list[Problem]) -> None:
    if not isinstance(node, dict):
        return
    groups = [g for g in _GROUPS if g in node]
    tests = [t for t in _TESTS if t in node]
    if len(groups) > 1 or (groups and ("fact" in node or tests)):
        out.append(Problem(document.at(path), f"a condition holds one thing; found {', '.join(groups + tests)}: "
                           "nest them under all: or any:", "E-CONDITION-SHAPE"))
    elif groups:
        children = node[groups[0]]
        for i, child in enumerate(children if isinstance(children, list) else [children]):
            _walk_condition(document, child, (*path, groups[0], i) if groups[0] != "not" else (*path, "not"), out)
    elif "fact" not in node:
        out.append(Problem(document.at(path),
                           "this condition names no fact; add `fact:` and one test such as `equals:`",
                           "E-CONDITION-SHAPE"))
    elif len(tests) != 1:
        found = f"found {', '.join(tests)}" if tests else "found none"
        out.append(Problem(document.at(path),
                           f"a test on '{node['fact']}' needs exactly one of {', '.join(_TESTS)}; {found}",
                           "E-CONDITION-SHAPE"))
