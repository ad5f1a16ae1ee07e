"""Rules and cases shared by the runner and coverage tests, written out in full.

They are kept here rather than taken from repo_builder's defaults so that changes to
the shared builder do not move what these tests rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repo_builder import case, rule

RULES: list[dict[str, Any]] = [
    rule("AZA-TPMT-002", when={"all": [{"fact": "tpmt_status", "equals": "absent"},
                                       {"fact": "azathioprine_status", "equals": "planned"}]},
         then=[{"action": "avoid", "subject": "azathioprine", "strength": "strong", "text": "Do not start."}]),
    rule("AZA-CBC-001", topic="monitoring", title="Very low white cells are a severe cytopenia",
         when={"fact": "wbc", "below": 2}, then=[{"action": "derive", "fact": "severe_cytopenia"}]),
    rule("AZA-CBC-002", topic="monitoring", title="Stop azathioprine in severe cytopenia",
         when={"fact": "severe_cytopenia", "equals": True},
         then=[{"action": "stop", "subject": "azathioprine", "strength": "strong", "text": "Stop now."}]),
]

#: Absent TPMT and a planned start: AZA-TPMT-002 says avoid.
PASSING = case(facts={"azathioprine_status": "planned", "tpmt_status": "absent"},
               expect={"present": [{"action": "avoid", "subject": "azathioprine", "rule": "AZA-TPMT-002"}]})

#: A very low white cell count: AZA-CBC-002 says stop, but the case expects hold.
FAILING = case(
    "low-wbc-expects-hold",
    title="A very low white cell count",
    facts={"azathioprine_status": "taking", "tpmt_status": "normal", "wbc": 1.5},
    expect={"present": [{"action": "hold", "subject": "azathioprine", "rule": "AZA-CBC-002"}]},
    _topic="monitoring",
)
ERRORING = case("misspelt-tpmt", expect={}, facts={"azathioprine_status": "planned", "tpmt_status": "absnt"})
SKIPPED = case("waits-for-dosing", skip="waiting for the dosing rules", _topic="dosing")


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the line of `path` that reads exactly `text`."""
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1
