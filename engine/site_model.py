"""How rules connect to each other on the site: derived facts, overrides, replacements, citations."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Disagreement, GuidelineSet, Rule, facts_used


@dataclass(frozen=True)
class Relations:
    """How one rule connects to others through derived facts, overrides and replacements."""

    derives_used_by: tuple[tuple[str, tuple[str, ...]], ...]   # (fact, rule ids reading it)
    reads_derived_from: tuple[tuple[str, tuple[str, ...]], ...]  # (fact, rule ids deriving it)
    overrides: tuple[str, ...]
    overridden_by: tuple[str, ...]
    replaced_by: tuple[str, ...]
    replaces: tuple[str, ...]


class RelationIndex:
    """Who reads, derives, overrides and replaces what, built once: each rule page then looks up
    its relations instead of scanning every other rule (which made the site quadratic in rules)."""

    def __init__(self, g: GuidelineSet) -> None:
        self.reads = {r.id: facts_used(r.when) for r in g.rules}
        self.readers: dict[str, list[str]] = {}
        self.derivers: dict[str, list[str]] = {}
        self.overriders: dict[str, list[str]] = {}
        self.replacers: dict[str, list[str]] = {}
        for r in g.rules:  # in the repository's order, as the pages list them
            for fact in sorted(self.reads[r.id]):
                self.readers.setdefault(fact, []).append(r.id)
            for fact in r.derives:
                self.derivers.setdefault(fact, []).append(r.id)
            for target in r.overrides:
                self.overriders.setdefault(target, []).append(r.id)
            for target in r.replaced_by:
                self.replacers.setdefault(target, []).append(r.id)

    def of(self, rule: Rule) -> Relations:
        def others(ids: list[str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(i for i in ids if i != rule.id))

        return Relations(
            derives_used_by=tuple((fact, others(self.readers.get(fact, []))) for fact in rule.derives),
            reads_derived_from=tuple(
                (fact, ids) for fact in sorted(self.reads[rule.id])
                if (ids := others(self.derivers.get(fact, [])))
            ),
            overrides=rule.overrides,
            overridden_by=others(self.overriders.get(rule.id, [])),
            replaced_by=rule.replaced_by,
            replaces=others(self.replacers.get(rule.id, [])),
        )


def relations(g: GuidelineSet, rule: Rule) -> Relations:
    return RelationIndex(g).of(rule)


def disagreements_of(g: GuidelineSet, rule_id: str) -> tuple[Disagreement, ...]:
    return tuple(d for d in g.disagreements if rule_id in d.rules or d.winner == rule_id)


def citing_rules(g: GuidelineSet, ref_key: str) -> tuple[Rule, ...]:
    return tuple(r for r in g.rules if any(c.ref == ref_key for c in r.citations))
