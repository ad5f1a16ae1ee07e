"""The built site in a real headless Chromium: home, a rule page, search, citation back-links.

Needs the Debian package `chromium` (/usr/bin/chromium) and the pip package
`playwright` (dev extras; never run `playwright install`). Without them the tests
are skipped locally; with CI=true they fail instead, so CI cannot pass by skipping.
Screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from site_testing import ARTIFACTS, add_evil_rule, make_repo, serving

from engine.site_build import build_site

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL = "install it with: apt-get update && apt-get install -y chromium chromium-driver"


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}; CI must run the browser tests: {INSTALL}")
    pytest.skip(f"{why}; {INSTALL}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = make_repo(tmp_path_factory.mktemp("repo"))
    add_evil_rule(root)
    outcome = build_site(root)
    assert outcome.ok, "\n".join(outcome.messages)
    with serving(outcome.output) as url:
        yield url


class Watched:
    """A browser page that records console errors, script errors, dialogs and every request."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside_hosts(self) -> set[str]:
        hosts = {urlsplit(u).hostname for u in self.requests if urlsplit(u).scheme in ("http", "https")}
        return {h or "" for h in hosts} - {"127.0.0.1"}

    def shot(self, name: str, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def tab(browser: Any) -> Iterator[Watched]:
    watched = Watched(browser)
    yield watched
    watched.page.close()
    assert watched.errors == [], f"console errors: {watched.errors}"
    assert watched.outside_hosts() == set(), f"requests to outside hosts: {watched.outside_hosts()}"
    assert watched.dialogs == [], f"a script opened a dialog: {watched.dialogs}"


def test_home_page_shows_the_safety_statement(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/")
    banner = tab.page.locator(".md-banner")
    assert "does not replace, clinical judgment" in banner.inner_text()
    assert tab.page.locator("h1").first.inner_text().startswith("Azathioprine guideline")
    tab.shot("home")


def test_rule_page_reads_as_a_clinical_recommendation(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/rules/contraindications/AZA-TPMT-002/")
    content = tab.page.locator("article").inner_text()
    assert "AZA-TPMT-002: Do not start azathioprine when TPMT activity is absent" in content
    assert "TPMT activity is absent" in content
    assert "Do not start azathioprine" in content
    edit = tab.page.locator("a.md-content__button[href*='guidelines/rules/contraindications/AZA-TPMT-002.yaml']")
    assert edit.count() == 1
    tab.shot("rule-page")
    tab.page.emulate_media(media="print")
    assert not tab.page.locator(".md-sidebar--primary").is_visible()
    assert tab.page.locator(".md-banner").is_visible()  # the safety statement is printed too
    tab.shot("rule-page-print")


def test_search_for_tpmt_finds_a_tpmt_rule_and_opens_it(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/")
    tab.page.locator("label.md-search__icon, .md-search__input").first.click()
    # Typed key by key, as a reader would: the theme searches on key events.
    tab.page.locator("input.md-search__input").press_sequentially("TPMT", delay=80)
    hit = tab.page.locator(".md-search-result__item a[href*='AZA-TPMT-']").first
    hit.wait_for(state="visible", timeout=15_000)
    tab.shot("search-tpmt", full_page=False)
    hit.click()
    tab.page.wait_for_url("**/AZA-TPMT-*/**", timeout=15_000)
    assert "TPMT" in tab.page.locator("h1").first.inner_text()


def test_citation_leads_to_the_reference_and_back_to_the_rule(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/rules/contraindications/AZA-TPMT-002/")
    tab.page.locator("article a[href$='references/#ref-trial-a']").first.click()
    tab.page.wait_for_url("**/references/#ref-trial-a")
    heading = tab.page.locator("#ref-trial-a")
    assert heading.inner_text().startswith("A trial of TPMT-guided dosing")
    tab.shot("references", full_page=False)
    back = tab.page.locator(
        "xpath=//*[@id='ref-trial-a']/following::a[contains(@href, 'AZA-TPMT-002')][1]"
    )
    back.click()
    tab.page.wait_for_url("**/rules/contraindications/AZA-TPMT-002/")
    assert tab.page.locator("h1").first.inner_text().startswith("AZA-TPMT-002")


def test_retired_rule_is_marked_not_current(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/rules/pretreatment-testing/AZA-TPMT-000/")
    warning = tab.page.locator(".admonition.danger").first
    assert "Not current" in warning.inner_text()
    assert "retired" in tab.page.locator(".gl-badge--retired").inner_text()
    tab.shot("retired-rule")


def test_script_in_rule_text_never_runs_on_the_page_or_in_search(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/rules/dosing/AZA-EVIL-001/")
    assert "</title><script>alert(1)</script> dose" in tab.page.locator("h1").first.inner_text()
    assert tab.page.title().startswith("AZA-EVIL-001: </title><script>alert(1)</script> dose")
    tab.page.get_by_text("bold</b>").first.hover()
    tab.page.locator("label.md-search__icon, .md-search__input").first.click()
    tab.page.locator("input.md-search__input").press_sequentially("EVIL", delay=80)
    tab.page.locator(".md-search-result__item").first.wait_for(state="visible", timeout=15_000)
    assert tab.page.locator(".md-search-result img, .md-search-result b").count() == 0
    tab.shot("escaped-rule-search", full_page=False)
    # the `tab` fixture then fails the test if any dialog opened or any script error occurred


def test_script_in_case_text_never_runs_on_the_cases_page(tab: Watched, site_url: str) -> None:
    tab.page.goto(site_url + "/cases/dosing/")
    assert "<script>alert(6)</script> case" in tab.page.locator("h2#case-evil-case").inner_text()
    story = tab.page.get_by_text("<img src=x onerror=alert(7)>").first
    story.hover()
    assert '"quoted"' in story.inner_text()
    tab.page.get_by_text("The full case").first.is_visible()
    # the `tab` fixture then fails the test if any dialog opened or any script error occurred
