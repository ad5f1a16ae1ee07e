"""Which cases a run covers: the whole of tests/cases/, or the files and folders given."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.case_checks import CaseFindings, case_findings
from engine.cases import CaseOutcome, load_error_outcomes
from engine.checks import Context, check_cases
from engine.errors import GuidelineError, Problem
from engine.loader import Document
from engine.model import Case, GuidelineSet
from engine.repository import CASES_DIR, Loaded, case_vocabulary, load_case_file, load_repository, yaml_files

CASES_FOLDER = CASES_DIR.as_posix()


@dataclass(frozen=True)
class Selection:
    """Runnable cases, case files that cannot run (as ERROR outcomes), and where we looked.

    The parsed case files (and their line maps) are not kept: every problem they could locate
    was found by the case checks, whose cases are among the errors. At 50,000 cases they would
    be most of the run's memory.
    """

    root: Path
    guidelines: GuidelineSet
    cases: tuple[Case, ...]
    errors: tuple[CaseOutcome, ...]
    looked_in: tuple[str, ...]
    full: bool
    other_problems: tuple[Problem, ...] = ()  # problems outside the cases (rules, dictionaries)


def select_cases(root: Path, paths: Sequence[Path] = ()) -> Selection:
    """Load the repository and pick the cases; a path that does not exist is a usage error."""
    loaded = load_repository(root)
    cases, documents, load_problems = _pick(loaded, [p.resolve() for p in paths])
    checked = _check(loaded, cases, documents)
    errors = tuple(sorted((*load_error_outcomes(load_problems), *checked), key=lambda o: o.path))
    bad = {o.path for o in errors}
    runnable = tuple(c for c in cases if c.path not in bad)
    others = tuple(p for p in loaded.problems if not _is_case_file(p.location.path))
    looked = tuple(_shown(p, root) for p in paths) or (f"{root / CASES_DIR}",)
    return Selection(root, loaded.guidelines, runnable, errors, looked, not paths, others)


def _pick(loaded: Loaded, paths: list[Path]) -> tuple[list[Case], dict[str, Document], list[Problem]]:
    case_problems = [p for p in loaded.problems if _is_case_file(p.location.path)]
    if not paths:
        return list(loaded.cases), dict(loaded.case_documents), case_problems
    for path in paths:
        if not path.exists():
            raise GuidelineError(f"no such file or folder: {path}")
    inside = [c for c in loaded.cases if _within(loaded.root / c.path, paths)]
    problems = [p for p in case_problems if _within(loaded.root / p.location.path, paths)]
    documents: dict[str, Document] = {}  # only files read here: those of tests/cases/ were checked when read
    seen = {(loaded.root / c.path).resolve() for c in inside} | {(loaded.root / p.location.path).resolve()
                                                                  for p in problems}
    for extra in _files(paths):
        if extra not in seen:
            _load_extra(extra, loaded, inside, documents, problems)
    return inside, documents, problems


def _load_extra(path: Path, loaded: Loaded, cases: list[Case], documents: dict[str, Document],
                problems: list[Problem]) -> None:
    """A case file outside tests/cases/, named on the command line."""
    case, document, found = load_case_file(path, loaded.root, loaded.guidelines)
    problems.extend(found)
    if case is not None and document is not None:
        cases.append(case)
        documents[case.path] = document


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found += [p.resolve() for p in yaml_files(path)] if path.is_dir() else [path]
    return sorted(set(found))


def _within(path: Path, paths: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == p or p in resolved.parents for p in paths)


def _is_case_file(display: str) -> bool:
    return display.startswith(CASES_FOLDER + "/")


def _check(loaded: Loaded, cases: list[Case], documents: dict[str, Document]) -> list[CaseOutcome]:
    """The repository's own case checks (ids, file names, facts, subjects, rule ids) as ERROR outcomes."""
    scoped = dataclasses.replace(loaded, cases=tuple(cases), case_documents=documents,
                                 case_findings=_findings(loaded, cases, documents))
    by_path: dict[str, list[str]] = {}
    for problem in check_cases(Context(scoped, dt.date.today())):
        by_path.setdefault(problem.location.path, []).append(str(problem))
    return [CaseOutcome(c.id, c.topic, c.path, "error", tuple(by_path[c.path])) for c in cases if c.path in by_path]


def _findings(loaded: Loaded, cases: list[Case], documents: dict[str, Document]) -> dict[str, CaseFindings]:
    """Each picked case's findings: found when read for tests/cases/, found now for a file named on its own."""
    vocabulary = case_vocabulary(loaded) if documents else None
    found: dict[str, CaseFindings] = {}
    for case in cases:
        findings = loaded.case_findings.get(case.path)
        if findings is None:
            assert vocabulary is not None, case.path  # read here, not from tests/cases/: its document is at hand
            findings = case_findings(case, documents[case.path].at, vocabulary)
        found[case.path] = findings
    return found


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
