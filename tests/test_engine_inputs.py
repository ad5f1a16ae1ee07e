"""Case facts the evaluator accepts (with unit conversion) and refuses (with a location and a fix)."""

from __future__ import annotations

import pytest
from engine_kit import act, case, fact, guidelines, rule

from engine.errors import InputError, Location
from engine.evaluate import Evaluator

LOW_WBC = rule("AZA-CBC-001", fact("wbc", below=3), act("hold"))


def test_a_value_in_a_convertible_unit_is_converted() -> None:
    evaluator = Evaluator(guidelines(LOW_WBC))
    assert evaluator.rule_outcomes(case(wbc=(2.5, "10*3/uL"))) == {"AZA-CBC-001": True}
    assert evaluator.rule_outcomes(case(wbc=(3.5, "10*3/uL"))) == {"AZA-CBC-001": False}


def test_an_unknown_unit_is_refused_with_the_accepted_units() -> None:
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(LOW_WBC)).evaluate(case("c1", wbc=(2500, "/uL")))
    (problem,) = caught.value.problems
    assert problem.code == "E-FACT-UNIT"
    assert "accepted units: 10*9/L, 10*3/uL" in problem.message
    assert problem.location == Location("c1")  # a case built in code has no file: its id names it


def test_out_of_range_values_are_refused_not_evaluated() -> None:
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(LOW_WBC)).evaluate(case(wbc=-1, weight=1000))
    assert sorted(p.code for p in caught.value.problems) == ["E-FACT-RANGE", "E-FACT-RANGE"]


@pytest.mark.parametrize("value", ["2.5", True, float("nan"), float("inf")])
def test_values_of_the_wrong_type_never_reach_the_engine(value: object) -> None:
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(LOW_WBC)).evaluate(case(wbc=value))
    assert [p.code for p in caught.value.problems] == ["E-FACT-TYPE"]


def test_every_problem_is_reported_at_once_with_its_location() -> None:
    def locate(path: tuple[str | int, ...]) -> Location:
        return Location("cases/x.yaml", 3 + len(str(path[-1])), 5)

    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(LOW_WBC)).evaluate(
            case(tpmt_status="absnt", severe_cytopenia=True, wbcc=3), locate=locate)
    found = {p.code: p for p in caught.value.problems}
    assert set(found) == {"E-FACT-VALUE", "E-DERIVED-FACT", "E-UNKNOWN-FACT"}
    assert "did you mean 'absent'" in found["E-FACT-VALUE"].message
    assert "did you mean 'wbc'" in found["E-UNKNOWN-FACT"].message
    assert str(found["E-UNKNOWN-FACT"]).startswith("cases/x.yaml:7:5: ")


def test_list_words_are_matched_whatever_their_case_spacing_or_written_dose() -> None:
    from engine.model import normalize_term

    assert normalize_term("  Allopurinol 300 mg ") == "allopurinol"
    assert normalize_term("prednisolone 40mg/day") == "prednisolone"
    assert normalize_term("Mycophenolate  mofetil") == "mycophenolate-mofetil"
    assert normalize_term("flu_like symptoms") == "flu-like-symptoms"
    assert normalize_term("vitamin b12") == "vitamin-b12"  # a number that is no dose stays
    assert normalize_term("5-ASA 2.4 g daily") == "5-asa"  # a name may start with a digit
    for written in ("allopurinol 100mg od", "Allopurinol 300 mg daily", "allopurinol (300 mg)",
                    "allopurinol(300mg)", "allopurinol 300 mg once a day", "allopurinol bd"):
        assert normalize_term(written) == "allopurinol", written
    assert normalize_term("co-trimoxazole 960 mg BD") == "co-trimoxazole"
    assert normalize_term("") == normalize_term("   ") == ""


@pytest.mark.parametrize("unit", ["10*3/ul", "10*3/\u00b5l", "10*3/\u03bcL"])
def test_a_litre_in_lower_case_and_a_micro_sign_are_the_same_unit(unit: str) -> None:
    evaluator = Evaluator(guidelines(LOW_WBC))
    assert evaluator.rule_outcomes(case(wbc=(2.5, unit))) == {"AZA-CBC-001": True}
    assert evaluator.rule_outcomes(case(wbc=(2.5, "10*9/l"))) == {"AZA-CBC-001": True}


def test_only_the_litre_and_micro_symbols_are_read_either_way() -> None:
    from engine.facts import unit_spelling

    assert [unit_spelling(u) for u in ("mg/dl", "\u00b5mol/l", "mmol/l", "mL/min", "IU/L", "kg", "mol/l")] == [
        "mg/dL", "umol/L", "mmol/L", "mL/min", "IU/L", "kg", "mol/L"]
    with pytest.raises(InputError):  # a lower-case unit that is not a litre is still refused
        Evaluator(guidelines(LOW_WBC)).evaluate(case(wbc=(2.5, "10*3/uu")))


@pytest.mark.parametrize(("written", "meant"), [
    ("yes", True), ("No", False), ("Y", True), ("positive", True), ("Negative", False)])
def test_yes_or_no_for_a_true_false_fact_is_read_as_true_or_false(written: str, meant: bool) -> None:
    pregnant = rule("AZA-PREG-001", fact("pregnant", equals=True), act("avoid"))
    assert Evaluator(guidelines(pregnant)).rule_outcomes(case(pregnant=written)) == {"AZA-PREG-001": meant}


@pytest.mark.parametrize("written", ["maybe", "12 weeks"])
def test_other_words_for_a_true_false_fact_are_refused_with_the_spelling_to_use(written: str) -> None:
    pregnant = rule("AZA-PREG-001", fact("pregnant", equals=True), act("avoid"))
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(pregnant)).evaluate(case(pregnant=written))
    (problem,) = caught.value.problems
    assert (problem.code, problem.message) == ("E-FACT-TYPE", (
        f"'pregnant' must be true or false, not '{written}'; write pregnant: true or pregnant: false "
        "(yes and no are read too), or leave it out if it is not known"))


@pytest.mark.parametrize(("written", "read"), [
    ("2.5 10*3/ul", True), ("2.5 x10^9/L", True), ("3.5 G/L", False), ("2.5K/uL", True)])
def test_a_number_written_as_text_with_its_unit_is_read_in_that_unit(written: str, read: bool) -> None:
    assert Evaluator(guidelines(LOW_WBC)).rule_outcomes(case(wbc=written)) == {"AZA-CBC-001": read}


@pytest.mark.parametrize(("written", "hint"), [
    ("low", "; write the measured value in 10*9/L (a word cannot be compared with a threshold), "
            "or leave wbc out if it is not known"),
    ("4 x ULN", "; write the value the laboratory measured, in 10*9/L, not a multiple of a limit; an upper "
                "limit of normal or a baseline is a fact of its own (see guidelines/facts.yaml)"),
    ("2,500/uL", "; write the number with a decimal point and no thousands separator, such as wbc: 2.5 "
                 "or wbc: 45000"),
    ("2026-09-01", "; write the measured value, not a date"),
    ("2.5", "; write wbc: 2.5 (a number, not in quotes)"),
    ("0x10", "; the text after the number is not a unit it accepts (10*9/L, 10*3/uL); write "
             "wbc: {value: ..., unit: ...} with one of them"),
])
def test_text_that_is_not_a_value_is_refused_with_how_to_write_it(written: str, hint: str) -> None:
    with pytest.raises(InputError) as caught:
        Evaluator(guidelines(LOW_WBC)).evaluate(case(wbc=written))
    (problem,) = caught.value.problems
    assert (problem.code, problem.message) == ("E-FACT-TYPE", f"'wbc' must be a number, found '{written}'{hint}")
