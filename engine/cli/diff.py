"""Compare the rules with a git revision: what changed clinically, version discipline, impact on cases.

Lists the rules added, changed, deprecated, retired or removed since REV
(default: where this branch left main), says what changed in clinical words,
checks that every changed rule's version was bumped enough (MINOR for what a
rule does, PATCH for what it says) with a changelog entry, and runs every case
with the old and the new rules to show whose recommendations change.
Nothing in the work tree or the git index is changed.
"""

from __future__ import annotations

import argparse

from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.diff import diff_repository
from engine.diff_report import diff_json, diff_markdown, diff_text
from engine.revision import default_base

NAME = "diff"
HELP = "what changed since a git revision, in clinical words; version discipline; impact on cases"
_REPORTERS = {"text": diff_text, "json": diff_json, "markdown": diff_markdown}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser, ("text", "json", "markdown"))
    parser.add_argument("--base", metavar="REV", default=None,
                        help="the revision to compare with (default: git merge-base HEAD main)")
    parser.add_argument("--main", metavar="BRANCH", default="main",
                        help="the branch whose merge base is the default --base (default: main)")
    parser.add_argument("--no-impact", action="store_true", help="skip running the cases (faster)")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    base = args.base or default_base(root, args.main)
    label = args.base or args.main
    report = diff_repository(root, base, impact=not args.no_impact, label=label)
    print(_REPORTERS[args.format](report))
    return 1 if report.failed else 0
