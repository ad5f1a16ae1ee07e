"""Small in-memory guideline sets and cases for the engine tests (no files, no real content)."""

from __future__ import annotations

import copy
from typing import Any

from engine.model import Case, FactInput, GuidelineSet, Rule, fact_from, rule_from, valueset_from

FACTS: dict[str, Any] = {
    "azathioprine_status": {"label": "azathioprine treatment status", "type": "category",
                            "description": "d", "values": {"planned": "p", "taking": "t", "stopped": "s"}},
    "tpmt_status": {"label": "TPMT activity", "type": "category", "description": "d",
                    "values": {"normal": "n", "intermediate": "i", "absent": "a"}},
    "wbc": {"label": "white cell count", "type": "number", "unit": "10*9/L", "display_unit": "×10⁹/L",
            "range": {"min": 0, "max": 500}, "description": "d",
            "conversions": [{"unit": "10*3/uL", "factor": 1}]},
    "platelets": {"label": "platelet count", "type": "number", "unit": "10*9/L", "range": {"min": 0, "max": 3000},
                  "description": "d"},
    "alt": {"label": "ALT", "type": "number", "unit": "U/L", "range": {"min": 0, "max": 20000}, "description": "d"},
    "alt_baseline": {"label": "ALT at baseline", "type": "number", "unit": "U/L",
                     "range": {"min": 0, "max": 20000}, "description": "d"},
    "weight": {"label": "body weight", "type": "number", "unit": "kg", "display_unit": "kg",
               "range": {"min": 1, "max": 400}, "description": "d",
               "conversions": [{"unit": "[lb_av]", "factor": 0.45359237}]},
    "pregnant": {"label": "pregnant", "type": "boolean", "description": "d"},
    "medications": {"label": "current medicines", "type": "list", "description": "d"},
    "severe_cytopenia": {"label": "severe cytopenia", "type": "boolean", "derived": True, "description": "d"},
    "marrow_failure_risk": {"label": "risk of marrow failure", "type": "boolean", "derived": True,
                            "description": "d"},
    "urgent_review": {"label": "urgent review needed", "type": "boolean", "derived": True, "description": "d"},
}

VALUESETS = {
    "xanthine-oxidase-inhibitors": {"name": "xanthine-oxidase-inhibitors", "title": "xanthine-oxidase inhibitors",
                                    "description": "d", "values": ["allopurinol", "febuxostat"]},
}


def rule(rule_id: str, when: Any, *then: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A complete rule document (as a YAML file would hold it)."""
    data: dict[str, Any] = {
        "id": rule_id, "version": "1.0.0", "status": "active", "title": f"Title of {rule_id}",
        "topic": "general", "when": when, "then": list(then) or [act("caution")],
        "rationale": "r", "citations": [{"ref": "ref-a", "locator": "p. 1"}],
        "evidence": {"certainty": "not_graded", "scheme": "none"},
        "review": {"authors": ["E"], "approved": "2026-01-01", "next_review": "2099-01-01"},
        "changelog": [{"version": "1.0.0", "date": "2026-01-01", "change": "First"}],
    }
    data.update(copy.deepcopy(fields))
    return data


def act(kind: str, subject: str = "azathioprine", **fields: Any) -> dict[str, Any]:
    return {"action": kind, "subject": subject, "strength": "strong", "text": f"{kind} {subject}", **fields}


def derive(fact: str, value: bool = True) -> dict[str, Any]:
    return {"action": "derive", "fact": fact, "value": value}


def guidelines(*rules: dict[str, Any] | Rule, facts: dict[str, Any] | None = None) -> GuidelineSet:
    built = tuple(r if isinstance(r, Rule) else rule_from(r, f"guidelines/rules/general/{r['id']}.yaml")
                  for r in rules)
    return GuidelineSet(
        facts={n: fact_from(n, d) for n, d in (facts or FACTS).items()},
        rules=built,
        valuesets={k: valueset_from(v) for k, v in VALUESETS.items()},
    )


def case(case_id: str = "case", **facts: Any) -> Case:
    """Facts as a case file gives them: a plain value, a list, or (value, unit)."""
    given = {}
    for name, raw in facts.items():
        if isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[1], str) and not isinstance(raw[0], str):
            given[name] = FactInput(raw[0], raw[1])
        elif isinstance(raw, list):
            given[name] = FactInput(tuple(raw))
        else:
            given[name] = FactInput(raw)
    return Case(case_id, f"case {case_id}", given)


def fact(name: str, **test: Any) -> dict[str, Any]:
    return {"fact": name, **test}


def keys(result: Any) -> set[tuple[str, str, str]]:
    """(action, subject, rule) of each recommendation."""
    return {r.key for r in result.recommendations}
