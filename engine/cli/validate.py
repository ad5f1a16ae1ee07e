"""Check every rule, case and dictionary file: schema, references, types, units, versions.

Prints one line per problem as path:line:col: message [code].
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.report import problems_json, problems_text
from engine.validate import validate_repository

NAME = "validate"
HELP = "check rules, cases and dictionaries; report every problem with its file and line"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser)
    parser.add_argument("--strict", action="store_true", help="treat warnings (such as overdue reviews) as errors")
    parser.add_argument("paths", nargs="*", type=Path, help="only report problems in these files or folders")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    report = validate_repository(root, only=[p.resolve() for p in args.paths])
    checked = f"{report.files} files ({report.rules} rules, {report.cases} cases)"
    if args.format == "json":
        print(problems_json(report.problems, checked))
    else:
        print(problems_text(report.problems, checked))
    failing = [p for p in report.problems if p.severity == "error" or args.strict]
    return 1 if failing else 0
