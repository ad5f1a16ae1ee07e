"""Evaluate patient cases against the active rules and show what applies, and why.

Each CASE is a YAML or JSON file in the case format (tests/cases/README.md); its
`expect:` part, if any, is ignored. The output lists, per case: recommendations
grouped by action (what must not happen first) with strength, text, dose in
mg/day and sources; the rules that need more data and which facts; suppressed
recommendations and the rule that won; derived facts. --explain adds, for every
rule, why it applied or which tests failed.

examples:
  guideline evaluate examples/tpmt-absent-planned-start.yaml
  guideline evaluate --explain --format json examples/*.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.checks import run_checks
from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.errors import InputError, Problem
from engine.evaluate import Evaluator
from engine.report import problems_json, problems_text
from engine.repository import load_case_file, load_repository
from engine.result_text import result_text

NAME = "evaluate"
HELP = "run patient cases through the rules: recommendations, doses, needs-data, reasons"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser)
    parser.add_argument("--explain", action="store_true",
                        help="also show why each rule applied, and which tests failed for the others")
    parser.add_argument("cases", nargs="+", type=Path, metavar="CASE", help="patient case files (.yaml/.json)")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    loaded = load_repository(root, with_cases=False)
    broken = [p for p in [*loaded.problems, *run_checks(loaded)] if p.severity == "error"]
    if broken:
        return _refuse(args, broken, "the guidelines have problems; fix them (see `guideline validate`) first")
    try:
        evaluator = Evaluator(loaded.guidelines)
    except InputError as exc:
        return _refuse(args, exc.problems, "the rules cannot be compiled")
    outputs, problems = _evaluate_all(args, evaluator, root)
    if args.format == "json":
        print(problems_json(problems, f"{len(args.cases)} case file(s)", {"results": outputs}))
    else:
        texts = [str(o.pop("_text")) for o in outputs]
        print("\n\n".join([*texts, *([problems_text(problems, f"{len(args.cases)} case file(s)")]
                                     if problems else [])]))
    return 1 if problems else 0


def _evaluate_all(args: argparse.Namespace, evaluator: Evaluator, root: Path) -> tuple[
        list[dict[str, Any]], list[Problem]]:
    outputs: list[dict[str, Any]] = []
    problems: list[Problem] = []
    g = evaluator.guidelines
    for path in args.cases:
        case, document, found = load_case_file(path, root, g)
        if case is None or document is None:
            problems.extend(found or [])
            continue
        try:
            result = evaluator.evaluate(case, explain=args.explain, locate=document.at)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        body = {"path": document.display, **result.as_dict()}
        if args.format != "json":
            body["_text"] = result_text(result, g, title=case.title, explain=args.explain)
        outputs.append(body)
    return outputs, problems


def _refuse(args: argparse.Namespace, problems: list[Problem], why: str) -> int:
    if args.format == "json":
        print(problems_json(problems, why))
    else:
        print(problems_text(problems, why))
    return 1

