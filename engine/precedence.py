"""Which recommendations win when rules disagree; the outcome never depends on rule or file order.

Two steps, each computed from the whole set at once (no step depends on iteration order):
1. `overrides`: a fired rule that lists another fired rule suppresses all of that rule's actions.
2. blocking: a surviving stop/avoid/hold of subject S suppresses start/continue/dose/combine_with
   of S from other rules. Blocking actions are never blocked, so step 2 has a single answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.model import BLOCKED_ACTIONS, BLOCKING_ACTIONS, Rule
from engine.result import Recommendation, Suppressed


def apply_precedence(
    recommendations: Iterable[Recommendation], rules: Mapping[str, Rule]
) -> tuple[list[Recommendation], list[Suppressed]]:
    """(kept, suppressed) for the recommendations of the rules that fired."""
    items = list(recommendations)
    overridden_by = _overridden_by({r.rule for r in items}, rules)
    suppressed: list[Suppressed] = []
    survivors: list[Recommendation] = []
    for item in items:
        winners = overridden_by.get(item.rule)
        if winners:
            suppressed.append(Suppressed(item, winners[0], _override_reason(winners, rules)))
        else:
            survivors.append(item)
    blocking = _blocking_by_subject(survivors)
    kept: list[Recommendation] = []
    for item in survivors:
        blockers = _blockers(item, blocking)
        if blockers:
            first = blockers[0]
            suppressed.append(Suppressed(item, first.rule, _block_reason(item, blockers)))
        else:
            kept.append(item)
    return kept, suppressed


def _overridden_by(fired: set[str], rules: Mapping[str, Rule]) -> dict[str, list[str]]:
    """Fired rule -> the fired rules overriding it, sorted (indexed once: cases can fire hundreds of rules)."""
    found: dict[str, list[str]] = {}
    for winner in sorted(fired):
        rule = rules.get(winner)
        for loser in rule.overrides if rule else ():
            if loser in fired:
                found.setdefault(loser, []).append(winner)
    return found


def _blocking_by_subject(survivors: list[Recommendation]) -> dict[str, list[Recommendation]]:
    found: dict[str, list[Recommendation]] = {}
    for b in survivors:
        if b.action in BLOCKING_ACTIONS:
            found.setdefault(b.subject, []).append(b)
    return found


def _blockers(item: Recommendation, blocking: Mapping[str, list[Recommendation]]) -> list[Recommendation]:
    if item.action not in BLOCKED_ACTIONS:
        return []
    found = [b for b in blocking.get(item.subject, ()) if b.rule != item.rule]
    return sorted(found, key=lambda b: (b.rule, b.action))


def _override_reason(winners: list[str], rules: Mapping[str, Rule]) -> str:
    names = "; ".join(f"{w} ({rules[w].title})" if w in rules else w for w in winners)
    return f"overridden by {names}, which applies to this patient and takes precedence"


def _block_reason(item: Recommendation, blockers: list[Recommendation]) -> str:
    names = "; ".join(f"{b.action} {b.subject} ({b.rule})" for b in blockers)
    return f"{item.action} {item.subject} is blocked by {names}"
