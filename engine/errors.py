"""Locations, problems and the few exception types, each saying who raises it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: path relative to the repository, 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One finding about one place: what is wrong, in plain words, and how to fix it."""

    location: Location
    message: str
    code: str
    severity: Severity = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.location}: {tag}{self.message} [{self.code}]"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "col": self.location.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


class GuidelineError(Exception):
    """Base of our exceptions; the CLI turns any of them into a message and exit code 2."""


class InputError(GuidelineError):
    """Raised by the evaluator when a case cannot be evaluated; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class RepositoryNotFound(GuidelineError):
    """Raised by repository discovery when no guideline repository encloses the given path."""


class EngineError(GuidelineError):
    """Raised by the durable_rules runtime when the engine itself misbehaves."""
