"""Finds the repository root, loads every file, runs the schemas, builds the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.case_checks import CaseFindings, CaseVocabulary, case_of, topic_of_case
from engine.errors import Location, Problem, RepositoryNotFound
from engine.loader import Document
from engine.model import (
    Case,
    GuidelineSet,
    Rule,
    SourceTrace,
    Subject,
    Topic,
    disagreement_from,
    fact_from,
    reference_from,
    rule_from,
    source_from,
    valueset_from,
)
from engine.reading import FileRead, Job, collector_paused, read_cases, read_file, read_many
from engine.schema import Schemas

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
    #: Documents of case files read on their own (named on the command line); those of
    #: tests/cases/ are dropped once read and checked, their findings kept in `case_findings`.
    case_documents: dict[str, Document] = field(default_factory=dict)
    case_findings: dict[str, CaseFindings] = field(default_factory=dict)
    case_files: int = 0  # case files of tests/cases/ that parsed (their documents are not kept)

    @property
    def files(self) -> int:
        """How many files were read and parsed."""
        return len(self.documents) + self.case_files


class _Reader:
    """Loads and schema-checks files of one repository, collecting problems instead of stopping."""

    def __init__(self, root: Path, schemas: Schemas, *, confine: bool = True) -> None:
        self.root = root
        self.confine_to = root.resolve() if confine else None
        self.schemas = schemas
        self.problems: list[Problem] = []
        self.documents: dict[str, Document] = {}
        self.read_ahead: dict[tuple[Path, str], FileRead] = {}

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read_ahead_of(self, paths_by_kind: Iterable[tuple[Iterable[Path], str]]) -> None:
        """Read these files now (on every core when they are many); `read` then records each in turn."""
        jobs = [Job(path, self.display(path), kind) for paths, kind in paths_by_kind for path in paths]
        reads = read_many(jobs, self.schemas, self.confine_to)
        self.read_ahead.update(((job.path, job.kind), read) for job, read in zip(jobs, reads, strict=True))

    def read(self, path: Path, kind: str) -> Document | None:
        """The document if it parsed and matched its schema, else None (problems recorded)."""
        found = self.read_ahead.pop((path, kind), None)
        if found is None:
            found = read_file(Job(path, self.display(path), kind), self.schemas, self.confine_to)
        if found.document is not None:
            self.documents[found.document.display] = found.document
        self.problems.extend(found.problems)
        return found.accepted

    def read_optional(self, path: Path, kind: str) -> Document | None:
        if not path.exists() and not path.is_symlink():
            self.problems.append(Problem(Location(self.display(path)), "this file is missing", "E-MISSING-FILE"))
            return None
        return self.read(path, kind)


def yaml_files(folder: Path | None) -> list[Path]:
    """Every YAML file under `folder`, sorted, hidden files and READMEs left out."""
    if folder is None or not folder.is_dir():
        return []
    found = (p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and not _hidden(p, folder))
    return sorted(found)


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def load_repository(root: Path, *, with_cases: bool = True) -> Loaded:
    """Load everything; never raises for bad content, only records problems."""
    with collector_paused():
        return _load(root, with_cases)


def _load(root: Path, with_cases: bool) -> Loaded:
    reader = _Reader(root, Schemas.load(root / "schema"))
    g = root / "guidelines"
    facts_doc = reader.read_optional(g / "facts.yaml", "facts")
    subjects_doc = reader.read_optional(g / "subjects.yaml", "vocabulary")
    topics_doc = reader.read_optional(g / "topics.yaml", "vocabulary")
    refs_doc = reader.read_optional(g / "references.yaml", "references")
    disagreements_doc = reader.read(g / "disagreements.yaml", "disagreements") if (
        g / "disagreements.yaml"
    ).exists() else None
    folders = {kind: yaml_files(folder) for kind, folder in (
        ("valueset", g / "valuesets"), ("rule", g / "rules"), ("source", g / "sources"))}
    reader.read_ahead_of((paths, kind) for kind, paths in folders.items())
    valuesets = _each(reader, folders["valueset"], "valueset", lambda d: valueset_from(d.data))
    rule_docs = _documents(reader, folders["rule"], "rule")
    sources = _each(reader, folders["source"], "source", lambda d: source_from(d.data, d.display))
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
    loaded = Loaded(root, guidelines, (), reader.documents, reader.problems,
                    rule_documents={d.data["id"]: d for d in rule_docs.values()} if rule_docs else {})
    if with_cases:
        _read_cases(reader, yaml_files(root / CASES_DIR), loaded)
    return loaded


def _read_cases(reader: _Reader, paths: list[Path], loaded: Loaded) -> None:
    """Read, build and check every case file, keeping the cases and their findings, not their documents."""
    jobs = [Job(path, reader.display(path), "case") for path in paths]
    cases: list[Case] = []
    for read in read_cases(jobs, reader.schemas, reader.confine_to, case_vocabulary(loaded)):
        loaded.case_files += read.parsed
        reader.problems.extend(read.problems)
        if read.case is not None and read.findings is not None:
            cases.append(read.case)
            loaded.case_findings[read.case.path] = read.findings
    loaded.cases = tuple(cases)


def case_vocabulary(loaded: Loaded) -> CaseVocabulary:
    """What a case is checked against: the dictionary, the subjects and every rule id (readable or not)."""
    g = loaded.guidelines
    return CaseVocabulary(g.facts, frozenset(g.subjects),
                          frozenset({r.id for r in g.rules} | unreadable_rule_ids(loaded.problems)))


def unreadable_rule_ids(problems: Iterable[Problem]) -> set[str]:
    """Ids (file names) of rule files that did not load: their own problem is reported, so a
    reference to them is not also reported as an unknown rule."""
    return {Path(p.location.path).stem for p in problems
            if p.location.path.startswith("guidelines/rules/") and p.severity == "error"}


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


def load_case_file(
    path: Path, root: Path, guidelines: GuidelineSet
) -> tuple[Case | None, Document | None, list[Problem]]:
    """Load one case file given on the command line (inside or outside tests/cases)."""
    reader = _Reader(root, Schemas.load(root / "schema"), confine=False)
    document = reader.read(path, "case") if _is_yaml_or_json(path) else None
    if document is None and not reader.problems:
        reader.problems.append(Problem(Location(str(path)), "a case file must end in .yaml, .yml or .json", "E-FILE"))
    case = case_of(document) if document else None
    return case, document, reader.problems


def _is_yaml_or_json(path: Path) -> bool:
    return path.suffix in (*YAML_SUFFIXES, ".json")


__all__ = ["Loaded", "Rule", "SourceTrace", "Topic", "find_root", "load_case_file", "load_repository", "topic_of_case"]
