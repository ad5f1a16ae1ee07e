"""What the site's pages are made of besides the rules: case outcomes and links between rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.model import Case, Disagreement, GuidelineSet, Rule, facts_used
from engine.result import Result


@dataclass(frozen=True)
class CaseOutcome:
    """A case and what the engine made of it: a result, or why it could not be evaluated."""

    case: Case
    result: Result | None = None
    error: str | None = None

    def rules_involved(self) -> frozenset[str]:
        """Rules this case exercises: expected by it, recommended, suppressed or fired for it."""
        named = {e.rule for e in (*self.case.expect.present, *self.case.expect.absent,
                                  *self.case.expect.suppressed) if e.rule}
        if self.result is not None:
            named.update(r.rule for r in self.result.recommendations)
            named.update(s.recommendation.rule for s in self.result.suppressed)
            named.update(s.by_rule for s in self.result.suppressed)
            named.update(t.rule for t in self.result.trace if t.outcome == "fired")
        return frozenset(named)


def evaluate_all(cases: Iterable[Case], evaluate: Callable[[Case], Result]) -> tuple[CaseOutcome, ...]:
    """Run every case; a case that cannot be evaluated becomes an outcome saying why, never a crash."""
    outcomes = []
    for case in sorted(cases, key=lambda c: (c.topic, c.id)):
        if case.skip:  # the editors said why it is not run; the pages say so
            outcomes.append(CaseOutcome(case))
            continue
        try:
            outcomes.append(CaseOutcome(case, result=evaluate(case)))
        except Exception as exc:  # shown on the page: one broken case must not stop the site
            outcomes.append(CaseOutcome(case, error=f"{type(exc).__name__}: {exc}"))
    return tuple(outcomes)


def failed_everywhere(cases: Iterable[Case], reason: str) -> tuple[CaseOutcome, ...]:
    """Outcomes when the engine itself could not start: every case says so."""
    return tuple(CaseOutcome(c, error=reason) for c in sorted(cases, key=lambda c: (c.topic, c.id)))


@dataclass(frozen=True)
class Relations:
    """How one rule connects to others through derived facts, overrides and replacements."""

    derives_used_by: tuple[tuple[str, tuple[str, ...]], ...]   # (fact, rule ids reading it)
    reads_derived_from: tuple[tuple[str, tuple[str, ...]], ...]  # (fact, rule ids deriving it)
    overrides: tuple[str, ...]
    overridden_by: tuple[str, ...]
    replaced_by: tuple[str, ...]
    replaces: tuple[str, ...]


def relations(g: GuidelineSet, rule: Rule) -> Relations:
    others = [r for r in g.rules if r.id != rule.id]
    reads = facts_used(rule.when)
    return Relations(
        derives_used_by=tuple(
            (fact, tuple(r.id for r in others if fact in facts_used(r.when))) for fact in rule.derives
        ),
        reads_derived_from=tuple(
            (fact, ids) for fact in sorted(reads)
            if (ids := tuple(r.id for r in others if fact in r.derives))
        ),
        overrides=rule.overrides,
        overridden_by=tuple(r.id for r in others if rule.id in r.overrides),
        replaced_by=rule.replaced_by,
        replaces=tuple(r.id for r in others if rule.id in r.replaced_by),
    )


def disagreements_of(g: GuidelineSet, rule_id: str) -> tuple[Disagreement, ...]:
    return tuple(d for d in g.disagreements if rule_id in d.rules or d.winner == rule_id)


def citing_rules(g: GuidelineSet, ref_key: str) -> tuple[Rule, ...]:
    return tuple(r for r in g.rules if any(c.ref == ref_key for c in r.citations))
