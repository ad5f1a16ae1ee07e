"""Model + case outcomes -> every generated page of the site, and its navigation (pure: no I/O)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.model import GuidelineSet, Rule
from engine.site_cases import CasePages, case_pages
from engine.site_html import broken_raw_links, fill, fill_late
from engine.site_model import RelationIndex
from engine.site_outcomes import CaseOutcome, SiteOutcomes, evaluate_all, failed_everywhere
from engine.site_pages import (
    facts_page,
    references_page,
    rules_index,
    rules_of,
    schemas_page,
    source_page,
    sources_index,
    topic_page,
)
from engine.site_paths import (
    CASES,
    FACTS,
    NOT_CURRENT,
    REFERENCES,
    SCHEMAS,
    rule_path,
    source_path,
    topic_path,
)
from engine.site_rule import Contents, RuleContext, rule_page

#: Hand-written pages (site/docs/), in reading order, before and after the generated ones.
HANDWRITTEN_FIRST: list[dict[str, str] | str] = [
    {"Home": "index.md"}, {"How to read a rule": "reading-a-rule.md"},
]
HANDWRITTEN_LAST: list[dict[str, str] | str] = [
    {"How to contribute": "contributing.md"}, {"Disclaimer": "disclaimer.md"},
]
#: Rules listed one by one in the menu, at most. The theme writes the whole menu into every
#: page, so a menu of every rule makes the site grow with rules²; above this, the menu lists
#: topics and each topic's page lists its rules.
NAV_RULES_MAX = 300
#: Topics, sources and case topics listed in the menu, at most, each. Material writes every entry
#: (about 1.4 KB of markup) into every page and renders it again for each page: 200 entries made
#: 140 KB of a 170 KB rule page and most of the theme's time. Above this, the section's index page
#: lists them.
NAV_LIST_MAX = 40


@dataclass(frozen=True)
class Site:
    """Every generated page: docs-relative path -> Markdown, plus the navigation tree."""

    pages: dict[str, str]
    nav: list[Any]
    edit_paths: dict[str, str]   # page -> repository path of the YAML it is generated from
    not_in_nav: frozenset[str] = frozenset()  # pages reached by links only, not from the menu
    raw: dict[str, tuple[str, ...]] = field(default_factory=dict)  # page -> its raw HTML blocks
    #: page -> (heading, anchor) of the sections its HTML blocks hold: the hook adds them to the
    #: page's contents list, which MkDocs makes from Markdown headings only.
    contents: dict[str, Contents] = field(default_factory=dict)

    def whole(self, path: str) -> str:
        """A page's Markdown with its raw blocks in place: what its reader gets, short of the theme."""
        blocks = self.raw.get(path, ())
        return fill_late(fill(self.pages[path], blocks), blocks)

    def broken_links(self) -> list[str]:
        """Links in raw blocks (which MkDocs does not check) to a page or anchor the site lacks."""
        return broken_raw_links(self.pages, self.raw)


def topics_in_order(g: GuidelineSet) -> list[str]:
    """Topics as topics.yaml lists them, then any topic a rule names that topics.yaml lacks."""
    extra = sorted({r.topic for r in g.rules} - set(g.topics))
    return [*g.topics, *extra]


def render_site(g: GuidelineSet, outcomes: SiteOutcomes, schema_names: Sequence[str]) -> Site:
    topics = topics_in_order(g)
    cases = case_pages(g, outcomes)
    index = RelationIndex(g)
    pages: dict[str, str] = {}
    raw: dict[str, tuple[str, ...]] = {}
    contents: dict[str, Contents] = {}
    for r in g.rules:
        pages[rule_path(r)], raw[rule_path(r)], contents[rule_path(r)] = rule_page(
            g, r, RuleContext(outcomes.of_rule(r.id), cases.page_of, index.of(r)))
    for t in topics:
        pages[topic_path(t)], raw[topic_path(t)] = topic_page(g, t)
    pages["rules/index.md"], raw["rules/index.md"] = rules_index(g, topics)
    pages.update({source_path(s.ref): source_page(g, s) for s in g.sources})
    pages.update({
        REFERENCES: references_page(g),
        "sources/index.md": sources_index(g),
        FACTS: facts_page(g),
        SCHEMAS: schemas_page(schema_names),
    })
    pages.update(cases.pages)
    raw.update(cases.raw)
    edit_paths = {rule_path(r): r.path for r in g.rules if r.path}
    nav = navigation(g, topics, cases)
    return Site(pages, nav, edit_paths, frozenset(pages) - _nav_pages(nav), {p: b for p, b in raw.items() if b},
                contents)


def navigation(g: GuidelineSet, topics: Sequence[str], cases: CasePages) -> list[Any]:
    """The site's menu: hand-written pages, then rules by topic, then the reference pages."""
    listed = len(g.rules) <= NAV_RULES_MAX
    # Without its rules, a topic is a plain entry, not a section (a section is twice the markup).
    by_topic = [{_topic_title(g, t): [topic_path(t), *_rule_entries(g, t)] if listed else topic_path(t)}
                for t in topics]
    sources = [{_source_title(g, s.ref): source_path(s.ref)} for s in g.sources]
    case_topics = [{title: path} for title, path in cases.topics]
    by_topic, sources, case_topics = (_bounded(entries) for entries in (by_topic, sources, case_topics))
    return [
        *HANDWRITTEN_FIRST,
        {"Rules": ["rules/index.md", *by_topic]},
        {"References": REFERENCES},
        {"Source traceability": ["sources/index.md", *sources]},
        {"Test cases": [CASES, *case_topics]},
        {"Fact dictionary": FACTS},
        {"JSON Schemas": SCHEMAS},
        *HANDWRITTEN_LAST,
    ]


def _bounded(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A section's entries if there are few enough for the menu; else none (its index page lists them)."""
    return entries if len(entries) <= NAV_LIST_MAX else []


def _nav_pages(nav: Any) -> set[str]:
    """Every page the menu lists."""
    if isinstance(nav, str):
        return {nav}
    items = nav.values() if isinstance(nav, dict) else nav
    return set().union(*(_nav_pages(item) for item in items))


def _rule_entries(g: GuidelineSet, topic: str) -> list[dict[str, str]]:
    return [{_nav_title(r): rule_path(r)} for r in rules_of(g, topic)]


def _nav_title(rule: Rule) -> str:
    # MkDocs' Jinja environment does not autoescape and navigation titles skip Markdown:
    # every title from YAML is HTML-escaped here.
    title = f"{rule.id}: {rule.title}"
    return html.escape(f"{title} ({rule.status}, not current)" if rule.status in NOT_CURRENT else title)


def _topic_title(g: GuidelineSet, key: str) -> str:
    topic = g.topics.get(key)
    return html.escape(topic.title if topic else key)


def _source_title(g: GuidelineSet, ref: str) -> str:
    found = g.references.get(ref)
    return html.escape(found.title if found else ref)


__all__ = ["CaseOutcome", "Site", "SiteOutcomes", "evaluate_all", "failed_everywhere", "navigation", "render_site"]
