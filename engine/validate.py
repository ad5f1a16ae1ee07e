"""Load + schema + semantic checks of a repository, as one report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.checks import CASE_CHECKS, RULE_CHECKS, Findings, findings_of, settled
from engine.errors import Problem
from engine.reading import collector_paused
from engine.repository import Loaded, load_repository


@dataclass(frozen=True)
class ValidationReport:
    problems: tuple[Problem, ...]
    files: int
    rules: int
    cases: int
    loaded: Loaded  # `cases` only with keep_cases (see validate_repository); `case_findings` holds one per valid case


def validate_repository(
    root: Path, *, only: Sequence[Path] = (), today: dt.date | None = None,
    with_cases: bool = True, keep_cases: bool = False,
) -> ValidationReport:
    """Every problem of the repository; with `only`, those inside the given files or folders.

    Without `with_cases` the case files are not read (nor reported on); with `keep_cases` the
    report's `loaded` holds the cases too (the site shows them).
    """
    day = today or dt.date.today()
    found: Findings = {}
    with collector_paused():
        # The rule checks run while helper processes read the cases (see engine.reading).
        # By default only the cases' findings are kept: the checks need no more, and at 50,000
        # cases the cases themselves would be most of what the helpers send back.
        loaded = load_repository(root, with_cases=with_cases, keep_cases=keep_cases,
                                 meanwhile=lambda rules: found.update(findings_of(rules, day, RULE_CHECKS)))
        found.update(findings_of(loaded, day, CASE_CHECKS))
        problems = [*loaded.problems, *settled(loaded, found)]
    if only:
        problems = [p for p in problems if _inside(root / p.location.path, only)]
    return ValidationReport(tuple(problems), loaded.files, len(loaded.guidelines.rules),
                            len(loaded.case_findings), loaded)


def _inside(path: Path, only: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == o or o in resolved.parents for o in only)
