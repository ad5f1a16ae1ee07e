"""Where each generated page lives in the site, and relative links between pages."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from engine.model import GuidelineSet, Reference, Rule
from engine.site_text import slug, text

RULES = "rules"
REFERENCES = "references.md"
CASES = "cases/index.md"
#: Cases on one page of the cases section: pages stay readable however many cases there are.
CASES_PER_PAGE = 100
FACTS = "facts.md"
SCHEMAS = "schemas.md"
SOURCES = "sources"
NOT_CURRENT = frozenset({"retired", "deprecated"})


def rule_path(rule: Rule) -> str:
    return f"{RULES}/{slug(rule.topic)}/{slug(rule.id)}.md"


def topic_path(topic: str) -> str:
    return f"{RULES}/{slug(topic)}/index.md"


def source_path(ref: str) -> str:
    return f"{SOURCES}/{slug(ref)}.md"


def cases_path(topic: str, page: int = 1) -> str:
    """A topic's n-th page of cases (from 1)."""
    return f"cases/{slug(topic)}/index.md" if page == 1 else f"cases/{slug(topic)}/{page}.md"


def link(from_page: str, to_page: str, anchor: str = "") -> str:
    """A relative link from one generated page to another, as MkDocs wants (to the .md file)."""
    target = relative(to_page, posixpath.dirname(from_page))
    return f"{target}#{anchor}" if anchor else target


def relative(to_page: str, from_folder: str) -> str:
    """posixpath.relpath for the site's own paths (relative, normalised), without its calls to the
    file system's working folder: a big site makes hundreds of thousands of links."""
    start, target = from_folder.split("/") if from_folder else [], to_page.split("/")
    common = 0
    while common < min(len(start), len(target)) and start[common] == target[common]:
        common += 1
    return "/".join([".."] * (len(start) - common) + target[common:]) or "."


#: The last repository's rules by id. `GuidelineSet.rule` scans every rule, and the site looks a
#: rule up for every line it lists: a scan each time made the build quadratic in rules.
_RULES_BY_ID: tuple[GuidelineSet | None, dict[str, Rule]] = (None, {})


def find_rule(g: GuidelineSet, rule_id: str) -> Rule | None:
    """The first rule with this id, as `g.rule(rule_id)` would find it, in constant time."""
    global _RULES_BY_ID
    if _RULES_BY_ID[0] is not g:
        by_id: dict[str, Rule] = {}
        for rule in g.rules:
            by_id.setdefault(rule.id, rule)
        _RULES_BY_ID = (g, by_id)
    return _RULES_BY_ID[1].get(rule_id)


def rule_link(g: GuidelineSet, rule_id: str, here: str) -> str:
    """A Markdown link to a rule's page from page `here`, or the bare id when no such rule exists."""
    target = find_rule(g, rule_id)
    if target is None or rule_path(target) == here:
        return text(rule_id)
    return f"[{text(rule_id)}]({link(here, rule_path(target))})"


def ref_anchor(key: str) -> str:
    return f"ref-{slug(key)}"


def case_anchor(case_id: str) -> str:
    return f"case-{slug(case_id)}"


def fact_anchor(name: str) -> str:
    return f"fact-{slug(name)}"


def outside_links(ref: Reference) -> list[tuple[str, str]]:
    """(label, url) for the work itself: DOI, PubMed, web page; never anything but https."""
    found: list[tuple[str, str]] = []
    if ref.doi:
        found.append(("DOI " + ref.doi, "https://doi.org/" + quote(ref.doi, safe="/:;()._-")))
    if ref.pmid and ref.pmid.isdigit():
        found.append(("PubMed " + ref.pmid, f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/"))
    if ref.url and ref.url.startswith("https://"):
        found.append(("web page", quote(ref.url, safe=":/?#[]@!$&'*+,;=%._~-")))
    return found


def markdown_url(url: str) -> str:
    """A URL safe inside Markdown's `(...)`: parentheses and spaces percent-encoded."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C")
