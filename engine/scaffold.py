"""`guideline new`: a draft rule with its first case, or a new case for a rule; never overwrites a file.

The new rule takes the next free id of its topic's prefix (AZA-TPMT-007 after
AZA-TPMT-006, counting every topic so an id is never reused), a placeholder
condition on a real fact and a placeholder action on a real subject, so it
passes the schema at once; every TODO tells the editor what to write. A case
for a rule gets an example patient that makes the rule's condition true.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import GuidelineError, Problem
from engine.fmt import format_text, schema_dir_for
from engine.loader import parse_text
from engine.model import All, AnyOf, Condition, FactDef, GuidelineSet, Not, Rule, rule_from
from engine.repository import CASES_DIR
from engine.satisfy import Patient, Solver, TooComplex, dnf
from engine.schema import did_you_mean

_RULE_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}(-[A-Z0-9]{1,15}){1,3}$")
_NUMBERED = re.compile(r"^(?P<prefix>.+)-(?P<number>[0-9]+)$")


class ScaffoldError(GuidelineError):
    """Raised by `guideline new` when the topic or rule is unknown, no id can be chosen, or a file exists."""


@dataclass(frozen=True)
class NewFile:
    display: str
    text: str


def next_rule_id(root: Path, topic: str, prefix: str | None) -> str:
    """The next free id for the topic: its prefix, one more than the highest number used anywhere."""
    used = [p.stem for p in (root / "guidelines" / "rules").rglob("*.y*ml")]
    chosen = prefix or _topic_prefix(root / "guidelines" / "rules" / topic)
    numbers = [m for m in (_NUMBERED.match(i) for i in used) if m and m["prefix"] == chosen]
    width = max([3, *(len(m["number"]) for m in numbers)])
    rule_id = f"{chosen}-{max([0, *(int(m['number']) for m in numbers)]) + 1:0{width}d}"
    if not _RULE_ID.match(rule_id):
        raise ScaffoldError(f"'{chosen}' cannot start a rule id ({rule_id} is not in the form AZA-TPMT-001: "
                            "capital letters and digits in dash-separated parts)")
    return rule_id


def _topic_prefix(folder: Path) -> str:
    prefixes = sorted({m["prefix"] for m in (_NUMBERED.match(p.stem) for p in folder.glob("*.y*ml")) if m})
    if len(prefixes) != 1:
        found = f"it uses {', '.join(prefixes)}" if prefixes else "it has no rules yet"
        raise ScaffoldError(f"cannot choose an id prefix for topic '{folder.name}' ({found}); "
                            "pass one with --prefix, for example --prefix AZA-TPMT")
    return prefixes[0]


def new_rule(root: Path, g: GuidelineSet, topic: str, prefix: str | None, title: str | None,
             today: dt.date) -> list[NewFile]:
    """The draft rule file and its first case file (not yet written)."""
    if topic not in g.topics:
        raise ScaffoldError(f"unknown topic '{topic}'{did_you_mean(topic, sorted(g.topics))}; "
                            f"topics are listed in guidelines/topics.yaml: {', '.join(sorted(g.topics))}")
    rule_id = next_rule_id(root, topic, prefix)
    display = f"guidelines/rules/{topic}/{rule_id}.yaml"
    fact, test = _placeholder_test(g.facts)
    body = _RULE_TEMPLATE.format(
        id=rule_id, topic=topic, title=_quoted(title or "TODO: what the rule recommends, in one line"),
        fact=fact, test=test, subject=_first(g.subjects, "azathioprine"),
        ref=_first(g.references, "TODO-reference"), today=today.isoformat(), next=_in_two_years(today))
    rule_text = format_text(body, display, schema_dir_for(display))
    # Read back as every rule file is read (dates stay text, as `guideline validate` sees them).
    parsed = parse_text(rule_text.encode("utf-8"), display)
    if isinstance(parsed, Problem):
        raise ScaffoldError(f"the new rule could not be read back: {parsed}")
    rule = rule_from(parsed.data, display)
    return [NewFile(display, rule_text), new_case(g, rule, root)]


def new_case(g: GuidelineSet, rule: Rule, root: Path) -> NewFile:
    """A case for an existing rule, with a patient that makes it apply, under the first free name."""
    taken = {p.stem for p in (root / CASES_DIR).rglob("*.y*ml")}
    base = f"{rule.id.lower()}-fires"
    name = next(n for n in (base, *(f"{base}-{i}" for i in range(2, 1000))) if n not in taken)
    display = f"{CASES_DIR.as_posix()}/{rule.topic}/{name}.yaml"
    shown = next((a for a in rule.then if a.kind != "derive"), None)
    body: dict[str, Any] = {
        "id": name,
        "title": f"TODO: a patient for whom {rule.id} applies",
        "story": "TODO: a short clinical story: who the patient is and what is being decided.",
        "facts": _example_facts(g, rule),
    }
    if shown is not None:
        body["expect"] = {"present": [{"action": shown.kind, "subject": shown.subject, "rule": rule.id}]}
    else:  # a rule that only derives a fact recommends nothing itself: the rules that read the fact do
        body["title"] = f"TODO: a patient for whom {rule.id} sets {', '.join(rule.derives)}; expect what follows"
    if rule.status != "active":
        body["skip"] = f"{rule.id} is a {rule.status}; delete this line when the rule is active"
    text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    return NewFile(display, format_text(text, display, schema_dir_for(display)))


def _example_facts(g: GuidelineSet, rule: Rule) -> dict[str, Any]:
    """Facts that make the rule's condition true (found by engine.satisfy), or a TODO.

    A case may not set a derived fact, so a test on one is replaced by the conditions of
    the active rules that derive it (a few levels deep)."""
    solver = Solver(g.facts, {name: v.values for name, v in g.valuesets.items()})
    patient: object = None
    for condition in (expand_derived(rule.when, g), rule.when):
        try:
            patient = solver.find([dnf(condition, "T")])
        except TooComplex:
            continue
        if isinstance(patient, Patient):
            break
    if not isinstance(patient, Patient) or not patient.facts:
        return {"TODO_fact": "TODO: the facts that make the rule apply"}
    return {name: _plain_number(value) for name, value in patient.facts}


def expand_derived(condition: Condition, g: GuidelineSet, depth: int = 3) -> Condition:
    """`derived_fact equals v` -> any of the conditions of the active rules deriving v for it."""
    if isinstance(condition, Not):
        return Not(expand_derived(condition.item, g, depth))
    if isinstance(condition, (All, AnyOf)):
        return type(condition)(tuple(expand_derived(c, g, depth) for c in condition.items))
    fact = g.facts.get(condition.fact)
    if depth == 0 or fact is None or not fact.derived or condition.op != "equals":
        return condition
    producers = [r.when for r in g.active_rules for a in r.then
                 if a.kind == "derive" and a.fact == condition.fact and a.value == condition.value]
    if not producers:
        return condition
    return AnyOf(tuple(expand_derived(c, g, depth - 1) for c in producers))


def _plain_number(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _placeholder_test(facts: Mapping[str, FactDef]) -> tuple[str, str]:
    """A test on a real fact, so the draft passes the schema: azathioprine_status if there is one."""
    usable = [f for f in facts.values() if not f.derived]
    fact = next((f for f in usable if f.name == "azathioprine_status"), usable[0] if usable else None)
    if fact is None:
        return "TODO_fact", "known: true"
    if fact.type == "category" and fact.value_names:
        value = "planned" if "planned" in fact.value_names else fact.value_names[0]
        return fact.name, f"equals: {value}"
    if fact.type == "boolean":
        return fact.name, "equals: true"
    return fact.name, "known: true"


def _first(mapping: Any, preferred: str) -> str:
    return preferred if preferred in mapping or not mapping else str(next(iter(sorted(mapping))))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _in_two_years(today: dt.date) -> str:
    try:
        return today.replace(year=today.year + 2).isoformat()
    except ValueError:  # 29 February
        return today.replace(year=today.year + 2, day=28).isoformat()


def write_new(root: Path, files: list[NewFile]) -> None:
    """Create every file, or none: an existing file is never overwritten."""
    existing = [f.display for f in files if (root / f.display).exists()]
    if existing:
        raise ScaffoldError(f"{', '.join(existing)} already exists; nothing was written")
    for new in files:
        target = root / new.display
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(new.text)


_RULE_TEMPLATE = """\
# A new rule, written as a draft. Replace every TODO, then run `guideline validate`.
# The rule language is explained in guidelines/README.md.
id: {id}
version: 1.0.0
status: draft  # draft while being written; active once reviewed
title: {title}
topic: {topic}
when:  # when the rule applies: all / any / not over tests on the facts of guidelines/facts.yaml
  all:
  - {{fact: {fact}, {test}}}
then:  # what it recommends; see the table of actions in guidelines/README.md
- action: counsel
  subject: {subject}
  strength: not_graded  # strong | conditional | not_graded, as the source grades it
  text: "TODO: the recommendation, in your own words, as the reader will see it"
rationale: "TODO: why the rule says what it says, in plain words"
citations:
- {{ref: {ref}, locator: "TODO: section, page or table of the source"}}
evidence: {{certainty: not_graded, scheme: none}}
review: {{authors: ["TODO: your name"], approved: "{today}", next_review: "{next}"}}
changelog:
- {{version: 1.0.0, date: "{today}", change: First version}}
"""
