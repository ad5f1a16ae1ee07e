"""The site's own evaluation of every case, on every core, each result reduced as it arrives.

Used when no saved outcomes of `guideline test` match the repository (engine/outcome_store.py).
Not `engine.cases.run_cases`: that returns every full result at once, and the site must keep
only what its pages show (a result at thousands of rules lists hundreds of recommendations).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from engine.cases import choose_jobs
from engine.model import Case, GuidelineSet
from engine.result import Result
from engine.site_outcomes import Collector, SiteOutcomes, failed_everywhere

Evaluated = tuple[Result | None, str | None]  # a result, or why there is none


def evaluate_cases(g: GuidelineSet, cases: Sequence[Case], jobs: int | None = None) -> SiteOutcomes:
    """Every case's outcome; a case that cannot be evaluated says why, and a broken engine says so everywhere."""
    ordered = sorted(cases, key=lambda c: c.id)
    todo = [c for c in ordered if not c.skip]
    workers = choose_jobs(len(todo), jobs)
    try:
        results = _parallel(g, todo, workers) if workers > 1 else _serial(g, todo)
        collector = Collector(ordered)
        for case in ordered:
            collector.add(case, *((None, None) if case.skip else next(results)))
        return collector.finish()
    except _EngineDown as down:  # shown on every case: a broken engine must not hide the rules
        return failed_everywhere(cases, str(down))


class _EngineDown(Exception):
    """Raised here when the rule engine cannot start; the site then says so on every case."""


def _start(g: GuidelineSet) -> object:
    try:
        from engine.evaluate import Evaluator

        return Evaluator(g)
    except Exception as exc:
        raise _EngineDown(f"the rule engine could not start: {type(exc).__name__}: {exc}") from exc


def _evaluate(evaluator: object, case: Case) -> Evaluated:
    try:
        result: Result = evaluator.evaluate(case)  # type: ignore[attr-defined]
    except Exception as exc:  # shown on the page: one broken case must not stop the site
        return None, f"{type(exc).__name__}: {exc}"
    # The site reads only which rules fired from the trace: the rest is not sent between processes.
    fired = tuple(dataclasses.replace(t, facts=()) for t in result.trace if t.outcome == "fired")
    return dataclasses.replace(result, trace=fired, near_misses=(), derived={}), None


def _serial(g: GuidelineSet, todo: list[Case]) -> Iterator[Evaluated]:
    evaluator = _start(g) if todo else None
    for case in todo:
        yield _evaluate(evaluator, case)


# One evaluator per worker process: durable_rules keeps process-wide state and never releases the GIL.
_WORKER: object | str | None = None


def _start_worker(g: GuidelineSet) -> None:
    global _WORKER
    try:
        _WORKER = _start(g)
    except _EngineDown as down:
        _WORKER = str(down)


def _in_worker(case: Case) -> Evaluated:
    if isinstance(_WORKER, str) or _WORKER is None:
        return None, _WORKER or "the worker did not start"
    return _evaluate(_WORKER, case)


def _parallel(g: GuidelineSet, todo: list[Case], workers: int) -> Iterator[Evaluated]:
    # spawn, not fork: forking a process that already runs durable_rules' threads can deadlock.
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(todo) // (workers * 8))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(g,)) as pool:
        yield from pool.map(_in_worker, todo, chunksize=chunk)  # map keeps the input order
