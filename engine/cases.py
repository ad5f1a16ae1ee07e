"""Case fixtures -> outcomes (PASS / FAIL / ERROR / SKIP), serially or across processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.errors import EngineError, InputError, Location, Problem
from engine.expect import render_diff, unmet
from engine.facts import normalize_facts
from engine.loader import Document
from engine.model import Case, GuidelineSet
from engine.result import Result

Status = Literal["pass", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skip")
#: Below this many cases, starting worker processes costs more than it saves. Measured here
#: (100 rules, 2 CPUs): starting two spawned workers took about 2 s, a case about 3–13 ms,
#: so two workers break even at roughly 300 cases.
PARALLEL_THRESHOLD = 500


class EvaluatorLike(Protocol):
    """What the runner needs of engine.evaluate.Evaluator."""

    def evaluate(self, case: Case, *, explain: bool = False) -> Result: ...


EvaluatorFactory = Callable[[GuidelineSet], EvaluatorLike]
Progress = Callable[[int, int], None]


def default_evaluator(guidelines: GuidelineSet) -> EvaluatorLike:
    # Imported here so that loading, matching and reporting never start durable_rules.
    from engine.evaluate import Evaluator

    evaluator: EvaluatorLike = Evaluator(guidelines)
    return evaluator


@dataclass(frozen=True)
class CaseOutcome:
    """What running one case gave: its status, why, and the result (kept for coverage)."""

    case_id: str
    topic: str
    path: str
    status: Status
    messages: tuple[str, ...] = ()
    result: Result | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)  # the given facts, in dictionary units
    diff: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.case_id, "topic": self.topic, "path": self.path,
                                "status": self.status, "messages": list(self.messages)}
        if self.diff:
            body["diff"] = self.diff
        if self.result is not None:
            body["result"] = self.result.as_dict()
        return body


@dataclass(frozen=True)
class Job:
    """A case ready to evaluate: its facts passed the dictionary's checks."""

    case: Case
    facts: Mapping[str, Any]


def prepare(case: Case, guidelines: GuidelineSet, document: Document | None = None) -> Job | CaseOutcome:
    """SKIP and invalid facts are decided here, before any engine runs."""
    if case.skip:
        return _outcome(case, "skip", (case.skip,))
    locate = document.at if document else (lambda _path: Location(case.path))
    facts, problems = normalize_facts(case.facts, guidelines.facts, locate)
    if problems:
        return _outcome(case, "error", tuple(str(p) for p in problems))
    return Job(case, facts)


def _outcome(case: Case, status: Status, messages: tuple[str, ...], **extra: Any) -> CaseOutcome:
    return CaseOutcome(case.id, case.topic, case.path, status, messages, **extra)


def evaluate_job(evaluator: EvaluatorLike, job: Job, guidelines: GuidelineSet) -> CaseOutcome:
    """Run one case and compare with its expectations; never raises for a bad case."""
    case = job.case
    try:
        result = evaluator.evaluate(case)
        failures = unmet(case.expect, result)
        if not failures:
            return _outcome(case, "pass", (), result=result, facts=job.facts)
        explained = evaluator.evaluate(case, explain=True)  # only failures pay for the explanation
    except InputError as exc:
        return _outcome(case, "error", tuple(str(p) for p in exc.problems) or (str(exc),))
    except Exception as exc:  # one broken case must not stop the run; it is reported as ERROR
        return _outcome(case, "error", (f"the engine could not evaluate this case: {type(exc).__name__}: {exc}",))
    diff = render_diff(case, explained, guidelines)
    return _outcome(case, "fail", tuple(failures), result=result, facts=job.facts, diff=diff)


def load_error_outcomes(problems: Iterable[Problem]) -> list[CaseOutcome]:
    """Case files that did not load or match the schema: one ERROR per file, never silently dropped."""
    by_path: dict[str, list[str]] = {}
    for problem in problems:
        by_path.setdefault(problem.location.path, []).append(str(problem))
    return [CaseOutcome(Path(p).stem, Path(p).parent.name, p, "error", tuple(m)) for p, m in sorted(by_path.items())]


def choose_jobs(count: int, requested: int | None = None) -> int:
    """Processes to use: as asked, else every CPU for big runs, else one."""
    cpus = os.cpu_count() or 1
    if requested is not None:
        return max(1, min(requested, count or 1))
    return min(cpus, count) if count >= PARALLEL_THRESHOLD and cpus > 1 else 1


def run_cases(
    guidelines: GuidelineSet,
    cases: Sequence[Case],
    *,
    documents: Mapping[str, Document] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    factory: EvaluatorFactory = default_evaluator,
) -> list[CaseOutcome]:
    """Every case's outcome, in the order given, identical whatever the number of processes."""
    prepared = [prepare(c, guidelines, (documents or {}).get(c.path)) for c in cases]
    todo = [p for p in prepared if isinstance(p, Job)]
    workers = choose_jobs(len(todo), jobs)
    evaluated = _parallel(guidelines, todo, workers, factory) if workers > 1 else _serial(guidelines, todo, factory)
    done = iter(evaluated)
    outcomes: list[CaseOutcome] = []
    for item in prepared:
        outcomes.append(next(done) if isinstance(item, Job) else item)
        if progress:
            progress(len(outcomes), len(prepared))
    return outcomes


def _serial(guidelines: GuidelineSet, todo: list[Job], factory: EvaluatorFactory) -> Iterator[CaseOutcome]:
    if not todo:
        return
    evaluator = factory(guidelines)  # built only when a case needs it: compiling starts the engine
    for job in todo:
        yield evaluate_job(evaluator, job, guidelines)


# One evaluator per worker process: durable_rules keeps global state and timer
# threads per Host and never releases the GIL, so processes, not threads.
_WORKER: tuple[EvaluatorLike, GuidelineSet] | str | None = None


def _start_worker(guidelines: GuidelineSet, factory: EvaluatorFactory) -> None:
    global _WORKER
    try:
        _WORKER = (factory(guidelines), guidelines)
    except Exception as exc:  # kept as text: re-raised per case, as an error the parent can unpickle
        _WORKER = f"the engine could not start: {exc}"


def _run_in_worker(job: Job) -> CaseOutcome:
    if not isinstance(_WORKER, tuple):
        raise EngineError(_WORKER or "the worker initializer did not run")
    evaluator, guidelines = _WORKER
    return evaluate_job(evaluator, job, guidelines)


def _parallel(
    guidelines: GuidelineSet, todo: list[Job], workers: int, factory: EvaluatorFactory
) -> Iterator[CaseOutcome]:
    # spawn, not fork: forking a process that already runs durable_rules' timer threads can deadlock.
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(todo) // (workers * 8))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(guidelines, factory)) as pool:
        yield from pool.map(_run_in_worker, todo, chunksize=chunk)  # map keeps the input order


def counts(outcomes: Iterable[CaseOutcome]) -> dict[str, int]:
    found: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for outcome in outcomes:
        found[outcome.status] += 1
    return found


def by_topic(outcomes: Iterable[CaseOutcome]) -> dict[str, dict[str, int]]:
    """pass / fail / error / skip counts for each topic, topics sorted."""
    grouped: dict[str, list[CaseOutcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.topic or "(no topic)", []).append(outcome)
    return {topic: counts(grouped[topic]) for topic in sorted(grouped)}


def succeeded(outcomes: Sequence[CaseOutcome]) -> bool:
    """A run succeeds when it found cases and none failed or could not run."""
    return bool(outcomes) and not any(o.status in ("fail", "error") for o in outcomes)


