"""The condition solver agrees with the plain-Python three-valued oracle on random conditions and patients.

If a patient makes a condition true, the solver must find some patient too (it never
calls a possible condition impossible, so no conflict is missed), and every example
patient it gives must really make the condition true (no conflict is invented).
The same holds for "does not apply" (not true), which the conflict analysis uses for
the rules that would suppress a recommendation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from engine.model import All, AnyOf, Condition, FactDef, Multiple, Not, ValueSet, ValueSetRef
from engine.model import Test as Leaf
from engine.oracle import truth
from engine.satisfy import Dnf, Mode, Patient, Solver, TooComplex, dnf

FACTS = {
    "wbc": FactDef("wbc", "white cell count", "number", "", unit="10*9/L", range=(0.0, 10.0)),
    "tpmt": FactDef("tpmt", "TPMT activity", "category", "",
                    values=(("normal", ""), ("intermediate", ""), ("absent", ""))),
    "pregnant": FactDef("pregnant", "pregnant", "boolean", ""),
    "meds": FactDef("meds", "medicines", "list", ""),
    "alt": FactDef("alt", "ALT", "number", "", range=(0.0, 1000.0)),  # only tested as a multiple of uln
    "uln": FactDef("uln", "ALT upper limit of normal", "number", "", range=(1.0, 100.0)),
}
VALUESETS = {"xo": ValueSet("xo", "XO inhibitors", "", ("allopurinol", "febuxostat"))}
SOLVER = Solver(FACTS, {k: v.values for k, v in VALUESETS.items()})
GRID = st.sampled_from([0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 4.5, 10.0])

number_tests = st.one_of(
    st.builds(lambda op, v: Leaf("wbc", op, v),
              st.sampled_from(["below", "at_most", "above", "at_least", "equals", "not_equals"]), GRID),
    st.builds(lambda a, b: Leaf("wbc", "between", (min(a, b), max(a, b))), GRID, GRID),
)
category_tests = st.one_of(
    st.builds(lambda op, v: Leaf("tpmt", op, v), st.sampled_from(["equals", "not_equals"]),
              st.sampled_from(["normal", "intermediate", "absent"])),
    st.builds(lambda vs: Leaf("tpmt", "one_of", tuple(sorted(vs))),
              st.sets(st.sampled_from(["normal", "intermediate", "absent"]), min_size=1)),
)
leaves = st.one_of(
    number_tests, category_tests,
    st.builds(lambda op, v: Leaf("pregnant", op, v), st.sampled_from(["equals", "not_equals"]), st.booleans()),
    st.builds(lambda v: Leaf("meds", "contains", v), st.sampled_from(["allopurinol", "mesalazine",
                                                                      ValueSetRef("xo")])),
    st.builds(lambda op, t: Leaf("alt", op, Multiple(t, "uln")), st.sampled_from(["below", "at_most", "above",
              "at_least"]), st.sampled_from([0.5, 1.0, 3.0, 5.0])),
    st.builds(lambda op, f: Leaf(f, op, True), st.sampled_from(["known", "unknown"]), st.sampled_from(list(FACTS))),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: All(tuple(xs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: AnyOf(tuple(xs)), st.lists(inner, min_size=1, max_size=3)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)
patients = st.fixed_dictionaries({}, optional={
    "wbc": st.sampled_from([0.0, 0.4, 0.5, 1.0, 2.0, 2.2, 2.5, 3.0, 4.0, 4.5, 7.0, 10.0]),
    "tpmt": st.sampled_from(["normal", "intermediate", "absent"]),
    "pregnant": st.booleans(),
    "alt": st.sampled_from([0.0, 20.0, 40.0, 60.0, 120.0, 200.0, 400.0]),
    "uln": st.sampled_from([1.0, 20.0, 40.0]),
    "meds": st.sets(st.sampled_from(["allopurinol", "febuxostat", "mesalazine"])).map(lambda s: tuple(sorted(s))),
})


def as_values(patient: Patient) -> dict[str, Any]:
    """The example patient as the evaluator would see it (lists as sorted tuples)."""
    return {k: tuple(sorted(v)) if isinstance(v, list) else v for k, v in patient.facts}


def expand(condition: Condition, mode: Mode) -> Dnf:
    """The DNF, or a rejected example when it is too large (the analysis then says so and stays silent)."""
    try:
        return dnf(condition, mode)
    except TooComplex:
        reject()
        raise


def check(condition: Condition, mode: Mode, wanted: Any, patient: dict[str, Any]) -> None:
    holds = truth(condition, patient, VALUESETS) in wanted
    found = SOLVER.find([expand(condition, mode)])
    if holds:
        assert isinstance(found, Patient), f"{condition} is possible ({patient}) but the solver says no"
    if isinstance(found, Patient):
        assert truth(condition, as_values(found), VALUESETS) in wanted, f"bad example {found} for {condition}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, patients)
def test_true_is_found_exactly(condition: Condition, patient: dict[str, Any]) -> None:
    check(condition, "T", (True,), patient)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, patients)
def test_not_true_is_found_exactly(condition: Condition, patient: dict[str, Any]) -> None:
    check(condition, "NT", (False, None), patient)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, conditions, patients)
def test_one_applies_while_the_other_does_not(first: Condition, second: Condition, patient: dict[str, Any]) -> None:
    both = truth(first, patient, VALUESETS) is True and truth(second, patient, VALUESETS) is not True
    found = SOLVER.find([expand(first, "T"), expand(second, "NT")])
    if both:
        assert isinstance(found, Patient)
    if isinstance(found, Patient):
        values = as_values(found)
        assert truth(first, values, VALUESETS) is True
        assert truth(second, values, VALUESETS) is not True
