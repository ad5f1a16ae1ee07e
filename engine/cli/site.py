"""Build or preview the published guideline site (MkDocs + Material).

  guideline site build   build site/build/ from guidelines/ with `mkdocs build --strict`;
                         the new site replaces the old one only if the build succeeds
  guideline site serve   preview on http://127.0.0.1:8000/, reloading as rules are edited

A build fails (exit 1) on any warning: an invalid rule, a broken link or anchor, a
page MkDocs cannot place. The previous site is then left exactly as it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.site_build import BuildOutcome, build_site, serve

NAME = "site"
HELP = "build or preview the published site (rule pages generated from guidelines/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="site_action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build the site strictly; replace the old one only on success",
                               description="Build the site with `mkdocs build --strict`.")
    add_repo_option(build)
    add_format_option(build)
    build.add_argument("--output", type=Path, default=None, metavar="DIR",
                       help="where the site goes (default: site/build/ in the repository)")
    serve = actions.add_parser("serve", help="preview the site, reloading as rules change",
                               description="Serve the site locally with `mkdocs serve`.")
    add_repo_option(serve)
    serve.add_argument("--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT",
                       help="address to serve on (default: 127.0.0.1:8000)")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    if args.site_action == "serve":
        return serve(root, args.dev_addr)
    outcome = build_site(root, args.output)
    if args.format == "json":
        print(json.dumps(_as_json(outcome), indent=2))
    else:
        _print_text(outcome)
    return 0 if outcome.ok else 1


def _as_json(outcome: BuildOutcome) -> dict[str, object]:
    return {"status": "ok" if outcome.ok else "failed", "output": str(outcome.output),
            "messages": list(outcome.messages)}


def _print_text(outcome: BuildOutcome) -> None:
    if outcome.ok:
        print(f"site built: {outcome.output}")
        for line in outcome.messages:
            print(line)
        return
    for line in outcome.messages:
        print(line, file=sys.stderr)
    print(f"site build failed; {outcome.output} was left as it was", file=sys.stderr)
