"""Rules -> durable_rules ruleset definitions, in strata and small partitions (pure; never imports durable).

Why it is built this way (each point answers a trap measured in /work/shared/DURABLE_RULES.md):
- Conditions go to negation normal form, so every pattern is monotone. durable_rules treats any
  comparison on an absent property as false, so a firing pattern means "definitely true" under
  Kleene logic. Whether a rule that did not fire is definitely false or undecided is a question
  about missing data, which durable cannot answer (absent reads as false); the evaluator answers
  it beside the engine (engine/evaluate.py). No `none`/negation joins are ever used.
- Each rule records the properties without which its pattern cannot match (`requires`): a
  ruleset none of whose rules could match the patient's properties needs no session at all.
- Every pattern starts with the discriminator t == 'patient', so nothing matches durable's own
  state fact (#288).
- durable expands every `$or` into separate condition chains (one per DNF alternative; each
  fires its action separately) and refuses a fact that satisfies more than 64 children of one
  node of its network (error 303), partial matches included. No node can have more children
  than the ruleset has chains, so each ruleset holds at most ALTERNATIVE_CAP alternatives.
- A fact may carry at most 255 properties (error 302 above ~254), so each ruleset reads at most
  PROPERTY_CAP properties and is given only those.
- Derived facts are evaluated in strata: a rule only reads derived facts of lower strata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import Location, Problem
from engine.gates import Gate, gates
from engine.model import All, AnyOf, Condition, GuidelineSet, Multiple, Rule, Test, facts_used
from engine.nnf import alternatives, nnf
from engine.properties import Spec, property_for

ALTERNATIVE_CAP = 60  # under durable's 64 sibling conditions (error 303), the warm-up rule included
PROPERTY_CAP = 200    # well under durable's 255 properties per fact (error 302)
DISCRIMINATOR = {"t": "patient"}
#: A rule only the runtime's warm-up fact matches: the first session of every ruleset triggers an
#: action (a fresh ruleset whose first session triggers nothing crashes in delete_state), and no
#: patient session pays for it.
WARM_UP = "~warm-up"
WARM_UP_FACT = {"t": "warm-up"}

_OPERATOR = {"below": "$lt", "at_most": "$lte", "above": "$gt", "at_least": "$gte", "not_equals": "$neq"}

Locate = Callable[[Rule, tuple[str | int, ...]], Location]


@dataclass(frozen=True)
class CompiledRule:
    rule_id: str
    stratum: int
    pattern: str  # JSON pattern: fires when the condition is definitely true
    alternatives: int
    properties: frozenset[str]
    requires: frozenset[str]  # properties every match needs: without them the rule cannot fire
    gates: frozenset[Gate] = frozenset()  # equality tests every alternative needs (engine/gates.py)

    @property
    def affinity(self) -> str:
        """The rule's gates, written out: rules sharing gates share rulesets."""
        return " & ".join(sorted(f"{g.fact} in {sorted(map(str, g.allowed))}" for g in self.gates))


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    stratum: int
    rules: tuple[CompiledRule, ...]
    properties: frozenset[str]
    definition: str  # canonical JSON; the runtime parses a fresh dict each time it registers

    @property
    def alternatives(self) -> int:
        return sum(r.alternatives for r in self.rules) + 1  # + the warm-up rule


@dataclass(frozen=True)
class Program:
    strata: tuple[tuple[CompiledRuleset, ...], ...]
    specs: tuple[Spec, ...]
    problems: tuple[Problem, ...] = ()


# ------------------------------------------------------------ patterns


class _Patterns:
    """NNF conditions -> durable's JSON patterns over one patient fact."""

    def __init__(self, g: GuidelineSet) -> None:
        self.g = g
        self.lists = [n for n, f in g.facts.items() if f.type == "list"]
        self.list_facts = frozenset(self.lists)
        self.specs: dict[str, Spec] = {}

    def pattern(self, condition: Condition) -> dict[str, Any]:
        return {"$and": [dict(DISCRIMINATOR), self._body(condition)]}

    def _body(self, condition: Condition) -> dict[str, Any]:
        if isinstance(condition, Test):
            return self._leaf(condition)
        if isinstance(condition, AnyOf) and not condition.items:
            return {"$nex": {"t": 1}}  # an empty `any` never holds; t is always present
        if isinstance(condition, AnyOf):
            return _joined("$or", [self._body(c) for c in condition.items])
        if isinstance(condition, All) and condition.items:
            return _joined("$and", [self._body(c) for c in condition.items])
        return dict(DISCRIMINATOR)  # an empty `all` always holds

    def requires(self, condition: Condition) -> frozenset[str]:
        """The properties an NNF condition cannot hold without (only `unknown` holds on absence)."""
        if isinstance(condition, Test):
            return frozenset() if condition.op == "unknown" else frozenset({self._name(condition)})
        parts = [self.requires(c) for c in condition.items] if isinstance(condition, (All, AnyOf)) else []
        if isinstance(condition, AnyOf):
            return frozenset.intersection(*parts) if parts else frozenset()
        return frozenset().union(*parts)

    def _name(self, test: Test) -> str:
        return property_for(test, self.g.valuesets, self.lists)[0]

    def _leaf(self, test: Test) -> dict[str, Any]:
        name, spec = property_for(test, self.g.valuesets, self.lists)
        if spec is not None:
            self.specs[name] = spec
        value = 0.0 if isinstance(test.value, Multiple) else test.value  # the sign of the excess
        return _leaf_pattern(test.op, name, value)


def _joined(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {op: parts}


def _leaf_pattern(op: str, name: str, value: Any) -> dict[str, Any]:
    if op == "known":
        return {"$ex": {name: 1}}
    if op == "unknown":
        return {"$nex": {name: 1}}
    if op in ("contains", "not_contains"):
        return {name: op == "contains"}
    if op == "one_of":
        return _joined("$or", [{name: v} for v in value])
    if op == "between":
        return {"$and": [{"$gte": {name: float(value[0])}}, {"$lte": {name: float(value[1])}}]}
    constant = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if op == "equals":
        return {name: constant}
    return {_OPERATOR[op]: {name: constant}}


def properties_read(pattern: Any) -> set[str]:
    """Every property name a JSON pattern compares (the discriminator included)."""
    found: set[str] = set()
    if isinstance(pattern, dict):
        for key, inner in pattern.items():
            if key in ("$and", "$or"):
                for part in inner:
                    found |= properties_read(part)
            elif key.startswith("$"):
                found |= set(inner)
            else:
                found.add(key)
    return found


# ------------------------------------------------------------ strata and partitions


def strata(rules: tuple[Rule, ...], g: GuidelineSet) -> tuple[dict[str, int], list[str]]:
    """Each rule's stratum (1 + the highest stratum of the producers of what it reads); cycles."""
    producers: dict[str, list[Rule]] = {}
    for rule in rules:
        for fact in rule.derives:
            producers.setdefault(fact, []).append(rule)
    level: dict[str, int] = {}
    cyclic: list[str] = []

    def visit(rule: Rule, trail: tuple[str, ...]) -> int:
        if rule.id in level:
            return level[rule.id]
        if rule.id in trail:
            cyclic.append(rule.id)
            return 0
        reads = [p for f in sorted(_derived_read(rule, g)) for p in producers.get(f, [])]
        level[rule.id] = max((visit(p, (*trail, rule.id)) + 1 for p in reads), default=0)
        return level[rule.id]

    for rule in rules:
        visit(rule, ())
    return level, sorted(set(cyclic))


def _derived_read(rule: Rule, g: GuidelineSet) -> set[str]:
    return {f for f in facts_used(rule.when) if f in g.facts and g.facts[f].derived}


def compile_rule(rule: Rule, stratum: int, patterns: _Patterns) -> CompiledRule:
    positive = nnf(rule.when)
    pattern = patterns.pattern(positive)
    return CompiledRule(
        rule_id=rule.id,
        stratum=stratum,
        pattern=_canonical(pattern),
        alternatives=alternatives(positive),
        properties=frozenset(properties_read(pattern)) - set(DISCRIMINATOR),
        requires=patterns.requires(positive),
        gates=gates(positive, patterns.list_facts),
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _partition(rules: list[CompiledRule]) -> list[list[CompiledRule]]:
    """Greedy packing under both caps, rules with the same gates together (then in id order): a
    patient whose known values rule out a whole ruleset needs no session for it."""
    groups: list[list[CompiledRule]] = []
    count, props = ALTERNATIVE_CAP + 1, frozenset[str]()
    for rule in sorted(rules, key=lambda r: (r.affinity, r.rule_id)):
        if count + rule.alternatives > ALTERNATIVE_CAP or len(props | rule.properties) > PROPERTY_CAP:
            groups.append([])
            count, props = 1, frozenset()  # 1: the warm-up rule
        groups[-1].append(rule)
        count, props = count + rule.alternatives, props | rule.properties
    return groups


def ruleset_of(stratum: int, rules: list[CompiledRule]) -> CompiledRuleset:
    definition: dict[str, Any] = {WARM_UP: {"all": [{"m": dict(WARM_UP_FACT)}]}}
    for rule in rules:
        definition[rule.rule_id] = {"all": [{"m": json.loads(rule.pattern)}]}
    text = _canonical(definition)
    name = "guideline-" + hashlib.sha256(text.encode()).hexdigest()[:20]
    properties = frozenset().union(*(r.properties for r in rules))
    return CompiledRuleset(name, stratum, tuple(rules), properties, text)


# ------------------------------------------------------------ whole programs


#: Property names the engine itself asserts on every patient fact.
RESERVED = frozenset({"t", "sid", "id"})


def limit_problems(rule: Rule, compiled: CompiledRule | _Size, locate: Locate) -> list[Problem]:
    """A rule that alone exceeds what one ruleset may hold cannot be run safely: refuse it."""
    problems = [Problem(locate(rule, ("when",)), f"the fact name '{name}' is reserved by the engine; "
                        "rename the fact in facts.yaml", "E-RESERVED-FACT")
                for name in sorted(facts_used(rule.when) & RESERVED)]
    if compiled.alternatives + 1 > ALTERNATIVE_CAP:
        problems.append(Problem(locate(rule, ("when",)), (
            f"this condition is too complex for the engine: written out it has {compiled.alternatives} "
            f"alternatives and at most {ALTERNATIVE_CAP - 1} are allowed; split the "
            "rule in two, or replace nested `any` lists inside `all` by a derived fact"), "E-RULE-TOO-COMPLEX"))
    if len(compiled.properties) > PROPERTY_CAP:
        problems.append(Problem(locate(rule, ("when",)), (
            f"this condition reads {len(compiled.properties)} values and at most {PROPERTY_CAP} are "
            "allowed; split the rule"), "E-RULE-TOO-COMPLEX"))
    return problems


def _default_locate(rule: Rule, path: tuple[str | int, ...]) -> Location:
    return Location(rule.path or rule.id)


def compile_guidelines(g: GuidelineSet, locate: Locate = _default_locate) -> Program:
    """Compile the active rules; problems (too complex, cyclic) are returned, never raised."""
    rules = tuple(sorted(g.active_rules, key=lambda r: r.id))
    level, cyclic = strata(rules, g)
    patterns = _Patterns(g)
    problems = [Problem(locate(r, ("then",)), "this rule is part of a cycle of derived facts; a fact "
                        "cannot depend on itself", "E-DERIVE-CYCLE") for r in rules if r.id in cyclic]
    by_stratum: dict[int, list[CompiledRule]] = {}
    for rule in rules:
        compiled = compile_rule(rule, level[rule.id], patterns)
        found = limit_problems(rule, compiled, locate)
        problems.extend(found)
        if not found and rule.id not in cyclic:
            by_stratum.setdefault(compiled.stratum, []).append(compiled)
    layers = tuple(
        tuple(ruleset_of(k, group) for group in _partition(by_stratum[k])) for k in sorted(by_stratum)
    )
    specs = tuple(patterns.specs[name] for name in sorted(patterns.specs))
    return Program(layers, specs, tuple(problems))


@dataclass(frozen=True)
class _Size:
    """What the engine's limits look at in a compiled rule."""

    alternatives: int
    properties: frozenset[str]


def rule_limit_problems(g: GuidelineSet, locate: Locate = _default_locate) -> list[Problem]:
    """Only the engine-limit problems of the active rules (for `guideline validate`): the size of each
    rule's pattern, without writing it out as a ruleset would need."""
    patterns = _Patterns(g)
    found = []
    for rule in g.active_rules:
        positive = nnf(rule.when)
        size = _Size(alternatives(positive),
                     frozenset(properties_read(patterns.pattern(positive))) - set(DISCRIMINATOR))
        found += limit_problems(rule, size, locate)
    return found
