"""Helpers for the site tests: a small fixed repository, a local web server, a link checker."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "golden" / "site_repo"
ARTIFACTS = REPO / "build" / "test-artifacts"


def make_repo(where: Path) -> Path:
    """A copy of the fixed test repository, with the real schema/ and site/ configuration."""
    shutil.copytree(FIXTURE / "guidelines", where / "guidelines")
    shutil.copytree(FIXTURE / "cases", where / "tests" / "cases")
    shutil.copytree(REPO / "schema", where / "schema")
    (where / "site").mkdir()
    for name in ("mkdocs.yml", "hooks.py"):
        shutil.copy(REPO / "site" / name, where / "site" / name)
    for folder in ("docs", "overrides"):
        shutil.copytree(REPO / "site" / folder, where / "site" / folder)
    return where


def add_evil_rule(root: Path) -> None:
    """A rule whose words try HTML, script and Markdown tricks: AZA-EVIL-001 in topic dosing; and a
    case that does the same, evil-case, naming the rule."""
    base = yaml.safe_load((root / "guidelines/rules/dosing/AZA-DOSE-001.yaml").read_text(encoding="utf-8"))
    base.update(id="AZA-EVIL-001", title="</title><script>alert(1)</script> dose",
                rationale="<img src=x onerror=alert(2)> and [link](javascript:alert(3)) {: onclick=alert(4) }")
    base["then"] = [{"action": "counsel", "subject": "azathioprine", "strength": "not_graded",
                     "text": "<b onmouseover=alert(5)>bold</b>"}]
    rule = root / "guidelines/rules/dosing/AZA-EVIL-001.yaml"
    rule.write_text(yaml.safe_dump(base), encoding="utf-8")
    # A case whose words try the same: the cases pages and worked examples are HTML made by us.
    case = yaml.safe_load((root / "tests/cases/dosing/intermediate-tpmt-reduced-dose.yaml").read_text(encoding="utf-8"))
    case.update(id="evil-case", title="<script>alert(6)</script> case",
                story='<img src=x onerror=alert(7)> "quoted" \' [link](javascript:alert(8))')
    case["expect"] = {"present": [{"action": "counsel", "subject": "azathioprine", "rule": "AZA-EVIL-001"}]}
    (root / "tests/cases/dosing/evil-case.yaml").write_text(yaml.safe_dump(case), encoding="utf-8")
    source = root / "guidelines/sources/seed-one.yaml"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "rules: [AZA-DOSE-001, AZA-DOSE-002]", "rules: [AZA-DOSE-001, AZA-DOSE-002, AZA-EVIL-001]"))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """Serve a built site on a free localhost port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Page(HTMLParser):
    """Collects a page's ids and the targets of its links and loaded resources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.resources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for key in ("id", "name"):
            if key in values and (key == "id" or tag == "a"):
                self.ids.add(values[key])
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
        if tag in ("script", "img", "iframe") and values.get("src"):
            self.resources.append(values["src"])
        if tag == "link" and values.get("href"):
            self.resources.append(values["href"])


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site: Path) -> list[str]:
    """Every internal link whose file or #anchor does not exist, as 'page -> href: why'."""
    site = site.resolve()
    pages = {p: parse(p) for p in site.rglob("*.html")}
    broken = []
    for page, parsed in pages.items():
        for href in parsed.links:
            problem = _check(site, page, href, pages)
            if problem:
                broken.append(f"{page.relative_to(site)} -> {href}: {problem}")
    return broken


def _check(site: Path, page: Path, href: str, pages: dict[Path, _Page]) -> str | None:
    if urlsplit(href).scheme or href.startswith("//"):
        return None  # a link to another site: not ours to check
    target_ref, anchor = urldefrag(href)
    # An absolute path (the 404 page uses them) is read against the site's root.
    base = site if target_ref.startswith("/") else page.parent
    target = (base / unquote(target_ref.lstrip("/"))).resolve() if target_ref else page
    if not target.is_relative_to(site.resolve()):
        return "points outside the site"
    if target.is_dir():
        target = target / "index.html"
    if not target.exists():
        return "no such file"
    if anchor and target.suffix == ".html":
        known = pages[target].ids if target in pages else parse(target).ids
        if unquote(anchor) not in known:
            return f"no anchor #{anchor}"
    return None
