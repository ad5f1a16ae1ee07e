"""Generated pages: golden files, plain-language wording, escaping, worked examples, relations.

Golden files live in tests/golden/. After a deliberate change to how pages read,
regenerate them with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_site_pages.py`
and review the diff like any other change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from site_testing import make_repo

from engine.model import Case, GuidelineSet, Multiple, ValueSetRef
from engine.model import Test as Leaf
from engine.repository import load_repository
from engine.result import Dose, NeedsData, Recommendation, Result, Suppressed
from engine.site import Site, evaluate_all, render_site
from engine.site_html import broken_raw_links, href
from engine.site_outcomes import Listing
from engine.site_text import dose_words, leaf, text
from engine.site_worked import listing_block

GOLDEN = Path(__file__).resolve().parent / "golden"


def _fixed_result(case: Case) -> Result:
    """A fixed engine answer per case, so golden files test the pages and not the engine."""
    dose = Recommendation("AZA-DOSE-002", "1.0.0", "dose", "azathioprine", "conditional",
                          "Give 30 to 70 percent of the usual dose.", ("trial-a",),
                          dose=Dose("mg/kg/day", (1, 2), (25, 100), (30, 70)))
    standard = Recommendation("AZA-DOSE-001", "1.0.0", "dose", "azathioprine", "conditional",
                              "Start at 1 to 2 mg/kg/day.", ("seed-one",),
                              dose=Dose("mg/kg/day", (1, 2), (75, 150), None))
    if case.id == "intermediate-tpmt-reduced-dose":
        return Result(case.id, (dose,), {}, (), (Suppressed(standard, "AZA-DOSE-002", "overridden"),), ())
    avoid = Recommendation("AZA-TPMT-002", "1.0.0", "avoid", "azathioprine", "strong", "No.", ("seed-one",))
    return Result(case.id, (avoid,) if "tpmt" in case.id else (), {}, (), (), ())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[GuidelineSet, tuple[Case, ...]]:
    result = load_repository(make_repo(tmp_path_factory.mktemp("repo")))
    assert [p for p in result.problems if p.severity == "error"] == []
    return result.guidelines, result.cases


@pytest.fixture(scope="module")
def site(loaded: tuple[GuidelineSet, tuple[Case, ...]]) -> Site:
    guidelines, cases = loaded
    return render_site(guidelines, evaluate_all(cases, _fixed_result), ["rule.schema.json"])


@pytest.mark.parametrize("page", [
    "rules/dosing/AZA-DOSE-002.md",
    "rules/pretreatment-testing/AZA-TPMT-000.md",
    "references.md",
])
def test_generated_page_matches_its_golden_file(site: Site, page: str) -> None:
    golden = GOLDEN / (page.replace("/", "__"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(site.whole(page), encoding="utf-8")
    assert site.whole(page) == golden.read_text(encoding="utf-8"), (
        f"{page} changed; if on purpose, run UPDATE_GOLDEN=1 pytest {__file__} and review the diff"
    )


def _cases_section(site: Site) -> str:
    return "".join(site.whole(path) for path in site.pages if path.startswith("cases/"))


# ------------------------------------------------------------------ wording


@pytest.mark.parametrize(("test", "words"), [
    (Leaf("wbc", "below", 2.5), "white cell count below 2.5 ×10⁹/L"),
    (Leaf("tpmt_status", "equals", "absent"), "TPMT activity is *absent*"),
    (Leaf("tpmt_status", "unknown", True), "TPMT activity is not known"),
    (Leaf("alt", "at_least", Multiple(3, "alt_baseline")), "ALT at least 3 × ALT at baseline"),
    (Leaf("medications", "contains", ValueSetRef("xanthine-oxidase-inhibitors")),
     "current medicines include any of: allopurinol, febuxostat (xanthine-oxidase inhibitors)"),
    (Leaf("azathioprine_status", "equals", "planned"),
     "azathioprine treatment status is *planned* (about to start azathioprine for the first time)"),
    (Leaf("wbc", "between", (4.0, 11.0)), "white cell count between 4 and 11 ×10⁹/L (inclusive)"),
])
def test_conditions_read_in_clinical_words_with_units(
    loaded: tuple[GuidelineSet, tuple[Case, ...]], test: Leaf, words: str
) -> None:
    assert leaf(loaded[0], test) == words


def test_a_reduced_dose_says_which_share_of_the_usual_dose(loaded: tuple[GuidelineSet, tuple[Case, ...]]) -> None:
    rule = loaded[0].rule("AZA-DOSE-002")
    assert rule is not None
    assert dose_words(rule.then[0]) == "1–2 mg/kg/day; give 30–70% of this dose"


# ------------------------------------------------------------------ escaping


@pytest.mark.parametrize("evil", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](https://tracker.example/x.png)",
    "Title {: onclick=alert(1) }",
    "1. looks like a list",
    "# looks like a heading",
    "a | b",
])
def test_text_from_yaml_can_make_no_markup(evil: str) -> None:
    import markdown

    rendered = markdown.markdown(text(evil), extensions=["attr_list", "tables", "admonition"])
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "onclick=" not in rendered.split(">", 1)[0]
    assert rendered.startswith("<p>") and rendered.count("<") == 2  # one paragraph, nothing else


# ------------------------------------------------------------------ content


def test_worked_examples_show_the_engine_answer_and_mark_this_rule(site: Site) -> None:
    page = site.whole("rules/dosing/AZA-DOSE-002.md")
    assert "Intermediate TPMT activity gets a reduced dose" in page
    ours = "Dose of azathioprine (Imuran): 25–100 mg/day (conditional recommendation; AZA-DOSE-002)"
    assert f"{ours} — <strong>this rule</strong>" in page
    set_aside = '<del>Dose of azathioprine (Imuran): 75–150 mg/day</del> (<a href="../AZA-DOSE-001/">AZA-DOSE-001</a>)'
    assert set_aside in page


def test_a_worked_example_whose_rule_is_set_aside_says_this_rule_gives_nothing_and_why(site: Site) -> None:
    # AZA-DOSE-002's dose sets AZA-DOSE-001's aside: on AZA-DOSE-001's page, "The engine recommends:
    # nothing" above its own struck-out dose read as a contradiction.
    page = site.whole("rules/dosing/AZA-DOSE-001.md")
    example = page[page.index('<h2 id="worked-examples">'):]
    lead = "This rule's recommendation is not given for this patient: another rule sets it aside."
    assert f"<p><em>{lead}</em></p>" in example
    assert "<del>Dose of azathioprine (Imuran): 75–150 mg/day</del> (AZA-DOSE-001) — set aside: overridden" in example
    assert "nothing</li>" not in example and "The engine recommends:" not in example


@pytest.mark.parametrize(("listing", "lead", "item"), [
    (Listing(needs_data=(NeedsData("AZA-DOSE-001", "t", ("weight",)),)),
     "This rule gives no recommendation for this patient: it needs data the case does not give.",
     "Needs data for AZA-DOSE-001: body weight"),
    (Listing(more_recommendations=3), "This rule recommends nothing for this patient.",
     "<li>3 other recommendations for this patient, listed in the full case</li>"),
    (Listing(), "This rule recommends nothing for this patient.", None),
], ids=["needs-data", "only-other-rules", "nothing"])
def test_a_rule_page_says_plainly_why_a_case_gets_nothing_from_the_rule(
    loaded: tuple[GuidelineSet, tuple[Case, ...]], listing: Listing, lead: str, item: str | None
) -> None:
    block = listing_block(loaded[0], listing, "rules/dosing/AZA-DOSE-001.md", "AZA-DOSE-001")
    assert block.startswith(f"<p><em>{lead}</em></p>")
    assert (item in block) if item else "<ul>" not in block


def test_a_case_with_no_recommendation_reads_so_on_its_cases_page(site: Site) -> None:
    assert "<p><em>The engine recommends nothing for this patient.</em></p>" in _cases_section(site)
    assert "<li>nothing</li>" not in _cases_section(site)


def test_a_case_the_engine_cannot_evaluate_is_shown_not_fatal(
    loaded: tuple[GuidelineSet, tuple[Case, ...]]
) -> None:
    def broken(case: Case) -> Result:
        raise RuntimeError("engine exploded")

    guidelines, cases = loaded
    site = render_site(guidelines, evaluate_all(cases, broken), [])
    assert "The engine could not evaluate this case" in site.whole("rules/contraindications/AZA-TPMT-002.md")
    assert "RuntimeError: engine exploded" in _cases_section(site)


def test_related_rules_follow_derived_facts_both_ways(site: Site) -> None:
    deriving = site.whole("rules/monitoring/AZA-MON-001.md")
    reading = site.whole("rules/monitoring/AZA-MON-002.md")
    assert ('It records <strong>severe cytopenia</strong>, which is read by <a href="../AZA-MON-002/">AZA-MON-002</a>'
            in deriving)
    recorded = 'It reads <strong>severe cytopenia</strong>, recorded by <a href="../AZA-MON-001/">AZA-MON-001</a>'
    assert recorded in reading


def test_overrides_are_shown_on_both_rules(site: Site) -> None:
    assert 'It overrides <a href="../AZA-DOSE-001/">AZA-DOSE-001</a>' in site.whole("rules/dosing/AZA-DOSE-002.md")
    overridden = site.whole("rules/dosing/AZA-DOSE-001.md")
    assert 'It is overridden by <a href="../../contraindications/AZA-TPMT-002/">AZA-TPMT-002</a>' in overridden


def test_a_disagreement_shows_on_every_rule_it_names(site: Site) -> None:
    for page in ("rules/dosing/AZA-DOSE-001.md", "rules/dosing/AZA-DOSE-002.md"):
        assert "Disagreement: How much to reduce the dose" in site.whole(page)
    followed = '<strong>Followed here:</strong> <a href="../AZA-DOSE-002/">AZA-DOSE-002</a>'
    assert followed in site.whole("rules/dosing/AZA-DOSE-001.md")
    assert "<strong>Followed here:</strong> this rule, AZA-DOSE-002." in site.whole("rules/dosing/AZA-DOSE-002.md")


def test_citations_link_to_the_reference_anchor_and_to_doi_and_pubmed(site: Site) -> None:
    page = site.whole("rules/contraindications/AZA-TPMT-002.md")
    assert 'href="../../../references/#ref-trial-a"' in page
    assert 'href="https://doi.org/10.1000/example.123"' in page
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/12345678/"' in page
    seed_line = next(line for line in page.splitlines() if "#ref-seed-one" in line)
    assert "https://" not in seed_line  # no identifier on record: no outside link


def test_retired_rule_is_marked_not_current_and_points_to_its_replacement(site: Site) -> None:
    page = site.whole("rules/pretreatment-testing/AZA-TPMT-000.md")
    assert '<div class="admonition danger">\n<p class="admonition-title">Not current: this rule is retired</p>' in page
    assert 'Use instead: <a href="../AZA-TPMT-001/">AZA-TPMT-001</a>.' in page
    nav_titles = str(site.nav)
    assert "AZA-TPMT-000: Test TPMT in everyone (retired, not current)" in nav_titles


def test_source_traceability_lists_encoded_and_unencoded_statements(site: Site) -> None:
    page = site.pages["sources/seed-one.md"]
    assert "[AZA-TPMT-002](../rules/contraindications/AZA-TPMT-002.md)" in page
    assert "Not encoded: context such as prevalence or history. History only." in page


def test_a_rule_page_shows_what_bears_on_the_rule_and_the_cases_page_shows_all(
    loaded: tuple[GuidelineSet, tuple[Case, ...]]
) -> None:
    def busy(case: Case) -> Result:
        ours = Recommendation("AZA-TPMT-002", "1.0.0", "avoid", "azathioprine", "strong", "", ())
        test = Recommendation("AZA-TPMT-001", "1.1.0", "order_test", "tpmt-test", "strong", "", ())
        stop = Recommendation("AZA-MON-002", "2.0.0", "stop", "azathioprine", "strong", "", ())
        return Result(case.id, (test, stop, ours), {}, (), (), ())

    guidelines, cases = loaded
    site = render_site(guidelines, evaluate_all(cases, busy), [])
    rule_page = site.whole("rules/contraindications/AZA-TPMT-002.md")
    example = rule_page[rule_page.index('<h2 id="worked-examples">'):rule_page.index('<h2 id="related-rules">')]
    assert example.index("Do not start azathioprine") < example.index("Stop azathioprine")  # ours first
    assert "Order TPMT activity test" not in example
    assert "and 1 other recommendation for this patient" in example
    assert "Order TPMT activity test" in _cases_section(site)


def test_case_pages_leave_the_search_index_only_when_there_are_many_cases(
    loaded: tuple[GuidelineSet, tuple[Case, ...]], site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    excluded = "---\nsearch:\n  exclude: true\n---\n"
    case_pages = [p for p in site.pages if p.startswith("cases/") and p != "cases/index.md"]
    assert case_pages and not any(site.pages[p].startswith(excluded) for p in site.pages)
    monkeypatch.setattr("engine.site_cases.SEARCHED_CASES", len(loaded[1]) - 1)
    many = render_site(loaded[0], evaluate_all(loaded[1], _fixed_result), [])
    assert [p for p in many.pages if many.pages[p].startswith(excluded)] == case_pages  # rules, index searched
    for page in case_pages:  # the same cases under the same anchors; their headings are HTML now
        assert re.findall(r"\{#(case-[^}]+)\}", site.pages[page]) == re.findall(r'<h2 id="(case-[^"]+)"',
                                                                              many.whole(page))
        assert _text_of(many.whole(page)) == _text_of(site.whole(page))


def _text_of(page: str) -> list[str]:
    """The words a reader sees, in order (front matter, markup and Markdown's marks left out)."""
    body = re.sub(r"^---\n.*?\n---\n", "", page, flags=re.S)
    body = re.sub(r"\{#[^}]+\}|<[^>]+>|&para;|^#+ ", " ", body, flags=re.M)
    return body.split()


def test_the_menu_stays_small_however_many_topics_and_sources(
    loaded: tuple[GuidelineSet, tuple[Case, ...]], site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The theme writes the whole menu into every page: it must not grow with the repository.
    listed = str(site.nav)
    assert "rules/dosing/index.md" in listed and "sources/seed-one.md" in listed and "cases/dosing/index.md" in listed
    monkeypatch.setattr("engine.site.NAV_LIST_MAX", 1)
    monkeypatch.setattr("engine.site.NAV_RULES_MAX", 1)
    small = render_site(loaded[0], evaluate_all(loaded[1], _fixed_result), [])
    sections = {next(iter(entry)): entry[next(iter(entry))] for entry in small.nav if isinstance(entry, dict)}
    assert sections["Rules"] == ["rules/index.md"]
    assert sections["Test cases"] == ["cases/index.md"]
    assert "rules/dosing/index.md" in small.not_in_nav and "cases/dosing/index.md" in small.not_in_nav
    for index in ("rules/index.md", "cases/index.md"):  # the index pages still lead to every topic
        assert small.pages[index] == site.pages[index]


def test_links_in_html_blocks_are_checked_against_the_generated_pages() -> None:
    # MkDocs checks only the links Markdown makes; the build checks those in the HTML blocks itself.
    pages = {"rules/a/R1.md": "# R1\n\n<!--gl-raw:0-->\n", "cases/a/index.md": "## One {#case-one}\n",
             "references.md": "### Ref {#ref-x}\n"}
    good = ('<a href="../../../cases/a/#case-one">c</a> <a href="../../../references/#ref-x">r</a> '
            '<a href="https://doi.org/10.1/x">doi</a>')
    assert broken_raw_links(pages, {"rules/a/R1.md": (good,)}) == []
    bad = ('<a href="../../../cases/a/#case-two">c</a> <a href="../R2/">r</a> '
           '<a href="javascript:alert(1)">j</a>')
    assert sorted(broken_raw_links(pages, {"rules/a/R1.md": (bad,)})) == [
        "rules/a/R1.md: a generated link to ../../../cases/a/#case-two names an anchor #case-two that "
        "cases/a/index.md does not have",
        "rules/a/R1.md: a generated link to ../R2/ leads to no page",
        "rules/a/R1.md: a generated link to javascript:alert(1) leads to no page",
    ]
    assert href("rules/a/R1.md", "cases/a/2.md", "case-x") == "../../../cases/a/2/#case-x"
    assert href("cases/a/index.md", "cases/a/index.md", "case-x") == "#case-x"
