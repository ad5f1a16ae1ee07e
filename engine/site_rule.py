"""One rule -> its page: what it says, when, why, sources, disagreements, worked examples, history.

Only the title is Markdown (MkDocs takes the page's title from it); the sections, headings included,
are HTML blocks made here (engine/site_html.py): at thousands of rules, Markdown took most of the
build's time. The hook lists the section headings in the page's contents (`SECTIONS`). Everything
from YAML goes through `esc`, or through engine.site_text's phrasing (escaped by `text`) and
`inline_html`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.model import Action, All, Condition, Disagreement, GuidelineSet, Not, Rule, Test
from engine.site_html import RawBlocks, esc, href, inline_html, link_html
from engine.site_model import Relations, disagreements_of
from engine.site_outcomes import RuleExamples
from engine.site_paths import CASES, NOT_CURRENT, REFERENCES, find_rule, outside_links, ref_anchor, rule_path
from engine.site_text import action_words, derive_words, label_of, leaf, strength_words, text
from engine.site_worked import rule_link, worked_example

#: (heading, anchor) of the sections a page's HTML blocks hold, for the page's contents list.
Contents = tuple[tuple[str, str], ...]

SAFETY = ("<p><em>This page supports, and does not replace, clinical judgment. Check every "
          "recommendation against the patient in front of you and the current product information.</em></p>")


@dataclass(frozen=True)
class RuleContext:
    """What a rule page needs beyond the rule: its worked examples, where each case is, its relations."""

    examples: RuleExamples
    page_of: Mapping[str, str]   # case id -> the cases page showing it
    relations: Relations


def rule_page(g: GuidelineSet, rule: Rule, context: RuleContext) -> tuple[str, tuple[str, ...], Contents]:
    """The page's Markdown (front matter, title, placeholders), its HTML blocks and its sections' headings."""
    here = rule_path(rule)
    blocks = RawBlocks()
    sections = [
        ("What it recommends", _recommends(g, rule), False),
        ("When it applies", _when(g, rule), False),
        ("Why", _why(rule), False),
        ("Sources", _sources(g, rule, here), False),
        ("Where sources disagree", _disagreements(g, rule, here), False),
        # Examples, relations and history stay out of the search index (it parses every page it
        # indexes): a rule is found by what it says, when and why, and by its sources.
        ("Worked examples", _examples(g, rule, context, here), True),
        ("Related rules", _related(g, context.relations, here), True),
        ("Review and history", _history(rule, here) + "\n" + SAFETY, True),
    ]
    parts = [f"{_front_matter(rule)}# {text(rule.id)}: {text(rule.title)}", blocks.add(_header(g, rule, here))]
    shown = [(title, body, late) for title, body, late in sections if body]
    for title, body, late in shown:  # a heading goes in before the search index reads the page
        parts += [blocks.add(heading(title)), blocks.add(body, late=late)]
    contents = tuple((title, SECTIONS[title]) for title, _, _ in shown)
    return "\n\n".join(parts) + "\n", tuple(blocks.blocks), contents


#: A rule page's section headings (written by us, no text from YAML) and their anchors, as
#: Python-Markdown's `toc` would make them. The build hook lists them in the page's contents.
SECTIONS = {title: title.lower().replace(" ", "-") for title in (
    "What it recommends", "When it applies", "Why", "Sources", "Where sources disagree", "Worked examples",
    "Related rules", "Review and history")}


def heading(title: str) -> str:
    """A section heading with its permanent link, as Markdown (`toc` with permalinks) makes it."""
    anchor = SECTIONS[title]
    return f'<h2 id="{anchor}">{title}<a class="headerlink" href="#{anchor}" title="Permanent link">&para;</a></h2>'


def _front_matter(rule: Rule) -> str:
    # Search ranks rules that are not current below current ones (Material's `search.boost`).
    boost = {"active": 2, "draft": 0.5}.get(rule.status, 0.2)
    return f"---\nsearch:\n  boost: {boost}\n---\n\n"


def badge(kind: str, words: str) -> str:
    """A small label; `kind` is ours (a CSS class), `words` already escaped."""
    return f'<span class="gl-badge gl-badge--{kind}">{words}</span>'


def status_badge(status: str, *, html: bool = False) -> str:
    """The status label, for a Markdown page or (html=True) an HTML block."""
    shown = {"retired": "retired: not current", "deprecated": "deprecated: not current"}
    words = shown.get(status, status)
    return badge(status if status in ("draft", "active", *NOT_CURRENT) else "other",
                 esc(words) if html else text(words))


def _admonition(kind: str, title: str, body: str) -> str:
    """Python-Markdown's admonition markup; `title` and `body` already HTML."""
    return f'<div class="admonition {kind}">\n<p class="admonition-title">{title}</p>\n{body}\n</div>'


def _header(g: GuidelineSet, rule: Rule, here: str) -> str:
    badges = " ".join([status_badge(rule.status, html=True), badge("version", f"version {esc(rule.version)}"),
                       badge("review", f"next review {esc(rule.review.next_review)}")])
    lines = [f"<p>{badges}</p>"]
    if rule.status in NOT_CURRENT:
        lines.append(_not_current(g, rule, here))
    elif rule.status == "draft":
        lines.append(_admonition("warning", "Draft: not approved for use",
                                 "<p>This rule is still being written and reviewed. Do not act on it.</p>"))
    return "\n".join(lines)


def _not_current(g: GuidelineSet, rule: Rule, here: str) -> str:
    body = [f"<p>This rule is <strong>{esc(rule.status)}</strong>. It is kept so that past decisions can be "
            "traced; do not use it for patients today.</p>"]
    if rule.reason:
        body.append(f"<p>Why: {esc(rule.reason)}</p>")
    if rule.replaced_by:
        targets = ", ".join(rule_link(g, rule_id, here) for rule_id in rule.replaced_by)
        body.append(f"<p>Use instead: {targets}.</p>")
    return _admonition("danger", f"Not current: this rule is {esc(rule.status)}", "\n".join(body))


def _recommends(g: GuidelineSet, rule: Rule) -> str:
    items = [_action_item(g, a) for a in rule.recommendations]
    derived = [f"<li>{inline_html(derive_words(g, a))}</li>" for a in rule.then if a.kind == "derive"]
    parts = ["\n".join(items) if items else "<p>This rule makes no recommendation of its own.</p>"]
    if derived:
        parts.append("<p>It also records, for other rules to use:</p>\n<ul>\n" + "\n".join(derived) + "\n</ul>")
    return "\n".join(parts)


#: How each kind of action looks: what must not happen stands out in red.
ACTION_STYLE = {"stop": "danger", "avoid": "danger", "hold": "danger", "caution": "warning",
                "order_test": "info", "monitor": "info", "consider": "tip", "counsel": "tip"}


def _action_item(g: GuidelineSet, action: Action) -> str:
    style = ACTION_STYLE.get(action.kind, "success")
    head = inline_html(f"{action_words(g, action)} — {strength_words(action.strength)}")
    body = esc(action.text) if action.text else "No further words from the editors."
    return _admonition(style, head, f"<p>{body}</p>")


def _when(g: GuidelineSet, rule: Rule) -> str:
    return ("<p>The rule applies when:</p>\n<ul>\n" + _condition(g, rule.when) + "\n</ul>\n"
            "<p>A fact the patient record does not give is <em>not known</em>, never assumed normal: "
            "the rule then asks for the missing data instead of deciding.</p>")


def _condition(g: GuidelineSet, condition: Condition) -> str:
    """The condition tree read aloud as nested lists."""
    if isinstance(condition, Test):
        return f"<li>{inline_html(leaf(g, condition))}</li>"
    if isinstance(condition, Not):
        return f"<li><strong>none</strong> of the following:<ul>\n{_condition(g, condition.item)}\n</ul>\n</li>"
    word = "all" if isinstance(condition, All) else "any"
    items = "\n".join(_condition(g, item) for item in condition.items)
    return f"<li><strong>{word}</strong> of the following:<ul>\n{items}\n</ul>\n</li>"


def _why(rule: Rule) -> str:
    certainty = esc(rule.certainty.replace("_", " "))
    scheme = esc(rule.evidence_scheme.replace("_", " "))
    return (f"<p>{esc(rule.rationale)}</p>\n"
            f"<p><strong>Certainty of evidence:</strong> {certainty} (grading scheme: {scheme}).</p>")


def _sources(g: GuidelineSet, rule: Rule, here: str) -> str:
    items = []
    for citation in rule.citations:
        ref = g.references.get(citation.ref)
        title = esc(ref.title) if ref else esc(citation.ref)
        item = f"{link_html(here, REFERENCES, title, ref_anchor(citation.ref))} — {esc(citation.locator)}"
        if citation.note:
            item += f". {esc(citation.note)}"
        if ref:
            item += "".join(f' · <a href="{esc(url)}">{esc(label)}</a>' for label, url in outside_links(ref))
        items.append(f"<li>{item}</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>" if items else ""


def _disagreements(g: GuidelineSet, rule: Rule, here: str) -> str:
    return "\n".join(_disagreement(g, d, here) for d in disagreements_of(g, rule.id))


def _disagreement(g: GuidelineSet, d: Disagreement, here: str) -> str:
    positions = []
    for p in d.positions:
        ref = g.references.get(p.ref)
        name = esc(ref.title) if ref else esc(p.ref)
        positions.append(f"<li>{link_html(here, REFERENCES, name, ref_anchor(p.ref))} says: {esc(p.says)}</li>")
    body = ("<ul>\n" + "\n".join(positions) + "\n</ul>\n"
            f"<p><strong>Followed here:</strong> {_winner(g, d, here)}. <strong>Why:</strong> {esc(d.why)}</p>")
    return _admonition("note", f"Disagreement: {esc(d.question)}", body)


def _winner(g: GuidelineSet, d: Disagreement, here: str) -> str:
    winner = find_rule(g, d.winner)
    return f"this rule, {esc(d.winner)}" if winner and rule_path(winner) == here else rule_link(g, d.winner, here)


def _examples(g: GuidelineSet, rule: Rule, context: RuleContext, here: str) -> str:
    examples = context.examples
    if not examples.shown:
        return "<p>No test case exercises this rule yet.</p>"
    # Cases that name the rule in their expectations teach most; the page stays readable (and the
    # site's size stays linear in rules, not rules × cases) with a few, and the rest are linked.
    shown = [worked_example(g, o, rule.id, here, context.page_of.get(o.case.id, CASES)) for o in examples.shown]
    rest = examples.total - len(examples.shown)
    if rest > 0:
        shown.append(f"<p>{rest} more test case{'s' if rest > 1 else ''} exercise this rule: "
                     f'see <a href="{esc(href(here, CASES))}">all test cases</a>.</p>')
    return "\n".join(shown)


def _related(g: GuidelineSet, rel: Relations, here: str) -> str:
    lines = [f"It records <strong>{esc(label_of(g, fact))}</strong>, which "
             + (f"is read by {_refs(ids, here, g)}" if ids else "no rule reads yet")
             for fact, ids in rel.derives_used_by]
    lines += [f"It reads <strong>{esc(label_of(g, fact))}</strong>, recorded by {_refs(ids, here, g)}"
              for fact, ids in rel.reads_derived_from]
    named = (("It overrides", rel.overrides), ("It is overridden by", rel.overridden_by),
             ("It is replaced by", rel.replaced_by), ("It replaces", rel.replaces))
    lines += [f"{words} {_refs(ids, here, g)}" for words, ids in named if ids]
    return "<ul>\n" + "\n".join(f"<li>{line}</li>" for line in lines) + "\n</ul>" if lines else "<p>None.</p>"


def _refs(ids: Sequence[str], here: str, g: GuidelineSet) -> str:
    return ", ".join(rule_link(g, i, here) for i in ids)


def _history(rule: Rule, here: str) -> str:
    review = rule.review
    rows = "\n".join(f"<tr>\n<td>{esc(c.version)}</td>\n<td>{esc(c.date)}</td>\n<td>{esc(c.change)}</td>\n</tr>"
                     for c in rule.changelog)
    return "\n".join([
        f"<p><strong>Written by:</strong> {esc(', '.join(review.authors))} · <strong>Approved:</strong> "
        f"{esc(review.approved)} · <strong>Next review due:</strong> {esc(review.next_review)}</p>",
        "<table>\n<thead>\n<tr>\n<th>Version</th>\n<th>Date</th>\n<th>Change</th>\n</tr>\n</thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>",
        f"<p>The rule's source file is {esc(rule.path or here)}; the edit button at the top of the page opens it.</p>",
    ])
