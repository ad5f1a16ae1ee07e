"""Load + schema + semantic checks of a repository, as one report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.checks import run_checks
from engine.errors import Problem
from engine.reading import collector_paused
from engine.repository import Loaded, load_repository


@dataclass(frozen=True)
class ValidationReport:
    problems: tuple[Problem, ...]
    files: int
    rules: int
    cases: int
    loaded: Loaded


def validate_repository(
    root: Path, *, only: Sequence[Path] = (), today: dt.date | None = None
) -> ValidationReport:
    """Every problem of the repository; with `only`, those inside the given files or folders."""
    with collector_paused():
        loaded = load_repository(root)
        problems = [*loaded.problems, *run_checks(loaded, today)]
    if only:
        problems = [p for p in problems if _inside(root / p.location.path, only)]
    return ValidationReport(tuple(problems), loaded.files, len(loaded.guidelines.rules),
                            len(loaded.cases), loaded)


def _inside(path: Path, only: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == o or o in resolved.parents for o in only)
