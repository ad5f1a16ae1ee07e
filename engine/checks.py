"""Semantic checks beyond the schema: one small generator each, listed in CHECKS."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.case_checks import id_location
from engine.conflicts import conflict_problems
from engine.errors import Location, Problem
from engine.facts import VALUE_DECIMALS
from engine.model import (
    COMPARISONS,
    WEIGHT_FACT,
    FactDef,
    GuidelineSet,
    Multiple,
    Rule,
    Test,
    ValueSetRef,
    facts_used,
    iter_tests,
)
from engine.repository import Loaded, unreadable_rule_ids
from engine.schema import did_you_mean

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_OPS_BY_TYPE = {
    "number": {"equals", "not_equals", *COMPARISONS, "between", "known", "unknown"},
    "category": {"equals", "not_equals", "one_of", "known", "unknown"},
    "boolean": {"equals", "not_equals", "known", "unknown"},
    "list": {"contains", "known", "unknown"},
}
_FIELDS_BY_ACTION = {
    "dose": {"dose", "adjust_percent"},
    "monitor": {"interval", "duration"},
    "combine_with": {"with"},
    "stop": {"permanent"},
    "derive": {"fact", "value"},
}
_OPTIONAL_FIELDS = {"dose", "adjust_percent", "interval", "duration", "with", "permanent", "fact", "value"}


@dataclass(frozen=True)
class Context:
    loaded: Loaded
    today: dt.date

    @property
    def g(self) -> GuidelineSet:
        return self.loaded.guidelines

    def rule_at(self, rule: Rule, path: tuple[str | int, ...], *, key: bool = False) -> Location:
        document = self.loaded.rule_documents.get(rule.id)
        return document.at(path, key=key) if document else Location(rule.path)


Check = Callable[[Context], Iterator[Problem]]


def check_ids_unique(ctx: Context) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for rule in ctx.g.rules:
        if rule.id in seen:
            yield Problem(
                ctx.rule_at(rule, ("id",)),
                f"rule id {rule.id} is already used by {seen[rule.id]}; ids are never reused: pick a new one",
                "E-DUPLICATE-ID",
            )
        seen.setdefault(rule.id, rule.path)


def check_file_placement(ctx: Context) -> Iterator[Problem]:
    for rule in ctx.g.rules:
        path = Path(rule.path)
        if path.stem != rule.id:
            yield Problem(ctx.rule_at(rule, ("id",)), f"the id {rule.id} must match the file name ({path.name}); "
                          f"rename the file to {rule.id}.yaml", "E-ID-FILENAME")
        if rule.topic not in ctx.g.topics:
            hint = did_you_mean(rule.topic, sorted(ctx.g.topics))
            yield Problem(ctx.rule_at(rule, ("topic",)), f"unknown topic '{rule.topic}'{hint}", "E-UNKNOWN-TOPIC")
        elif path.parent.name != rule.topic:
            yield Problem(ctx.rule_at(rule, ("topic",)), f"the rule is about '{rule.topic}' but lives in "
                          f"'{path.parent.name}/'; move it to guidelines/rules/{rule.topic}/", "E-TOPIC-FOLDER")


def check_citations(ctx: Context) -> Iterator[Problem]:
    keys = sorted(ctx.g.references)
    for rule in ctx.g.rules:
        for i, citation in enumerate(rule.citations):
            if citation.ref not in ctx.g.references:
                yield Problem(ctx.rule_at(rule, ("citations", i, "ref")),
                              f"unknown reference '{citation.ref}'{did_you_mean(citation.ref, keys)}; "
                              "add it to guidelines/references.yaml or fix the key", "E-UNKNOWN-REFERENCE")


def check_conditions(ctx: Context) -> Iterator[Problem]:
    for rule in ctx.g.rules:
        for test in iter_tests(rule.when):
            for message, code in _test_problems(test, ctx.g):
                yield Problem(ctx.rule_at(rule, (*test.path, _field_of(test, code))), message, code)


def _field_of(test: Test, code: str) -> str:
    """The line an editor must change: the fact name, the unit, or the test's value."""
    if code == "E-UNKNOWN-FACT" and not isinstance(test.value, Multiple):
        return "fact"
    if code == "E-UNIT" and test.unit is not None:
        return "unit"
    return test.op


def _test_problems(test: Test, g: GuidelineSet) -> Iterator[tuple[str, str]]:
    fact = g.facts.get(test.fact)
    if fact is None:
        yield f"unknown fact '{test.fact}'{did_you_mean(test.fact, sorted(g.facts))}", "E-UNKNOWN-FACT"
        return
    if test.op not in _OPS_BY_TYPE[fact.type]:
        allowed = ", ".join(sorted(_OPS_BY_TYPE[fact.type]))
        yield f"'{test.op}' cannot test '{fact.name}' ({fact.type}); use one of: {allowed}", "E-OPERATOR-TYPE"
        return
    if test.op in ("known", "unknown"):  # `known: true` has no value to check against the fact's type
        return
    yield from _value_problems(test, fact, g)


def _value_problems(test: Test, fact: FactDef, g: GuidelineSet) -> Iterator[tuple[str, str]]:
    value = test.value
    if test.unit is not None and (fact.type != "number" or test.unit != fact.unit):
        yield (f"the threshold is written in '{test.unit}' but '{fact.name}' is recorded in '{fact.unit}'; "
               f"convert the number to {fact.unit}"), "E-UNIT"
    if fact.type == "category":
        for word in value if isinstance(value, tuple) else (value,):
            if word not in fact.value_names:
                hint = did_you_mean(str(word), list(fact.value_names))
                yield (f"'{word}' is not a value of '{fact.name}'{hint} "
                       f"(values: {', '.join(fact.value_names)})"), "E-UNKNOWN-VALUE"
    elif fact.type == "boolean" and test.op in ("equals", "not_equals") and not isinstance(value, bool):
        yield f"'{fact.name}' is true or false; write {test.op}: true or {test.op}: false", "E-VALUE-TYPE"
    elif fact.type == "number":
        yield from _number_problems(test, fact, g)
    elif isinstance(value, ValueSetRef) and value.name not in g.valuesets:
        hint = did_you_mean(value.name, sorted(g.valuesets))
        yield f"unknown value set '{value.name}'{hint}", "E-UNKNOWN-VALUESET"


def _number_problems(test: Test, fact: FactDef, g: GuidelineSet) -> Iterator[tuple[str, str]]:
    value = test.value
    if isinstance(value, Multiple):
        other = g.facts.get(value.of)
        if other is None:
            yield f"unknown fact '{value.of}'{did_you_mean(value.of, sorted(g.facts))}", "E-UNKNOWN-FACT"
        elif other.type != "number" or other.unit != fact.unit:
            yield f"'{fact.name}' can only be compared with a number in the same unit ({fact.unit})", "E-UNIT"
        return
    numbers = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        yield f"'{fact.name}' is a number; compare it with a number", "E-VALUE-TYPE"
        return
    if test.op == "between" and isinstance(value, tuple) and float(value[0]) > float(value[1]):
        yield f"between [{value[0]:g}, {value[1]:g}] is empty: write the lower number first", "E-RANGE-ORDER"
    if any(isinstance(n, float) and round(n, VALUE_DECIMALS) != n for n in numbers):
        yield (f"a threshold for '{fact.name}' has more than {VALUE_DECIMALS} decimals; "
               "values are compared to 4 decimals"), "E-THRESHOLD-PRECISION"
    low, high = fact.range or (float("-inf"), float("inf"))
    for n in numbers:
        if isinstance(n, (int, float)) and not low <= n <= high:
            yield (f"the threshold {n:g} {fact.unit} is outside the allowed range of '{fact.name}' "
                   f"({low:g}–{high:g} {fact.unit}); is the unit right?"), "E-THRESHOLD-RANGE"


def check_actions(ctx: Context) -> Iterator[Problem]:
    for rule in ctx.g.rules:
        document = ctx.loaded.rule_documents.get(rule.id)
        raw_actions = document.data["then"] if document else []
        for i, (action, raw) in enumerate(zip(rule.then, raw_actions, strict=False)):
            for message, code, key in _action_problems(action.kind, raw, ctx.g):
                yield Problem(ctx.rule_at(rule, ("then", i, key)), message, code)


def _action_problems(kind: str, raw: dict[str, object], g: GuidelineSet) -> Iterator[tuple[str, str, str]]:
    """(message, code, the field of the action to point at)."""
    extra = (set(raw) & _OPTIONAL_FIELDS) - _FIELDS_BY_ACTION.get(kind, set())
    for name in sorted(extra):
        yield f"'{name}' does not belong to a '{kind}' action; remove it", "E-ACTION-FIELD", name
    if kind == "derive":
        stray = sorted(set(raw) & {"subject", "strength", "text"})
        if stray:
            yield "a derive action sets a fact; it has no subject, strength or text", "E-ACTION-FIELD", stray[0]
        fact = g.facts.get(str(raw.get("fact")))
        if fact is None:
            missing = str(raw.get("fact"))
            yield f"unknown fact '{missing}'{did_you_mean(missing, sorted(g.facts))}", "E-UNKNOWN-FACT", "fact"
        elif not fact.derived:
            yield (f"'{fact.name}' is not marked `derived: true` in facts.yaml, so rules may not set it",
                   "E-DERIVE", "fact")
        return
    for key in ("subject", "with"):
        name = str(raw.get(key, ""))
        if name and name not in g.subjects:
            yield f"unknown subject '{name}'{did_you_mean(name, sorted(g.subjects))}", "E-UNKNOWN-SUBJECT", key
    yield from _range_order(raw.get("dose"), "dose")
    yield from _range_order(raw.get("adjust_percent"), "adjust_percent")


def _range_order(raw: object, name: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(raw, dict) and float(raw.get("min", 0)) > float(raw.get("max", 0)):
        yield f"'{name}': min must not be larger than max", "E-RANGE-ORDER", name


def check_rule_links(ctx: Context) -> Iterator[Problem]:
    ids = {r.id for r in ctx.g.rules} | _unreadable_rule_ids(ctx)
    for rule in ctx.g.rules:
        for field_name in ("overrides", "replaced_by"):
            for i, other in enumerate(getattr(rule, field_name)):
                if other not in ids:
                    yield Problem(ctx.rule_at(rule, (field_name, i)),
                                  f"unknown rule '{other}'{did_you_mean(other, sorted(ids))}", "E-UNKNOWN-RULE")
                elif other == rule.id:
                    yield Problem(ctx.rule_at(rule, (field_name, i)), "a rule cannot name itself", "E-SELF")


def _unreadable_rule_ids(ctx: Context) -> set[str]:
    return unreadable_rule_ids(ctx.loaded.problems)


def _where_read(rule: Rule, fact: str) -> tuple[str | int, ...]:
    test = next((t for t in iter_tests(rule.when) if t.fact == fact), None)
    return (*test.path, "fact") if test else ("when",)


def check_derive_graph(ctx: Context) -> Iterator[Problem]:
    active = ctx.g.active_rules
    producers: dict[str, list[Rule]] = defaultdict(list)
    for rule in active:
        for fact in rule.derives:
            if (definition := ctx.g.facts.get(fact)) and definition.derived:  # else E-DERIVE says so
                producers[fact].append(rule)
    unreadable = _unreadable_rule_ids(ctx)  # a rule file that did not load may be the producer
    for rule in active:
        for fact in sorted(facts_used(rule.when)):
            definition = ctx.g.facts.get(fact)
            if definition and definition.derived and not producers.get(fact) and not unreadable:
                yield Problem(ctx.rule_at(rule, _where_read(rule, fact)),
                              f"'{fact}' is derived, but no active rule derives it; the rule can never fire",
                              "E-DERIVED-UNPRODUCED")
    for cycle_rule, path in _cycles(active, producers):
        yield Problem(ctx.rule_at(cycle_rule, ("then",)),
                      f"derived facts form a cycle ({' -> '.join(path)}); a fact cannot depend on itself",
                      "E-DERIVE-CYCLE")


def _cycles(rules: tuple[Rule, ...], producers: dict[str, list[Rule]]) -> Iterator[tuple[Rule, list[str]]]:
    """Depth-first search over fact -> facts it depends on; one report per cycle found."""
    depends = {fact: sorted({f for r in rs for f in facts_used(r.when)}) for fact, rs in producers.items()}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(fact: str, trail: list[str]) -> Iterator[list[str]]:
        state[fact] = 1
        for nxt in depends.get(fact, []):
            if state.get(nxt) == 1:
                yield [*trail[trail.index(nxt):], nxt] if nxt in trail else [fact, nxt]
            elif nxt in depends and state.get(nxt) is None:
                yield from visit(nxt, [*trail, nxt])
        state[fact] = 2

    for fact in sorted(depends):
        if state.get(fact) is None:
            for cycle in visit(fact, [fact]):
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    yield producers[cycle[0]][0], cycle


def check_versions(ctx: Context) -> Iterator[Problem]:
    for rule in ctx.g.rules:
        versions = [c.version for c in rule.changelog]
        if rule.version not in versions:
            yield Problem(ctx.rule_at(rule, ("version",)),
                          f"version {rule.version} has no changelog entry; add one saying what changed",
                          "E-CHANGELOG")
        newer = [v for v in versions if _semver(v) > _semver(rule.version)]
        if newer:
            yield Problem(ctx.rule_at(rule, ("changelog",)),
                          f"the changelog mentions version {newer[0]}, newer than the rule's {rule.version}",
                          "E-CHANGELOG")


def _semver(text: str) -> tuple[int, ...]:
    match = _SEMVER.match(text)
    return tuple(int(x) for x in match.groups()) if match else (0, 0, 0)


def check_review_dates(ctx: Context) -> Iterator[Problem]:
    for rule in ctx.g.rules:
        approved = _date(rule.review.approved)
        due = _date(rule.review.next_review)
        if approved and due and due <= approved:
            yield Problem(ctx.rule_at(rule, ("review", "next_review")),
                          "next_review must come after approved", "E-REVIEW-DATES")
        if due and due < ctx.today and rule.status == "active":
            yield Problem(ctx.rule_at(rule, ("review", "next_review")),
                          f"review was due on {due.isoformat()}; review the rule and set a new date",
                          "W-REVIEW-OVERDUE", "warning")


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def check_disagreements(ctx: Context) -> Iterator[Problem]:
    document = ctx.loaded.documents.get("guidelines/disagreements.yaml")
    ids = {r.id for r in ctx.g.rules} | _unreadable_rule_ids(ctx)
    for i, item in enumerate(ctx.g.disagreements):
        def where(*path: str | int, _i: int = i) -> Location:
            return document.at(("disagreements", _i, *path)) if document else Location("guidelines/disagreements.yaml")
        for j, rule_id in enumerate(item.rules):
            if rule_id not in ids:
                yield Problem(where("rules", j), f"unknown rule '{rule_id}'{did_you_mean(rule_id, sorted(ids))}",
                              "E-UNKNOWN-RULE")
        if item.winner not in item.rules:
            yield Problem(where("winner"), f"the winner {item.winner} must be one of the listed rules",
                          "E-DISAGREEMENT")
        for j, position in enumerate(item.positions):
            if position.ref not in ctx.g.references:
                yield Problem(where("positions", j, "ref"), f"unknown reference '{position.ref}'"
                              f"{did_you_mean(position.ref, sorted(ctx.g.references))}", "E-UNKNOWN-REFERENCE")


def check_sources(ctx: Context) -> Iterator[Problem]:
    ids = {r.id for r in ctx.g.rules} | _unreadable_rule_ids(ctx)
    traced: set[str] = set()
    for source in ctx.g.sources:
        document = ctx.loaded.documents.get(source.path)
        if source.ref not in ctx.g.references:
            yield Problem(document.at(("source",)) if document else Location(source.path),
                          f"unknown reference '{source.ref}'", "E-UNKNOWN-REFERENCE")
        for i, statement in enumerate(source.statements):
            for j, rule_id in enumerate(statement.rules):
                traced.add(rule_id)
                if rule_id not in ids:
                    where = document.at(("statements", i, "rules", j)) if document else Location(source.path)
                    yield Problem(where, f"unknown rule '{rule_id}'{did_you_mean(rule_id, sorted(ids))}",
                                  "E-UNKNOWN-RULE")
    yield from _untraced(ctx, traced)


def _untraced(ctx: Context, traced: set[str]) -> Iterator[Problem]:
    articles = sorted(k for k, r in ctx.g.references.items() if r.kind == "source-article")
    have = {s.ref for s in ctx.g.sources}
    for key in articles:
        if key not in have:
            yield Problem(Location("guidelines/sources"),
                          f"source article '{key}' has no traceability file guidelines/sources/{key}.yaml",
                          "E-TRACEABILITY")
    for rule in ctx.g.active_rules:
        if ctx.g.sources and rule.id not in traced:
            yield Problem(ctx.rule_at(rule, ("id",)), f"{rule.id} is not linked from any statement in "
                          "guidelines/sources/; say which source statement it encodes", "E-TRACEABILITY")


def check_cases(ctx: Context) -> Iterator[Problem]:
    """Each case's own problems (found when it was read, see engine.case_checks) and duplicate ids."""
    found = ctx.loaded.case_findings
    counts = Counter(findings.case_id for findings in found.values())
    for path, findings in found.items():
        yield from findings.misnamed
        if counts[findings.case_id] > 1:
            document = ctx.loaded.case_documents.get(path)
            where = document.at(("id",)) if document else id_location(ctx.loaded.root, path)
            yield Problem(where, f"case id '{findings.case_id}' is used twice", "E-DUPLICATE-ID")
        yield from findings.others



def check_fact_dictionary(ctx: Context) -> Iterator[Problem]:
    document = ctx.loaded.documents.get("guidelines/facts.yaml")
    for fact in ctx.g.facts.values():
        def where(*path: str, _name: str = fact.name) -> Location:
            return document.at(("facts", _name, *path)) if document else Location("guidelines/facts.yaml")
        if fact.range and fact.range[0] > fact.range[1]:
            yield Problem(where("range"), "range: min must not be larger than max", "E-RANGE-ORDER")
        if fact.valueset and fact.valueset not in ctx.g.valuesets:
            yield Problem(where("valueset"), f"unknown value set '{fact.valueset}'", "E-UNKNOWN-VALUESET")
        for conversion in fact.conversions:
            if conversion.unit == fact.unit:
                yield Problem(where("conversions"), f"a conversion from '{fact.unit}' to itself is not needed",
                              "E-CONVERSION")
        if fact.type != "number" and (fact.unit or fact.range or fact.conversions):
            yield Problem(where("type"), f"only numbers have a unit or range; '{fact.name}' is a {fact.type}",
                          "E-FACT-DEFINITION")


def check_unused_facts(ctx: Context) -> Iterator[Problem]:
    """A fact no rule reads is noise for editors and a case that sets it proves nothing."""
    document = ctx.loaded.documents.get("guidelines/facts.yaml")
    used = {f for r in ctx.g.rules for f in facts_used(r.when)} | {f for r in ctx.g.rules for f in r.derives}
    if any(a.dose and a.dose.unit == "mg/kg/day" for r in ctx.g.rules for a in r.then):
        used.add(WEIGHT_FACT)
    for name in sorted(set(ctx.g.facts) - used):
        where = document.at(("facts", name), key=True) if document else Location("guidelines/facts.yaml")
        yield Problem(where, f"no rule reads or derives the fact '{name}'; remove it or use it",
                      "W-UNUSED-FACT", "warning")


def check_conflicts(ctx: Context) -> Iterator[Problem]:
    """Active rules that can apply together and disagree; shadowed rules; impossible conditions."""
    yield from conflict_problems(ctx.g, lambda rule, path: ctx.rule_at(rule, path))


def check_engine_limits(ctx: Context) -> Iterator[Problem]:
    """A rule too complex for one durable_rules ruleset is refused here, not at evaluation time."""
    from engine.compiler import rule_limit_problems  # local: the compiler's limits, kept in one place

    yield from rule_limit_problems(ctx.g, ctx.rule_at)


CHECKS: tuple[Check, ...] = (
    check_engine_limits,
    check_fact_dictionary,
    check_ids_unique,
    check_file_placement,
    check_citations,
    check_conditions,
    check_actions,
    check_rule_links,
    check_derive_graph,
    check_versions,
    check_review_dates,
    check_disagreements,
    check_sources,
    check_cases,
    check_unused_facts,
    check_conflicts,
)


#: The checks that read no case: they can run while the cases are still being read.
RULE_CHECKS: tuple[Check, ...] = tuple(check for check in CHECKS if check is not check_cases)
CASE_CHECKS: tuple[Check, ...] = (check_cases,)

Findings = dict[Check, list[Problem]]


def run_checks(loaded: Loaded, today: dt.date | None = None, checks: tuple[Check, ...] = CHECKS) -> list[Problem]:
    """Every semantic problem of a loaded repository, each check isolated from the others."""
    return settled(loaded, findings_of(loaded, today or dt.date.today(), checks), checks)


def findings_of(loaded: Loaded, today: dt.date, checks: tuple[Check, ...]) -> Findings:
    """What each check finds, before the problems that follow from others are dropped (`settled`)."""
    ctx = Context(loaded, today)
    return {check: list(check(ctx)) for check in checks}


def settled(loaded: Loaded, found: Findings, checks: tuple[Check, ...] = CHECKS) -> list[Problem]:
    """The checks' problems in the checks' order, less those that only repeat another problem."""
    in_order = [problem for check in checks for problem in found[check]]
    broken = {p.location.path for p in loaded.problems if p.severity == "error"}
    misread = {p.location.path for p in in_order if p.code in _CONDITION_ERRORS}
    return [p for p in in_order if not _follows_from(p, broken) and not (p.code == "W-UNSATISFIABLE"
                                                                        and p.location.path in misread)]


#: A condition comparing with a value its fact cannot take (a misspelt category value, say)
#: cannot hold as written: saying also that it can never hold would repeat the error in vaguer words.
_CONDITION_ERRORS = frozenset({"E-UNKNOWN-VALUE", "E-UNKNOWN-VALUESET", "E-VALUE-TYPE"})


#: "unknown X" problems that follow from a dictionary file that did not load: that file's own
#: problem is reported, and every name it defines would otherwise be reported unknown too.
_DICTIONARY_OF = {
    "E-UNKNOWN-FACT": "guidelines/facts.yaml",
    "E-UNKNOWN-VALUE": "guidelines/facts.yaml",
    "E-UNKNOWN-SUBJECT": "guidelines/subjects.yaml",
    "E-UNKNOWN-TOPIC": "guidelines/topics.yaml",
    "E-UNKNOWN-REFERENCE": "guidelines/references.yaml",
    "E-UNKNOWN-VALUESET": "guidelines/valuesets/",
}


def _follows_from(problem: Problem, broken: set[str]) -> bool:
    dictionary = _DICTIONARY_OF.get(problem.code)
    return dictionary is not None and any(path.startswith(dictionary) for path in broken)
