"""Options and error handling shared by every sub-command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from engine.errors import GuidelineError
from engine.repository import find_root


def add_repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo", type=Path, default=None, metavar="PATH",
        help="the guideline repository to act on (default: found upward from the current directory)",
    )


def add_format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")) -> None:
    parser.add_argument("--format", choices=choices, default="text", help="output for people (text) or machines")


def repository_root(args: argparse.Namespace) -> Path:
    return find_root(args.repo if args.repo is not None else Path.cwd())


def run_safely(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; our errors become one line on stderr and exit 2, never a traceback."""
    try:
        return handler(args)
    except GuidelineError as exc:
        print(f"guideline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("guideline: interrupted; nothing was written", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as exc:  # last resort: a bug of ours must still not show a traceback to an editor
        print(f"guideline: internal error: {type(exc).__name__}: {exc} "
              "(please report this, with the command you ran)", file=sys.stderr)
        return 2
