"""Property test: on random rule sets (with derive chains of depth >= 2) and random cases, what
durable_rules decides equals what a plain-Python Kleene evaluation decides, rule by rule."""

from __future__ import annotations

from typing import Any

import pytest
from engine_kit import act, case, derive, fact, guidelines, rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluate import Evaluator, derived_value
from engine.model import GuidelineSet, Rule
from engine.oracle import truth

GRID = [0.0, 1.0, 2.5, 3.0, 10.0, 50.0]  # thresholds and values share a grid, so ties happen often
NUMBERS = ["wbc", "platelets", "alt", "alt_baseline"]
CATEGORIES = {"tpmt_status": ["normal", "intermediate", "absent"], "azathioprine_status": ["planned", "taking"]}
DERIVED = ["severe_cytopenia", "marrow_failure_risk", "urgent_review"]  # each may read the ones before it
MEDICINES = ["allopurinol", "febuxostat", "prednisolone"]


def leaves(readable: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    number = st.builds(lambda f, op, v: fact(f, **{op: v}), st.sampled_from(NUMBERS),
                       st.sampled_from(["below", "at_most", "above", "at_least", "equals", "not_equals"]),
                       st.sampled_from(GRID))
    between = st.builds(lambda f, a, b: fact(f, between=sorted([a, b])), st.sampled_from(NUMBERS),
                        st.sampled_from(GRID), st.sampled_from(GRID))
    ratio = st.builds(lambda op, t: fact("alt", **{op: {"times": t, "of": "alt_baseline"}}),
                      st.sampled_from(["below", "at_least", "above"]), st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    category = st.sampled_from(sorted(CATEGORIES)).flatmap(lambda f: st.one_of(
        st.builds(lambda v: fact(f, equals=v), st.sampled_from(CATEGORIES[f])),
        st.builds(lambda vs: fact(f, one_of=vs), st.lists(st.sampled_from(CATEGORIES[f]), min_size=1,
                                                          max_size=2, unique=True))))
    listed = st.one_of(st.builds(lambda m: fact("medications", contains=m), st.sampled_from(MEDICINES)),
                       st.just(fact("medications", contains={"valueset": "xanthine-oxidase-inhibitors"})))
    presence = st.builds(lambda f, op: fact(f, **{op: True}), st.sampled_from([*NUMBERS, "medications",
                                                                                "tpmt_status"]),
                         st.sampled_from(["known", "unknown"]))
    boolean = st.builds(lambda f, v: fact(f, **{"equals" if v else "not_equals": True}),
                        st.sampled_from(["pregnant", *readable]), st.booleans())
    return st.one_of(number, between, ratio, category, listed, presence, boolean)


def conditions(readable: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaves(readable),
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner)),
        max_leaves=5)


@st.composite
def rule_sets(draw: st.DrawFn) -> GuidelineSet:
    rules: list[dict[str, Any]] = []
    for depth, name in enumerate(DERIVED):  # producers of DERIVED[k] read DERIVED[:k]
        for i in range(draw(st.integers(1, 2))):
            when = draw(conditions(DERIVED[:depth]))
            if depth and i == 0:  # the first producer always reads the previous derived fact: a chain
                when = draw(_joined_with(DERIVED[depth - 1], when))
            rules.append(rule(f"AZA-D{depth}-{len(rules):03d}", when, derive(name, draw(st.booleans()))))
    rules.append(rule(f"AZA-R-{len(rules):03d}", draw(_joined_with(DERIVED[-1], draw(conditions(DERIVED)))),
                      act("stop")))
    for _ in range(draw(st.integers(0, 3))):
        rules.append(rule(f"AZA-R-{len(rules):03d}", draw(conditions(DERIVED)), act("hold")))
    return guidelines(*rules)


def _joined_with(derived: str, when: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    reads = st.builds(lambda op, v: fact(derived, **{op: v}), st.sampled_from(["equals", "not_equals"]),
                      st.booleans())
    return st.builds(lambda kind, leaf: {kind: [leaf, when]}, st.sampled_from(["all", "any"]), reads)


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    pool: dict[str, st.SearchStrategy[Any]] = {
        **{n: st.sampled_from(GRID) for n in NUMBERS},
        **{n: st.sampled_from(v) for n, v in CATEGORIES.items()},
        "pregnant": st.booleans(),
        "medications": st.lists(st.sampled_from(MEDICINES), max_size=2, unique=True),
    }
    present = draw(st.sets(st.sampled_from(sorted(pool))))
    return {name: draw(pool[name]) for name in sorted(present)}


def oracle_outcomes(g: GuidelineSet, values: dict[str, Any]) -> dict[str, bool | None]:
    """A plain fixpoint: evaluate every rule, set derived facts, repeat until nothing changes."""
    rules = g.active_rules
    producers: dict[str, tuple[Rule, ...]] = {}
    for r in sorted(rules, key=lambda r: r.id):
        for f in r.derives:
            producers[f] = (*producers.get(f, ()), r)
    outcomes: dict[str, bool | None] = {}
    while True:
        known = dict(values)
        for name, rs in producers.items():
            value, _ = derived_value(name, rs, outcomes) if all(r.id in outcomes for r in rs) else (None, ())
            if value is not None:
                known[name] = value
        new = {r.id: truth(r.when, known, g.valuesets) for r in rules}
        if new == outcomes:
            return outcomes
        outcomes = new


def normalized(values: dict[str, Any]) -> dict[str, Any]:
    """The typed values normalize_facts gives the engine (lists as sorted tuples)."""
    return {k: tuple(sorted(set(v))) if isinstance(v, list) else v for k, v in values.items()}


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets(), st.lists(patients(), min_size=1, max_size=4))
def test_durable_decides_every_rule_as_the_oracle_does(g: GuidelineSet, people: list[dict[str, Any]]) -> None:
    evaluator = Evaluator(g)
    for person in people:
        assert evaluator.rule_outcomes(case(**person)) == oracle_outcomes(g, normalized(person))


def test_the_generated_rule_sets_reach_a_derive_depth_of_at_least_two() -> None:
    @settings(max_examples=30, deadline=None)
    @given(rule_sets())
    def check(g: GuidelineSet) -> None:
        depths.append(len(Evaluator(g).program.strata))

    depths: list[int] = []
    check()
    assert min(depths) == 4  # strata 0-3: three derived facts in a chain, then the rule reading the last
