"""Case results -> what the site shows of them: a listing per case and a few worked examples per rule.

Results are consumed one case at a time, in case-id order, and reduced at once: the site never
holds every case's full result (at thousands of rules a result lists hundreds of recommendations).
"""

from __future__ import annotations

from bisect import insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from engine.model import BLOCKING_ACTIONS, Case
from engine.result import NeedsData, Recommendation, Result, Suppressed

#: Worked examples shown on a rule page; the cases pages list every case.
MAX_WORKED_EXAMPLES = 5
#: Items the cases pages list across all cases, each list (recommendations, set aside, needs data)
#: at least MIN_LISTED long per case. A real repository stays far below it and lists everything;
#: tens of thousands of synthetic cases would otherwise make pages that grow with rules × cases.
LISTED_BUDGET = 100_000
MIN_LISTED = 5


@dataclass(frozen=True)
class Listing:
    """What a page shows of one evaluation, and how many items of each kind it leaves out."""

    recommendations: tuple[Recommendation, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    needs_data: tuple[NeedsData, ...] = ()
    more_recommendations: int = 0
    more_suppressed: int = 0
    more_needs_data: int = 0


@dataclass(frozen=True)
class CaseOutcome:
    """A case and what the engine made of it: a listing, or why it could not be evaluated."""

    case: Case
    listing: Listing | None = None
    error: str | None = None


@dataclass(frozen=True)
class RuleExamples:
    """A rule's worked examples (each listing what bears on the rule) and how many cases exercise it."""

    shown: tuple[CaseOutcome, ...] = ()
    total: int = 0


@dataclass(frozen=True)
class SiteOutcomes:
    """Every case's outcome (sorted by topic, then id) and each rule's worked examples."""

    cases: tuple[CaseOutcome, ...] = ()
    examples: dict[str, RuleExamples] = field(default_factory=dict)

    def of_rule(self, rule_id: str) -> RuleExamples:
        return self.examples.get(rule_id, RuleExamples())


def per_list(case_count: int) -> int:
    """How many items of each kind the cases pages list for one case."""
    return max(MIN_LISTED, LISTED_BUDGET // max(1, case_count))


def case_listing(result: Result, limit: int) -> Listing:
    """The cases page's listing: everything, up to `limit` items of each kind."""
    recs, suppressed, needs = result.recommendations, result.suppressed, result.needs_data
    return Listing(recs[:limit], suppressed[:limit], needs[:limit],
                   max(0, len(recs) - limit), max(0, len(suppressed) - limit), max(0, len(needs) - limit))


def rule_listing(result: Result, rule_id: str, limit: int) -> Listing:
    """A rule page's listing: the rule's recommendations, what stops or blocks a subject, its needs."""
    shown = [r for r in result.recommendations if r.rule == rule_id or r.action in BLOCKING_ACTIONS]
    shown.sort(key=lambda r: r.rule != rule_id)  # this rule's own first: what it contributed
    suppressed = tuple(s for s in result.suppressed if rule_id in (s.recommendation.rule, s.by_rule))
    needs = tuple(n for n in result.needs_data if n.rule == rule_id)
    kept = tuple(shown[:limit])
    return Listing(kept, suppressed[:limit], needs[:limit], len(result.recommendations) - len(kept),
                   max(0, len(suppressed) - limit), max(0, len(needs) - limit))


def named_rules(case: Case) -> frozenset[str]:
    """Rules a case names in its expectations: the examples that teach most."""
    expect = case.expect
    return frozenset(e.rule for e in (*expect.present, *expect.absent, *expect.suppressed) if e.rule)


def involved_rules(case: Case, result: Result | None) -> set[str]:
    """Rules a case exercises: named by it, recommended, set aside or fired for it."""
    named = set(named_rules(case))
    if result is not None:
        named.update(r.rule for r in result.recommendations)
        named.update(s.recommendation.rule for s in result.suppressed)
        named.update(s.by_rule for s in result.suppressed)
        named.update(t.rule for t in result.trace if t.outcome == "fired")
    return named


@dataclass(frozen=True)
class SiteView:
    """All the site may show of one result: the case's listing and each exercised rule's listing.

    Made where the result is (a worker of `guideline test`), so that only this, not the result,
    travels and is kept: which rules end up taking the case as an example is decided later.
    """

    listing: Listing
    rules: dict[str, Listing]  # every rule the case exercises -> what a rule page would list


def site_view(case: Case, result: Result, limit: int) -> SiteView:
    """The site's view of one result, each list at most `limit` long."""
    rules = sorted(involved_rules(case, result))
    return SiteView(case_listing(result, limit), {r: rule_listing(result, r, limit) for r in rules})


class Collector:
    """Reduces results as they come, in any order, to a SiteOutcomes.

    A rule's examples are the cases naming it (the first by id), then the other cases exercising it
    with the smallest ids: a bounded list per rule, kept sorted, so only those cases' rule listings
    are held, never a result, and the order the cases come in does not matter.
    """

    def __init__(self, cases: Iterable[Case], *, keep_cases: bool = True) -> None:
        """With keep_cases=False, finish() gives the examples only: the caller writes each case's
        outcome as add_view returns it (engine.outcome_store), so memory does not grow with cases."""
        ordered = sorted(cases, key=lambda c: c.id)
        self._keep_cases = keep_cases
        self.limit = per_list(len(ordered))
        named: dict[str, list[str]] = {}
        for case in ordered:
            for rule_id in named_rules(case):
                named.setdefault(rule_id, []).append(case.id)
        self._named = {r: frozenset(ids[:MAX_WORKED_EXAMPLES]) for r, ids in named.items()}
        self._room = {r: MAX_WORKED_EXAMPLES - len(ids) for r, ids in self._named.items()}
        self._named_chosen: dict[str, list[CaseOutcome]] = {}
        self._others: dict[str, list[CaseOutcome]] = {}  # sorted by case id, at most the rule's room
        self._counts: Counter[str] = Counter()
        self._outcomes: list[CaseOutcome] = []

    def add(self, case: Case, result: Result | None = None, error: str | None = None) -> None:
        """One case's result (or why there is none)."""
        self.add_view(case, site_view(case, result, self.limit) if result is not None else None, error)

    def add_view(self, case: Case, view: SiteView | None, error: str | None = None) -> CaseOutcome:
        """One case's site view (made with this collector's limit), or why there is none; returns
        what the cases pages show of it."""
        error = None if case.skip else error
        shown = CaseOutcome(case, view.listing if view else None, error)
        if self._keep_cases:
            self._outcomes.append(shown)
        involved = view.rules.keys() if view else named_rules(case)
        self._counts.update(involved)
        for rule_id in involved:
            outcome = CaseOutcome(case, view.rules[rule_id] if view else None, error)
            if case.id in self._named.get(rule_id, ()):
                self._named_chosen.setdefault(rule_id, []).append(outcome)
            else:
                self._offer(rule_id, outcome)
        return shown

    def _offer(self, rule_id: str, outcome: CaseOutcome) -> None:
        room = self._room.get(rule_id, MAX_WORKED_EXAMPLES)
        kept = self._others.get(rule_id, [])
        if room <= 0 or (len(kept) >= room and outcome.case.id > kept[-1].case.id):
            return  # the common case once a rule has its examples: nothing to keep
        insort(kept, outcome, key=lambda o: o.case.id)
        del kept[room:]
        self._others[rule_id] = kept

    def finish(self) -> SiteOutcomes:
        cases = tuple(sorted(self._outcomes, key=lambda o: (o.case.topic, o.case.id)))
        rules = self._named_chosen.keys() | self._others.keys()
        examples = {
            rule_id: RuleExamples((*sorted(self._named_chosen.get(rule_id, ()), key=lambda o: o.case.id),
                                   *self._others.get(rule_id, ())), self._counts[rule_id])
            for rule_id in sorted(rules)
        }
        return SiteOutcomes(cases, examples)


def evaluate_all(cases: Iterable[Case], evaluate: Callable[[Case], Result]) -> SiteOutcomes:
    """Run every case here, one after another; a case that cannot be evaluated says why, never crashes."""
    ordered = sorted(cases, key=lambda c: c.id)
    collector = Collector(ordered)
    for case, result, error in _each(ordered, evaluate):
        collector.add(case, result, error)
    return collector.finish()


def _each(cases: list[Case], evaluate: Callable[[Case], Result]) -> Iterator[tuple[Case, Result | None, str | None]]:
    for case in cases:
        if case.skip:  # the editors said why it is not run; the pages say so
            yield case, None, None
            continue
        try:
            yield case, evaluate(case), None
        except Exception as exc:  # shown on the page: one broken case must not stop the site
            yield case, None, f"{type(exc).__name__}: {exc}"


def failed_everywhere(cases: Iterable[Case], reason: str) -> SiteOutcomes:
    """Outcomes when the engine itself could not start: every case says so."""
    ordered = sorted(cases, key=lambda c: c.id)
    collector = Collector(ordered)
    for case in ordered:
        collector.add(case, None, reason)
    return collector.finish()
