"""A patient case -> Result: forward chaining by strata on durable_rules, then precedence and doses.

Public API: `Evaluator(guidelines).evaluate(case, explain=False)` and `evaluate(...)`; `chain` and
`result` are its two steps after the facts are normalised, for tools that time or inspect them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compiler import CompiledRule, CompiledRuleset, Program, compile_guidelines
from engine.dose import compute_dose
from engine.errors import EngineError, InputError, Location
from engine.explain import failed_tests, value_reader, with_units
from engine.facts import normalize_facts
from engine.gates import GateIndex
from engine.kleene import compile_decision, remembered
from engine.model import ACTION_ORDER, Action, Case, GuidelineSet, Rule, facts_used
from engine.precedence import Challengers, apply_precedence, provisional
from engine.properties import compute, computed, spec_inputs
from engine.result import FactValue, NeedsData, Recommendation, Result, TraceStep
from engine.runtime import Runtime, shared_runtime

_NO_VALUE = object()  # a gate fact the patient's case does not give
Waiting = tuple[tuple[tuple[CompiledRuleset, tuple[CompiledRule, ...]], ...], ...]
Locate = Callable[[tuple[str | int, ...]], Location]
Outcomes = dict[str, bool | None]  # rule id -> definitely true / definitely false / undecided


@dataclass
class Chained:
    """One case after forward chaining: what is known, each rule's outcome, and why."""

    known: dict[str, Any]
    outcomes: Outcomes = field(default_factory=dict)
    derived_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lacking: dict[str, frozenset[str]] = field(default_factory=dict)  # undecided rule -> absent facts
    fired: set[str] = field(default_factory=set)  # the rules that hold


class Evaluator:
    """Compiles the active rules once; evaluates any number of cases, each in its own sessions."""

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.guidelines = guidelines
        self.program: Program = compile_guidelines(guidelines)
        if self.program.problems:
            raise InputError(list(self.program.problems))
        self._runtime: Runtime = shared_runtime()
        for layer in self.program.strata:
            for ruleset in layer:
                self._runtime.register(ruleset)
        derived = frozenset(name for name, fact in guidelines.facts.items() if fact.derived)
        self._index_rules(guidelines)
        self._index_derivations(guidelines, derived)
        self._index_gates(derived)
        self._all_false: Outcomes = dict.fromkeys(self._rules, False)
        self._waiting_for = functools.lru_cache(maxsize=1024)(self._waiting)
        # The same rule lacks the same facts in many patients: each NeedsData (immutable) made once.
        self._needs = functools.lru_cache(maxsize=4096)(self._needs_data_of)

    def _index_rules(self, g: GuidelineSet) -> None:
        """What each rule reads, decides and recommends, worked out once."""
        rules = g.active_rules
        self._rules = {r.id: r for r in rules}
        self._advice = {r.id: r.recommendations for r in rules}
        self._citations = {r.id: tuple(f"{c.ref}: {c.locator}" for c in r.citations) for r in rules}
        self._reads = {r.id: value_reader(with_units(sorted(facts_used(r.when)), g)) for r in rules}
        # A recommendation without a dose is the same for every patient: built once.
        self._fixed = {r.id: {i: _recommendation(r, a, None, self._citations[r.id])
                              for i, a in enumerate(r.recommendations) if a.dose is None} for r in rules}
        self._decide = {r.id: remembered(compile_decision(r.when, g.valuesets), facts_used(r.when)) for r in rules}
        self._derives = {r.id: r.derives for r in rules}
        self._challengers = Challengers.of(rules)

    def _index_derivations(self, g: GuidelineSet, derived: frozenset[str]) -> None:
        """Who sets each derived fact, and in which stratum it becomes known."""
        self._producers = _producers(g.active_rules)
        self._order = {r.rule_id: (r.stratum, r.rule_id) for layer in self.program.strata
                       for rs in layer for r in rs.rules}
        settled = _settled_by_stratum(self._producers, self._order, len(self.program.strata))
        self._settles_in = {fact: stratum for stratum, facts in enumerate(settled) for fact in facts}
        self._derivations = {fact: derivations(fact, rules) for fact, rules in self._producers.items()}
        # What a stratum's derived facts are when none of their producers can hold for the patient
        # (the common case in a big repository): worked out once, applied as one dict update.
        self._fallback = [_fallback(facts, self._derivations) for facts in settled]
        self._fallback_properties = [compute(fallback, ()) for fallback in self._fallback]
        self._derived_specs = tuple(s for s in self.program.specs if spec_inputs(s) & derived)

    def _index_gates(self, derived: frozenset[str]) -> None:
        """The compiled rules in order, and the gates that rule most of them out before any session."""
        compiled = [(stratum, ruleset, rule) for stratum, layer in enumerate(self.program.strata)
                    for ruleset in layer for rule in ruleset.rules]
        self._gates = GateIndex({rule.rule_id: rule.gates for _, _, rule in compiled}, derived)
        self._residual = self._gates.residual_rules()  # the rules with gates to check one by one
        self._place = {rule.rule_id: (index, stratum, ruleset, rule)
                       for index, (stratum, ruleset, rule) in enumerate(compiled)}
        self._no_gate_values = (_NO_VALUE,) * len(self._gates.selective)

    def evaluate(self, case: Case, *, explain: bool = False, locate: Locate | None = None) -> Result:
        """Raise InputError (every problem, with locations) if the case's facts cannot be used."""
        where = locate or (lambda _path: Location(case.path or case.id))
        values, problems = normalize_facts(case.facts, self.guidelines.facts, where)
        if problems:
            raise InputError(problems)
        return self.result(case.id, self.chain(values), explain)

    def rule_outcomes(self, case: Case) -> dict[str, bool | None]:
        """Each active rule: True (applies), False (definitely not), None (undecided). For tests."""
        values, problems = normalize_facts(case.facts, self.guidelines.facts, lambda _p: Location(case.id))
        if problems:
            raise InputError(problems)
        return dict(self.chain(values).outcomes)

    # ------------------------------------------------------------ forward chaining

    @property
    def runtime(self) -> Runtime:
        """The durable_rules runtime the rulesets are registered in (one per process)."""
        return self._runtime

    def chain(self, values: dict[str, Any]) -> Chained:
        """Step 2 of `evaluate`, after the facts are normalised: forward chaining, stratum by stratum."""
        # Every rule starts false; only the rules no gate rules out are run or decided: one copy of a
        # prepared dict instead of a Python step for each of thousands of rules.
        run = Chained(known=dict(values), outcomes=dict(self._all_false))
        properties = compute(run.known, self.program.specs)
        waiting = self._waiting_for(tuple(map(run.known.get, self._gates.selective, self._no_gate_values)))
        pending: list[set[str]] = [set() for _ in self.program.strata]  # derived facts a live rule may set
        for stratum, rulesets in enumerate(waiting):
            for ruleset, candidates in rulesets:
                for rule_id in self._run(ruleset, candidates, properties, run):
                    for fact in self._derives[rule_id]:
                        pending[self._settles_in[fact]].add(fact)
            self._settle(stratum, pending[stratum], run, properties)
        return run

    def _waiting(self, gate_values: tuple[Any, ...]) -> Waiting:
        """The rules the gate facts' values leave possible, grouped by ruleset, stratum by stratum, in
        compiled order. Patients share a few gate values (categories, yes/no): remembered by them."""
        known = {fact: value for fact, value in zip(self._gates.selective, gate_values, strict=True)
                 if value is not _NO_VALUE}
        by_ruleset: dict[str, tuple[CompiledRuleset, list[CompiledRule]]] = {}
        waiting: list[list[tuple[CompiledRuleset, list[CompiledRule]]]] = [[] for _ in self.program.strata]
        for _, stratum, ruleset, rule in sorted(map(self._place.__getitem__, self._gates.possible(known)), key=_first):
            if ruleset.name not in by_ruleset:
                by_ruleset[ruleset.name] = (ruleset, [])
                waiting[stratum].append(by_ruleset[ruleset.name])
            by_ruleset[ruleset.name][1].append(rule)
        return tuple(tuple((ruleset, tuple(rules)) for ruleset, rules in layer) for layer in waiting)

    def _run(self, ruleset: CompiledRuleset, candidates: tuple[CompiledRule, ...], properties: Mapping[str, Any],
             run: Chained) -> list[str]:
        """Decide the candidates of one ruleset: fired (true), ruled out by a residual gate (false, as they
        start), or decided beside durable: definitely false, or undecided for want of data. durable
        reads an absent fact as false, so it cannot tell the two apart; the Kleene functions can, and
        double as a cross-check. Returns the rules not ruled out."""
        known, residual, passes = run.known, self._residual, self._gates.passes
        open_ = [rule for rule in candidates if rule.rule_id not in residual or passes(rule.rule_id, known)]
        present = properties.keys()
        live = [rule for rule in open_ if present >= rule.requires]
        fired = self._fired(ruleset, live, properties) if live else frozenset()
        opened = [rule.rule_id for rule in open_]
        if not fired.issubset(opened):
            raise EngineError(f"{sorted(fired.difference(opened))} fired although a known value rules them out; "
                              "the compiled pattern is wrong")
        run.fired |= fired
        outcomes, lacking, decide = run.outcomes, run.lacking, self._decide
        for rule_id in opened:  # inlined, not a method: about 50 rules a case
            found, missing = decide[rule_id](known)
            if rule_id in fired:
                if found is not True:  # durable and the Kleene functions check each other both ways
                    raise _fired_wrongly(rule_id, found)
                outcomes[rule_id] = True
                continue
            if found is True:
                raise _unfired(rule_id)
            if found is None:
                lacking[rule_id] = missing  # a rule reads only lower strata: this stays true to the end
            outcomes[rule_id] = found
        return opened

    def _fired(self, ruleset: CompiledRuleset, live: list[CompiledRule],
               properties: Mapping[str, Any]) -> frozenset[str]:
        # Only what the rules that could match read: the fact durable parses is smaller, and a rule
        # left out cannot match without its properties (the cross-checks would say so if it did).
        reads = ruleset.properties if len(live) == len(ruleset.rules) else frozenset().union(
            *(rule.properties for rule in live))
        return self._runtime.run(ruleset, {name: properties[name] for name in sorted(reads & properties.keys())})

    def _settle(self, stratum: int, live: set[str], run: Chained, properties: dict[str, Any]) -> None:
        """The derived facts whose last producer ran in this stratum: their fallback value, unless a
        producer that was run sets or leaves them otherwise."""
        now_known = dict(self._fallback[stratum])
        by: dict[str, tuple[str, ...]] = dict.fromkeys(now_known, ())
        for fact in sorted(live):
            value, by[fact] = settle(self._derivations[fact], run.outcomes)
            if value is None:
                now_known.pop(fact, None)
                del by[fact]
            else:
                now_known[fact] = value
        run.known.update(now_known)
        run.derived_by.update(by)
        # Between strata only derived facts, and the few properties computed from them, change.
        properties.update(self._fallback_properties[stratum])
        for fact in live:
            properties.pop(fact, None)
        properties.update(compute({fact: now_known[fact] for fact in live if fact in now_known}, ()))
        properties.update(computed(run.known, self._derived_specs))

    # ------------------------------------------------------------ the result

    def result(self, case_id: str, run: Chained, explain: bool = False) -> Result:
        """Step 3 of `evaluate`: precedence, doses, needs-data and the trace, from a chained case."""
        known, outcomes, derived_by = run.known, run.outcomes, run.derived_by
        fired = [self._rules[i] for i in self._ordered(run.fired)]
        kept, suppressed = apply_precedence(
            (rec for rule in fired for rec in self._recommendations(rule, known)), self._rules)
        g = self.guidelines

        def read(rule: Rule) -> tuple[FactValue, ...]:
            return self._reads[rule.id](known, derived_by)

        trace = tuple(TraceStep(r.id, "fired", read(r), r.derives) for r in fired)
        misses = tuple(
            TraceStep(r.id, "not_fired", read(r), failed=failed_tests(r, known, g))
            for r in (self._rules[i] for i in self._ordered(i for i, o in outcomes.items() if o is False))
        ) if explain else ()
        needs_data = self._needs_data(run, kept)
        undecided = [n.rule for n in needs_data if outcomes.get(n.rule) is None]
        recommendations = tuple(sorted(kept, key=_reading_order))
        return Result(
            case_id=case_id,
            recommendations=recommendations,
            derived={name: known[name] for name in sorted(derived_by)},
            needs_data=needs_data,
            suppressed=tuple(sorted(suppressed, key=lambda s: (_reading_order(s.recommendation), s.by_rule))),
            trace=trace,
            near_misses=misses,
            provisional=provisional(recommendations, undecided, run.fired, self._challengers) if undecided else (),
        )

    def _ordered(self, rule_ids: Iterable[str]) -> list[str]:
        return sorted(rule_ids, key=self._order.__getitem__)

    def _recommendations(self, rule: Rule, known: Mapping[str, Any]) -> list[Recommendation]:
        weight = known.get("weight")
        fixed = self._fixed[rule.id]
        return [fixed[i] if i in fixed else
                _recommendation(rule, a, weight if isinstance(weight, float) else None, self._citations[rule.id])
                for i, a in enumerate(self._advice[rule.id])]

    def _needs_data(self, run: Chained, kept: list[Recommendation]) -> tuple[NeedsData, ...]:
        found: dict[str, NeedsData] = {}
        behind: dict[str, frozenset[str]] = {}  # producers are shared by many rules: each fact walked once a case
        listed: dict[frozenset[str], tuple[str, ...]] = {}  # undecided rules often lack the same facts
        for rule_id, lacking in run.lacking.items():  # the undecided rules; the answer is sorted below
            if self._advice[rule_id]:
                if lacking not in listed:
                    listed[lacking] = tuple(sorted(lacking if lacking.isdisjoint(self._producers)
                                                   else self._base_facts_needed(lacking, run, behind)))
                found[rule_id] = self._needs(rule_id, listed[lacking])
        for rec in kept:
            if rec.dose is not None and rec.dose.needs and rec.rule not in found:
                found[rec.rule] = self._needs(rec.rule, rec.dose.needs)
        return tuple(found[k] for k in sorted(found))

    def _needs_data_of(self, rule_id: str, facts: tuple[str, ...]) -> NeedsData:
        return NeedsData(rule_id, self._rules[rule_id].title, facts)

    def _base_facts_needed(self, lacking: frozenset[str], run: Chained,
                           behind: dict[str, frozenset[str]]) -> set[str]:
        """Missing facts that could decide a rule lacking these; a missing derived fact is replaced by
        what its undecided producers lack, so the reader is told which measurements to supply."""
        needed: set[str] = set()
        for name in lacking:
            needed |= self._behind(name, run, behind)
        return needed

    def _behind(self, name: str, run: Chained, behind: dict[str, frozenset[str]]) -> frozenset[str]:
        if name not in behind:
            behind[name] = frozenset({name})  # stands while the producers are walked (strata make no cycle)
            below: set[str] = set()
            for producer in self._producers.get(name, ()):
                if run.outcomes.get(producer.id) is None:
                    below |= self._base_facts_needed(run.lacking.get(producer.id, frozenset()), run, behind)
            if below:
                behind[name] = frozenset(below)
        return behind[name]


def _settled_by_stratum(producers: Mapping[str, tuple[Rule, ...]], order: Mapping[str, tuple[int, str]],
                        count: int) -> list[list[str]]:
    """For each stratum, the derived facts whose last producer runs in it (known right after it)."""
    settled: list[list[str]] = [[] for _ in range(count)]
    strata = sorted({stratum for stratum, _ in order.values()})
    for fact in sorted(producers):
        last = max(order[p.id][0] for p in producers[fact])
        settled[strata.index(last)].append(fact)
    return settled


def _fallback(facts: list[str], ways: Mapping[str, tuple[Derivation, ...]]) -> dict[str, Any]:
    """Each fact's value when every one of its producers is definitely false (see `settle`)."""
    none_hold = dict.fromkeys((rule_id for fact in facts for rule_id, _ in ways[fact]), False)
    found = {fact: settle(ways[fact], none_hold)[0] for fact in facts}
    return {fact: value for fact, value in found.items() if value is not None}


def _fired_wrongly(rule_id: str, found: bool | None) -> EngineError:
    reading = "do not hold" if found is False else "cannot be decided without more data"
    return EngineError(f"durable_rules fired {rule_id} although its conditions {reading} for this patient; "
                       "the compiled pattern or the session is wrong")


def _unfired(rule_id: str) -> EngineError:
    return EngineError(f"{rule_id} holds for this patient but durable_rules did not fire it; "
                       "the compiled pattern is wrong")


def _first(item: tuple[int, Any, Any, Any]) -> int:
    return item[0]


def _producers(rules: tuple[Rule, ...]) -> dict[str, tuple[Rule, ...]]:
    found: dict[str, list[Rule]] = {}
    for rule in sorted(rules, key=lambda r: r.id):
        for fact in rule.derives:
            found.setdefault(fact, []).append(rule)
    return {fact: tuple(rs) for fact, rs in found.items()}


Derivation = tuple[str, Any]  # a producer rule's id, and the value it gives the derived fact


def derivations(fact: str, producers: tuple[Rule, ...]) -> tuple[Derivation, ...]:
    return tuple((p.id, a.value) for p in producers for a in p.then if a.kind == "derive" and a.fact == fact)


def settle(ways: tuple[Derivation, ...], outcomes: Mapping[str, bool | None]) -> tuple[Any, tuple[str, ...]]:
    """Set by the producers that fired (conflicting values: unknown); false when every producer
    that sets it true is definitely false; otherwise unknown."""
    fired = [(rule_id, value) for rule_id, value in ways if outcomes.get(rule_id) is True]
    values = {value for _, value in fired}
    if len(values) == 1:
        return values.pop(), tuple(rule_id for rule_id, _ in fired)
    if not fired and all(value is True and outcomes.get(rule_id) is False for rule_id, value in ways):
        return False, ()
    return None, ()


def derived_value(fact: str, producers: tuple[Rule, ...], outcomes: Outcomes) -> tuple[Any, tuple[str, ...]]:
    """The derived fact's value from its producers' outcomes (see `settle`), and who set it."""
    return settle(derivations(fact, producers), outcomes)


def _recommendation(rule: Rule, action: Action, weight: float | None, citations: tuple[str, ...]) -> Recommendation:
    return Recommendation(
        rule=rule.id,
        version=rule.version,
        action=action.kind,
        subject=action.subject,
        strength=action.strength,
        text=action.text,
        citations=citations,
        dose=compute_dose(action, weight),
        permanent=action.permanent,
        interval=action.interval,
        duration=action.duration,
        with_subject=action.with_subject,
    )


_RANK = {action: rank for rank, action in enumerate(ACTION_ORDER)}


def _reading_order(rec: Recommendation) -> tuple[int, str, str, str]:
    return _RANK.get(rec.action, len(ACTION_ORDER)), rec.subject, rec.rule, rec.text


def evaluate(guidelines: GuidelineSet, case: Case, explain: bool = False) -> Result:
    """One case, compiled and run at once (use Evaluator for many cases)."""
    return Evaluator(guidelines).evaluate(case, explain=explain)
