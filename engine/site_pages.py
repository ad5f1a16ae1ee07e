"""Pages that list things: topics, references with back-links, source traceability, cases, facts."""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import FactDef, GuidelineSet, Reference, Rule, SourceTrace, Statement
from engine.site_html import RawBlocks, esc, link_html
from engine.site_model import citing_rules
from engine.site_paths import (
    FACTS,
    NOT_CURRENT,
    REFERENCES,
    fact_anchor,
    find_rule,
    link,
    markdown_url,
    outside_links,
    ref_anchor,
    rule_path,
    source_path,
    topic_path,
)
from engine.site_rule import status_badge
from engine.site_text import number, text, unit_of

STATUS_ORDER = {"active": 0, "draft": 1, "deprecated": 2, "retired": 3}
NOT_ENCODED = {
    "not_actionable": "says nothing a clinician could act on",
    "duplicate": "already encoded from another statement",
    "superseded": "another source's statement wins (see the disagreements)",
    "wrong": "wrong or outdated: deliberately not encoded",
    "out_of_scope": "outside azathioprine prescribing",
    "background": "context such as prevalence or history",
}


#: The last repository's rules by topic: each topic is listed two or three times, and scanning every
#: rule for each made the site quadratic in topics × rules.
_BY_TOPIC: tuple[GuidelineSet | None, dict[str, list[Rule]]] = (None, {})


def rules_of(g: GuidelineSet, topic: str) -> list[Rule]:
    """A topic's rules, current ones first, then by id."""
    global _BY_TOPIC
    if _BY_TOPIC[0] is not g:
        by_topic: dict[str, list[Rule]] = {}
        for rule in sorted(g.rules, key=lambda r: (STATUS_ORDER.get(r.status, 9), r.id)):
            by_topic.setdefault(rule.topic, []).append(rule)
        _BY_TOPIC = (g, by_topic)
    return list(_BY_TOPIC[1].get(topic, ()))


def topic_page(g: GuidelineSet, key: str) -> tuple[str, tuple[str, ...]]:
    """A topic's page: its Markdown and its HTML block (the table of its rules)."""
    here = topic_path(key)
    topic = g.topics.get(key)
    title = text(topic.title) if topic else text(key)
    blocks = RawBlocks()
    lines = [f"# {title}", "", text(topic.description) if topic else "", "",
             blocks.add(_rule_table(g, rules_of(g, key), here))]
    return "\n".join(lines) + "\n", tuple(blocks.blocks)


def _rule_table(g: GuidelineSet, rules: Sequence[Rule], here: str) -> str:
    """An HTML table (engine/site_html.py): with thousands of rules, Markdown's tables were slow."""
    if not rules:
        return "<p>No rules yet.</p>"
    rows = []
    for r in rules:
        marker = " (not current)" if r.status in NOT_CURRENT else ""
        rows.append(f"<tr>\n<td>{link_html(here, rule_path(r), esc(r.id))}</td>\n<td>{esc(r.title)}{marker}</td>\n"
                    f"<td>{status_badge(r.status, html=True)}</td>\n</tr>")
    return ("<table>\n<thead>\n<tr>\n<th>Rule</th>\n<th>Recommendation</th>\n<th>Status</th>\n</tr>\n</thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")


def rules_index(g: GuidelineSet, topics: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Every rule by topic: the Markdown and its HTML blocks (a table a topic)."""
    here = "rules/index.md"
    blocks = RawBlocks()
    lines = ["# All rules by topic", "",
             "Every rule, current or not. Retired and deprecated rules are kept so past "
             "decisions can be traced; they are marked *not current*.", ""]
    for key in topics:
        topic = g.topics.get(key)
        lines += [f"## [{text(topic.title if topic else key)}]({link(here, topic_path(key))})", "",
                  blocks.add(_rule_table(g, rules_of(g, key), here)), ""]
    return "\n".join(lines), tuple(blocks.blocks)


def references_page(g: GuidelineSet) -> str:
    lines = ["# References", "",
             "Every work the rules cite. Under each, the rules that cite it.", ""]
    for kind_title, refs in _by_kind(g):
        lines += [f"## {kind_title}", ""]
        for ref in refs:
            lines += _reference(g, ref)
    return "\n".join(lines)


def _by_kind(g: GuidelineSet) -> list[tuple[str, list[Reference]]]:
    kinds = sorted({r.kind for r in g.references.values()}, key=lambda k: (k != "source-article", k))
    return [(text(k.replace("-", " ").capitalize() + "s"),
             sorted((r for r in g.references.values() if r.kind == k), key=lambda r: r.key)) for k in kinds]


def _reference(g: GuidelineSet, ref: Reference) -> list[str]:
    where = ", ".join(x for x in (ref.journal, ref.publisher) if x)
    meta = f"{text(', '.join(ref.authors))} ({ref.year})" + (f". {text(where)}" if where else "")
    links = " · ".join(f"[{text(label)}]({markdown_url(url)})" for label, url in outside_links(ref))
    cited = [_back_link(r, ref.key) for r in citing_rules(g, ref.key)]
    lines = [f"### {text(ref.title)} {{#{ref_anchor(ref.key)}}}", "", meta, ""]
    lines += [f"Key: {text(ref.key)}" + (f" · {links}" if links else " · no identifier on record"), ""]
    if ref.note:
        lines += [text(ref.note), ""]
    lines += ["**Cited by:**", "", *cited, ""] if cited else ["**Cited by:** no rule", ""]
    return lines


def _back_link(rule: Rule, ref_key: str) -> str:
    """A list item leading from a reference back to a rule citing it, with where in the work."""
    where = "; ".join(text(c.locator) for c in rule.citations if c.ref == ref_key)
    marker = " (not current)" if rule.status in NOT_CURRENT else ""
    return f"- [{text(rule.id)}: {text(rule.title)}]({link(REFERENCES, rule_path(rule))}){marker} — {where}"


def sources_index(g: GuidelineSet) -> str:
    lines = ["# Source traceability", "",
             "For each source article: every statement it makes, and the rules that encode it "
             "or why none does.", ""]
    for trace in g.sources:
        ref = g.references.get(trace.ref)
        lines.append(f"- [{text(ref.title if ref else trace.ref)}]({link('sources/index.md', source_path(trace.ref))})"
                     f" — {_counts(trace)}")
    return "\n".join(lines) + "\n"


def _counts(trace: SourceTrace) -> str:
    encoded = sum(1 for s in trace.statements if s.rules)
    return f"{len(trace.statements)} statements: {encoded} encoded in rules, {len(trace.statements) - encoded} not"


def source_page(g: GuidelineSet, trace: SourceTrace) -> str:
    here = source_path(trace.ref)
    ref = g.references.get(trace.ref)
    lines = [f"# {text(ref.title if ref else trace.ref)}", "",
             f"[Bibliographic entry]({link(here, REFERENCES, ref_anchor(trace.ref))})", "",
             "| Statement | What the source says | Encoded in |", "|---|---|---|"]
    for s in trace.statements:
        section = f" *({text(s.section)})*" if s.section else ""
        lines.append(f"| {text(s.id)} | {text(s.says)}{section} | {_encoded(g, s, here)} |")
    return "\n".join(lines) + "\n"


def _encoded(g: GuidelineSet, statement: Statement, here: str) -> str:
    if statement.rules:
        found = [(i, find_rule(g, i)) for i in statement.rules]
        return ", ".join(f"[{text(i)}]({link(here, rule_path(r))})" if r else text(i) for i, r in found)
    reason = statement.not_encoded_reason or ""
    words = NOT_ENCODED.get(reason, reason.replace("_", " "))
    note = statement.not_encoded_note
    return f"Not encoded: {text(words)}" + (f". {text(note)}" if note else "")


def facts_page(g: GuidelineSet) -> str:
    lines = ["# Fact dictionary", "",
             "Every patient fact a rule may test. A fact a case leaves out is *not known*, "
             "never assumed normal.", ""]
    for name in sorted(g.facts):
        lines += _fact(g.facts[name])
    return "\n".join(lines)


def _fact(fact: FactDef) -> list[str]:
    rows = [("Name in rules", text(fact.name)), ("Type", text(fact.type))]
    if fact.unit:
        rows.append(("Unit", f"{text(unit_of(fact))} (code {text(fact.unit)})"))
    if fact.range:
        rows.append(("Allowed range", f"{number(fact.range[0])} to {number(fact.range[1])}"))
    if fact.values:
        rows.append(("Values", "; ".join(f"*{text(k)}*: {text(v)}" for k, v in fact.values)))
    if fact.code:
        rows.append(("Code", text(f"{fact.code[0]} {fact.code[1]}")))
    if fact.derived:
        rows.append(("Set by", "rules only (derived); a case never gives it"))
    table = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return [f"### {text(fact.label)} {{#{fact_anchor(fact.name)}}}", "", text(fact.description), "",
            *table, ""]


def schemas_page(names: Sequence[str]) -> str:
    lines = ["# JSON Schemas", "",
             "Every file under guidelines/ is checked against one of these schemas. Editors whose "
             "editor understands `yaml-language-server` comments get completion and checking as they type.",
             ""]
    lines += [f"- [{text(n)}](schema/{n})" for n in names]
    return "\n".join(lines) + "\n"


__all__ = ["FACTS", "facts_page", "references_page", "rules_index",
           "schemas_page", "source_page", "sources_index", "topic_page"]
