"""Static analysis of active rules: conflicts precedence leaves open, shadowed rules, impossible conditions.

Found from the conditions themselves (engine.satisfy), never by running cases,
so every finding comes with an example patient an editor can turn into a case.

What the documented precedence already settles is not reported: `stop`,
`avoid` and `hold` of a subject suppress `start`, `continue`, `dose` and
`combine_with` of that subject, and a rule suppresses every rule it
`overrides`. What it leaves open, and so is reported:
- two `dose` actions for the same subject with different doses;
- `consider` X beside `avoid`/`stop`/`hold` X (consider is never suppressed);
- `combine_with` Y beside `avoid`/`stop`/`hold` Y (only the subject's own block suppresses it);
- two rules deriving different values for the same fact.
Derived facts are treated as free facts of their own type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations

from engine.errors import Location, Problem
from engine.model import BLOCKED_ACTIONS, BLOCKING_ACTIONS, Action, FactDef, GuidelineSet, Rule, facts_used
from engine.satisfy import Dnf, Patient, Solver, TooComplex, dnf

Locate = Callable[[Rule, tuple[str | int, ...]], Location]


@dataclass(frozen=True)
class Clash:
    """Two actions that say different things about the same thing, in plain words."""

    left: int
    right: int
    what: str


def conflict_problems(g: GuidelineSet, locate: Locate) -> Iterator[Problem]:
    """Every conflict, shadowed rule and impossible condition among the active rules."""
    analysis = _Analysis(g, locate)
    yield from analysis.complex
    yield from analysis.unsatisfiable()
    yield from analysis.conflicts()
    yield from analysis.shadowed()


class _Analysis:
    def __init__(self, g: GuidelineSet, locate: Locate) -> None:
        self.g = g
        self.locate = locate
        self.solver = Solver(g.facts, {name: v.values for name, v in g.valuesets.items()})
        self.complex: list[Problem] = []
        self.true: dict[str, Dnf] = {}
        self.not_true: dict[str, Dnf | None] = {}  # None: too large; what it would hide is never reported
        for rule in g.active_rules:
            self._expand(rule)
        self.rules = tuple(r for r in g.active_rules if r.id in self.true)
        self.overriders: dict[str, set[str]] = {r.id: set() for r in self.rules}
        self.blockers: dict[str, set[str]] = {}  # subject -> rules that stop, avoid or hold it
        for r in self.rules:
            for overridden in r.overrides:
                self.overriders.setdefault(overridden, set()).add(r.id)
            for a in r.then:
                if a.kind in BLOCKING_ACTIONS:
                    self.blockers.setdefault(a.subject, set()).add(r.id)

    def _expand(self, rule: Rule) -> None:
        try:
            self.not_true[rule.id] = dnf(rule.when, "NT")
        except TooComplex:
            self.not_true[rule.id] = None
        try:
            self.true[rule.id] = dnf(rule.when, "T")
        except TooComplex:
            self.complex.append(Problem(
                self.locate(rule, ("when",)),
                f"the conditions of {rule.id} have too many alternatives to check for conflicts; "
                "split the rule or simplify its any/not groups", "W-CONDITION-COMPLEX", "warning"))

    # ------------------------------------------------------------ impossible conditions

    def unsatisfiable(self) -> Iterator[Problem]:
        for rule in self.rules:
            clashes = [self.solver.clash(term) for term in self.true[rule.id]]
            if all(c is not None for c in clashes):
                # No alternative left at all: its own tests contradicted plainly (given and unknown).
                culprits = [c for c in clashes if c] or sorted(facts_used(rule.when))
                named = sorted({_label(self.g.facts, c) for c in culprits})
                yield Problem(
                    self.locate(rule, ("when",)),
                    f"the conditions of {rule.id} can never all hold (the tests on {', '.join(named)} "
                    "contradict each other), so the rule never applies; check the thresholds and values",
                    "W-UNSATISFIABLE", "warning")

    # ------------------------------------------------------------ conflicts

    def conflicts(self) -> Iterator[Problem]:
        for left, right in _candidate_pairs(self.rules):
            if self._declared(left, right):
                continue
            for clash in _clashes(left, right):
                found = self._witness(left, right, clash)
                if isinstance(found, Patient):
                    yield self._conflict(left, right, clash, found)

    def _declared(self, left: Rule, right: Rule) -> bool:
        return left.id in self.overriders[right.id] or right.id in self.overriders[left.id]

    def _witness(self, left: Rule, right: Rule, clash: Clash) -> Patient | TooComplex | None:
        blockers = self._suppressors(left, left.then[clash.left]) | self._suppressors(right, right.then[clash.right])
        quiet = [self.not_true.get(s) for s in sorted(blockers)]
        if any(q is None for q in quiet):
            return TooComplex("a suppressing rule is too complex to analyse")
        return self.solver.find([self.true[left.id], self.true[right.id], *(q for q in quiet if q)])

    def _suppressors(self, rule: Rule, action: Action) -> set[str]:
        """Rules that, when they apply, hide `action` of `rule` by the documented precedence."""
        found = set(self.overriders.get(rule.id, ()))
        if action.kind in BLOCKED_ACTIONS:
            found |= self.blockers.get(action.subject, set()) - {rule.id}
        return found

    def _conflict(self, left: Rule, right: Rule, clash: Clash, patient: Patient) -> Problem:
        message = (
            f"{left.id} and {right.id} ({right.path}) can apply to the same patient and {clash.what}, "
            f"and neither overrides the other; for example: {patient}. Make their conditions exclusive, "
            f"or add `overrides: [{right.id}]` to {left.id} (or the reverse) to say which one wins"
        )
        return Problem(self.locate(left, ("then", clash.left)), message, "E-CONFLICT")

    # ------------------------------------------------------------ shadowed rules

    def shadowed(self) -> Iterator[Problem]:
        for rule in self.rules:
            shown = [(i, a) for i, a in enumerate(rule.then) if a.kind != "derive"]
            if not shown or rule.derives or not self._satisfiable(rule):
                continue
            hiders: set[str] = set()
            if all(self._always_hidden(rule, a, hiders) for _, a in shown):
                yield self._shadow_problem(rule, hiders)

    def _satisfiable(self, rule: Rule) -> bool:
        return any(self.solver.clash(term) is None for term in self.true[rule.id])

    def _always_hidden(self, rule: Rule, action: Action, hiders: set[str]) -> bool:
        suppressors = sorted(self._suppressors(rule, action))
        if not suppressors:
            return False
        quiet = {s: self.not_true.get(s) for s in suppressors}
        known = {s: q for s, q in quiet.items() if q is not None}
        if len(known) < len(quiet) or self.solver.find([self.true[rule.id], *known.values()]) is not None:
            return False  # a patient sees it (or the rules are too complex to be sure: say nothing)
        single = [s for s, q in known.items() if self.solver.find([self.true[rule.id], q]) is None]
        hiders.update(single or suppressors)
        return True

    def _shadow_problem(self, rule: Rule, hiders: set[str]) -> Problem:
        names = ", ".join(sorted(hiders))
        return Problem(
            self.locate(rule, ("when",)),
            f"{rule.id} can never show its recommendations: whenever it applies, {names} also applies "
            "and suppresses them (by precedence or overrides); narrow that rule, or retire this one",
            "W-SHADOWED", "warning")


def _candidate_pairs(rules: tuple[Rule, ...]) -> Iterator[tuple[Rule, Rule]]:
    """Pairs of rules holding two actions that _clash finds at odds: only those can conflict.

    Rules are indexed by what an action can disagree about (a subject's dose, a block of a
    subject, a derived fact's value), so the many rules that agree about a subject are never
    paired: pairing every two rules that share a subject was quadratic in the rules per subject.
    """
    by_id = {r.id: r for r in rules}
    pairs = {tuple(sorted((left, right))) for lefts, rights in _opposed(rules)
             for left in lefts for right in rights if left != right}
    for left, right in sorted(pairs):
        yield by_id[left], by_id[right]


def _opposed(rules: tuple[Rule, ...]) -> Iterator[tuple[set[str], set[str]]]:
    """Groups of rule ids such that a rule of one group may clash with a rule of the other."""
    doses: dict[str, dict[object, set[str]]] = defaultdict(lambda: defaultdict(set))
    derived: dict[str, dict[object, set[str]]] = defaultdict(lambda: defaultdict(set))
    considered: dict[str, set[str]] = defaultdict(set)
    combined: dict[str, set[str]] = defaultdict(set)
    blocked: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        for a in rule.then:
            if a.kind == "dose" and a.subject:
                doses[a.subject][_dose(a)].add(rule.id)
            elif a.kind == "consider" and a.subject:
                considered[a.subject].add(rule.id)
            elif a.kind == "combine_with" and a.with_subject:
                combined[a.with_subject].add(rule.id)
            elif a.kind == "derive" and a.fact:
                derived[a.fact][a.value].add(rule.id)
            elif a.kind in BLOCKING_ACTIONS and a.subject:
                blocked[a.subject].add(rule.id)
    for by_value in (*doses.values(), *derived.values()):
        yield from combinations(by_value.values(), 2)  # the same dose or value twice is no clash
    for subject, ids in blocked.items():
        yield considered.get(subject, set()), ids
        yield combined.get(subject, set()), ids


def _clashes(left: Rule, right: Rule) -> Iterator[Clash]:
    for i, a in enumerate(left.then):
        for j, b in enumerate(right.then):
            what = _clash(a, b) or _clash(b, a)
            if what:
                yield Clash(i, j, what)


def _clash(a: Action, b: Action) -> str | None:
    """What `a` and `b` disagree about, when the documented precedence does not settle it."""
    if a.kind == "dose" == b.kind and a.subject == b.subject and _dose(a) != _dose(b):
        return f"give different {a.subject} doses ({_dose_text(a)} vs {_dose_text(b)})"
    if a.kind == "consider" and b.kind in BLOCKING_ACTIONS and a.subject == b.subject:
        return f"one says consider {a.subject}, the other says {b.kind} it"
    if a.kind == "combine_with" and b.kind in BLOCKING_ACTIONS and a.with_subject == b.subject:
        return f"one says give {a.subject} with {a.with_subject}, the other says {b.kind} {b.subject}"
    if a.kind == "derive" == b.kind and a.fact == b.fact and a.value != b.value and a.fact:
        return f"set {a.fact} to different values ({a.value} vs {b.value})"
    return None


def _dose(action: Action) -> tuple[object, object]:
    return (action.dose, action.adjust_percent)


def _dose_text(action: Action) -> str:
    if action.dose is None:
        return "no dose"
    text = f"{action.dose.min:g}–{action.dose.max:g} {action.dose.unit}"
    if action.adjust_percent is not None:
        text += f" at {action.adjust_percent.min:g}–{action.adjust_percent.max:g}%"
    return text


def _label(facts: Mapping[str, FactDef], name: str) -> str:
    definition = facts.get(name)
    return f"{definition.label} ({name})" if definition is not None else name
