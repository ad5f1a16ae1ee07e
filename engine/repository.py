"""Finds the repository root, loads every file, runs the schemas, builds the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Location, Problem, RepositoryNotFound
from engine.loader import Document, load_file
from engine.model import (
    Case,
    GuidelineSet,
    Rule,
    SourceTrace,
    Subject,
    Topic,
    case_from,
    disagreement_from,
    fact_from,
    reference_from,
    rule_from,
    source_from,
    valueset_from,
)
from engine.schema import Schemas, condition_shape_problems

CASES_DIR = Path("tests") / "cases"
YAML_SUFFIXES = (".yaml", ".yml")


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding guidelines/ and schema/ (as git finds .git)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / "guidelines").is_dir() and (candidate / "schema").is_dir():
            return candidate
    raise RepositoryNotFound(
        f"no guideline repository at or above {start} (looked for folders guidelines/ and schema/); "
        "run inside a clone or pass --repo PATH"
    )


@dataclass
class Loaded:
    """What loading a repository produced: the model, the parsed documents, and every problem."""

    root: Path
    guidelines: GuidelineSet
    cases: tuple[Case, ...]
    documents: dict[str, Document] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rule_documents: dict[str, Document] = field(default_factory=dict)
    case_documents: dict[str, Document] = field(default_factory=dict)


class _Reader:
    """Loads and schema-checks files of one repository, collecting problems instead of stopping."""

    def __init__(self, root: Path, schemas: Schemas, *, confine: bool = True) -> None:
        self.root = root
        self.confine = confine
        self.schemas = schemas
        self.problems: list[Problem] = []
        self.documents: dict[str, Document] = {}

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, path: Path, kind: str) -> Document | None:
        """The document if it parsed and matched its schema, else None (problems recorded)."""
        display = self.display(path)
        outside = _outside_problem(path, self.root, display) if self.confine else None
        if outside:
            self.problems.append(outside)
            return None
        loaded = load_file(path, display)
        if isinstance(loaded, Problem):
            self.problems.append(loaded)
            return None
        self.documents[display] = loaded
        found = self.schemas.check(loaded, kind)
        if kind == "rule" and not found:
            found = condition_shape_problems(loaded)
        self.problems.extend(found)
        return None if found else loaded

    def read_optional(self, path: Path, kind: str) -> Document | None:
        if not path.exists() and not path.is_symlink():
            self.problems.append(Problem(Location(self.display(path)), "this file is missing", "E-MISSING-FILE"))
            return None
        return self.read(path, kind)


def _outside_problem(path: Path, root: Path, display: str) -> Problem | None:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return Problem(Location(display), "this path points outside the repository; it is not read", "E-OUTSIDE")
    return None


def yaml_files(folder: Path) -> list[Path]:
    """Every YAML file under `folder`, sorted, hidden files and READMEs left out."""
    if not folder.is_dir():
        return []
    found = (p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and not _hidden(p, folder))
    return sorted(found)


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def load_repository(root: Path, *, with_cases: bool = True) -> Loaded:
    """Load everything; never raises for bad content, only records problems."""
    reader = _Reader(root, Schemas.load(root / "schema"))
    g = root / "guidelines"
    facts_doc = reader.read_optional(g / "facts.yaml", "facts")
    subjects_doc = reader.read_optional(g / "subjects.yaml", "vocabulary")
    topics_doc = reader.read_optional(g / "topics.yaml", "vocabulary")
    refs_doc = reader.read_optional(g / "references.yaml", "references")
    disagreements_doc = reader.read(g / "disagreements.yaml", "disagreements") if (
        g / "disagreements.yaml"
    ).exists() else None
    valuesets = _each(reader, yaml_files(g / "valuesets"), "valueset", lambda d: valueset_from(d.data))
    rule_docs = _documents(reader, yaml_files(g / "rules"), "rule")
    sources = _each(reader, yaml_files(g / "sources"), "source", lambda d: source_from(d.data, d.display))
    guidelines = GuidelineSet(
        facts={n: fact_from(n, f) for n, f in _data(facts_doc, "facts").items()},
        rules=tuple(rule_from(d.data, d.display) for d in rule_docs.values()),
        valuesets={v.name: v for v in valuesets},
        subjects={k: Subject(k, v["label"], v["kind"], v.get("description", "")) for k, v in _data(
            subjects_doc, "subjects").items()},
        topics={k: Topic(k, v["title"], v["description"]) for k, v in _data(topics_doc, "topics").items()},
        references={k: reference_from(k, v) for k, v in _data(refs_doc, "references").items()},
        disagreements=tuple(disagreement_from(d) for d in _list(disagreements_doc, "disagreements")),
        sources=tuple(sorted(sources, key=lambda s: s.ref)),
    )
    case_docs = _documents(reader, yaml_files(root / CASES_DIR), "case") if with_cases else {}
    cases = tuple(case_from(d.data, d.display, topic_of_case(d.display)) for d in case_docs.values())
    return Loaded(
        root, guidelines, cases, reader.documents, reader.problems,
        rule_documents={d.data["id"]: d for d in rule_docs.values()} if rule_docs else {},
        case_documents={d.display: d for d in case_docs.values()},
    )


def _documents(reader: _Reader, paths: Iterable[Path], kind: str) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for path in paths:
        document = reader.read(path, kind)
        if document is not None:
            found[document.display] = document
    return found


def _each(reader: _Reader, paths: Iterable[Path], kind: str, build: Callable[[Document], Any]) -> list[Any]:
    return [build(d) for d in _documents(reader, paths, kind).values()]


def _data(document: Document | None, key: str) -> dict[str, Any]:
    if document is None:
        return {}
    value = document.data.get(key, {})
    return value if isinstance(value, dict) else {}


def _list(document: Document | None, key: str) -> list[Any]:
    if document is None:
        return []
    value = document.data.get(key, [])
    return value if isinstance(value, list) else []


def topic_of_case(display: str) -> str:
    """tests/cases/<topic>/<id>.yaml -> <topic>."""
    parts = Path(display).parts
    return parts[-2] if len(parts) >= 2 else ""


def load_case_file(
    path: Path, root: Path, guidelines: GuidelineSet
) -> tuple[Case | None, Document | None, list[Problem]]:
    """Load one case file given on the command line (inside or outside tests/cases)."""
    reader = _Reader(root, Schemas.load(root / "schema"), confine=False)
    document = reader.read(path, "case") if _is_yaml_or_json(path) else None
    if document is None and not reader.problems:
        reader.problems.append(Problem(Location(str(path)), "a case file must end in .yaml, .yml or .json", "E-FILE"))
    case = case_from(document.data, document.display, topic_of_case(document.display)) if document else None
    return case, document, reader.problems


def _is_yaml_or_json(path: Path) -> bool:
    return path.suffix in (*YAML_SUFFIXES, ".json")


__all__ = ["Loaded", "Rule", "SourceTrace", "Topic", "find_root", "load_case_file", "load_repository"]
