"""One rule -> its page: what it says, when, why, sources, disagreements, worked examples, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.model import Action, Disagreement, GuidelineSet, Rule
from engine.site_html import RawBlocks
from engine.site_model import Relations, disagreements_of
from engine.site_outcomes import RuleExamples
from engine.site_paths import (
    CASES,
    NOT_CURRENT,
    REFERENCES,
    find_rule,
    link,
    markdown_url,
    outside_links,
    ref_anchor,
    rule_link,
    rule_path,
)
from engine.site_text import (
    action_words,
    condition_lines,
    derive_words,
    label_of,
    quoted,
    strength_words,
    text,
    title_text,
)
from engine.site_worked import worked_example

SAFETY = ("*This page supports, and does not replace, clinical judgment. Check every "
          "recommendation against the patient in front of you and the current product information.*")


@dataclass(frozen=True)
class RuleContext:
    """What a rule page needs beyond the rule: its worked examples, where each case is, its relations."""

    examples: RuleExamples
    page_of: Mapping[str, str]   # case id -> the cases page showing it
    relations: Relations


def rule_page(g: GuidelineSet, rule: Rule, context: RuleContext) -> tuple[str, tuple[str, ...]]:
    """The page's Markdown and its raw HTML blocks (the worked examples; engine/site_html.py)."""
    here = rule_path(rule)
    blocks = RawBlocks()
    sections = [
        _header(g, rule),
        _recommends(g, rule),
        _when(g, rule),
        _why(rule),
        _sources(g, rule, here),
        _disagreements(g, rule, here),
        _examples(g, rule, context, here, blocks),
        _related(g, context.relations, here),
        _history(rule, here),
        SAFETY,
    ]
    return _front_matter(rule) + "\n\n".join(s for s in sections if s) + "\n", tuple(blocks.blocks)


def _front_matter(rule: Rule) -> str:
    # Search ranks rules that are not current below current ones (Material's `search.boost`).
    boost = {"active": 2, "draft": 0.5}.get(rule.status, 0.2)
    return f"---\nsearch:\n  boost: {boost}\n---\n\n"


def badge(kind: str, words: str) -> str:
    """A small label; `kind` is ours (a CSS class), `words` already escaped."""
    return f'<span class="gl-badge gl-badge--{kind}">{words}</span>'


def status_badge(status: str) -> str:
    shown = {"retired": "retired: not current", "deprecated": "deprecated: not current"}
    return badge(status if status in ("draft", "active", *NOT_CURRENT) else "other",
                 text(shown.get(status, status)))


def _header(g: GuidelineSet, rule: Rule) -> str:
    lines = [
        f"# {text(rule.id)}: {text(rule.title)}",
        " ".join([status_badge(rule.status), badge("version", f"version {text(rule.version)}"),
                  badge("review", f"next review {text(rule.review.next_review)}")]),
    ]
    if rule.status in NOT_CURRENT:
        lines.append(_not_current(g, rule))
    elif rule.status == "draft":
        lines.append('!!! warning "Draft: not approved for use"\n\n'
                     "    This rule is still being written and reviewed. Do not act on it.")
    return "\n\n".join(lines)


def _not_current(g: GuidelineSet, rule: Rule) -> str:
    body = [f"This rule is **{text(rule.status)}**. It is kept so that past decisions can be "
            "traced; do not use it for patients today."]
    if rule.reason:
        body.append(f"Why: {text(rule.reason)}")
    if rule.replaced_by:
        targets = ", ".join(rule_link(g, rule_id, rule_path(rule)) for rule_id in rule.replaced_by)
        body.append(f"Use instead: {targets}.")
    indented = "\n\n".join("    " + b for b in body)
    return f'!!! danger "Not current: this rule is {text(rule.status)}"\n\n{indented}'


def _recommends(g: GuidelineSet, rule: Rule) -> str:
    items = [_action_item(g, a) for a in rule.recommendations]
    derived = [f"- {derive_words(g, a)}" for a in rule.then if a.kind == "derive"]
    parts = ["## What it recommends"]
    parts.append("\n\n".join(items) if items else "This rule makes no recommendation of its own.")
    if derived:
        parts.append("It also records, for other rules to use:\n\n" + "\n".join(derived))
    return "\n\n".join(parts)


#: How each kind of action looks: what must not happen stands out in red.
ACTION_STYLE = {"stop": "danger", "avoid": "danger", "hold": "danger", "caution": "warning",
                "order_test": "info", "monitor": "info", "consider": "tip", "counsel": "tip"}


def _action_item(g: GuidelineSet, action: Action) -> str:
    style = ACTION_STYLE.get(action.kind, "success")
    head = quoted(f"{action_words(g, action)} — {strength_words(action.strength)}")
    body = text(action.text) if action.text else "No further words from the editors."
    return f'!!! {style} "{head}"\n\n    {body}'



def _when(g: GuidelineSet, rule: Rule) -> str:
    return "## When it applies\n\nThe rule applies when:\n\n" + "\n".join(condition_lines(g, rule.when)) + (
        "\n\nA fact the patient record does not give is *not known*, never assumed normal: "
        "the rule then asks for the missing data instead of deciding."
    )


def _why(rule: Rule) -> str:
    certainty = text(rule.certainty.replace("_", " "))
    scheme = text(rule.evidence_scheme.replace("_", " "))
    return (f"## Why\n\n{text(rule.rationale)}\n\n"
            f"**Certainty of evidence:** {certainty} (grading scheme: {scheme}).")


def _sources(g: GuidelineSet, rule: Rule, here: str) -> str:
    lines = ["## Sources"]
    for citation in rule.citations:
        ref = g.references.get(citation.ref)
        title = text(ref.title) if ref else text(citation.ref)
        item = f"- [{title}]({link(here, REFERENCES, ref_anchor(citation.ref))}) — {text(citation.locator)}"
        if citation.note:
            item += f". {text(citation.note)}"
        if ref:
            item += "".join(f" · [{text(label)}]({markdown_url(url)})" for label, url in outside_links(ref))
        lines.append(item)
    return "\n\n".join([lines[0], "\n".join(lines[1:])]) if len(lines) > 1 else ""


def _disagreements(g: GuidelineSet, rule: Rule, here: str) -> str:
    found = disagreements_of(g, rule.id)
    if not found:
        return ""
    return "## Where sources disagree\n\n" + "\n\n".join(_disagreement(g, d, here) for d in found)


def _disagreement(g: GuidelineSet, d: Disagreement, here: str) -> str:
    positions = []
    for p in d.positions:
        ref = g.references.get(p.ref)
        name = text(ref.title) if ref else text(p.ref)
        positions.append(f"    - [{name}]({link(here, REFERENCES, ref_anchor(p.ref))}) says: {text(p.says)}")
    return "\n".join([
        f'!!! note "Disagreement: {title_text(d.question)}"', "",
        *positions, "",
        f"    **Followed here:** {_winner(g, d, here)}. **Why:** {text(d.why)}",
    ])


def _winner(g: GuidelineSet, d: Disagreement, here: str) -> str:
    winner = find_rule(g, d.winner)
    return f"this rule, {text(d.winner)}" if winner and rule_path(winner) == here else rule_link(g, d.winner, here)


def _examples(g: GuidelineSet, rule: Rule, context: RuleContext, here: str, blocks: RawBlocks) -> str:
    examples = context.examples
    if not examples.shown:
        return "## Worked examples\n\nNo test case exercises this rule yet."
    # Cases that name the rule in their expectations teach most; the page stays readable (and the
    # site's size stays linear in rules, not rules × cases) with a few, and the rest are linked.
    shown = "\n".join(worked_example(g, o, rule.id, here, context.page_of.get(o.case.id, CASES))
                      for o in examples.shown)
    parts = ["## Worked examples", blocks.add(shown)]
    rest = examples.total - len(examples.shown)
    if rest > 0:
        parts.append(f"{rest} more test case{'s' if rest > 1 else ''} exercise this rule: "
                     f"see [all test cases]({link(here, CASES)}).")
    return "\n\n".join(parts)


def _related(g: GuidelineSet, rel: Relations, here: str) -> str:
    lines = [f"- It records **{text(label_of(g, fact))}**, which "
             + (f"is read by {_refs(ids, here, g)}" if ids else "no rule reads yet")
             for fact, ids in rel.derives_used_by]
    lines += [f"- It reads **{text(label_of(g, fact))}**, recorded by {_refs(ids, here, g)}"
              for fact, ids in rel.reads_derived_from]
    named = (("It overrides", rel.overrides), ("It is overridden by", rel.overridden_by),
             ("It is replaced by", rel.replaced_by), ("It replaces", rel.replaces))
    lines += [f"- {words} {_refs(ids, here, g)}" for words, ids in named if ids]
    return "## Related rules\n\n" + ("\n".join(lines) if lines else "None.")


def _refs(ids: Sequence[str], here: str, g: GuidelineSet) -> str:
    return ", ".join(rule_link(g, i, here) for i in ids)


def _history(rule: Rule, here: str) -> str:
    review = rule.review
    rows = "\n".join(f"| {text(c.version)} | {text(c.date)} | {text(c.change)} |" for c in rule.changelog)
    return "\n\n".join([
        "## Review and history",
        f"**Written by:** {text(', '.join(review.authors))} · **Approved:** {text(review.approved)} · "
        f"**Next review due:** {text(review.next_review)}",
        "| Version | Date | Change |\n|---|---|---|\n" + rows,
        f"The rule's source file is {text(rule.path or here)}; the edit button at the top of the page opens it.",
    ])
