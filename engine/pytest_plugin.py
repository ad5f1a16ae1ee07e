"""Patient cases as pytest items: each file under tests/cases/ is one test, `-k` selects by id or topic.

Registered by tests/conftest.py (`pytest_plugins = ["engine.pytest_plugin"]`) or with
`pytest -p engine.pytest_plugin`. The repository is loaded, and the rules compiled,
once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.case_select import Selection, select_cases
from engine.cases import CaseOutcome, EvaluatorLike, default_evaluator, evaluate_job, prepare
from engine.errors import GuidelineError, RepositoryNotFound
from engine.model import Case
from engine.repository import CASES_DIR, YAML_SUFFIXES, find_root


@dataclass
class _Repository:
    """One repository's loaded cases and (built on first use) its evaluator, shared by the session."""

    selection: Selection
    evaluator: EvaluatorLike | None = None
    by_path: dict[str, Case | CaseOutcome] = field(default_factory=dict)

    def get_evaluator(self) -> EvaluatorLike:
        if self.evaluator is None:
            self.evaluator = default_evaluator(self.selection.guidelines)
        return self.evaluator


_REPOSITORIES = pytest.StashKey[dict[Path, _Repository]]()


def _repository(config: pytest.Config, root: Path) -> _Repository:
    cache = config.stash.setdefault(_REPOSITORIES, {})
    if root not in cache:
        selection = select_cases(root)
        found: dict[str, Case | CaseOutcome] = {c.path: c for c in selection.cases}
        found.update({o.path: o for o in selection.errors})
        cache[root] = _Repository(selection, by_path=found)
    return cache[root]


def _cases_root(file_path: Path) -> Path | None:
    """The repository root when the file is a case file under its tests/cases/, else None."""
    if file_path.suffix not in YAML_SUFFIXES or any(p.startswith(".") for p in file_path.parts):
        return None
    try:
        root = find_root(file_path.parent)
    except RepositoryNotFound:
        return None
    return root if (root / CASES_DIR) in file_path.resolve().parents else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    root = _cases_root(file_path)
    if root is None:
        return None
    file: CaseFile = CaseFile.from_parent(parent, path=file_path)
    file.repo_root = root
    return file


class CaseFile(pytest.File):
    """One case file: yields the single case it holds."""

    repo_root: Path

    def collect(self) -> Iterator[CaseItem]:
        repository = _repository(self.config, self.repo_root)
        display = self.path.resolve().relative_to(self.repo_root).as_posix()
        entry = repository.by_path.get(display)
        if entry is None:  # not loaded (for example a hidden folder): nothing to run
            return
        name = entry.id if isinstance(entry, Case) else entry.case_id
        item: CaseItem = CaseItem.from_parent(self, name=name)
        item.entry, item.repository = entry, repository
        topic = entry.topic
        if topic:
            item.extra_keyword_matches.add(topic)
        yield item


class CaseFailed(Exception):
    """Raised by a case item whose case fails or cannot run; carries the outcome to report."""

    def __init__(self, outcome: CaseOutcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


class CaseItem(pytest.Item):
    """One patient case, run through the evaluator and compared with what it expects."""

    entry: Case | CaseOutcome
    repository: _Repository

    def runtest(self) -> None:
        outcome = self._outcome()
        if outcome.status == "skip":
            pytest.skip(f"case says skip: {'; '.join(outcome.messages)}")
        if outcome.status != "pass":
            raise CaseFailed(outcome)

    def _outcome(self) -> CaseOutcome:
        if isinstance(self.entry, CaseOutcome):
            return self.entry
        selection = self.repository.selection
        job = prepare(self.entry, selection.guidelines)  # checked already: its facts have no located problem
        if isinstance(job, CaseOutcome):
            return job
        return evaluate_job(self.repository.get_evaluator(), job, selection.guidelines)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, GuidelineError):  # for example rules the engine cannot compile
            return f"the cases could not run: {excinfo.value}"
        if not isinstance(excinfo.value, CaseFailed):
            return str(super().repr_failure(excinfo, style=style))
        outcome = excinfo.value.outcome
        word = "FAIL" if outcome.status == "fail" else "ERROR (the case could not be evaluated)"
        lines = [f"{word}: case {outcome.case_id} ({outcome.path})", *(f"  - {m}" for m in outcome.messages)]
        return "\n".join([*lines, outcome.diff] if outcome.diff else lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"case {self.name}"

