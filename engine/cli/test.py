"""Run the patient cases under tests/cases/ (or the files and folders given) and compare with what they expect.

Each case is PASS, FAIL (an expectation is not met; the difference is shown),
ERROR (the case could not be evaluated, for example an invalid fact) or SKIP
(the case says `skip: reason`). A run that finds no cases fails.

With --coverage (whole runs only), also checks that every active rule fires in
some case, is missed narrowly in another, has each numeric threshold tested on
both sides, and that every fact tested for being unknown is missing in some case.
"""

from __future__ import annotations

import argparse
import heapq
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from engine import outcome_store
from engine.case_report import (
    JSON_HEAD,
    case_json,
    coverage_json,
    coverage_text,
    json_tail,
    outcomes_json,
    outcomes_text,
)
from engine.case_select import Selection, select_cases
from engine.cases import PARALLEL_THRESHOLD, CaseOutcome, Keep, Progress, iter_outcomes, succeeded
from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.coverage import Coverage, Tally
from engine.errors import GuidelineError, Problem

NAME = "test"
HELP = "run the patient cases; report PASS / FAIL / ERROR / SKIP per case (and coverage gates with --coverage)"
DEFAULT_COVERAGE_JSON = Path("build") / "coverage.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser)
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="case files or folders to run (default: every case under tests/cases/)")
    parser.add_argument("--jobs", "-j", type=_positive, default=None, metavar="N",
                        help=f"worker processes (default: all CPUs from {PARALLEL_THRESHOLD} cases on, else 1)")
    parser.add_argument("--progress", action="store_true",
                        help="show a progress bar on stderr even when it is not a terminal")
    parser.add_argument("--verbose", "-v", action="store_true", help="list passing and skipped cases too")
    parser.add_argument("--coverage", action="store_true",
                        help="check the coverage gates and print the per-rule table (whole runs only)")
    parser.add_argument("--coverage-json", type=Path, default=None, metavar="PATH",
                        help=f"where --coverage writes its table as JSON (default: {DEFAULT_COVERAGE_JSON} "
                             "in the repository)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("the number of processes must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    # Taken before the files are read: one changed while they are read then makes the store
    # stale (the site reads again), never trusted with results from the file as it was.
    digest = None if args.paths else outcome_store.fingerprint(root)
    selection = select_cases(root, args.paths)
    # A rule file that cannot be read leaves the cases running without that rule: never a pass.
    broken = [p for p in selection.other_problems if p.severity == "error"]
    _warn_about(broken)
    tally = Tally(selection.guidelines) if args.coverage and selection.full else None
    store = outcome_store.StoreWriter(selection.root, selection.cases, digest) if selection.full else None
    # Each case's JSON waits in a temporary file, not on stdout: a run that stops midway prints no
    # half a document, and memory stays flat however many cases there are.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as cases_json:
        try:
            outcomes = _outcomes(selection, args, tally, store, cases_json)
        except BaseException:  # Ctrl-C or an engine that cannot start: leave no half-written store behind
            if store is not None:
                store.abandon()
            raise
        if store is not None and (why_not := store.finish()):
            print(f"note: the site build will evaluate the cases itself: {why_not}", file=sys.stderr)
        if not outcomes:
            message = f"no cases found (looked in {', '.join(selection.looked_in)})"
            print(f"FAIL: {message}", file=sys.stderr)
            if args.format == "json":
                print(outcomes_json([], message=message, problems=broken))
            return 1
        coverage = _coverage(selection, tally, args)
        _report(outcomes, coverage, broken, args, cases_json)
    return 0 if succeeded(outcomes) and not (coverage and coverage.gaps) and not broken else 1


def _report(outcomes: list[CaseOutcome], coverage: Coverage | None, broken: list[Problem],
            args: argparse.Namespace, cases_json: TextIO) -> None:
    if args.format == "json":  # each case's JSON was written as it finished (_outcomes)
        sys.stdout.write(JSON_HEAD)
        cases_json.seek(0)
        shutil.copyfileobj(cases_json, sys.stdout)
        print(json_tail(outcomes, coverage, problems=broken))
        return
    for problem in broken:
        print(problem)
    print(outcomes_text(outcomes, verbose=args.verbose))
    if coverage is not None:
        print(coverage_text(coverage))


def _outcomes(selection: Selection, args: argparse.Namespace, tally: Tally | None,
              store: outcome_store.StoreWriter | None, cases_json: TextIO) -> list[CaseOutcome]:
    """Every outcome in path order. Each case's coverage view, site view and JSON are used as it
    finishes and then dropped, so a run holds little per case however many cases it has."""
    progress = _progress_bar() if args.progress or sys.stderr.isatty() else None
    keep = Keep(seen=tally is not None, json=args.format == "json", site=store.limit if store else None)
    cases = sorted(selection.cases, key=lambda c: c.path)  # path order: the order of the report
    ran = iter_outcomes(selection.guidelines, cases, jobs=args.jobs, progress=progress, keep=keep)
    outcomes: list[CaseOutcome] = []
    for outcome in heapq.merge(ran, selection.errors, key=lambda o: o.path):
        if tally is not None and outcome.seen is not None:
            tally.add(outcome.seen)
        if store is not None:
            store.add(outcome)
        if args.format == "json":
            cases_json.write(case_json(outcome, first=not outcomes))
        outcomes.append(outcome.slim())
    if progress:
        print(file=sys.stderr)
    return outcomes


def _coverage(selection: Selection, tally: Tally | None, args: argparse.Namespace) -> Coverage | None:
    if not args.coverage:
        return None
    if not selection.full or tally is None:
        print("note: coverage gates apply only to a run of every case; run without PATH", file=sys.stderr)
        return None
    coverage = tally.coverage()
    target = args.coverage_json or selection.root / DEFAULT_COVERAGE_JSON
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(coverage_json(coverage) + "\n", encoding="utf-8")
    except OSError as exc:
        raise GuidelineError(f"cannot write the coverage table to {target}: {exc.strerror or exc}") from None
    return coverage


def _warn_about(broken: list[Problem]) -> None:
    if broken:
        print(f"error: {len(broken)} problem(s) in the rules or dictionaries; the cases ran without the "
              "files that could not be read, so the run fails (fix them; see `guideline validate`)",
              file=sys.stderr)


def _progress_bar(width: int = 30) -> Progress:
    """A plain bar on stderr, redrawn only when it changes."""
    last = [-1]

    def show(done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        if filled != last[0] or done == total:
            last[0] = filled
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} cases")
            sys.stderr.flush()

    return show
