"""The same compiled conditions, run four ways, so that one run can print speed ratios.

- ours:    `Evaluator.evaluate(case)`, the whole result (precedence, doses, needs-data, trace).
- durable: the compiled rulesets asserted straight into durable_rules, stratum by stratum, every
           ruleset every time, with only the glue that turns firings into derived facts (no
           result built, no telling false from undecided).
- durable-host: the same, through durable's own Python API (Host.assert_fact, a Python action
           per match), as a durable_rules user would write it; our runtime reads the queued
           actions from durable's C engine instead (engine/runtime.py).
- plain:   the same strata evaluated in plain Python with the Kleene oracle (engine/oracle.py).
- experta: each rule translated to an experta rule (two-valued: a test on a missing fact
           never matches), derived facts declared as facts.

Each takes facts already normalised (dictionary units), except `ours`, which normalises as
users see it.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from engine.compiler import DISCRIMINATOR, WARM_UP_FACT
from engine.evaluate import Evaluator, derived_value
from engine.model import All, AnyOf, Case, Condition, GuidelineSet, Not, Rule, Test
from engine.oracle import leaf_truth, truth
from engine.properties import compute
from engine.runtime import shared_runtime

Outcomes = dict[str, bool | None]


class Ours:
    name = "ours (full result)"

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.evaluator = Evaluator(guidelines)

    def run(self, case: Case, values: Mapping[str, Any]) -> int:
        return len(self.evaluator.evaluate(case).recommendations)


class _Strata:
    """Shared by `durable` and `plain`: walk the compiled strata, set derived facts between them."""

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.evaluator = Evaluator(guidelines)  # compiles and registers the rulesets once
        self.program = self.evaluator.program
        self.rules = {r.id: r for r in guidelines.active_rules}
        self.producers: dict[str, tuple[Rule, ...]] = {}
        for rule in sorted(guidelines.active_rules, key=lambda r: r.id):
            for fact in rule.derives:
                self.producers[fact] = (*self.producers.get(fact, ()), rule)

    def chain(self, values: Mapping[str, Any], decide: Callable[[Any, dict[str, Any]], Outcomes]) -> int:
        known, outcomes = dict(values), Outcomes()
        for layer in self.program.strata:
            for ruleset in layer:
                outcomes.update(decide(ruleset, known))
            for fact, producers in self.producers.items():
                if fact not in known and all(p.id in outcomes for p in producers):
                    value, _ = derived_value(fact, producers, outcomes)
                    if value is not None:
                        known[fact] = value
        return sum(1 for o in outcomes.values() if o)


class Durable(_Strata):
    name = "durable_rules, compiled rulesets"

    def __init__(self, guidelines: GuidelineSet) -> None:
        super().__init__(guidelines)
        self.runtime = shared_runtime()

    def run(self, case: Case, values: Mapping[str, Any]) -> int:
        return self.chain(values, self._decide)

    def _decide(self, ruleset: Any, known: dict[str, Any]) -> Outcomes:
        # Every ruleset asserted (no skipping), and no false-versus-undecided analysis: what durable
        # alone can say. A rule that did not fire reads as undecided, the safe reading of "absent".
        properties = compute(known, self.program.specs)
        given = {n: properties[n] for n in sorted(ruleset.properties) if n in properties}
        fired = self.runtime.run(ruleset, given)
        return {r.rule_id: True if r.rule_id in fired else None for r in ruleset.rules}


class DurableHost(_Strata):
    name = "durable_rules through its Python API"

    def __init__(self, guidelines: GuidelineSet) -> None:
        super().__init__(guidelines)
        from durable.engine import Host, MessageNotHandledException

        class Quiet(Host):  # type: ignore[misc]
            def _run(self) -> None:  # no dispatch threads: every action runs in the caller
                return None

        self.not_handled = MessageNotHandledException
        self.host, self.fired, self.sids = Quiet(), set(), itertools.count(1)
        for layer in self.program.strata:
            for ruleset in layer:
                definition = json.loads(ruleset.definition)
                for key, rule in definition.items():
                    rule["run"] = self._recorder(key)
                self.host.set_rulesets({self._name(ruleset): definition})
                self._session(ruleset, dict(WARM_UP_FACT))  # durable crashes if a first session fires nothing

    def _recorder(self, key: str) -> Callable[[Any], None]:
        return lambda c: self.fired.add(key)

    @staticmethod
    def _name(ruleset: Any) -> str:
        return f"{ruleset.name}-host"

    def run(self, case: Case, values: Mapping[str, Any]) -> int:
        return self.chain(values, self._decide)

    def _decide(self, ruleset: Any, known: dict[str, Any]) -> Outcomes:
        properties = compute(known, self.program.specs)
        fired = self._session(ruleset, {**{n: properties[n] for n in sorted(ruleset.properties) if n in properties},
                                        **DISCRIMINATOR})
        return {r.rule_id: True if r.rule_id in fired else None for r in ruleset.rules}

    def _session(self, ruleset: Any, fact: dict[str, Any]) -> set[str]:
        sid = str(next(self.sids))
        self.fired = set()
        with contextlib.suppress(self.not_handled):  # the patient matched no rule here
            self.host.assert_fact(self._name(ruleset), {**fact, "sid": sid})
        self.host.delete_state(self._name(ruleset), sid)
        return self.fired


class Plain(_Strata):
    name = "plain Python (oracle)"

    def run(self, case: Case, values: Mapping[str, Any]) -> int:
        return self.chain(values, self._decide)

    def _decide(self, ruleset: Any, known: dict[str, Any]) -> Outcomes:
        valuesets = self.evaluator.guidelines.valuesets
        return {r.rule_id: truth(self.rules[r.rule_id].when, known, valuesets) for r in ruleset.rules}

    def outcomes(self, values: Mapping[str, Any]) -> Outcomes:
        found: Outcomes = {}

        def decide(ruleset: Any, known: dict[str, Any]) -> Outcomes:
            decided = self._decide(ruleset, known)
            found.update(decided)
            return decided

        self.chain(values, decide)
        return found


def _experta() -> Any:
    """experta 1.9.4 (2019) imports collections.Mapping, gone since Python 3.10: alias it back."""
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    import experta  # type: ignore[import-untyped]

    return experta


class Experta:
    name = "experta (two-valued)"

    def __init__(self, guidelines: GuidelineSet) -> None:
        self.x = _experta()
        self.valuesets = guidelines.valuesets
        rules = {f"rule_{i}": self._rule(r) for i, r in enumerate(sorted(guidelines.active_rules, key=lambda r: r.id))}
        self.engine = type("BenchEngine", (self.x.KnowledgeEngine,), rules)()

    def run(self, case: Case, values: Mapping[str, Any]) -> int:
        self.engine.reset()
        self.engine.fired = 0
        self.engine.declare(self.x.Fact(**{k: v for k, v in values.items()}))
        self.engine.run()
        return int(self.engine.fired)

    def _rule(self, rule: Rule) -> Any:
        derives = [(a.fact, a.value) for a in rule.then if a.kind == "derive" and a.fact]
        x = self.x

        def action(engine: Any) -> None:
            engine.fired += 1
            for fact, value in derives:
                engine.declare(x.Fact(**{fact: value}))

        return x.Rule(self._pattern(rule.when))(action)

    def _pattern(self, condition: Condition) -> Any:
        x = self.x
        if isinstance(condition, All):
            return x.AND(*(self._pattern(c) for c in condition.items))
        if isinstance(condition, AnyOf):
            return x.OR(*(self._pattern(c) for c in condition.items))
        if isinstance(condition, Not):
            return x.NOT(self._pattern(condition.item))
        return self._leaf(condition)

    def _leaf(self, test: Test) -> Any:
        x = self.x
        if test.op in ("known", "unknown"):
            present = x.Fact(**{test.fact: x.W()})
            return present if test.op == "known" else x.NOT(present)

        def holds(value: Any, _test: Test = test) -> bool:
            plain = tuple(value) if isinstance(value, (list, tuple)) else value
            return leaf_truth(_test, {_test.fact: plain}, self.valuesets) is True

        return x.Fact(**{test.fact: x.P(holds)})


ENGINES: dict[str, type[Ours] | type[Durable] | type[DurableHost] | type[Plain] | type[Experta]] = {
    "ours": Ours, "durable": Durable, "durable-host": DurableHost, "plain": Plain, "experta": Experta,
}
