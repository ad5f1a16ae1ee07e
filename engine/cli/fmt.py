"""Rewrite rule and case files in one canonical key order and layout; comments are kept.

Rules read id, version, status, title, topic, when, then, overrides, rationale,
citations, evidence, review, changelog, reason, replaced_by; each action reads
action, subject, strength, ..., text; each file starts with the
yaml-language-server comment. A file is only rewritten when the result says
exactly the same thing. With --check nothing is written: the files that would
change are listed and the exit code is 1 (for CI and pre-commit).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.errors import Location, Problem
from engine.fmt import Formatted, format_file, kind_of, write_atomically
from engine.report import dumps, problems_text
from engine.repository import CASES_DIR, yaml_files

NAME = "fmt"
HELP = "put rule and case files in the canonical key order and layout (comments kept); --check for CI"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; list the files that would change and exit 1 if any would")
    parser.add_argument("paths", nargs="*", type=Path,
                        help="files or folders (default: guidelines/rules and tests/cases)")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    files, problems = _files(root, args.paths or [root / "guidelines" / "rules", root / CASES_DIR])
    results = [format_file(path, display) for path, display in files]
    problems += [r.problem for r in results if r.problem is not None]
    changed = [r for r in results if r.changed]
    if not args.check:
        for result in changed:
            assert result.text is not None
            write_atomically(result.path, result.text)
    _report(args, changed, problems, len(results))
    failing = any(p.severity == "error" for p in problems) or (args.check and bool(changed))
    return 1 if failing else 0


def _files(root: Path, paths: list[Path]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    found: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    for given in paths:
        path = given if given.is_absolute() else Path.cwd() / given
        if not path.exists():
            problems.append(Problem(Location(str(given)), "no such file or folder", "E-FILE"))
            continue
        for file in yaml_files(path) if path.is_dir() else [path]:
            display = _display(root, file)
            if kind_of(display) == "other":
                problems.append(Problem(Location(display), "not a rule or case file; left alone",
                                        "W-FMT-SKIPPED", "warning"))
            else:
                found.append((file, display))
    return sorted(set(found)), problems


def _display(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _report(args: argparse.Namespace, changed: list[Formatted], problems: list[Problem], checked: int) -> None:
    verb = "would reformat" if args.check else "reformatted"
    if args.format == "json":
        status = "fail" if problems or (args.check and changed) else "ok"
        print(dumps({"status": status, "checked": checked, "changed": [r.display for r in changed],
                     "check": args.check, "problems": [p.as_dict() for p in problems]}))
        return
    for result in changed:
        print(f"{verb}: {result.display}")
    if problems:
        print(problems_text(problems, f"{checked} files"))
    done = "would be reformatted" if args.check else "reformatted"
    print(f"{len(changed)} of {checked} files {done}." if changed
          else f"OK: {checked} files already in canonical form.")
