"""Which recommendations win when rules disagree; the outcome never depends on rule or file order.

Two steps, each computed from the whole set at once (no step depends on iteration order):
1. `overrides`: a fired rule that lists another fired rule suppresses all of that rule's actions.
2. blocking: a surviving stop/avoid/hold of subject S suppresses start/continue/dose/combine_with
   of S from other rules. Blocking actions are never blocked, so step 2 has a single answer.

A kept recommendation is provisional while a rule that could not be decided would set it aside by
either step: missing data must not make it look final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.model import BLOCKED_ACTIONS, BLOCKING_ACTIONS, Rule
from engine.result import Provisional, Recommendation, Suppressed


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


@dataclass(frozen=True)
class Challengers:
    """Who could set a recommendation aside: the rules blocking each subject, the rules overriding
    each rule, and what each rule overrides. Worked out once for a rule set."""

    blocking: Mapping[str, frozenset[str]]     # subject -> rules with a stop, avoid or hold of it
    overriding: Mapping[str, frozenset[str]]   # rule -> the rules that override it
    overrides: Mapping[str, frozenset[str]]    # rule -> the rules it overrides (only rules that override)
    any: frozenset[str]                        # every rule in the maps above

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> Challengers:
        blocking: dict[str, set[str]] = {}
        overriding: dict[str, set[str]] = {}
        overrides: dict[str, frozenset[str]] = {}
        for rule in rules:
            for action in rule.recommendations:
                if action.kind in BLOCKING_ACTIONS:
                    blocking.setdefault(action.subject, set()).add(rule.id)
            for loser in rule.overrides:
                overriding.setdefault(loser, set()).add(rule.id)
            if rule.overrides:
                overrides[rule.id] = frozenset(rule.overrides)
        every = frozenset().union(*blocking.values(), *overriding.values())
        return cls({k: frozenset(v) for k, v in blocking.items()}, {k: frozenset(v) for k, v in overriding.items()},
                   overrides, every)


_NONE: frozenset[str] = frozenset()


def provisional(kept: Sequence[Recommendation], undecided: Iterable[str], fired: Iterable[str],
                challengers: Challengers) -> tuple[Provisional, ...]:
    """Each kept recommendation that an undecided rule would set aside if it applied, with those rules.

    An undecided rule that a fired rule overrides could not set anything aside, so it is left out."""
    open_ = set(challengers.any.intersection(undecided))
    if not open_:
        return ()
    for winner in fired:
        open_.difference_update(challengers.overrides.get(winner, _NONE))
    found = []
    for item in kept:
        hit = open_ & challengers.overriding.get(item.rule, _NONE)  # a new set (the left operand's type)
        if item.action in BLOCKED_ACTIONS:
            hit |= open_ & challengers.blocking.get(item.subject, _NONE)
        hit.discard(item.rule)  # a rule does not set aside its own advice
        if hit:
            found.append(Provisional(item.rule, item.action, item.subject, tuple(sorted(hit))))
    return tuple(found)
