"""The cases section: an index by topic, then each topic's cases, CASES_PER_PAGE to a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.model import GuidelineSet
from engine.site_html import RawBlocks, esc
from engine.site_outcomes import CaseOutcome, SiteOutcomes, per_list
from engine.site_paths import CASES, CASES_PER_PAGE, case_anchor, cases_path, link
from engine.site_text import text
from engine.site_worked import case_block

#: Beyond this many cases the case pages stay out of the search index: indexing parses every
#: page's HTML again (a third of the build at 10,000 cases) and the index, which every reader
#: downloads, grew with the cases. Rules, topics and the cases index are still searched. The
#: cases' headings are then HTML too, and the pages list no contents beside them.
SEARCHED_CASES = 2_000


@dataclass(frozen=True)
class CasePages:
    """Every page of the cases section, the first page of each topic, and where each case is."""

    pages: dict[str, str]
    raw: dict[str, tuple[str, ...]]       # page -> its raw HTML blocks (engine/site_html.py)
    topics: tuple[tuple[str, str], ...]   # (topic title, already escaped; its first page)
    page_of: dict[str, str]               # case id -> page


def case_pages(g: GuidelineSet, outcomes: SiteOutcomes) -> CasePages:
    by_topic: dict[str, list[CaseOutcome]] = {}
    for o in outcomes.cases:  # sorted by topic, then id
        by_topic.setdefault(o.case.topic, []).append(o)
    limit = per_list(len(outcomes.cases))
    many = len(outcomes.cases) > SEARCHED_CASES
    pages: dict[str, str] = {}
    raw: dict[str, tuple[str, ...]] = {}
    page_of: dict[str, str] = {}
    for topic, found in by_topic.items():
        chunks = [found[i:i + CASES_PER_PAGE] for i in range(0, len(found), CASES_PER_PAGE)]
        for number, chunk in enumerate(chunks, start=1):
            here = cases_path(topic, number)
            blocks = RawBlocks()
            pages[here] = _front_matter(len(outcomes.cases)) + _topic_page(g, topic, chunk, (number, len(chunks)),
                                                                           limit, blocks, many)
            raw[here] = tuple(blocks.blocks)
            page_of.update((o.case.id, here) for o in chunk)
    titles = tuple((topic_title(g, t), cases_path(t)) for t in by_topic)
    pages[CASES] = _index(g, by_topic)
    return CasePages(pages, raw, titles, page_of)


def _front_matter(case_count: int) -> str:
    return "---\nsearch:\n  exclude: true\n---\n\n" if case_count > SEARCHED_CASES else ""


def topic_title(g: GuidelineSet, topic: str) -> str:
    known = g.topics.get(topic)
    return text(known.title if known else topic)


def _index(g: GuidelineSet, by_topic: dict[str, list[CaseOutcome]]) -> str:
    lines = ["# Test cases", "",
             "Every patient case the rules are tested against, and what the engine recommends "
             "for it today, by topic.", ""]
    for topic, found in by_topic.items():
        count = len(found)
        lines.append(f"- [{topic_title(g, topic)}]({link(CASES, cases_path(topic))}): "
                     f"{count} case{'s' if count != 1 else ''}")
    return "\n".join(lines) + "\n"


def _topic_page(g: GuidelineSet, topic: str, chunk: Sequence[CaseOutcome], place: tuple[int, int],
                limit: int, blocks: RawBlocks, many: bool) -> str:
    here = cases_path(topic, place[0])
    lines = [f"# Test cases: {topic_title(g, topic)}", "", *_pager(topic, here, place)]
    if many:  # Markdown would spend more on the headings than on the rest of the page: all HTML
        lines.append(blocks.add("\n".join(f"{_heading(o)}\n{case_block(g, o, here, limit)}" for o in chunk)))
        return "\n".join(lines) + "\n"
    for o in chunk:  # Markdown headings: the page's table of contents lists the cases
        lines += [f"## {text(o.case.title)} {{#{case_anchor(o.case.id)}}}", "",
                  blocks.add(case_block(g, o, here, limit)), ""]
    return "\n".join(lines)


def _heading(o: CaseOutcome) -> str:
    """A case's heading as Markdown would make it, with its permanent link."""
    anchor = case_anchor(o.case.id)
    return (f'<h2 id="{anchor}">{esc(o.case.title)}<a class="headerlink" href="#{anchor}" '
            'title="Permanent link">&para;</a></h2>')


def _pager(topic: str, here: str, place: tuple[int, int]) -> list[str]:
    """First, previous, next and last page: a constant size however many pages a topic has."""
    number, total = place
    if total == 1:
        return []
    steps = (("first", 1), ("previous", number - 1), ("next", number + 1), ("last", total))
    links = [f"[{words}]({link(here, cases_path(topic, n))})" for words, n in steps
             if 1 <= n <= total and n != number]
    return [f"Page {number} of {total}: {' · '.join(links)}", ""]
