"""Two versions of one rule -> what changed, in clinical words, and the smallest version bump each change needs.

Changes to what a rule does (its conditions; an action's kind, subject, dose,
strength or timing; what it overrides) need at least a MINOR bump. Changes to
what it says (text, title, rationale, citations, evidence, status) need at
least a PATCH bump. Review dates and the changelog itself need none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from engine.model import (
    COMPARISONS,
    Action,
    All,
    AnyOf,
    Condition,
    FactDef,
    Multiple,
    Not,
    Rule,
    Test,
    ValueSet,
    ValueSetRef,
)

Level = Literal["none", "patch", "minor"]
LEVELS: tuple[Level, ...] = ("none", "patch", "minor")


@dataclass(frozen=True)
class Change:
    """One change to a rule, in plain words, with the smallest bump it needs and where it is written."""

    what: str
    level: Level
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Words:
    """What the descriptions need from the dictionaries: fact labels, units, value-set titles."""

    facts: Mapping[str, FactDef]
    valuesets: Mapping[str, ValueSet]

    def label(self, name: str) -> str:
        fact = self.facts.get(name)
        return fact.label if fact else name

    def unit(self, name: str) -> str:
        fact = self.facts.get(name)
        shown = (fact.display_unit or fact.unit) if fact else None
        return f" {shown}" if shown else ""


def rule_changes(old: Rule, new: Rule, words: Words) -> list[Change]:
    """Every change from `old` to `new`, most significant first."""
    found = [*_condition_changes(old.when, new.when, words), *_action_changes(old.then, new.then),
             *_list_changes("overrides", old.overrides, new.overrides, "minor"),
             *_text_changes(old, new), *_citation_changes(old, new), *_meta_changes(old, new)]
    return sorted(found, key=lambda c: -LEVELS.index(c.level))


def required_level(changes: list[Change]) -> Level:
    return max((c.level for c in changes), key=LEVELS.index, default="none")


# ---------------------------------------------------------------- conditions


def describe(test: Test, words: Words) -> str:
    """One leaf condition as a reader would say it: 'white cell count below 3 ×10⁹/L'."""
    label, value = words.label(test.fact), test.value
    if test.op in ("known", "unknown"):
        return f"{label} is {'known' if test.op == 'known' else 'not known'}"
    if test.op == "contains":
        if isinstance(value, ValueSetRef):
            vs = words.valuesets.get(value.name)
            return f"{label} include any of {vs.title.lower() if vs else value.name}"
        return f"{label} include {value}"
    return f"{label} {_threshold(test, words)}"


def _threshold(test: Test, words: Words) -> str:
    value, op = test.value, test.op.replace("_", " ")
    if isinstance(value, Multiple):
        return f"{op} {value.times:g} × {words.label(value.of)}"
    if isinstance(value, tuple) and test.op == "between":
        return f"between {value[0]:g} and {value[1]:g}{words.unit(test.fact)}"
    if isinstance(value, tuple):
        return f"is one of {', '.join(map(str, value))}"
    if isinstance(value, bool):
        return f"{'is' if test.op == 'equals' else 'is not'} {'yes' if value else 'no'}"
    if isinstance(value, float):
        shown = f"{value:g}{words.unit(test.fact)}"
        return f"{op} {shown}" if test.op in COMPARISONS else f"{'is' if test.op == 'equals' else 'is not'} {shown}"
    return f"{'is' if test.op == 'equals' else 'is not'} {value}"


def _condition_changes(old: Condition, new: Condition, words: Words) -> Iterator[Change]:
    if _strip(old) == _strip(new):
        return
    before, after = _leaves(old), _leaves(new)
    for leaf in list(before):
        if leaf in after:
            before.remove(leaf)
            after.remove(leaf)
    for test, negated in before:
        match = next((a for a in after if a[0].fact == test.fact and a[1] == negated), None)
        if match is None:
            yield Change(f"condition removed: {_said(test, negated, words)}", "minor", ("when",))
        else:
            after.remove(match)
            yield _leaf_change(test, match[0], negated, words)
    for test, negated in after:
        yield Change(f"condition added: {_said(test, negated, words)}", "minor", ("when",))
    if not before and not after:
        yield Change("conditions regrouped (all / any / not changed)", "minor", ("when",))


def _leaves(condition: Condition, negated: bool = False) -> list[tuple[Test, bool]]:
    """Every leaf test without its position, and whether an odd number of `not`s stands above it."""
    if isinstance(condition, Test):
        return [(replace(condition, path=()), negated)]
    if isinstance(condition, Not):
        return _leaves(condition.item, not negated)
    return [leaf for item in condition.items for leaf in _leaves(item, negated)]


def _said(test: Test, negated: bool, words: Words) -> str:
    return f"not ({describe(test, words)})" if negated else describe(test, words)


def _leaf_change(old: Test, new: Test, negated: bool, words: Words) -> Change:
    label = words.label(new.fact)
    if old.op in COMPARISONS and new.op in COMPARISONS:
        what = f"threshold: {label} {_threshold(old, words)} → {_threshold(new, words)}"
        return Change(f"{what} (inside a `not`)" if negated else what, "minor", ("when",))
    return Change(f"condition changed: {_said(old, negated, words)} → {_said(new, negated, words)}", "minor",
                  ("when",))


def _strip(condition: Condition) -> Condition:
    """The condition without its source positions, so that moving lines is no change."""
    if isinstance(condition, Test):
        return replace(condition, path=())
    if isinstance(condition, Not):
        return Not(_strip(condition.item))
    items = tuple(_strip(c) for c in condition.items)
    return All(items) if isinstance(condition, All) else AnyOf(items)


# ---------------------------------------------------------------- actions


def action_label(action: Action) -> str:
    """'hold azathioprine', 'combine_with azathioprine + prednisolone', 'derive severe_cytopenia'."""
    if action.kind == "derive":
        return f"derive {action.fact}"
    extra = f" + {action.with_subject}" if action.with_subject else ""
    return f"{action.kind} {action.subject}{extra}"


def _action_key(action: Action) -> tuple[str, str, str | None, str | None]:
    return (action.kind, action.subject, action.with_subject, action.fact)


def _action_changes(old: tuple[Action, ...], new: tuple[Action, ...]) -> Iterator[Change]:
    remaining = list(enumerate(new))
    for before in old:
        index = next((i for i, (_, a) in enumerate(remaining) if _action_key(a) == _action_key(before)), None)
        if index is None:
            yield Change(f"action removed: {action_label(before)}", "minor", ("then",))
            continue
        position, after = remaining.pop(index)
        yield from _one_action(before, after, ("then", position))
    for position, after in remaining:
        yield Change(f"action added: {action_label(after)} ({after.strength})", "minor", ("then", position))


_ACTION_FIELDS: tuple[tuple[str, str, Level], ...] = (
    ("strength", "strength", "minor"), ("dose", "dose", "minor"), ("adjust_percent", "dose adjustment", "minor"),
    ("permanent", "permanent", "minor"), ("interval", "interval", "minor"), ("duration", "duration", "minor"),
    ("value", "value", "minor"),
)


def _one_action(before: Action, after: Action, path: tuple[str | int, ...]) -> Iterator[Change]:
    name = action_label(after)
    for attr, words, level in _ACTION_FIELDS:
        old, new = getattr(before, attr), getattr(after, attr)
        if old != new:
            yield Change(f"action {name}: {words} {_show(old)} → {_show(new)}", level, path)
    if before.text != after.text:
        yield Change(f"action {name}: text changed", "patch", path)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    low, high, unit = (getattr(value, "min", None), getattr(value, "max", None), getattr(value, "unit", "%"))
    if isinstance(low, float) and isinstance(high, float):
        return f"{low:g}–{high:g} {unit}"
    return str(value)


# ---------------------------------------------------------------- words and metadata


def _text_changes(old: Rule, new: Rule) -> Iterator[Change]:
    if old.title != new.title:
        yield Change(f"title changed: '{old.title}' → '{new.title}'", "patch", ("title",))
    if old.rationale != new.rationale:
        yield Change("rationale changed", "patch", ("rationale",))
    if (old.certainty, old.evidence_scheme) != (new.certainty, new.evidence_scheme):
        yield Change(f"evidence: {old.certainty} ({old.evidence_scheme}) → {new.certainty} ({new.evidence_scheme})",
                     "patch", ("evidence",))
    if old.status != new.status:
        level: Level = "none" if (old.status, new.status) == ("draft", "active") else "patch"
        yield Change(f"status {old.status} → {new.status}", level, ("status",))
    if old.topic != new.topic:
        yield Change(f"moved from topic {old.topic} to {new.topic}", "patch", ("topic",))
    if old.reason != new.reason and new.reason:
        yield Change(f"reason: {new.reason}", "patch", ("reason",))
    yield from _list_changes("replaced_by", old.replaced_by, new.replaced_by, "patch")


def _citation_changes(old: Rule, new: Rule) -> Iterator[Change]:
    before = {(c.ref, c.locator): c for c in old.citations}
    after = {(c.ref, c.locator): c for c in new.citations}
    for key in after.keys() - before.keys():
        yield Change(f"citation added: {key[0]} ({key[1]})", "patch", ("citations",))
    for key in before.keys() - after.keys():
        yield Change(f"citation removed: {key[0]} ({key[1]})", "patch", ("citations",))
    for key in before.keys() & after.keys():
        if before[key].note != after[key].note:
            yield Change(f"citation {key[0]}: note changed", "patch", ("citations",))


def _meta_changes(old: Rule, new: Rule) -> Iterator[Change]:
    if old.review != new.review:
        yield Change(f"review: approved {new.review.approved}, next review {new.review.next_review}", "none",
                     ("review",))


def _list_changes(name: str, old: tuple[str, ...], new: tuple[str, ...], level: Level) -> Iterator[Change]:
    for item in sorted(set(new) - set(old)):
        yield Change(f"{name}: {item} added", level, (name,))
    for item in sorted(set(old) - set(new)):
        yield Change(f"{name}: {item} removed", level, (name,))
