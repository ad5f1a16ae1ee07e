"""The outcome store's JSON (engine/outcome_store.py): outcomes, recommendations and cases, to and from JSON.

Thousands of cases repeat the same few thousand recommendations (at 50,000 cases, 216,000 listed and
2,700 different): each is written once, in a table, and listings give its number. Read back, every
listing that names one shares one object.

A case is written as its file gives it, so that the loader's own engine.model.case_from reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.case_checks import topic_of_case
from engine.model import Case, Expectations, Expected, FactInput, case_from
from engine.result import Dose, NeedsData, Recommendation, Suppressed
from engine.site_outcomes import CaseOutcome, Listing, RuleExamples, SiteOutcomes


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class RecommendationTable:
    """Numbers recommendations as they are written; `json()` is the table, in number order."""

    def __init__(self) -> None:
        # Keyed by the JSON text, not the object: 1 and 1.0 are equal, and must not share a number.
        self._numbers: dict[str, int] = {}

    def number(self, r: Recommendation) -> int:
        return self._numbers.setdefault(dumps(_recommendation(r)), len(self._numbers))

    def json(self) -> str:
        return "[" + ",".join(self._numbers) + "]"


def examples_json(examples: Mapping[str, RuleExamples], table: RecommendationTable) -> dict[str, Any]:
    return {rule: {"total": ex.total, "shown": [outcome_json(o, table) for o in ex.shown]}
            for rule, ex in examples.items()}


def outcome_json(o: CaseOutcome, table: RecommendationTable) -> dict[str, Any]:
    body: dict[str, Any] = {"path": o.case.path}
    if o.error is not None:
        body["error"] = o.error
    if o.listing is not None:
        body["listing"] = _listing(o.listing, table)
    return body


def _listing(listing: Listing, table: RecommendationTable) -> dict[str, Any]:
    return {
        "recommendations": [table.number(r) for r in listing.recommendations],
        "suppressed": [{"recommendation": table.number(s.recommendation), "by_rule": s.by_rule,
                        "reason": s.reason} for s in listing.suppressed],
        "needs_data": [{"rule": n.rule, "title": n.title, "facts": list(n.facts)} for n in listing.needs_data],
        "more": [listing.more_recommendations, listing.more_suppressed, listing.more_needs_data],
    }




def _recommendation(r: Recommendation) -> dict[str, Any]:
    body = {k: getattr(r, k) for k in ("rule", "version", "action", "subject", "strength", "text", "permanent",
                                        "interval", "duration", "with_subject")}
    body["citations"] = list(r.citations)
    if r.dose is not None:
        body["dose"] = {"unit": r.dose.unit, "per_kg": r.dose.per_kg, "mg_per_day": r.dose.mg_per_day,
                        "adjust_percent": r.dose.adjust_percent, "needs": list(r.dose.needs),
                        "text": r.dose.text, "exact_mg_per_day": r.dose.exact_mg_per_day}
    return body


def read_outcomes(body: Mapping[str, Any], cases: Mapping[str, Case]) -> SiteOutcomes:
    """The outcomes of a store's body, for exactly these cases (by path); ValueError if it holds others."""
    table = [_read_recommendation(r) for r in body["recommendations"]]
    outcomes = body["outcomes"]
    # Stored in the order the run finished them; the pages show them by topic, then id.
    shown = tuple(sorted((_read_outcome(o, cases, table) for o in outcomes["cases"]),
                         key=lambda o: (o.case.topic, o.case.id)))
    if {o.case.path for o in shown} != set(cases) or len(shown) != len(cases):
        raise ValueError("the store does not hold exactly these cases")
    examples = {rule: RuleExamples(tuple(_read_outcome(o, cases, table) for o in ex["shown"]), int(ex["total"]))
                for rule, ex in outcomes["examples"].items()}
    return SiteOutcomes(shown, examples)


def stored_cases(body: Mapping[str, Any]) -> dict[str, Case]:
    """The cases a store's body holds, by path."""
    return {o["path"]: read_case(o["path"], o["case"]) for o in body["outcomes"]["cases"]}


def _read_outcome(body: Mapping[str, Any], cases: Mapping[str, Case], table: list[Recommendation]) -> CaseOutcome:
    listing = body.get("listing")
    return CaseOutcome(cases[body["path"]], _read_listing(listing, table) if listing is not None else None,
                       body.get("error"))


def _read_listing(body: Mapping[str, Any], table: list[Recommendation]) -> Listing:
    more = [int(n) for n in body["more"]]
    return Listing(
        tuple(table[_number(n)] for n in body["recommendations"]),
        tuple(Suppressed(table[_number(s["recommendation"])], s["by_rule"], s["reason"]) for s in body["suppressed"]),
        tuple(NeedsData(n["rule"], n["title"], tuple(n["facts"])) for n in body["needs_data"]),
        *more,
    )


def _number(value: Any) -> int:
    if type(value) is not int or value < 0:  # a negative number would count from the end
        raise ValueError(f"not a recommendation's number: {value!r}")
    return value


def _read_recommendation(body: Mapping[str, Any]) -> Recommendation:
    dose = body.get("dose")
    return Recommendation(
        body["rule"], body["version"], body["action"], body["subject"], body["strength"], body["text"],
        tuple(body["citations"]), _read_dose(dose) if dose is not None else None, bool(body["permanent"]),
        body["interval"], body["duration"], body["with_subject"],
    )


def _read_dose(body: Mapping[str, Any]) -> Dose:
    def pair(value: Any) -> tuple[float, float] | None:
        return None if value is None else (value[0], value[1])

    return Dose(body["unit"], pair(body["per_kg"]), pair(body["mg_per_day"]), pair(body["adjust_percent"]),
                tuple(body["needs"]), body["text"], pair(body["exact_mg_per_day"]))


def case_data(case: Case) -> dict[str, Any]:
    """A case as its file gives it: engine.model.case_from reads it back to the same case."""
    body: dict[str, Any] = {"id": case.id, "title": case.title, "story": case.story,
                            "facts": {name: _fact_data(given) for name, given in case.facts.items()},
                            "expect": _expect_data(case.expect)}
    if case.skip is not None:
        body["skip"] = case.skip
    return body


def _fact_data(given: FactInput) -> Any:
    if given.unit is not None:
        return {"value": given.value, "unit": given.unit}
    return list(given.value) if isinstance(given.value, tuple) else given.value


def _expect_data(expect: Expectations) -> dict[str, Any]:
    lists = {key: [_expected_data(e) for e in getattr(expect, key)] for key in ("present", "absent", "suppressed")}
    return {**lists, "needs_data": list(expect.needs_data), "exactly": expect.exactly}


def _expected_data(expected: Expected) -> dict[str, Any]:
    body: dict[str, Any] = {"action": expected.action, "subject": expected.subject}
    if expected.rule is not None:
        body["rule"] = expected.rule
    if expected.strength is not None:
        body["strength"] = expected.strength
    if expected.dose_mg is not None:
        body["dose_mg"] = {"min": expected.dose_mg[0], "max": expected.dose_mg[1]}
    return body


def read_case(path: str, body: Mapping[str, Any]) -> Case:
    """What the loader builds from the file at `path` (engine.case_checks.case_of)."""
    return case_from(body, path, topic_of_case(path))
