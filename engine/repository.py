"""Finds the repository root, loads every file, runs the schemas, builds the model."""

from __future__ import annotations

import os
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
from engine.reading import CaseTask, FileRead, Job, Reading, collector_paused
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

    def __init__(self, root: Path, reading: Reading) -> None:
        self.root = root
        self.reading = reading
        self.problems: list[Problem] = []
        self.documents: dict[str, Document] = {}
        self.read_ahead: dict[tuple[str, str], FileRead] = {}

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read_ahead_of(self, jobs: list[Job]) -> None:
        """Read these files now (on every core when they are many); `take` then records each in turn."""
        reads = self.reading.files(jobs)
        self.read_ahead.update(((job.path, job.kind), read) for job, read in zip(jobs, reads, strict=True))

    def read(self, path: Path, kind: str) -> Document | None:
        """The document if it parsed and matched its schema, else None (problems recorded)."""
        return self.take(Job(str(path), self.display(path), kind))

    def take(self, job: Job) -> Document | None:
        """`read` for a job, read ahead or not."""
        found = self.read_ahead.pop((job.path, job.kind), None) or self.reading.file(job)
        if found.document is not None:
            self.documents[found.document.display] = found.document
        self.problems.extend(found.problems)
        return found.accepted

    def read_optional(self, path: Path, kind: str) -> Document | None:
        if not path.exists() and not path.is_symlink():
            self.problems.append(Problem(Location(self.display(path)), "this file is missing", "E-MISSING-FILE"))
            return None
        return self.read(path, kind)

    def jobs(self, folder: Path, kind: str) -> list[Job]:
        """A job for every YAML file under `folder`, in yaml_files' order."""
        shown = self.display(folder)
        return [Job(f"{folder}/{name}", f"{shown}/{name}", kind) for name in yaml_names(folder)]


def yaml_files(folder: Path | None) -> list[Path]:
    """Every YAML file under `folder`, sorted, hidden files and READMEs left out."""
    return [folder / name for name in yaml_names(folder)] if folder is not None else []


def yaml_names(folder: Path | None) -> list[str]:
    """yaml_files as paths from `folder` written with `/`: what Path.rglob would find, without its cost.

    Folders that are symbolic links are listed but not entered, as rglob does; anything named
    like a YAML file is kept (a folder or a link too: reading it then says it is not a file).
    """
    if folder is None or not folder.is_dir():
        return []
    found: list[str] = []
    for place, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]  # what lies under them is hidden
        within = os.path.relpath(place, folder).replace(os.sep, "/")
        prefix = "" if within == "." else within + "/"
        found += [prefix + name for name in (*folders, *files) if name.endswith(YAML_SUFFIXES) and name[0] != "."]
    return sorted(found, key=lambda name: name.split("/"))  # part by part, as paths sort


#: Work to do on a repository loaded but for its cases, while helper processes read the cases.
Meanwhile = Callable[["Loaded"], None]


def load_repository(root: Path, *, with_cases: bool = True, keep_cases: bool = True,
                    meanwhile: Meanwhile | None = None) -> Loaded:
    """Load everything; never raises for bad content, only records problems.

    With `keep_cases` False the case files are read and checked (their findings kept) but their
    cases are not: `cases` stays empty (validate needs no more).

    `meanwhile`, if given, is called once with the repository loaded but for its cases (before
    they are read, or while helper processes read them): what it finds must not depend on cases.
    """
    with collector_paused():
        return _load(root, with_cases, keep_cases, meanwhile or (lambda _loaded: None))


def _load(root: Path, with_cases: bool, keep_cases: bool, meanwhile: Meanwhile) -> Loaded:
    schemas = Schemas.load(root / "schema")
    with Reading(schemas, root.resolve(), files=_count_files(root, with_cases)) as reading:
        return _load_with(_Reader(root, reading), with_cases, keep_cases, meanwhile)


def _count_files(root: Path, with_cases: bool) -> int:
    """About how many files a load reads: enough to decide whether helpers are worth starting."""
    g = root / "guidelines"
    return len(yaml_names(g / "rules")) + (len(yaml_names(root / CASES_DIR)) if with_cases else 0)


def _load_with(reader: _Reader, with_cases: bool, keep_cases: bool, meanwhile: Meanwhile) -> Loaded:
    root = reader.root
    g = root / "guidelines"
    facts_doc = reader.read_optional(g / "facts.yaml", "facts")
    subjects_doc = reader.read_optional(g / "subjects.yaml", "vocabulary")
    topics_doc = reader.read_optional(g / "topics.yaml", "vocabulary")
    refs_doc = reader.read_optional(g / "references.yaml", "references")
    disagreements_doc = reader.read(g / "disagreements.yaml", "disagreements") if (
        g / "disagreements.yaml"
    ).exists() else None
    folders = {kind: reader.jobs(folder, kind) for kind, folder in (
        ("valueset", g / "valuesets"), ("rule", g / "rules"), ("source", g / "sources"))}
    reader.read_ahead_of([job for jobs in folders.values() for job in jobs])
    valuesets = _each(reader, folders["valueset"], lambda d: valueset_from(d.data))
    rule_docs = _documents(reader, folders["rule"])
    sources = _each(reader, folders["source"], lambda d: source_from(d.data, d.display))
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
        _read_cases(reader, reader.jobs(root / CASES_DIR, "case"), loaded, keep_cases, meanwhile)
    else:
        meanwhile(loaded)
    return loaded


def _read_cases(reader: _Reader, jobs: list[Job], loaded: Loaded, keep: bool, meanwhile: Meanwhile) -> None:
    """Read, build and check every case file, keeping their findings (and their cases if `keep`),
    not their documents."""
    cases: list[Case] = []
    task = CaseTask(case_vocabulary(loaded), keep)
    for job, read in zip(jobs, reader.reading.cases(jobs, task, lambda: meanwhile(loaded)), strict=True):
        loaded.case_files += read.parsed
        reader.problems.extend(read.problems)
        if read.findings is not None:
            loaded.case_findings[job.display] = read.findings
        if read.case is not None:
            cases.append(read.case)
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


def _documents(reader: _Reader, jobs: Iterable[Job]) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for job in jobs:
        document = reader.take(job)
        if document is not None:
            found[document.display] = document
    return found


def _each(reader: _Reader, jobs: Iterable[Job], build: Callable[[Document], Any]) -> list[Any]:
    return [build(d) for d in _documents(reader, jobs).values()]


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
    reader = _Reader(root, Reading(Schemas.load(root / "schema"), None, files=1))
    document = reader.read(path, "case") if _is_yaml_or_json(path) else None
    if document is None and not reader.problems:
        reader.problems.append(Problem(Location(str(path)), "a case file must end in .yaml, .yml or .json", "E-FILE"))
    case = case_of(document) if document else None
    return case, document, reader.problems


def _is_yaml_or_json(path: Path) -> bool:
    return path.suffix in (*YAML_SUFFIXES, ".json")


__all__ = ["Loaded", "Rule", "SourceTrace", "Topic", "find_root", "load_case_file", "load_repository", "topic_of_case"]
