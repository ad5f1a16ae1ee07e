"""What the site is built from: the repository's problems, its rules and every case's outcome.

The problems are those `guideline validate` reports (a strict build refuses to publish a repository
with an error). The cases and their outcomes come from what `guideline test` saved
(engine/outcome_store.py) when the store vouches for them; otherwise the cases are read and checked
here, and evaluated unless the store holds their outcomes.

At 50,000 cases reading and checking the case files is most of the work before the pages: a store
saved by a whole run for exactly these inputs, whose cases were every case file with no problem among
them, already holds each case as its file gives it, and there is then no case problem to report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from engine import outcome_store
from engine.errors import Problem
from engine.model import GuidelineSet
from engine.site_evaluate import evaluate_cases
from engine.site_outcomes import SiteOutcomes
from engine.validate import validate_repository

#: How the build log says where the outcomes came from.
FROM_STORE = f"cases and outcomes: reused {outcome_store.STORE.as_posix()}"
OUTCOMES_FROM_STORE = f"case outcomes: reused {outcome_store.STORE.as_posix()}"
EVALUATED = "case outcomes: evaluated here (no saved outcomes of `guideline test` match the repository)"


@dataclass(frozen=True)
class SiteInputs:
    problems: tuple[Problem, ...]  # what `guideline validate` would report, in its order
    guidelines: GuidelineSet
    outcomes: SiteOutcomes
    source: str  # where the outcomes came from: FROM_STORE, OUTCOMES_FROM_STORE or EVALUATED


def gather(root: Path, today: dt.date | None = None) -> SiteInputs:
    """The problems, rules and case outcomes of the repository at `root`."""
    rules = validate_repository(root, today=today, with_cases=False)
    # Taken after the rules were read: a store saved for other rules (or cases, schemas,
    # engine) is not used, even if a file changed while the rules were being read.
    saved = outcome_store.load_with_cases(root)
    if saved is not None:
        # The run's cases were every case file, each read and checked without a problem: the
        # case checks have nothing to say (none ran here), and the cases need not be read again.
        return SiteInputs(rules.problems, rules.loaded.guidelines, saved, FROM_STORE)
    report = validate_repository(root, today=today, keep_cases=True)
    loaded = report.loaded
    stored = outcome_store.load(root, loaded.cases)
    if stored is not None:
        return SiteInputs(report.problems, loaded.guidelines, stored, OUTCOMES_FROM_STORE)
    return SiteInputs(report.problems, loaded.guidelines, evaluate_cases(loaded.guidelines, loaded.cases), EVALUATED)
