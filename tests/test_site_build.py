"""`guideline site build`: strict build, atomic replacement, links, anchors, no outside requests, escaping."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from site_testing import REPO, add_evil_rule, broken_links, make_repo, parse

from engine.cli import main

#: Hosts the site may link to (plain <a> links a reader clicks, never loaded by the page).
LINKED_HOSTS = {"doi.org", "pubmed.ncbi.nlm.nih.gov", "git.example.org", "guidelines.example.org"}
#: URLs in the theme's script that our configuration never loads, and why.
DORMANT_SCRIPT_HOSTS = {
    "api.github.com",   # repository statistics, only when repo_url is on github.com
    "unpkg.com",        # mermaid (we have no diagrams) and a polyfill for browsers without ResizeObserver
    "clipboardjs.com",  # a licence comment
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_repo(tmp_path_factory.mktemp("repo"))
    add_evil_rule(root)
    assert main(["site", "build", "--repo", str(root)]) == 0
    return root / "site" / "build"


def test_every_page_is_generated_from_the_repository(built: Path) -> None:
    for page in ("index.html", "rules/dosing/AZA-DOSE-002/index.html", "rules/dosing/index.html",
                 "references/index.html", "sources/seed-one/index.html", "cases/index.html",
                 "facts/index.html", "schemas/index.html"):
        assert (built / page).is_file(), page


def test_no_escape_character_shows_on_any_page(built: Path) -> None:
    # Escaping text twice would show readers a backslash: azathioprine \(Imuran\).
    for html in built.rglob("*.html"):
        page = re.sub(r"<(script|style)\b.*?</\1>", "", html.read_text(encoding="utf-8"), flags=re.S)
        shown = re.sub(r"<[^>]*>", "", page)
        assert not re.search(r"\\[][()*_{}|#+.!`-]", shown), html.relative_to(built)
    assert "Dose of azathioprine (Imuran)" in (built / "rules/dosing/AZA-DOSE-002/index.html").read_text()


def test_no_internal_link_or_anchor_is_broken(built: Path) -> None:
    assert broken_links(built) == []


def test_the_link_checker_finds_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<a href="b.html#nowhere">x</a><a href="#top">y</a><p id="top"></p>')
    (tmp_path / "b.html").write_text('<h1 id="here">b</h1><a href="missing/">z</a>')
    assert sorted(broken_links(tmp_path)) == ["a.html -> b.html#nowhere: no anchor #nowhere",
                                      "b.html -> missing/: no such file"]


def test_the_schemas_are_published_for_download(built: Path) -> None:
    for schema in (REPO / "schema").glob("*.json"):
        assert (built / "schema" / schema.name).read_bytes() == schema.read_bytes()
    assert 'href="../schema/rule.schema.json"' in (built / "schemas/index.html").read_text(encoding="utf-8")


def test_rule_page_edit_button_opens_the_rule_yaml(built: Path) -> None:
    page = (built / "rules/dosing/AZA-DOSE-002/index.html").read_text(encoding="utf-8")
    edit = "https://git.example.org/guideline-as-code/edit/main/guidelines/rules/dosing/AZA-DOSE-002.yaml"
    assert f'href="{edit}"' in page


def test_search_index_holds_the_tpmt_rules(built: Path) -> None:
    index = json.loads((built / "search/search_index.json").read_text(encoding="utf-8"))
    titles = {d["location"]: d["title"] for d in index["docs"]}
    assert titles["rules/contraindications/AZA-TPMT-002/"].startswith("AZA-TPMT-002")


def test_pages_load_nothing_from_outside_hosts(built: Path) -> None:
    for html in built.rglob("*.html"):
        parsed = parse(html)
        loaded = [u for u in parsed.resources if urlsplit(u).scheme or u.startswith("//")]
        assert loaded == [], f"{html.relative_to(built)} loads {loaded}"
        linked = {urlsplit(u).hostname for u in parsed.links if urlsplit(u).scheme in ("http", "https")}
        assert linked <= LINKED_HOSTS, f"{html.relative_to(built)} links to {linked - LINKED_HOSTS}"
        assert 'class="mermaid"' not in html.read_text(encoding="utf-8")
    for css in built.rglob("*.css"):
        assert not re.search(r"(url\(|@import)\s*['\"]?(https?:)?//", css.read_text(encoding="utf-8")), css


def test_theme_script_names_only_dormant_outside_hosts(built: Path) -> None:
    (bundle,) = (built / "assets/javascripts").glob("bundle.*.min.js")
    hosts = set(re.findall(r"https?://([A-Za-z0-9.-]+)", bundle.read_text(encoding="utf-8")))
    assert hosts <= DORMANT_SCRIPT_HOSTS, f"new outside hosts in the theme's script: {hosts - DORMANT_SCRIPT_HOSTS}"
    config = yaml.safe_load((REPO / "site/mkdocs.yml").read_text(encoding="utf-8"))
    assert urlsplit(config["repo_url"]).hostname not in ("github.com", "gitlab.com")
    assert config["theme"]["font"] is False


def test_html_and_script_in_rule_text_are_shown_as_text(built: Path) -> None:
    page = (built / "rules/dosing/AZA-EVIL-001/index.html").read_text(encoding="utf-8")
    article = page[page.index("<article"):page.index("</article>")]
    assert "<script" not in article and "<img" not in article and "<b " not in article
    assert not re.search(r"<[^>]+\s(onerror|onclick|onmouseover)=", page)
    assert 'href="javascript:' not in page
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; dose" in article
    assert "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in article
    topic = (built / "rules/dosing/index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; dose" in topic and "<script>alert" not in topic
    assert "<title>AZA-EVIL-001: &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; dose - " in page


def test_html_and_script_in_case_text_are_shown_as_text(built: Path) -> None:
    # The worked examples and the cases pages are HTML made by the engine, not by Markdown.
    for name in ("rules/dosing/AZA-EVIL-001/index.html", "cases/dosing/index.html"):
        page = (built / name).read_text(encoding="utf-8")
        article = page[page.index("<article"):page.index("</article>")]
        assert "&lt;script&gt;alert(6)&lt;/script&gt; case" in article, name
        assert "&lt;img src=x onerror=alert(7)&gt; &quot;quoted&quot; &#x27; [link](javascript:alert(8))" in article
        assert "<script" not in article and "<img" not in article, name
        assert not re.search(r"<[^>]+\s(onerror|onclick|onmouseover)=", page), name
        assert 'href="javascript:' not in page, name


# ------------------------------------------------------------------ atomic build and errors


def test_a_failed_build_leaves_the_last_good_site_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo")
    out = tmp_path / "out"
    assert main(["site", "build", "--repo", str(root), "--output", str(out)]) == 0
    before = (out / "rules/dosing/AZA-DOSE-001/index.html").read_text(encoding="utf-8")
    (root / "site/docs/broken.md").write_text("# Broken\n\n[a page that does not exist](nowhere.md)\n")
    capsys.readouterr()
    assert main(["site", "build", "--repo", str(root), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "nowhere.md" in err and "was left as it was" in err
    assert (out / "rules/dosing/AZA-DOSE-001/index.html").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "repo"]  # no half-built folder left


def test_an_invalid_rule_fails_the_build_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo")
    rule = root / "guidelines/rules/dosing/AZA-DOSE-001.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("strength: conditional", "strength: maybe"))
    assert main(["site", "build", "--repo", str(root), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "failed"
    assert any("guidelines/rules/dosing/AZA-DOSE-001.yaml:" in m for m in report["messages"])
    assert not (root / "site/build").exists()


def test_build_refuses_to_replace_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["site", "build", "--repo", str(root), "--output", str(precious)]) == 2
    assert "did not make" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"


def test_build_outside_a_repository_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["site", "build", "--repo", str(tmp_path)]) == 2
    assert "no guideline repository" in capsys.readouterr().err


def test_the_real_repository_builds(tmp_path: Path) -> None:
    real = tmp_path / "real"
    for folder in ("guidelines", "schema", "site"):
        shutil.copytree(REPO / folder, real / folder, ignore=shutil.ignore_patterns("build", ".*"))
    shutil.copytree(REPO / "tests/cases", real / "tests/cases")
    assert main(["site", "build", "--repo", str(real)]) == 0
    assert broken_links(real / "site/build") == []


def test_a_case_the_engine_refuses_fails_the_build_naming_the_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo")
    case = root / "tests/cases/dosing/intermediate-tpmt-reduced-dose.yaml"
    case.write_text(case.read_text(encoding="utf-8").replace("weight: 70", "weight: -70"), encoding="utf-8")
    assert main(["site", "build", "--repo", str(root)]) == 1
    assert "tests/cases/dosing/intermediate-tpmt-reduced-dose.yaml" in capsys.readouterr().err
    assert not (root / "site/build").exists()


def test_rule_page_contents_list_its_sections(built: Path) -> None:
    # The sections are HTML blocks; the hook lists their headings in the page's table of contents.
    page = (built / "rules/dosing/AZA-DOSE-002/index.html").read_text(encoding="utf-8")
    contents = page[page.index('class="md-nav md-nav--secondary"'):page.index("<article")]
    for title, anchor in [("What it recommends", "what-it-recommends"), ("Worked examples", "worked-examples"),
                          ("Review and history", "review-and-history")]:
        assert f'href="#{anchor}"' in contents and title in contents
        assert f'<h2 id="{anchor}">{title}<a class="headerlink" href="#{anchor}"' in page
