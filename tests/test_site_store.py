"""The site reuses what `guideline test` saved, only while nothing that decides the results changed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from site_testing import make_repo

from engine import outcome_store
from engine.cli import main
from engine.evaluate import Evaluator
from engine.repository import load_repository
from engine.site import render_site
from engine.site_evaluate import evaluate_cases
from engine.site_outcomes import (
    LISTED_BUDGET,
    MAX_WORKED_EXAMPLES,
    MIN_LISTED,
    Collector,
    case_listing,
    involved_rules,
    named_rules,
    per_list,
)
from engine.site_worked import listing_block

DOSE_CASE = "tests/cases/dosing/intermediate-tpmt-reduced-dose.yaml"
DOSE_PAGE = "site/build/cases/dosing/index.html"


@pytest.fixture
def tested(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    assert main(["test", "--repo", str(root)]) == 0
    assert (root / outcome_store.STORE).is_file()
    return root


def test_saved_outcomes_make_the_same_pages_as_evaluating_again(tested: Path) -> None:
    loaded = load_repository(tested)
    saved = outcome_store.load(tested, loaded.cases)
    assert saved is not None
    fresh = evaluate_cases(loaded.guidelines, loaded.cases, jobs=1)
    assert saved == fresh
    assert render_site(loaded.guidelines, saved, []).pages == render_site(loaded.guidelines, fresh, []).pages


@pytest.mark.parametrize("edit", [
    ("guidelines/rules/dosing/AZA-DOSE-002.yaml", "dose: {min: 1,", "dose: {min: 1.5,"),
    (DOSE_CASE, "weight: 70", "weight: 80"),
])
def test_a_changed_rule_or_case_is_never_shown_with_its_old_result(tested: Path, edit: tuple[str, str, str]) -> None:
    path, old, new = edit
    file = tested / path
    assert old in file.read_text(encoding="utf-8")
    before = outcome_store.fingerprint(tested)
    file.write_text(file.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    assert outcome_store.fingerprint(tested) != before
    assert outcome_store.load(tested, load_repository(tested).cases) is None
    assert main(["site", "build", "--repo", str(tested)]) == 0
    loaded = load_repository(tested)
    fresh = evaluate_cases(loaded.guidelines, loaded.cases, jobs=1)
    (dose,) = [o for o in fresh.cases if o.case.path == DOSE_CASE]
    assert dose.listing is not None
    low, high = dose.listing.recommendations[0].dose.mg_per_day  # type: ignore[union-attr]
    shown = (tested / DOSE_PAGE).read_text(encoding="utf-8")
    assert f"{low:g}–{high:g} mg/day" in shown


def test_the_site_uses_the_store_when_it_matches(tested: Path) -> None:
    # Proof that the site reads the store: a matching store whose words were changed shows them.
    store = tested / outcome_store.STORE
    body = json.loads(store.read_text(encoding="utf-8"))
    for rec in body["recommendations"]:  # each recommendation once; listings give its number
        rec["subject"] = "saved-subject"
    store.write_text(json.dumps(body), encoding="utf-8")
    assert main(["site", "build", "--repo", str(tested)]) == 0
    assert "saved subject" in (tested / DOSE_PAGE).read_text(encoding="utf-8")


def test_a_damaged_or_foreign_store_is_ignored(tested: Path) -> None:
    store = tested / outcome_store.STORE
    cases = load_repository(tested).cases
    body = json.loads(store.read_text(encoding="utf-8"))
    body["outcomes"]["cases"] = body["outcomes"]["cases"][1:]  # one case missing
    store.write_text(json.dumps(body), encoding="utf-8")
    assert outcome_store.load(tested, cases) is None
    store.write_text("{not json", encoding="utf-8")
    assert outcome_store.load(tested, cases) is None


def test_a_partial_run_keeps_no_stale_store_in_use(tested: Path) -> None:
    assert main(["test", "--repo", str(tested), str(tested / DOSE_CASE)]) == 0
    case = tested / DOSE_CASE
    case.write_text(case.read_text(encoding="utf-8").replace("weight: 70", "weight: 90"), encoding="utf-8")
    assert outcome_store.load(tested, load_repository(tested).cases) is None


def test_cases_pages_list_everything_until_the_budget_and_count_the_rest(tested: Path) -> None:
    assert per_list(100) == LISTED_BUDGET // 100  # a real repository: every item listed
    assert per_list(10 * LISTED_BUDGET) == MIN_LISTED
    loaded = load_repository(tested)
    (case,) = [c for c in loaded.cases if c.path == DOSE_CASE]
    result = Evaluator(loaded.guidelines).evaluate(case)
    assert result.recommendations and result.suppressed
    listing = case_listing(result, 0)
    assert (listing.recommendations, listing.suppressed) == ((), ())
    assert (listing.more_recommendations, listing.more_suppressed) == (len(result.recommendations),
                                                                       len(result.suppressed))
    block = listing_block(loaded.guidelines, listing, "cases/dosing/index.md")
    assert f"<li>and {len(result.recommendations)} more recommendation" in block
    assert "<code>guideline evaluate</code> on the case file lists all" in block


@pytest.mark.parametrize("examples", [1, 2, MAX_WORKED_EXAMPLES])
def test_the_collector_picks_the_same_examples_whatever_order_the_cases_come_in(
    tested: Path, monkeypatch: pytest.MonkeyPatch, examples: int
) -> None:
    monkeypatch.setattr("engine.site_outcomes.MAX_WORKED_EXAMPLES", examples)
    loaded = load_repository(tested)
    evaluator = Evaluator(loaded.guidelines)
    ran = [(c, None if c.skip else evaluator.evaluate(c)) for c in loaded.cases]
    found = []
    for order in (sorted(ran, key=lambda r: r[0].id), sorted(ran, key=lambda r: r[0].id, reverse=True),
                  random.Random(8).sample(ran, len(ran))):
        collector = Collector(loaded.cases)
        for case, result in order:
            collector.add(case, result)
        found.append(collector.finish())
    assert found[0] == found[1] == found[2]
    # What a rule page shows: the cases naming it (first by id), then the others exercising it, by id.
    by_id = sorted(ran, key=lambda r: r[0].id)
    for rule_id, shown in found[0].examples.items():
        named = [c.id for c, _ in by_id if rule_id in named_rules(c)][:examples]
        others = [c.id for c, r in by_id if rule_id in involved_rules(c, r) and c.id not in named]
        assert [o.case.id for o in shown.shown] == named + others[:examples - len(named)]
        assert shown.total == sum(rule_id in involved_rules(c, r) for c, r in ran)
    assert len(found[0].examples) == len({r for c, res in ran for r in involved_rules(c, res)})
