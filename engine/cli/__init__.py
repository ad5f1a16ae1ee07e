"""The `guideline` command: argument parsing and exit codes only; the work lives elsewhere.

Exit codes: 0 clean, 1 problems found or cases failing, 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine import __version__
from engine.cli import diff as diff_command
from engine.cli import evaluate, site, test, validate
from engine.cli import fmt as fmt_command
from engine.cli import new as new_command
from engine.cli.common import run_safely

#: Each command module has `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
COMMANDS = [
    validate,
    test,
    evaluate,
    site,
    diff_command,
    fmt_command,
    new_command,
]

EPILOG = """exit codes:
  0  success: no problems, every case passed
  1  problems found (invalid rules or cases, failing cases, broken version discipline)
  2  usage error or internal error

Every command works on the repository it is run in (found upward from the
current directory, as git does) or on --repo PATH."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guideline",
        description="Validate, run, test and publish the azathioprine guideline rules.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"guideline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        child = sub.add_parser(
            module.NAME, help=module.HELP, description=module.__doc__,
            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(child)
        child.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    return run_safely(args.handler, args)
