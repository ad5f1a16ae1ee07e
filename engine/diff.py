"""Two revisions -> which rules changed and how (in clinical words), version discipline, and impact on cases.

The base revision is read from git (engine.revision); the other side is the
working tree, uncommitted edits included, so the same check works before a
commit (pre-commit), on a branch and in a pull request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.changes import Change, Level, Words, required_level, rule_changes
from engine.errors import Location, Problem
from engine.impact import Impact, measure
from engine.model import GuidelineSet, Rule, ValueSetRef, iter_tests
from engine.repository import Loaded, load_repository
from engine.revision import load_revision

Kind = Literal["added", "changed", "deprecated", "retired", "removed"]
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
Locate = Callable[[tuple[str | int, ...]], Location]


@dataclass(frozen=True)
class RuleDiff:
    """One rule that differs between the base and now."""

    rule_id: str
    kind: Kind
    title: str
    path: str
    old_version: str | None
    new_version: str | None
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class ValueSetDiff:
    """A value set whose terms differ: every rule that reads it now matches other patients, with no
    version bump of its own, so the report names them."""

    name: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    rules: tuple[str, ...]  # the active rules reading it now


@dataclass(frozen=True)
class DiffReport:
    base: str
    commit: str
    rules: tuple[RuleDiff, ...]
    problems: tuple[Problem, ...]
    impact: Impact | None
    notes: tuple[str, ...]
    valuesets: tuple[ValueSetDiff, ...] = ()

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def diff_repository(root: Path, base: str, *, impact: bool = True, label: str | None = None) -> DiffReport:
    """Compare the guidelines at `base` (shown as `label`) with the working tree."""
    revision = load_revision(root, base)
    now = load_repository(root)
    old_rules = _by_id(revision.loaded.guidelines.rules)
    new_rules = _by_id(now.guidelines.rules)
    words = Words(now.guidelines.facts, now.guidelines.valuesets)
    diffs: list[RuleDiff] = []
    problems: list[Problem] = []
    notes = list(revision.notes)
    for rule_id in sorted(old_rules.keys() | new_rules.keys()):
        old, new = old_rules.get(rule_id), new_rules.get(rule_id)
        if new is None and old is not None and (root / old.path).exists():
            notes.append(f"{old.path} does not load now (run guideline validate); {rule_id} was not compared")
            continue
        changes = rule_changes(old, new, words) if old and new else []
        found = _rule_diff(old, new, changes)
        if found is not None:
            diffs.append(found)
            problems.extend(discipline(old, new, changes, _locator(now, new)))
    measured = measure(revision.loaded.guidelines, now.guidelines, now.cases, base) if impact else None
    return DiffReport(label or base, revision.commit, tuple(diffs), tuple(problems), measured, tuple(notes),
                      valueset_diffs(revision.loaded.guidelines, now.guidelines))


def valueset_diffs(old: GuidelineSet, new: GuidelineSet) -> tuple[ValueSetDiff, ...]:
    """Every value set whose terms changed (or that appeared or went), with the rules reading it now."""
    found = []
    for name in sorted(old.valuesets.keys() | new.valuesets.keys()):
        before = set(old.valuesets[name].values) if name in old.valuesets else set()
        after = set(new.valuesets[name].values) if name in new.valuesets else set()
        if before != after:
            readers = tuple(r.id for r in new.active_rules if name in _valuesets_read(r))
            found.append(ValueSetDiff(name, tuple(sorted(after - before)), tuple(sorted(before - after)), readers))
    return tuple(found)


def _valuesets_read(rule: Rule) -> set[str]:
    return {t.value.name for t in iter_tests(rule.when) if isinstance(t.value, ValueSetRef)}


def _by_id(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for rule in rules:
        found.setdefault(rule.id, rule)
    return found


def _locator(loaded: Loaded, rule: Rule | None) -> Locate:
    document = loaded.rule_documents.get(rule.id) if rule else None
    if document is None:
        return lambda _path: Location(rule.path if rule else "")
    return lambda path: document.at(path)


def _rule_diff(old: Rule | None, new: Rule | None, changes: list[Change]) -> RuleDiff | None:
    if new is None:
        assert old is not None
        return RuleDiff(old.id, "removed", old.title, old.path, old.version, None)
    if old is None:
        return RuleDiff(new.id, "added", new.title, new.path, None, new.version)
    kind: Kind = "changed"
    if new.status in ("deprecated", "retired") and old.status != new.status:
        kind = new.status
    elif not changes and old.version == new.version:
        return None
    return RuleDiff(new.id, kind, new.title, new.path, old.version, new.version, tuple(changes))


# ---------------------------------------------------------------- version discipline


def discipline(old: Rule | None, new: Rule | None, changes: list[Change], at: Locate) -> Iterator[Problem]:
    """What a change to one rule breaks: bumps, changelog, removal, reuse of a retired id."""
    if old is None or new is None:
        if old is not None and new is None and old.status != "draft":
            yield _removed(old)
        return
    before, after = _semver(old.version), _semver(new.version)
    if after < before:
        yield Problem(at(("version",)), f"{new.id}: the version went down from {old.version} to {new.version}; "
                      f"versions only go up: use {_bump(old.version, 'patch')} or later", "E-VERSION-DOWN")
    elif (needed := required_level(changes)) != "none" and not _enough(before, after, needed):
        yield _bump_problem(old, new, changes, needed, at)
    if after != before and new.version not in {c.version for c in new.changelog}:
        yield Problem(at(("changelog",)), f"{new.id}: version {new.version} has no changelog entry; add "
                      f'{{version: {new.version}, date: "YYYY-MM-DD", change: what changed and why}}',
                      "E-CHANGELOG-ENTRY")
    if old.status == "retired" and new.status != "retired":
        yield Problem(at(("status",)), f"{new.id} was retired at the base and may not become {new.status} again: "
                      "ids are never reused; write a new rule with a new id and list it in this rule's "
                      "replaced_by", "E-ID-REUSED")


def _removed(old: Rule) -> Problem:
    return Problem(Location(old.path), f"{old.id} ({old.status}) was deleted; a rule's file is never deleted, so "
                   "that its id is never reused: restore the file and set status: retired (or deprecated) "
                   "with a reason, and replaced_by naming the rule that replaces it, if any", "E-RULE-REMOVED")


def _bump_problem(old: Rule, new: Rule, changes: list[Change], needed: Level, at: Locate) -> Problem:
    first = next(c for c in changes if c.level == needed)
    kinds = ("its conditions or what an action does (kind, subject, dose, strength, timing) or overrides"
             if needed == "minor" else "its wording (text, title, rationale, citations, evidence or status)")
    now = (f"it is still {new.version}" if new.version == old.version
           else f"{old.version} → {new.version} is not enough")
    message = (f"{new.id} changes {kinds} ({first.what}), so its version needs at least a {needed} bump, "
               f"but {now}; set version: {_bump(old.version, needed)} and add a changelog entry")
    return Problem(at(("version",)), message, "E-VERSION-BUMP")


def _semver(text: str) -> tuple[int, int, int]:
    match = _SEMVER.match(text)
    if not match:
        return (0, 0, 0)
    major, minor, patch = (int(x) for x in match.groups())
    return (major, minor, patch)


def _enough(before: tuple[int, int, int], after: tuple[int, int, int], needed: Level) -> bool:
    return after[:2] > before[:2] if needed == "minor" else after > before


def _bump(version: str, level: Level) -> str:
    major, minor, patch = _semver(version)
    return f"{major}.{minor + 1}.0" if level == "minor" else f"{major}.{minor}.{patch + 1}"
