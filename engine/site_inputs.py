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
from engine.checks import CASE_CHECKS, RULE_CHECKS, Findings, findings_of, settled
from engine.errors import Problem
from engine.model import GuidelineSet
from engine.reading import collector_paused
from engine.repository import Loaded, Meanwhile, load_repository
from engine.site_evaluate import evaluate_cases
from engine.site_outcomes import SiteOutcomes

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
    day = today or dt.date.today()
    with collector_paused():
        found: Findings = {}
        rules = load_repository(root, with_cases=False, meanwhile=_rule_checks(found, day))
        # Taken after the rules were read: a store saved for other rules (or cases, schemas,
        # engine) is not used, even if a file changed while the rules were being read.
        saved = outcome_store.load_with_cases(root)
        if saved is not None:
            # The run's cases were every case file, each read and checked without a problem:
            # the case checks have nothing to say, and the cases need not be read again.
            found.update({check: [] for check in CASE_CHECKS})
            return SiteInputs(_problems(rules, found), rules.guidelines, saved, FROM_STORE)
        return _read_and_check(root, day)


def _read_and_check(root: Path, day: dt.date) -> SiteInputs:
    """Everything read and checked here, as `guideline validate` does, keeping the cases to show them."""
    found: Findings = {}
    loaded = load_repository(root, meanwhile=_rule_checks(found, day))
    found.update(findings_of(loaded, day, CASE_CHECKS))
    saved = outcome_store.load(root, loaded.cases)
    if saved is not None:
        return SiteInputs(_problems(loaded, found), loaded.guidelines, saved, OUTCOMES_FROM_STORE)
    outcomes = evaluate_cases(loaded.guidelines, loaded.cases)
    return SiteInputs(_problems(loaded, found), loaded.guidelines, outcomes, EVALUATED)


def _rule_checks(found: Findings, day: dt.date) -> Meanwhile:
    """What the loader runs while the cases (if any) are read: the checks that read no case."""
    return lambda loaded: found.update(findings_of(loaded, day, RULE_CHECKS))


def _problems(loaded: Loaded, found: Findings) -> tuple[Problem, ...]:
    """As engine.validate.validate_repository orders them: the files' own problems, then the checks'."""
    return (*loaded.problems, *settled(loaded, found))
