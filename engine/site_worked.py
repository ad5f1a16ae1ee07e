"""A case as a worked example: the patient in brief and what the engine recommends for them."""

from __future__ import annotations

from engine.model import BLOCKING_ACTIONS, Case, GuidelineSet
from engine.result import Recommendation, Result
from engine.site_model import CaseOutcome
from engine.site_paths import CASES, case_anchor, link, rule_link
from engine.site_text import (
    fact_value_words,
    indent,
    label_of,
    number,
    strength_words,
    subject_of,
    text,
    title_text,
    verb_phrase,
)


def worked_example(g: GuidelineSet, outcome: CaseOutcome, rule_id: str, here: str) -> str:
    """A short block for a rule page; this rule's own recommendations are marked."""
    case = outcome.case
    lines = [
        *([text(case.story), ""] if case.story else []),
        f"*Patient:* {patient_brief(g, case)}",
        "",
        outcome_block(g, outcome, here, rule_id),
        "",
        f"[The full case]({link(here, CASES, case_anchor(case.id))})",
    ]
    return f'!!! example "{title_text(case.title)}"\n\n' + indent("\n".join(lines))


def patient_brief(g: GuidelineSet, case: Case) -> str:
    """'TPMT activity: absent; body weight: 62 kg' in the dictionary's words."""
    parts = []
    for name in sorted(case.facts):
        given = case.facts[name]
        parts.append(f"{text(label_of(g, name))}: {fact_value_words(g.facts.get(name), given.value, given.unit)}")
    return "; ".join(parts) if parts else "no facts given"


def outcome_block(g: GuidelineSet, outcome: CaseOutcome, here: str, rule_id: str = "") -> str:
    if outcome.case.skip:
        return f"*Not run:* {text(outcome.case.skip)}"
    if outcome.result is None:
        return ('!!! failure "The engine could not evaluate this case"\n\n'
                f"    {text(outcome.error or 'no reason given')}")
    return result_block(g, outcome.result, here, rule_id)


def result_block(g: GuidelineSet, result: Result, here: str, rule_id: str = "") -> str:
    """What the engine recommends; with `rule_id` (a rule page), only what bears on that rule."""
    shown, hidden = _relevant(result, rule_id)
    lines = ["*The engine recommends:*", ""]
    # This rule's own recommendations first, so the reader sees at once what it contributed.
    ordered = sorted(shown, key=lambda r: r.rule != rule_id)
    lines += [_recommendation(g, r, here, rule_id) for r in ordered] or ["- nothing"]
    for s in result.suppressed:
        if not rule_id or rule_id in (s.recommendation.rule, s.by_rule):
            lines.append(f"- <del>{_headline(g, s.recommendation)}</del> "
                         f"({rule_link(g, s.recommendation.rule, here)}) — set aside: {text(s.reason)}")
    for n in (n for n in result.needs_data if n.rule == rule_id or not rule_id):
        needed = ", ".join(text(label_of(g, f)) for f in n.facts)
        lines.append(f"- Needs data for {rule_link(g, n.rule, here)}: {needed}")
    if hidden:
        lines.append(f"- and {hidden} other recommendation{'s' if hidden > 1 else ''} for this patient, "
                     "listed in the full case")
    return "\n".join(lines)


def _relevant(result: Result, rule_id: str) -> tuple[list[Recommendation], int]:
    """On a rule page: this rule's recommendations and anything that stops or blocks a subject."""
    if not rule_id:
        return list(result.recommendations), 0
    shown = [r for r in result.recommendations if r.rule == rule_id or r.action in BLOCKING_ACTIONS]
    return shown, len(result.recommendations) - len(shown)


def _recommendation(g: GuidelineSet, rec: Recommendation, here: str, rule_id: str) -> str:
    mark = " — **this rule**" if rec.rule == rule_id else ""
    return f"- {_headline(g, rec)} ({strength_words(rec.strength)}; {rule_link(g, rec.rule, here)}){mark}"


def _headline(g: GuidelineSet, rec: Recommendation) -> str:
    words = verb_phrase(rec.action, text(subject_of(g, rec.subject)))
    if rec.with_subject:
        words += f" together with {text(subject_of(g, rec.with_subject))}"
    if rec.dose is not None and rec.dose.mg_per_day is not None:
        low, high = rec.dose.mg_per_day
        words += f": {number(low)}–{number(high)} mg/day" if low != high else f": {number(low)} mg/day"
    elif rec.dose is not None and rec.dose.needs:
        words += " (dose needs " + ", ".join(text(label_of(g, f)) for f in rec.dose.needs) + ")"
    return words
