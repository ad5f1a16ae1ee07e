"""A case as a worked example: the patient in brief and what the engine recommends for them.

HTML, not Markdown (engine/site_html.py says why): these blocks are most of the site's text.
"""

from __future__ import annotations

import functools

from engine.model import Case, GuidelineSet
from engine.result import Recommendation
from engine.site_html import esc, link_html
from engine.site_outcomes import CaseOutcome, Listing
from engine.site_paths import case_anchor, find_rule, rule_path
from engine.site_text import ACTION_VERBS, STRENGTH_WORDS, label_of, number, subject_of


def worked_example(g: GuidelineSet, outcome: CaseOutcome, rule_id: str, here: str, case_page: str) -> str:
    """A short block for a rule page; this rule's own recommendations are marked."""
    case = outcome.case
    parts = [
        f'<div class="admonition example">\n<p class="admonition-title">{esc(case.title)}</p>',
        *([f"<p>{esc(case.story)}</p>"] if case.story else []),
        f"<p><em>Patient:</em> {patient_brief(g, case)}</p>",
        outcome_block(g, outcome, here, rule_id),
        f"<p>{link_html(here, case_page, 'The full case', case_anchor(case.id))}</p>\n</div>",
    ]
    return "\n".join(parts)


def case_block(g: GuidelineSet, outcome: CaseOutcome, here: str, limit: int) -> str:
    """A case on its topic's cases page, below its heading: the story, the patient, the listing."""
    case = outcome.case
    return "\n".join([f"<p>Case {esc(case.id)}. {esc(case.story)}</p>",
                      f"<p><em>Patient:</em> {patient_brief(g, case, limit)}</p>",
                      outcome_block(g, outcome, here)])


def patient_brief(g: GuidelineSet, case: Case, limit: int | None = None) -> str:
    """'TPMT activity: absent; body weight: 62 kg' in the dictionary's words; at most `limit` facts."""
    names = sorted(case.facts)
    parts = []
    for name in names[:limit]:
        given = case.facts[name]
        value = given.value
        fact = g.facts.get(name)
        if isinstance(value, (list, tuple)):
            parts.append(f"{esc(label_of(g, name))}: {esc(', '.join(str(v) for v in value)) or 'none'}")
        else:  # most facts recur across cases with the same value: each item made once
            parts.append(_fact_item(label_of(g, name), fact.display_unit or fact.unit if fact else None,
                                    value, given.unit))
    if limit is not None and len(names) > limit:
        parts.append(f"and {len(names) - limit} more facts (see the case file)")
    return "; ".join(parts) if parts else "no facts given"


@functools.lru_cache(maxsize=1 << 16, typed=True)  # typed: True and 1 are different answers
def _fact_item(label: str, fact_unit: str | None, value: object, unit: str | None) -> str:
    """'body weight: 62 kg'; `fact_unit` is the dictionary's unit for the fact."""
    if isinstance(value, bool):
        shown = "yes" if value else "no"
    elif isinstance(value, (int, float)):
        shown = esc(f"{number(float(value))} {unit or fact_unit or ''}".strip())
    else:
        shown = esc(str(value).replace("_", " "))
    return f"{esc(label)}: {shown}"


def outcome_block(g: GuidelineSet, outcome: CaseOutcome, here: str, rule_id: str = "") -> str:
    if outcome.case.skip:
        return f"<p><em>Not run:</em> {esc(outcome.case.skip)}</p>"
    if outcome.listing is None:
        return ('<div class="admonition failure">\n<p class="admonition-title">The engine could not evaluate '
                f"this case</p>\n<p>{esc(outcome.error or 'no reason given')}</p>\n</div>")
    return listing_block(g, outcome.listing, here, rule_id)


def listing_block(g: GuidelineSet, listing: Listing, here: str, rule_id: str = "") -> str:
    """What the engine recommends; with `rule_id` (a rule page) the listing holds what bears on that rule."""
    items = [_recommendation(g, r, here, rule_id) for r in listing.recommendations]
    for s in listing.suppressed:
        items.append(f"<li><del>{_headline(g, s.recommendation)}</del> "
                     f"({rule_link(g, s.recommendation.rule, here)}) — set aside: {esc(s.reason)}</li>")
    for n in listing.needs_data:
        needed = ", ".join(esc(label_of(g, f)) for f in n.facts)
        items.append(f"<li>Needs data for {rule_link(g, n.rule, here)}: {needed}</li>")
    items += _left_out(listing, rule_id)
    lead = f"<p><em>{_lead(listing, rule_id)}</em></p>"
    return lead + ("\n<ul>\n" + "\n".join(items) + "\n</ul>" if items else "")


def _lead(listing: Listing, rule_id: str) -> str:
    """The sentence above the list. With nothing recommended it says so, and on a rule page why this
    rule gives nothing: "recommends: nothing" above the rule's own struck-out advice read as a contradiction."""
    if listing.recommendations or (listing.more_recommendations and not rule_id):
        return "The engine recommends:"
    if not rule_id:
        return "The engine recommends nothing for this patient."
    if any(s.recommendation.rule == rule_id for s in listing.suppressed):
        return "This rule's recommendation is not given for this patient: another rule sets it aside."
    if listing.needs_data:
        return "This rule gives no recommendation for this patient: it needs data the case does not give."
    return "This rule recommends nothing for this patient."


def rule_link(g: GuidelineSet, rule_id: str, here: str) -> str:
    """A link to a rule's page from page `here`, or the bare id when no such rule exists."""
    target = find_rule(g, rule_id)
    if target is None or rule_path(target) == here:
        return esc(rule_id)
    return link_html(here, rule_path(target), esc(rule_id))


def _left_out(listing: Listing, rule_id: str) -> list[str]:
    hidden = listing.more_recommendations
    if rule_id:
        others = f"{hidden} other recommendation{'s' if hidden > 1 else ''} for this patient, listed in the full case"
        return [f"<li>{'and ' if listing.recommendations else ''}{others}</li>"] if hidden else []
    counted = [(listing.more_recommendations, "recommendation"), (listing.more_suppressed, "set-aside recommendation"),
               (listing.more_needs_data, "rule needing data")]
    return [f"<li>and {n} more {_plural(n, words)} not listed here (<code>guideline evaluate</code> on the case "
            "file lists all)</li>" for n, words in counted if n]


def _plural(count: int, words: str) -> str:
    if count == 1:
        return words
    return "rules needing data" if words == "rule needing data" else words + "s"


def _recommendation(g: GuidelineSet, rec: Recommendation, here: str, rule_id: str) -> str:
    mark = " — <strong>this rule</strong>" if rec.rule == rule_id else ""
    return f"<li>{_headline(g, rec)} ({_strength(rec.strength)}; {rule_link(g, rec.rule, here)}){mark}</li>"


def _strength(strength: str) -> str:
    return STRENGTH_WORDS.get(strength) or esc(strength.replace("_", " "))


def _verb_phrase(kind: str, subject: str) -> str:
    """'Do not start azathioprine'; `subject` already escaped."""
    pattern = ACTION_VERBS.get(kind)
    return pattern.format(subject) if pattern else f"{esc(kind.replace('_', ' ').capitalize())} {subject}"


def _headline(g: GuidelineSet, rec: Recommendation) -> str:
    words = _verb_phrase(rec.action, esc(subject_of(g, rec.subject)))
    if rec.with_subject:
        words += f" together with {esc(subject_of(g, rec.with_subject))}"
    if rec.dose is not None and rec.dose.mg_per_day is not None:
        low, high = rec.dose.mg_per_day
        words += f": {number(low)}–{number(high)} mg/day" if low != high else f": {number(low)} mg/day"
    elif rec.dose is not None and rec.dose.needs:
        words += " (dose needs " + ", ".join(esc(label_of(g, f)) for f in rec.dose.needs) + ")"
    return words
