"""Start a new rule or case from a template that already passes the schema; no file is ever overwritten.

  guideline new rule --topic monitoring          a draft rule with the topic's next free id,
                                                 and a first case for it
  guideline new rule --topic dosing --prefix AZA-DOSE --title "Lower dose for ..."
  guideline new case --rule AZA-CBC-003          one more case for an existing rule, with a
                                                 patient that makes the rule apply

Then open the new files, replace every TODO, and run `guideline validate`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from engine.cli.common import add_format_option, add_repo_option, repository_root
from engine.model import GuidelineSet
from engine.report import dumps
from engine.repository import load_repository
from engine.scaffold import NewFile, ScaffoldError, new_case, new_rule, write_new
from engine.schema import did_you_mean

NAME = "new"
HELP = "start a new draft rule (with its first case) or a new case for a rule, from a template"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_option(parser)
    add_format_option(parser)
    parser.add_argument("what", choices=("rule", "case"), help="what to create")
    parser.add_argument("--topic", help="for a rule: the topic (a key of guidelines/topics.yaml)")
    parser.add_argument("--prefix", help="for a rule: the id prefix, such as AZA-TPMT (default: the topic's)")
    parser.add_argument("--title", help="for a rule: its title (default: a TODO)")
    parser.add_argument("--rule", help="for a case: the id of the rule it exercises")


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    loaded = load_repository(root, with_cases=False)
    if args.what == "rule":
        if not args.topic:
            raise ScaffoldError("say which topic the rule belongs to: guideline new rule --topic TOPIC")
        files = new_rule(root, loaded.guidelines, args.topic, args.prefix, args.title, dt.date.today())
    else:
        files = [_case_for(args, loaded.guidelines, root)]
    write_new(root, files)
    _report(args, files)
    return 0


def _case_for(args: argparse.Namespace, g: GuidelineSet, root: Path) -> NewFile:
    if not args.rule:
        raise ScaffoldError("say which rule the case is for: guideline new case --rule RULE-ID")
    rule = g.rule(args.rule)
    if rule is None:
        ids = sorted(r.id for r in g.rules)
        raise ScaffoldError(f"no rule '{args.rule}' loads{did_you_mean(args.rule, ids)}; "
                            "check the id, and run guideline validate if its file has errors")
    return new_case(g, rule, root)


def _report(args: argparse.Namespace, files: list[NewFile]) -> None:
    if args.format == "json":
        print(dumps({"status": "ok", "created": [f.display for f in files]}))
        return
    for new in files:
        print(f"created {new.display}")
    print("Next: replace every TODO in these files, then run `guideline validate`.")
