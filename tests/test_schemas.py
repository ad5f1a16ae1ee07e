"""The JSON Schemas of schema/: each is a correct Draft 2020-12 schema, accepts what editors
should write and refuses what they must not, with our words and the right line.

Examples live in tests/schema-examples/{valid,invalid}/<kind>/*.yaml, where <kind> is a key
of engine.schema.SCHEMA_FILES. Each invalid example starts with
`# expect: CODE line N "words of the message"`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from repo_builder import SCHEMA_DIR

from engine.errors import Problem
from engine.loader import Document, load_file
from engine.schema import SCHEMA_FILES, Schemas

EXAMPLES = Path(__file__).parent / "schema-examples"
EXPECT = re.compile(r'^# expect: (?P<code>[A-Z-]+) line (?P<line>\d+) "(?P<words>.*)"$')
SCHEMAS = Schemas.load(SCHEMA_DIR)


def examples(kind: str) -> list[str]:
    return sorted(p.relative_to(EXAMPLES / kind).as_posix() for p in (EXAMPLES / kind).rglob("*.yaml"))


def load(path: Path) -> Document:
    document = load_file(path, path.name)
    assert isinstance(document, Document), document
    return document


@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json")))
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title") and schema.get("description"), "editors see these in their editor's hover text"


def test_every_document_schema_has_examples_both_ways() -> None:
    for kind in SCHEMA_FILES:
        valid = [e for e in examples("valid") if e.startswith(f"{kind}/")]
        invalid = [e for e in examples("invalid") if e.startswith(f"{kind}/")]
        assert valid and invalid, f"schema '{kind}' needs valid and invalid examples"


def test_every_schema_file_is_used() -> None:
    on_disk = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk - set(SCHEMA_FILES.values()) == {"common.schema.json"}


@pytest.mark.parametrize("example", examples("valid"))
def test_valid_examples_pass(example: str) -> None:
    kind = example.split("/")[0]
    problems = SCHEMAS.check(load(EXAMPLES / "valid" / example), kind)
    assert problems == []


@pytest.mark.parametrize("example", examples("invalid"))
def test_invalid_examples_fail_with_their_message_on_their_line(example: str) -> None:
    path = EXAMPLES / "invalid" / example
    header = EXPECT.match(path.read_text("utf-8").splitlines()[0])
    assert header, f"{example} must start with # expect: CODE line N \"words\""
    problems = SCHEMAS.check(load(path), example.split("/")[0])
    shown = "\n".join(map(str, problems))
    assert any(_matches(p, header) for p in problems), f"expected {header.groupdict()}\ngot:\n{shown}"


def _matches(problem: Problem, header: re.Match[str]) -> bool:
    return (
        problem.code == header["code"]
        and problem.location.line == int(header["line"])
        and header["words"] in problem.message
    )


def test_the_yaml_language_server_header_points_at_real_schemas() -> None:
    """Rule and case files name their schema for editors' autocompletion; the path must exist."""
    readme = (SCHEMA_DIR.parent / "guidelines" / "README.md").read_text("utf-8")
    for relative in re.findall(r"\$schema=\.\./\.\./\.\./schema/([\w.]+)", readme):
        assert (SCHEMA_DIR / relative).is_file(), relative
