"""A case as a worked example: the patient in brief and what the engine recommends for them."""

from __future__ import annotations

from engine.model import Case, GuidelineSet
from engine.result import Recommendation
from engine.site_outcomes import CaseOutcome, Listing
from engine.site_paths import case_anchor, link, rule_link
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


def worked_example(g: GuidelineSet, outcome: CaseOutcome, rule_id: str, here: str, case_page: str) -> str:
    """A short block for a rule page; this rule's own recommendations are marked."""
    case = outcome.case
    lines = [
        *([text(case.story), ""] if case.story else []),
        f"*Patient:* {patient_brief(g, case)}",
        "",
        outcome_block(g, outcome, here, rule_id),
        "",
        f"[The full case]({link(here, case_page, case_anchor(case.id))})",
    ]
    return f'!!! example "{title_text(case.title)}"\n\n' + indent("\n".join(lines))


def patient_brief(g: GuidelineSet, case: Case, limit: int | None = None) -> str:
    """'TPMT activity: absent; body weight: 62 kg' in the dictionary's words; at most `limit` facts."""
    names = sorted(case.facts)
    parts = []
    for name in names[:limit]:
        given = case.facts[name]
        parts.append(f"{text(label_of(g, name))}: {fact_value_words(g.facts.get(name), given.value, given.unit)}")
    if limit is not None and len(names) > limit:
        parts.append(f"and {len(names) - limit} more facts (see the case file)")
    return "; ".join(parts) if parts else "no facts given"


def outcome_block(g: GuidelineSet, outcome: CaseOutcome, here: str, rule_id: str = "") -> str:
    if outcome.case.skip:
        return f"*Not run:* {text(outcome.case.skip)}"
    if outcome.listing is None:
        return ('!!! failure "The engine could not evaluate this case"\n\n'
                f"    {text(outcome.error or 'no reason given')}")
    return listing_block(g, outcome.listing, here, rule_id)


def listing_block(g: GuidelineSet, listing: Listing, here: str, rule_id: str = "") -> str:
    """What the engine recommends; with `rule_id` (a rule page) the listing holds what bears on that rule."""
    lines = ["*The engine recommends:*", ""]
    lines += [_recommendation(g, r, here, rule_id) for r in listing.recommendations] or ["- nothing"]
    for s in listing.suppressed:
        lines.append(f"- <del>{_headline(g, s.recommendation)}</del> "
                     f"({rule_link(g, s.recommendation.rule, here)}) — set aside: {text(s.reason)}")
    for n in listing.needs_data:
        needed = ", ".join(text(label_of(g, f)) for f in n.facts)
        lines.append(f"- Needs data for {rule_link(g, n.rule, here)}: {needed}")
    return "\n".join(lines + _left_out(listing, rule_id))


def _left_out(listing: Listing, rule_id: str) -> list[str]:
    hidden = listing.more_recommendations
    if rule_id:
        return [f"- and {hidden} other recommendation{'s' if hidden > 1 else ''} for this patient, "
                "listed in the full case"] if hidden else []
    counted = [(listing.more_recommendations, "recommendation"), (listing.more_suppressed, "set-aside recommendation"),
               (listing.more_needs_data, "rule needing data")]
    return [f"- and {n} more {_plural(n, words)} not listed here (`guideline evaluate` on the case file lists all)"
            for n, words in counted if n]


def _plural(count: int, words: str) -> str:
    if count == 1:
        return words
    return "rules needing data" if words == "rule needing data" else words + "s"


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
