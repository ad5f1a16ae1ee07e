"""Case fixtures -> outcomes (PASS / FAIL / ERROR / SKIP), serially or across processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.errors import EngineError, InputError, Location, Problem
from engine.expect import render_diff, unmet
from engine.facts import normalize_facts
from engine.loader import Document
from engine.model import Case, GuidelineSet
from engine.report import dumps
from engine.result import Result
from engine.site_outcomes import SiteView, site_view

Status = Literal["pass", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skip")
#: Below this many cases, starting worker processes costs more than it saves. Measured here
#: (100 rules, 2 CPUs): starting two spawned workers took about 2 s, a case about 3–13 ms,
#: so two workers break even at roughly 300 cases.
PARALLEL_THRESHOLD = 500
#: Cases sent to a worker at once: enough to make the cost of a message small beside the cases',
#: few enough that a chunk's results (a JSON form is about 200 KB at 1,000 rules) stay small.
MAX_CHUNK = 16
#: Chunks in flight per worker: one running, one waiting; more would only hold memory.
IN_FLIGHT = 2


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
class Keep:
    """What a run keeps of each evaluated case besides its status, messages and diff.

    A whole Result (trace included) takes megabytes at 1,000 rules: kept for every case it took
    all the machine's memory on big runs. So nothing more is kept unless asked for, and what is
    asked for travels back from the worker processes in its smallest form.
    """

    results: bool = False  # outcome.result and outcome.facts: the whole Result and the given facts
    seen: bool = False     # outcome.seen: what the coverage gates read
    json: bool = False     # outcome.json_text: the outcome's JSON form, result included
    site: int | None = None  # outcome.site: what the site shows, each list at most this long


@dataclass(frozen=True)
class Seen:
    """What one evaluated case shows coverage: its facts (given and derived), which rules fired,
    and which facts a result asked for."""

    facts: Mapping[str, Any]
    fired: frozenset[str]
    needs: frozenset[str]


def seen_in(result: Result, facts: Mapping[str, Any]) -> Seen:
    """The coverage view of a result, given the case's facts in dictionary units."""
    fired = {s.rule for s in result.trace if s.outcome == "fired"}
    fired |= {r.rule for r in result.recommendations} | {s.recommendation.rule for s in result.suppressed}
    needs = {fact for need in result.needs_data for fact in need.facts}
    return Seen({**facts, **result.derived}, frozenset(fired), frozenset(needs))


@dataclass(frozen=True)
class CaseOutcome:
    """What running one case gave: its status and why; the rest only when the run keeps it (see Keep)."""

    case_id: str
    topic: str
    path: str
    status: Status
    messages: tuple[str, ...] = ()
    result: Result | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)  # the given facts, in dictionary units
    diff: str = ""
    seen: Seen | None = None
    json_text: str = ""  # dumps(as_dict()) with the result, rendered where the case ran
    site: SiteView | None = None  # what the site shows of the result (engine.outcome_store saves it)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.case_id, "topic": self.topic, "path": self.path,
                                "status": self.status, "messages": list(self.messages)}
        if self.diff:
            body["diff"] = self.diff
        if self.result is not None:
            body["result"] = self.result.as_dict()
        return body

    def as_json(self) -> str:
        """The JSON form (engine.report.dumps of as_dict), rendered in the worker when the run kept it."""
        return self.json_text or dumps(self.as_dict())

    def slim(self) -> CaseOutcome:
        """This outcome without what a long run must not hold for every case (result, facts, views, JSON)."""
        return dataclasses.replace(self, result=None, facts={}, seen=None, json_text="", site=None)


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


def evaluate_job(evaluator: EvaluatorLike, job: Job, guidelines: GuidelineSet, keep: Keep = Keep()) -> CaseOutcome:
    """Run one case and compare with its expectations; never raises for a bad case."""
    case = job.case
    try:
        result = evaluator.evaluate(case)
        failures = unmet(case.expect, result)
        if not failures:
            return _kept(_outcome(case, "pass", (), result=result, facts=job.facts), keep, case)
        explained = evaluator.evaluate(case, explain=True)  # only failures pay for the explanation
    except InputError as exc:
        return _outcome(case, "error", tuple(str(p) for p in exc.problems) or (str(exc),))
    except Exception as exc:  # one broken case must not stop the run; it is reported as ERROR
        return _outcome(case, "error", (f"the engine could not evaluate this case: {type(exc).__name__}: {exc}",))
    diff = render_diff(case, explained, guidelines)
    return _kept(_outcome(case, "fail", tuple(failures), result=result, facts=job.facts, diff=diff), keep, case)


def _kept(full: CaseOutcome, keep: Keep, case: Case) -> CaseOutcome:
    """The outcome with only what the run keeps; the views are made here, where the Result is."""
    seen = seen_in(full.result, full.facts) if keep.seen and full.result is not None else None
    rendered = dumps(full.as_dict()) if keep.json else ""
    shown = site_view(case, full.result, keep.site) if keep.site is not None and full.result else None
    kept = full if keep.results else full.slim()
    return dataclasses.replace(kept, seen=seen, json_text=rendered, site=shown)


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
    keep: Keep = Keep(),
) -> list[CaseOutcome]:
    """Every case's outcome, in the order given, identical whatever the number of processes."""
    return list(iter_outcomes(guidelines, cases, documents=documents, jobs=jobs, progress=progress,
                              factory=factory, keep=keep))


def iter_outcomes(
    guidelines: GuidelineSet,
    cases: Sequence[Case],
    *,
    documents: Mapping[str, Document] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    factory: EvaluatorFactory = default_evaluator,
    keep: Keep = Keep(),
) -> Iterator[CaseOutcome]:
    """run_cases one outcome at a time: cases are prepared and sent to the workers a few at a time,
    so a run holds a bounded number of cases and results however many cases it has."""
    prepared = (prepare(c, guidelines, (documents or {}).get(c.path)) for c in cases)
    workers = choose_jobs(sum(not c.skip for c in cases), jobs)
    if workers > 1:
        done = _parallel(guidelines, prepared, workers, factory, keep, _chunk_size(len(cases), workers))
    else:
        done = _serial(guidelines, prepared, factory, keep)
    for count, outcome in enumerate(done, 1):
        if progress:
            progress(count, len(cases))
        yield outcome


def _chunk_size(count: int, workers: int) -> int:
    """About eight chunks per worker for small runs (even loads), at most MAX_CHUNK cases each."""
    return max(1, min(MAX_CHUNK, count // (workers * 8)))


def _serial(guidelines: GuidelineSet, prepared: Iterable[Job | CaseOutcome], factory: EvaluatorFactory,
            keep: Keep) -> Iterator[CaseOutcome]:
    evaluator: EvaluatorLike | None = None  # built only when a case needs it: compiling starts the engine
    for item in prepared:
        if isinstance(item, CaseOutcome):
            yield item
            continue
        if evaluator is None:
            evaluator = factory(guidelines)
        yield evaluate_job(evaluator, item, guidelines, keep)


# One evaluator per worker process: durable_rules keeps global state and timer
# threads per Host and never releases the GIL, so processes, not threads.
_WORKER: tuple[EvaluatorLike, GuidelineSet] | str | None = None


def _start_worker(guidelines: GuidelineSet, factory: EvaluatorFactory) -> None:
    global _WORKER
    try:
        _WORKER = (factory(guidelines), guidelines)
    except Exception as exc:  # kept as text: re-raised per case, as an error the parent can unpickle
        _WORKER = f"the engine could not start: {exc}"


def _run_in_worker(chunk: list[Job | CaseOutcome], keep: Keep) -> list[CaseOutcome]:
    if not isinstance(_WORKER, tuple):
        raise EngineError(_WORKER or "the worker initializer did not run")
    evaluator, guidelines = _WORKER
    return [item if isinstance(item, CaseOutcome) else evaluate_job(evaluator, item, guidelines, keep)
            for item in chunk]


def _parallel(guidelines: GuidelineSet, prepared: Iterator[Job | CaseOutcome], workers: int,
              factory: EvaluatorFactory, keep: Keep, chunk: int) -> Iterator[CaseOutcome]:
    """Outcomes in the input order, with at most IN_FLIGHT chunks per worker sent and not yet read.

    Executor.map would submit every case at once and keep every result until it is read: the
    memory of the whole run. Outcomes already decided (SKIP, invalid facts) ride along in their chunk.
    """
    # spawn, not fork: forking a process that already runs durable_rules' timer threads can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(guidelines, factory)) as pool:
        pending: deque[Future[list[CaseOutcome]]] = deque()
        try:
            while batch := list(islice(prepared, chunk)):
                pending.append(pool.submit(_run_in_worker, batch, keep))
                if len(pending) >= workers * IN_FLIGHT:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:  # stopped early (an engine that cannot start, Ctrl-C): do not wait for the rest
            for future in pending:
                future.cancel()


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


