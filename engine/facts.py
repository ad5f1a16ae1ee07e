"""A case's raw facts -> typed values in the dictionary's units, or problems saying why not."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import Location, Problem
from engine.model import FactDef, FactInput, normalize_term
from engine.schema import did_you_mean, shown_text

Locate = Callable[[tuple[str | int, ...]], Location]
#: A problem not yet located: its message and code.
Found = tuple[str, str]

#: Values are kept to 4 decimals: finer than any laboratory reports, and it removes conversion
#: noise (1.1 × 17.1). It also means no value is ever written as 1e-05 in JSON, a form that
#: durable_rules' C parser refuses (error 204); thresholds are held to the same precision.
VALUE_DECIMALS = 4


def normalize_facts(
    given: Mapping[str, FactInput],
    dictionary: Mapping[str, FactDef],
    locate: Locate,
) -> tuple[dict[str, Any], list[Problem]]:
    """Check every given fact against the dictionary; convert units; refuse what cannot be used."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in sorted(given):
        value, found = _checked(name, given[name], dictionary)
        if found is not None:  # located only now: most facts are fine, and a location costs a path lookup
            problems.append(Problem(locate(("facts", name)), *found))
        elif value is not None:
            values[name] = value
    return values, problems


def _checked(name: str, raw: FactInput, dictionary: Mapping[str, FactDef]) -> tuple[Any, Found | None]:
    definition = dictionary.get(name)
    if definition is None:
        hint = did_you_mean(name, sorted(dictionary)) or _known_as(name, dictionary)
        return None, (f"unknown fact '{name}'{hint}", "E-UNKNOWN-FACT")
    if definition.derived:
        return None, (f"'{name}' is derived by the rules; a case may not set it", "E-DERIVED-FACT")
    if raw.value is None or (isinstance(raw.value, str) and raw.unit is None
                             and " ".join(raw.value.lower().split()) in _NOT_KNOWN
                             and raw.value not in definition.value_names):
        return None, None  # written but empty, or "unknown": treated as not given, never as normal
    return _CHECKERS[definition.type](raw, definition)


#: Words that say a value is not known: read as not given (so missing, never normal).
_NOT_KNOWN = frozenset({"unknown", "not known", "not tested", "not done", "not recorded", "pending"})


def _known_as(name: str, dictionary: Mapping[str, FactDef]) -> str:
    """The fact whose label or description names `name` ("sgpt" is ALT, "wcc" the white cell count)
    or whose name it begins ("tpmt" is tpmt_status), or that no fact is called so."""
    words = re.compile(rf"\b{re.escape(name.replace('_', ' '))}\b", re.IGNORECASE)
    named = [f.name for f in dictionary.values() if not f.derived and (
        words.search(f"{f.label} {f.description}") or (len(name) >= 3 and f.name.startswith(name)))]
    if len(named) == 1:
        return f"; did you mean '{named[0]}'?"
    if named:
        return f"; did you mean one of: {', '.join(named[:4])}?"
    return ("; no fact is called so: find the one meant in guidelines/facts.yaml, or leave it out "
            "and tell it in the story")


def _boolean(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    if isinstance(raw.value, bool) and raw.unit is None:
        return raw.value, None
    meant = _YES_NO.get(raw.value.strip().lower()) if isinstance(raw.value, str) and raw.unit is None else None
    if meant is not None:  # `yes`, "Yes", `positive`: YAML keeps them as words; the meaning is plain
        return meant, None
    message = (f"'{fact.name}' must be true or false, not {_shown(raw.value)}; write {fact.name}: true "
               f"or {fact.name}: false (yes and no are read too), or leave it out if it is not known")
    return None, (message, "E-FACT-TYPE")


_YES_NO = {"yes": True, "y": True, "true": True, "positive": True,
           "no": False, "n": False, "false": False, "negative": False}


def _category(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    if isinstance(raw.value, str) and raw.unit is None:
        if raw.value in fact.value_names:
            return raw.value, None
        key = _value_key(raw.value)
        same = [v for v, meaning in fact.values if key in (_value_key(v), _value_key(meaning))]
        if len(same) == 1:  # "Intermediate", "autoimmune hepatitis", "normal activity": the value or its meaning
            return same[0], None
    allowed = list(fact.value_names)
    hint = did_you_mean(str(raw.value), allowed)
    message = f"'{fact.name}' must be one of: {', '.join(allowed)}; found {_shown(raw.value)}{hint}"
    if not hint:  # no near spelling: say what each value means, so the right one can be chosen
        message += " (" + "; ".join(f"{v}: {meaning}" for v, meaning in fact.values) + ")"
    return None, (message, "E-FACT-VALUE")


def _value_key(word: str) -> str:
    """A category value whatever its case, spacing, hyphens, accents or possessive 's:
    'Autoimmune hepatitis' -> 'autoimmune_hepatitis', "Behçet's disease" -> 'behcet_disease'."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    plain = _POSSESSIVE.sub("", plain.lower())
    if not plain.isascii():  # a look-alike letter or an invisible mark: refused, and shown, never dropped
        return word
    return "_".join(_NOT_A_WORD.sub(" ", plain).split())


_POSSESSIVE = re.compile(r"['’]s\b")
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def _list(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    items = raw.value
    if isinstance(items, str) and raw.unit is None:  # `medications: allopurinol`, `symptoms: nausea, fever`
        if not items.strip():
            return None, None  # `symptoms: ""` says nothing: not given, never "none" (that is `[]`)
        items = tuple(item for item in re.split(r"[,;]", items) if item.strip())
    if not (isinstance(items, tuple) and all(isinstance(v, str) for v in items)):
        return None, (f"'{fact.name}' must be a list of words, such as {fact.name}: [first, second] "
                      f"({fact.name}: [] for none)", "E-FACT-TYPE")
    joined = [item for item in items if _SEVERAL.search(item)]
    if joined:
        return None, (f"'{fact.name}' item {_shown(joined[0])} names several things in one item; "
                      f"write each as its own item: {fact.name}: [first, second]", "E-FACT-TYPE")
    return tuple(sorted({normalize_term(v) for v in items})), None


#: An item that joins several words with "and", "with", "&", "+" or a comma: two items written as one
#: would match neither (a symptom "nausea and fever" is neither nausea nor fever).
_SEVERAL = re.compile(r"[,;&+]|\band\b|\bwith\b", re.IGNORECASE)


def _number(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    value, unit = raw.value, raw.unit
    if isinstance(value, str) and unit is None:  # "70 kg", "2.1 x10^9/L", "62": a value and its unit in one
        number, unit, refused = _number_text(value, fact)
        if refused is not None:
            return None, refused
        value = number
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, (f"'{fact.name}' must be a number, found {_shown(value)}", "E-FACT-TYPE")
    converted, problem = _convert(float(value), unit, fact)
    if problem is not None and isinstance(raw.value, str):  # "0x10", "62 stone": not a value in a known unit
        units = ", ".join(u for u in (fact.unit, *(c.unit for c in fact.conversions)) if u)
        return None, (f"'{fact.name}' must be a number, found {_shown(raw.value)}; the text after the number "
                      f"is not a unit it accepts ({units}); write {fact.name}: {{value: ..., unit: ...}} "
                      "with one of them", "E-FACT-TYPE")
    if problem is not None:
        return None, problem
    converted = round(converted, VALUE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    low, high = fact.range or (-math.inf, math.inf)
    if not low <= converted <= high:
        shown = f"{converted:g} {fact.unit or ''}".strip()
        message = (
            f"'{fact.name}' = {shown} is outside the allowed range {low:g}–{high:g} {fact.unit or ''}".rstrip()
            + "; check the value and its unit" + (_unit_hint(float(value), fact) if unit is None else "")
        )
        return None, (message, "E-FACT-RANGE")
    return converted, None


def _unit_hint(value: float, fact: FactDef) -> str:
    """A value given without a unit that is out of range in the fact's unit but not in another it
    accepts: `bilirubin_uln: 1.2` is surely mg/dL, and is refused with how to say so."""
    low, high = fact.range or (-math.inf, math.inf)
    fits = [c.unit for c in fact.conversions if low <= value * c.factor + c.offset <= high]
    if not fits:
        return ""
    return (f"; a value without a unit is read in {fact.unit}: if it was measured in {fits[0]}, write "
            f"{fact.name}: {{value: {value:g}, unit: {_flow(fits[0])}}}")


_LEADING_NUMBER = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*(.*)", re.DOTALL)
_DATE = re.compile(r"\s*(\d{4}-\d{1,2}(-\d{1,2})?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})\s*")
#: Text after a number that makes it a multiple of a limit ("4xULN", "3 x baseline"), not a value.
_MULTIPLE = re.compile(r"(^[x×*]\s*$)|uln|upper|normal|baseline|times|fold|^[x×*]\s*[a-z]", re.IGNORECASE)
_SPACED_THOUSANDS = re.compile(r"\s*\d{1,3}(?: \d{3})+(?![\d*^eE])")
_TIME_UNITS = frozenset({"a", "mo", "wk", "d"})


def _number_text(text: str, fact: FactDef) -> tuple[float | None, str | None, Found | None]:
    """A number written as text -> its value and the unit written after it, or why it cannot be read."""
    def refused(hint: str) -> tuple[None, None, Found]:
        return None, None, (f"'{fact.name}' must be a number, found {_shown(text)}; {hint}", "E-FACT-TYPE")

    if _DATE.fullmatch(text):
        if fact.unit in _TIME_UNITS:
            return refused(f"this fact is a length of time, not a date: write the time from that date to the "
                           f"day of the case, for example {fact.name}: {{value: 6, unit: wk}}")
        return refused("write the measured value, not a date")
    found = _LEADING_NUMBER.fullmatch(text)
    if found is None:
        return refused(f"write the measured value in {fact.unit} (a word cannot be compared with a "
                       f"threshold), or leave {fact.name} out if it is not known")
    number, rest = found.groups()
    if not rest:  # a number in quotes: refused, as a JSON export's strings must not pass for numbers unseen
        return refused(f"write {fact.name}: {number} (a number, not in quotes)")
    if rest[:1] in (",", "'") or _SPACED_THOUSANDS.match(text):  # "45,000", "2 100", "2,5"
        return refused(f"write the number with a decimal point and no thousands separator, such as "
                       f"{fact.name}: 2.5 or {fact.name}: 45000")
    if rest and _MULTIPLE.search(rest):
        return refused(f"write the value the laboratory measured, in {fact.unit}, not a multiple of a limit; "
                       "an upper limit of normal or a baseline is a fact of its own (see guidelines/facts.yaml)")
    return float(number), rest, None


def _flow(unit: str) -> str:
    """A unit as it can be written inside `{value: ..., unit: ...}`: quoted if YAML would read it otherwise."""
    return f'"{unit}"' if unit[:1] in "[{!&*" else unit


def _convert(value: float, unit: str | None, fact: FactDef) -> tuple[float, Found | None]:
    if unit is None or unit == fact.unit:
        return value, None
    written = _unit_key(unit)
    meant = {(1.0, 0.0)} if fact.unit is not None and _unit_key(fact.unit) == written else set()
    meant |= {(c.factor, c.offset) for c in fact.conversions if _unit_key(c.unit) == written}
    if len(meant) == 1:
        ((factor, offset),) = meant
        return value * factor + offset, None
    accepted = [fact.unit or "", *(c.unit for c in fact.conversions)]
    message = f"'{fact.name}' cannot be given in {_shown(unit)}; accepted units: {', '.join(accepted)}"
    return value, (message, "E-FACT-UNIT")


#: Units as laboratory reports and clinicians write them, beyond UCUM's own codes (keys in lower
#: case, without spaces, after `_unit_key`'s other steps).
_UNIT_WORDS = {
    "year": "a", "years": "a", "yr": "a", "yrs": "a", "month": "mo", "months": "mo", "mth": "mo",
    "mths": "mo", "mon": "mo", "week": "wk", "weeks": "wk", "wks": "wk", "day": "d", "days": "d",
    "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]", "kgs": "kg", "kilogram": "kg", "kilograms": "kg",
    "units/l": "u/l", "unit/l": "u/l", "micromol/l": "umol/l", "mcmol/l": "umol/l",
    "k/ul": "10*3/ul", "thou/ul": "10*3/ul",
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")  # also /mm³
_POWER_SUPERSCRIPT = re.compile("10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")  # ×10⁹/L
_POWER_OF_TEN = re.compile(r"(?:10\^|10\*\*|10\*|10e|^1e)(\d+)")
_COUNTED = re.compile(r"^(?:[x×]|\{?cells?\}?(?=/))")  # "x10^9/L", "cells/uL", "{cells}/uL"


@functools.lru_cache(maxsize=512)
def _unit_key(unit: str) -> str:
    """How a case's unit is matched to the units a fact accepts: UCUM's code whatever its case and
    spacing, with the ways laboratories write the same unit (`x10^9/L`, `×10⁹/L`, `G/L`, `K/µL`,
    `cells/mm3`, `IU/l`, `months`, `lbs`). Giga per litre (`G/L`) is told from grams (`g/L`) before
    case is dropped."""
    text = _POWER_SUPERSCRIPT.sub(lambda m: "10*" + m[1].translate(_SUPERSCRIPTS), "".join(unit.split()))
    text = unit_spelling(text)
    if text in ("G/L", "Gi/L"):
        text = "10*9/L"
    text = _POWER_OF_TEN.sub(r"10*\1", _COUNTED.sub("", text.translate(_SUPERSCRIPTS).lower()))
    text = text.replace("{", "").replace("}", "")  # UCUM's annotations: {relapses} is a plain count
    return _UNIT_WORDS.get(text, text)


#: A litre written `l`, alone or after a decimal prefix (dl, ml, ul, nl, cl), as a whole unit.
_LITRE = re.compile(r"(?<![A-Za-z])([dcmun]?)l(?![A-Za-z])")
_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})  # the micro sign and Greek mu, as UCUM's ASCII `u`


@functools.lru_cache(maxsize=256)
def unit_spelling(unit: str) -> str:
    """One spelling of a unit: `mg/dl` -> `mg/dL`, `µmol/l` -> `umol/L`. UCUM writes the litre `l`
    or `L` and micro `u`, and laboratory reports use all of these; no other symbol changes (`mol`,
    `IU/L`, `kg` stay as they are)."""
    return _LITRE.sub(r"\1L", unit.translate(_MICRO))


def _shown(value: Any) -> str:
    return shown_text(value) if isinstance(value, str) else repr(value)


_CHECKERS = {"boolean": _boolean, "category": _category, "list": _list, "number": _number}
