"""Model + case outcomes -> every generated page of the site, and its navigation (pure: no I/O)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.model import GuidelineSet, Rule
from engine.site_model import CaseOutcome, evaluate_all, failed_everywhere
from engine.site_pages import (
    cases_page,
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
from engine.site_rule import rule_page

#: Hand-written pages (site/docs/), in reading order, before and after the generated ones.
HANDWRITTEN_FIRST: list[dict[str, str] | str] = [
    {"Home": "index.md"}, {"How to read a rule": "reading-a-rule.md"},
]
HANDWRITTEN_LAST: list[dict[str, str] | str] = [
    {"How to contribute": "contributing.md"}, {"Disclaimer": "disclaimer.md"},
]


@dataclass(frozen=True)
class Site:
    """Every generated page: docs-relative path -> Markdown, plus the navigation tree."""

    pages: dict[str, str]
    nav: list[Any]
    edit_paths: dict[str, str]   # page -> repository path of the YAML it is generated from


def topics_in_order(g: GuidelineSet) -> list[str]:
    """Topics as topics.yaml lists them, then any topic a rule names that topics.yaml lacks."""
    extra = sorted({r.topic for r in g.rules} - set(g.topics))
    return [*g.topics, *extra]


def render_site(g: GuidelineSet, outcomes: Sequence[CaseOutcome], schema_names: Sequence[str]) -> Site:
    topics = topics_in_order(g)
    pages = {rule_path(r): rule_page(g, r, outcomes) for r in g.rules}
    pages.update({topic_path(t): topic_page(g, t) for t in topics})
    pages.update({source_path(s.ref): source_page(g, s) for s in g.sources})
    pages.update({
        "rules/index.md": rules_index(g, topics),
        REFERENCES: references_page(g),
        "sources/index.md": sources_index(g),
        CASES: cases_page(g, outcomes),
        FACTS: facts_page(g),
        SCHEMAS: schemas_page(schema_names),
    })
    edit_paths = {rule_path(r): r.path for r in g.rules if r.path}
    return Site(pages, navigation(g, topics), edit_paths)


def navigation(g: GuidelineSet, topics: Sequence[str]) -> list[Any]:
    """The site's menu: hand-written pages, then rules by topic, then the reference pages."""
    by_topic = [{_topic_title(g, t): [topic_path(t), *_rule_entries(g, t)]} for t in topics]
    sources = [{_source_title(g, s.ref): source_path(s.ref)} for s in g.sources]
    return [
        *HANDWRITTEN_FIRST,
        {"Rules": ["rules/index.md", *by_topic]},
        {"References": REFERENCES},
        {"Source traceability": ["sources/index.md", *sources]},
        {"Test cases": CASES},
        {"Fact dictionary": FACTS},
        {"JSON Schemas": SCHEMAS},
        *HANDWRITTEN_LAST,
    ]


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


__all__ = ["CaseOutcome", "Site", "evaluate_all", "failed_everywhere", "navigation", "render_site"]
