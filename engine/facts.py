"""A case's raw facts -> typed values in the dictionary's units, or problems saying why not."""

from __future__ import annotations

import functools
import math
import re
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
        return None, (f"unknown fact '{name}'{did_you_mean(name, sorted(dictionary))}", "E-UNKNOWN-FACT")
    if definition.derived:
        return None, (f"'{name}' is derived by the rules; a case may not set it", "E-DERIVED-FACT")
    if raw.value is None:
        return None, None  # written but empty: treated as not given, never as normal
    return _CHECKERS[definition.type](raw, definition)


def _boolean(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    if isinstance(raw.value, bool) and raw.unit is None:
        return raw.value, None
    message = f"'{fact.name}' must be true or false, not {_shown(raw.value)}"
    meant = _YES_NO.get(raw.value.strip().lower()) if isinstance(raw.value, str) else None
    if meant is not None:  # YAML reads yes/no as words here, as it does everywhere in these files
        message += f"; write {fact.name}: {meant}"
    return None, (message, "E-FACT-TYPE")


_YES_NO = {"yes": "true", "y": "true", "on": "true", "true": "true",
           "no": "false", "n": "false", "off": "false", "false": "false"}


def _category(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    if isinstance(raw.value, str) and raw.unit is None and raw.value in fact.value_names:
        return raw.value, None
    allowed = list(fact.value_names)
    hint = did_you_mean(str(raw.value), allowed)
    message = f"'{fact.name}' must be one of: {', '.join(allowed)}; found {_shown(raw.value)}{hint}"
    return None, (message, "E-FACT-VALUE")


def _list(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    if isinstance(raw.value, tuple) and all(isinstance(v, str) for v in raw.value):
        return tuple(sorted({normalize_term(v) for v in raw.value})), None
    return None, (f"'{fact.name}' must be a list of words", "E-FACT-TYPE")


def _number(raw: FactInput, fact: FactDef) -> tuple[Any, Found | None]:
    value = raw.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, (f"'{fact.name}' must be a number, found {_shown(value)}{_number_hint(value, fact)}",
                      "E-FACT-TYPE")
    converted, problem = _convert(float(value), raw.unit, fact)
    if problem is not None:
        return None, problem
    converted = round(converted, VALUE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    low, high = fact.range or (-math.inf, math.inf)
    if not low <= converted <= high:
        shown = f"{converted:g} {fact.unit or ''}".strip()
        message = (
            f"'{fact.name}' = {shown} is outside the allowed range {low:g}–{high:g} {fact.unit or ''}; "
            "check the value and its unit"
        )
        return None, (message.rstrip(), "E-FACT-RANGE")
    return converted, None


_LEADING_NUMBER = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*(.*)")


def _number_hint(value: Any, fact: FactDef) -> str:
    """How to write a number typed as text: `'70'` -> `write weight: 70`; `'70kg'` -> a value and a unit."""
    found = _LEADING_NUMBER.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return ""
    number, rest = found.groups()
    if not rest:
        return f"; write {fact.name}: {number} (a number, not in quotes)"
    units = [u for u in (fact.unit, *(c.unit for c in fact.conversions)) if u]
    if not units:
        return ""
    named = [u for u in units if unit_spelling(u) == unit_spelling(rest)]  # '70 kg': the unit written
    return (f"; write {fact.name}: {{value: {number}, unit: {(named or units)[0]}}}"
            + (f" (units it accepts: {', '.join(units)})" if len(units) > 1 and not named else ""))


def _convert(value: float, unit: str | None, fact: FactDef) -> tuple[float, Found | None]:
    if unit is None or unit == fact.unit:
        return value, None
    spelled = unit_spelling(unit)
    if fact.unit is not None and spelled == unit_spelling(fact.unit):
        return value, None
    for conversion in fact.conversions:
        if unit_spelling(conversion.unit) == spelled:
            return value * conversion.factor + conversion.offset, None
    accepted = [fact.unit or "", *(c.unit for c in fact.conversions)]
    message = f"'{fact.name}' cannot be given in '{unit}'; accepted units: {', '.join(accepted)}"
    return value, (message, "E-FACT-UNIT")


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
