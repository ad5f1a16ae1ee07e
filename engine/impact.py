"""Every case fixture run with the old rules and the new, by the same engine: which recommendations changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.errors import GuidelineError
from engine.evaluate import Evaluator
from engine.model import Case, GuidelineSet
from engine.result import Recommendation, Result

Key = tuple[str, str, str]  # action, subject, rule


@dataclass(frozen=True)
class CaseImpact:
    """How one case's recommendations differ between the two revisions."""

    case_id: str
    path: str
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True)
class Impact:
    evaluated: int
    cases: tuple[CaseImpact, ...]
    notes: tuple[str, ...]

    def summary(self) -> list[str]:
        """'3 cases gain hold azathioprine', most frequent first."""
        counts: Counter[tuple[str, str]] = Counter()
        for case in self.cases:
            counts.update({("gain", _plain(x)) for x in case.gained})
            counts.update({("lose", _plain(x)) for x in case.lost})
            counts.update({("change", _plain(x)) for x in case.changed})
        return [f"{n} case{'s' if n > 1 else ''} {verb if n > 1 else verb + 's'} '{what}'"
                for (verb, what), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _plain(item: str) -> str:
    """'hold azathioprine (AZA-CBC-002)' -> 'hold azathioprine'; changes keep their first words."""
    return item.split(" (", 1)[0].split(":", 1)[0]


def measure(old: GuidelineSet, new: GuidelineSet, cases: Iterable[Case], old_name: str = "the base") -> Impact:
    """Run every case that is not skipped on both rule sets and compare."""
    before, problem = _evaluator(old)
    after, problem_new = _evaluator(new)
    notes = [n for n in (problem and f"the rules at {old_name} cannot run: {problem}",
                         problem_new and f"the rules of the working tree cannot run: {problem_new}") if n]
    if before is None or after is None:
        return Impact(0, (), tuple(notes))
    found: list[CaseImpact] = []
    evaluated = 0
    for case in sorted(cases, key=lambda c: c.path):
        if case.skip:
            continue
        results = _run(before, case), _run(after, case)
        if isinstance(results[0], str) or isinstance(results[1], str):
            side = f"at {old_name}" if isinstance(results[0], str) else "of the working tree"
            notes.append(f"case {case.id} could not be run with the rules {side}: {results[0] or results[1]}")
            continue
        evaluated += 1
        difference = compare(case, results[0], results[1])
        if difference.gained or difference.lost or difference.changed:
            found.append(difference)
    return Impact(evaluated, tuple(found), tuple(notes))


def _evaluator(g: GuidelineSet) -> tuple[Evaluator | None, str]:
    try:
        return Evaluator(g), ""
    except GuidelineError as exc:
        return None, str(exc)


def _run(evaluator: Evaluator, case: Case) -> Result | str:
    try:
        return evaluator.evaluate(case)
    except GuidelineError as exc:
        return str(exc)


def compare(case: Case, old: Result, new: Result) -> CaseImpact:
    before, after = _by_key(old.recommendations), _by_key(new.recommendations)
    gained = tuple(_label(after[k]) for k in sorted(after.keys() - before.keys()))
    lost = tuple(_label(before[k]) for k in sorted(before.keys() - after.keys()))
    changed = tuple(c for k in sorted(before.keys() & after.keys()) for c in _changes(before[k], after[k]))
    return CaseImpact(case.id, case.path, gained, lost, changed)


def _by_key(recommendations: Iterable[Recommendation]) -> Mapping[Key, Recommendation]:
    return {(r.action, r.subject, r.rule): r for r in recommendations}


def _label(rec: Recommendation) -> str:
    extra = f" + {rec.with_subject}" if rec.with_subject else ""
    return f"{rec.action} {rec.subject}{extra} ({rec.rule})"


def _changes(old: Recommendation, new: Recommendation) -> list[str]:
    name = f"{old.action} {old.subject}"
    out = []
    if old.strength != new.strength:
        out.append(f"{name}: strength {old.strength} → {new.strength} ({new.rule})")
    if _dose(old) != _dose(new):
        out.append(f"{name}: dose {_dose(old)} → {_dose(new)} ({new.rule})")
    return out


def _dose(rec: Recommendation) -> str:
    if rec.dose is None:
        return "none"
    if rec.dose.mg_per_day is not None:
        return f"{rec.dose.mg_per_day[0]:g}–{rec.dose.mg_per_day[1]:g} mg/day"
    if rec.dose.per_kg is not None:
        return f"{rec.dose.per_kg[0]:g}–{rec.dose.per_kg[1]:g} mg/kg/day"
    return rec.dose.text or "unknown"
