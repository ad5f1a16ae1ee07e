"""Large generated content (case listings, worked examples) as HTML made here, not by Python-Markdown.

Python-Markdown converts about 1 MB/s, and its raw-HTML pass is not much faster: at 50,000 cases the
listings alone took minutes. So a page's Markdown holds a placeholder comment on a line of its own,
`<!--gl-raw:N-->`, and the build hook puts the page's block N in its place once Markdown has run
(site/hooks.py). Everything from YAML or from a stored result goes through `esc` (html.escape): a
block can hold only the markup made here. Links in blocks are final URLs (the site uses folder
URLs), which MkDocs does not check; `broken_raw_links` checks them against the generated pages.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from engine.site_paths import relative

_PLACEHOLDER = re.compile(r"<!--gl-raw:(\d+)-->")
_LATE = re.compile(r"<!--gl-late:(\d+)-->")
_HREF = re.compile(r'href="([^"]*)"')
_RAW_ID = re.compile(r' id="([^"]+)"')
_MARKDOWN_ID = re.compile(r"\{#([A-Za-z0-9_-]+)\}")


class RawBlocks:
    """One page's raw blocks, in order; `add` gives the placeholder the page's Markdown holds."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def add(self, block: str, *, late: bool = False) -> str:
        """A late block is put in place after the theme, so the search index does not read it."""
        self.blocks.append(block)
        return f"<!--gl-{'late' if late else 'raw'}:{len(self.blocks) - 1}-->"


def fill(content: str, blocks: Sequence[str]) -> str:
    """The page with each block that is not late in its place (after Markdown, before the search index)."""
    if not blocks:
        return content
    return _PLACEHOLDER.sub(lambda m: blocks[int(m.group(1))], content)


def fill_late(content: str, blocks: Sequence[str]) -> str:
    """The page with its late blocks in place (once the theme has made the page)."""
    if not blocks:
        return content
    return _LATE.sub(lambda m: blocks[int(m.group(1))], content)


_TOKEN = re.compile(r"\\(.)|(\*\*)|(\*)")


def inline_html(markdown: str) -> str:
    """A phrase made by engine/site_text.py (text() escaped every mark from YAML; only its own `*`
    and `**` are left) as HTML: escapes shown as the character, emphasis as <em> and <strong>. The
    text is already HTML-escaped, so no other markup can come out of it."""
    out: list[str] = []
    position, em, strong = 0, False, False
    for match in _TOKEN.finditer(markdown):
        out.append(markdown[position:match.start()])
        position = match.end()
        if match.group(1) is not None:
            out.append(match.group(1))
        elif match.group(2):
            out.append("</strong>" if strong else "<strong>")
            strong = not strong
        else:
            out.append("</em>" if em else "<em>")
            em = not em
    out.append(markdown[position:])
    return "".join(out) + ("</em>" if em else "") + ("</strong>" if strong else "")


@functools.lru_cache(maxsize=1 << 16)
def esc(value: str) -> str:
    """Text made inert inside HTML (element content or a double-quoted attribute), on one line.
    Cached: a big site escapes the same labels, titles and ids hundreds of thousands of times."""
    return html.escape(" ".join(value.split()), quote=True)


def page_url(path: str) -> str:
    """The folder URL MkDocs gives a page (use_directory_urls): 'a/index.md' -> 'a/', 'a/b.md' -> 'a/b/'."""
    stem = path.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


@functools.lru_cache(maxsize=1 << 16)
def href(from_page: str, to_page: str, anchor: str = "") -> str:
    """A relative link, as it must appear in the built HTML, from one generated page to another."""
    here, there = page_url(from_page), page_url(to_page)
    target = "" if here == there else relative(there, here.rstrip("/"))
    if target and not target.endswith("/"):
        target += "/"
    return f"{target}#{anchor}" if anchor else (target or "./")


def link_html(from_page: str, to_page: str, words: str, anchor: str = "") -> str:
    """An `<a>` to another generated page; `words` already escaped."""
    return f'<a href="{esc(href(from_page, to_page, anchor))}">{words}</a>'


def broken_raw_links(pages: Mapping[str, str], raw: Mapping[str, Sequence[str]]) -> list[str]:
    """Every link in a raw block whose page or #anchor the site does not have, as 'page: href: why'.

    MkDocs checks the links Markdown makes; these it cannot see, so the build checks them here."""
    by_url = {page_url(p): p for p in pages}
    anchors: dict[str, set[str]] = {}

    def anchors_of(page: str) -> set[str]:
        if page not in anchors:
            found = set(_MARKDOWN_ID.findall(pages[page]))
            for block in raw.get(page, ()):
                found.update(_RAW_ID.findall(block))
            anchors[page] = found
        return anchors[page]

    problems = []
    for page, blocks in raw.items():
        base = page_url(page)
        for target in _hrefs(blocks):
            why = _problem(html.unescape(target), base, by_url, anchors_of)
            if why:
                problems.append(f"{page}: a generated link to {target} {why}")
    return problems


def _hrefs(blocks: Iterable[str]) -> set[str]:
    return {h for block in blocks for h in _HREF.findall(block)}


def _problem(target: str, base: str, by_url: Mapping[str, str], anchors_of: Callable[[str], set[str]]) -> str | None:
    if "://" in target or target.startswith(("mailto:", "/")):
        return "leaves the site's generated pages" if not target.startswith("https://") else None
    path, _, anchor = target.partition("#")
    url = _resolve(base, path) if path else base
    found = by_url.get(url)
    if found is None:
        return "leads to no page"
    if anchor and anchor not in anchors_of(found):
        return f"names an anchor #{anchor} that {found} does not have"
    return None


def _resolve(base: str, path: str) -> str:
    parts = [p for p in base.split("/") if p]
    for step in path.split("/"):
        if step == "..":
            if parts:
                parts.pop()
        elif step and step != ".":
            parts.append(step)
    return "/".join(parts) + "/" if parts else ""
